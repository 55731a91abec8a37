"""What identifies a generated dataset (its manifest) and whether a destination folder may take it.

Same manifest = same files, whatever the shard or batch size: that is what lets a re-run resume and
N shards merge. A folder holding anything else is refused without ``--overwrite``, so a typo never
mixes two datasets; :func:`check_destination` serves ``gansrv translate``'s jobs too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from gansrv import atomic
from gansrv.digest import sha256_file
from gansrv.errors import UserError
from gansrv.generate.plan import Plan
from gansrv.generate.png import DEFAULT_LEVEL

MANIFEST = "gansrv-dataset.json"
USAGE = "usage"  # the manifest's advice on training with the set (see usage())
FORMAT_VERSION = 2  # 2: PNGs encoded by encode_png (zlib), not Pillow: other bytes, same pixels
_OUR_FILE = re.compile(r"\d{6}\.png|\d{10}\.png")  # ten digits: a filtered set's (generate.filtered)
_OUR_SHARD = re.compile(r"data-\d{6,}\.(tar|parquet)|\..+\.tmp")  # shard files, their temporaries
NOT_IDENTITY = (USAGE, "filter_result")  # advice, and a filtered run's acceptance (an outcome)


def manifest_for(plan: Plan, model: Path, seed: int, truncation: float | None, fmt: str,
                 level: int = DEFAULT_LEVEL) -> dict:
    """What identifies a dataset: same manifest = same files, whatever the shard or batch size.

    The PNG level is recorded only when it is not the default, so datasets written before the
    option existed (all at the default) still resume.
    """
    manifest = {"format_version": FORMAT_VERSION, "tool": "gansrv generate", "format": fmt,
                "model": model.name, "model_sha256": sha256_file(model), "seed": seed,
                "truncation": truncation, "plan": plan.params}
    if fmt == "imagefolder" and level != DEFAULT_LEVEL:
        manifest["png_compression"] = level
    manifest[USAGE] = usage()
    return manifest


def usage() -> dict:
    """How to train on the dataset (advice, not identity: a dataset written before it resumes)."""
    from gansrv.metrics.recipe import RECOMMENDED_MIX

    return {"synthetic": True, "recommended_mix": RECOMMENDED_MIX,
            "how": f"mix about {RECOMMENDED_MIX:.0%} of these images into every training batch of "
                   f"real ones rather than concatenating the sets (measured: README, the low-data "
                   f"recipe; check with gansrv eval --real-limit N --mix F)"}


def _identity(manifest: object) -> object:
    if not isinstance(manifest, dict):
        return manifest
    return {k: v for k, v in manifest.items() if k not in NOT_IDENTITY}


def check_destination(out: Path, manifest: dict, overwrite: bool, name: str = MANIFEST,
                      tool: str = "gansrv generate") -> bool:
    """Decide whether ``out`` may be written; True when old files must be cleared first.

    Same manifest: resume. Empty or missing folder: fresh. Anything else (another dataset, or
    files gansrv did not write) is refused without ``--overwrite``, so a typo never mixes datasets.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return False
    old = None
    mpath = out / name
    if mpath.is_file():
        try:
            old = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    if _identity(old) == _identity(manifest):
        return False
    if not overwrite:
        what = "another dataset" if old is not None else f"files that {tool} did not write"
        raise UserError(f"--out {out} is not empty and holds {what}; choose an empty folder or pass "
                        f"--overwrite")
    return True


def open_destination(out: Path, manifest: dict, overwrite: bool,
                     warn: Callable[[str], None] | None) -> None:
    """Make ``out`` hold ``manifest``'s dataset: the same one is resumed, another refused or (with
    --overwrite) cleared first; the manifest is written before any image, so a stopped run resumes."""
    if check_destination(out, manifest, overwrite):
        left = clear_dataset(out)
        if left and warn is not None:
            warn(f"--overwrite left {len(left)} file(s) gansrv did not write in {out}")
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / MANIFEST, manifest)


def clear_dataset(out: Path) -> list[Path]:
    """Remove what a gansrv dataset consists of (manifest, metadata*, data*.npz, data-N.tar/.parquet
    shards, NNNNNN.png in sub-folders, then emptied sub-folders); returns the other files, which
    are left alone."""
    left = []
    for p in sorted(out.iterdir()):
        if p.is_file() and (p.name == MANIFEST or (p.name.startswith("metadata") and p.suffix == ".jsonl")
                            or (p.name.startswith("data") and p.suffix == ".npz")
                            or _OUR_SHARD.fullmatch(p.name)
                            or (p.name.startswith("filter") and p.suffix == ".json")):
            p.unlink()
        elif p.is_dir() and not p.is_symlink():
            for f in p.iterdir():
                if f.is_file() and (_OUR_FILE.fullmatch(f.name) or f.name.endswith(".tmp")):
                    f.unlink()
                else:
                    left.append(f)
            if not any(p.iterdir()):
                p.rmdir()
        else:
            left.append(p)
    return left
