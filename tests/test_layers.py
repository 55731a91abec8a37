"""The package's rooms hold their walls: read from the source's imports (every import, also those
inside functions), so that a shortcut across a wall fails here, not in a reviewer's head.

- the building blocks (gansrv/nn/) import nothing of the contract, the kits or the engine;
- the contract (family, step, kinds, hookspecs) imports nothing of the engine, the kits or nn;
- the core (gansrv/) imports no family (gansrv_plugins).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PKG = REPO / "gansrv"
CONTRACT = ("gansrv.family", "gansrv.step", "gansrv.kinds", "gansrv.hookspecs")


def imported(path: Path) -> set[str]:
    """Every module name an import statement of `path` names (``from a import b`` gives a, a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _reaches(names: set[str], walls: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == w or n.startswith(w + ".") for w in walls))


@pytest.mark.parametrize("path", sorted((PKG / "nn").glob("*.py")), ids=lambda p: p.name)
def test_building_blocks_import_nothing_of_the_contract(path):
    walls = (*CONTRACT, "gansrv.kits", "gansrv.train", "gansrv.export", "gansrv_plugins")
    assert not _reaches(imported(path), walls)


@pytest.mark.parametrize("module", CONTRACT)
def test_the_contract_imports_nothing_of_the_engine(module):
    path = PKG / f"{module.split('.')[1]}.py"
    assert not _reaches(imported(path), ("gansrv.train", "gansrv.kits", "gansrv.nn", "gansrv.export"))


def test_the_core_imports_no_family():
    offenders = {str(p.relative_to(REPO)): _reaches(imported(p), ("gansrv_plugins", "plugins"))
                 for p in PKG.rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_a_plugin_author_imports_everything_from_gansrv():
    import gansrv
    from gansrv import ExportSpec, Family, Kind, StepContext, hookimpl, option  # noqa: F401
    from gansrv.family import Family as F
    from gansrv.step import StepContext as S

    assert Family is F and StepContext is S
    assert set(gansrv.__all__) >= {"Family", "ExportSpec", "Kind", "StepContext", "hookimpl", "option"}
    assert Kind.CLASSIFIER == "classifier" and Kind("code") is Kind.CODE
