"""The gansrv plugin contract: hooks a plugin module may implement.

A plugin is any module listed in the ``gansrv`` entry-point group (built-in families are listed
there too, so they prove the contract). It implements hooks with ``@gansrv.hookimpl``::

    from gansrv import Family, hookimpl

    class MyGAN(Family): ...

    @hookimpl
    def gansrv_register_families(register):
        register(MyGAN())

Hooks are called when the plugin manager is built, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("gansrv")
hookimpl = pluggy.HookimplMarker("gansrv")


@hookspec
def gansrv_register_families(register: Callable[[Any], None]) -> None:
    """Register GAN families: call ``register(family)`` once per :class:`gansrv.family.Family`."""


@hookspec
def gansrv_register_datasets(register: Callable[[str, Callable[..., Any], str], None]) -> None:
    """Register named datasets: ``register(name, loader, description)``.

    ``loader(split: str) -> gansrv.data.Dataset`` is called when ``--data NAME`` is used.
    """


@hookspec
def gansrv_register_commands(cli: Any) -> None:
    """Add click commands to the ``gansrv`` group (``cli`` is that group)."""
