"""Turn the ``--data`` argument into a Dataset, whatever form it takes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from gansrv.data.dataset import Dataset
from gansrv.data.folder import load_folder
from gansrv.data.idx import find_idx_pair, load_idx
from gansrv.data.named import NAMES, load_named
from gansrv.data.npz import load_npz
from gansrv.errors import UserError

NamedLoader = Callable[[str], Dataset]


def _split_name(source: str) -> tuple[str, str]:
    name, _, split = source.partition(":")
    return name, split or "train"


def load_dataset(
    sources: Sequence[str],
    size: int | None = None,
    limit: int | None = None,
    extra_named: dict[str, NamedLoader] | None = None,
) -> Dataset:
    """Load ``sources`` (one path or name, or an IDX images/labels pair), cut to ``limit``."""
    if not sources:
        raise UserError("no --data given")
    if len(sources) == 2:
        paths = [Path(s) for s in sources]
        for p in paths:
            if not p.is_file():
                raise UserError(f"{p}: no such file (two --data values mean IDX images + labels)")
        ds = load_idx(paths[0], paths[1])
    elif len(sources) == 1:
        ds = _load_one(sources[0], size, extra_named or {})
    else:
        raise UserError(f"--data takes one source or an IDX images/labels pair, got {len(sources)}")
    ds = ds.limit(limit)
    return ds.resized(size) if size is not None else ds


def _load_one(source: str, size: int | None, extra_named: dict[str, NamedLoader]) -> Dataset:
    path = Path(source)
    if path.is_dir():
        if any(p.is_file() and "-idx" in p.name for p in path.iterdir()):
            return load_idx(*find_idx_pair(path))
        return load_folder(path, size)
    if path.is_file():
        if path.suffix == ".npz":
            return load_npz(path)
        if "-idx" in path.name or path.suffix in (".idx", ".ubyte"):
            return load_idx(path, None)
        raise UserError(f"{path}: unknown data file type (expected a folder, an IDX file or .npz)")
    name, split = _split_name(source)
    if name in extra_named:
        return extra_named[name](split)
    if name in NAMES:
        return load_named(name, split)
    known = ", ".join(sorted({*NAMES, *extra_named}))
    raise UserError(f"--data {source!r}: no such file or folder, and not a named dataset ({known})")
