"""The package list, computed at build time; everything else is in pyproject.toml.

``plugins/`` is installed under the namespaced import name ``gansrv_plugins`` (never as a bare
``plugins``), and pyproject.toml's ``packages.find`` cannot see through that folder mapping. So the
list is made here from the folders themselves: a new family folder under ``plugins/`` (or a new
sub-package of ``gansrv/``) is packaged without a line to edit (tests/test_packaging.py checks the
wheel holds every source module).
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["gansrv", "gansrv.*"]),
                "gansrv_plugins",
                *(f"gansrv_plugins.{name}" for name in find_packages("plugins"))])
