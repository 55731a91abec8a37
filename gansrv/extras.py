"""The optional dependency sets ("extras") and a one-line error when a command's set is missing.

The base install is torch-free on purpose: a serving machine installs ``gansrv[serve]`` (or
``gansrv[gpu]``) and never pays for torch; training machines add ``train``. Commands check their set
up front with :func:`require`, so a missing package is one actionable line, not an ImportError deep
inside a run. ``find_spec`` looks a module up without importing it: the check costs microseconds.
"""

from __future__ import annotations

import importlib.util

from gansrv.errors import UserError

# extra -> (import name, pip name) of what it adds; keep in step with pyproject.toml.
EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "train": (("torch", "torch"), ("onnxscript", "onnxscript"), ("safetensors", "safetensors"),
              ("matplotlib", "matplotlib"), ("sklearn", "scikit-learn"), ("yaml", "pyyaml")),
    "serve": (("onnxruntime", "onnxruntime or onnxruntime-gpu"),),
    "demo": (("gradio", "gradio"),),
    "parquet": (("pyarrow", "pyarrow"),),
    "ray": (("ray", "ray"),),
}

# What to tell a user who lacks a set: train and export also need a runtime for the parity check.
INSTALL_HINT = {
    "train": "pip install 'gansrv[train,serve]'  (or 'gansrv[train,gpu]' on a CUDA machine)",
    "serve": "pip install 'gansrv[serve]'  (CPU) or 'gansrv[gpu]'  (CUDA)",
    "demo": "pip install 'gansrv[serve]'  (CPU) or 'gansrv[gpu]'  (CUDA)",
    "parquet": "pip install 'gansrv[parquet]'",
    "ray": "pip install 'gansrv[ray]'",
}


def missing(extra: str) -> list[str]:
    """pip names of the extra's packages that cannot be found (nothing is imported)."""
    return [pip for module, pip in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def require(*extras: str, what: str) -> None:
    """Raise one UserError naming the missing packages and the pip line that installs them."""
    for extra in extras:
        gone = missing(extra)
        if gone:
            raise UserError(f"{what} needs {', '.join(gone)} (not installed): {INSTALL_HINT[extra]}")
