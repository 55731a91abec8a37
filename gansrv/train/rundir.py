"""The run directory: config.json (family, config, data fingerprint, versions) and its checks."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gansrv import __version__, atomic
from gansrv.data import DataSpec
from gansrv.errors import UserError
from gansrv.train.options import TrainOptions

CONFIG = "config.json"


def default_out(family: str) -> Path:
    return Path("runs") / f"{family}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_new(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} already exists and is not empty; pass --resume {out} to continue "
                        f"it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)


def versions() -> dict[str, str]:
    import numpy
    import torch

    return {"gansrv": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def write_config(out: Path, family: str, config: Any, opts: TrainOptions, spec: DataSpec,
                 total_steps: int | None, total_seconds: float | None,
                 labelled: list[int] | None = None, processes: int = 1) -> None:
    """``train`` keeps the flags as given and the plan they make: ``total_steps`` and
    ``total_seconds`` (training time over all invocations), null where there is no such limit.
    A semi-supervised run with a labelled subset also records it (``labelled``: its size, label
    seed and the indices of the images whose labels it reads). ``processes``: how many torchrun
    processes train the run (a resume needs as many)."""
    train = {k: v for k, v in asdict(opts).items() if k not in ("resume", "progress", "nproc")}
    train["processes"] = processes
    train["data"] = list(opts.data)
    train["total_steps"] = total_steps
    train["total_seconds"] = total_seconds
    data = asdict(spec)
    cfg: dict[str, Any] = {
        "family": family,
        "config": asdict(config),
        "train": train,
        "data": data,
        "versions": versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if labelled is not None:
        cfg["labelled"] = {"count": len(labelled), "label_seed": spec.label_seed,
                           "indices": list(labelled)}
    atomic.write_json(out / CONFIG, cfg)


def save_plan(run_dir: Path, total_steps: int | None, total_seconds: float | None) -> None:
    """Record a resumed run's new limits, so that resuming it again after an interruption goes on
    to them rather than to the length the run started with."""
    cfg = read_config(run_dir)
    cfg["train"]["total_steps"], cfg["train"]["total_seconds"] = total_steps, total_seconds
    atomic.write_json(run_dir / CONFIG, cfg)


def read_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / CONFIG
    if not path.is_file():
        raise UserError(f"{run_dir}: not a gansrv run directory (no {CONFIG})")
    try:
        cfg = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: corrupt ({exc})") from None
    for key in ("family", "config", "train", "data"):
        if key not in cfg:
            raise UserError(f"{path}: missing {key!r}; not written by gansrv train")
    return cfg
