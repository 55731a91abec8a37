"""gansrv: train classic GAN families, export them to ONNX, serve them without torch.

What a plugin author imports, from one place::

    from gansrv import ExportSpec, Family, Kind, StepContext, hookimpl, option

The names load lazily (PEP 562), so ``import gansrv`` stays light and torch-free; the family kits
(``gansrv.kits``) and the building blocks (``gansrv.nn``) are imported from their own modules.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the contract module that defines it
_EXPORTS = {
    "hookimpl": "gansrv.hookspecs",
    "Family": "gansrv.family",
    "ExportSpec": "gansrv.family",
    "option": "gansrv.family",
    "check_config": "gansrv.family",
    "Kind": "gansrv.kinds",
    "DataForm": "gansrv.kinds",
    "StepContext": "gansrv.step",
    "BatchSource": "gansrv.step",
    "UserError": "gansrv.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gansrv' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
