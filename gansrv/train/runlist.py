"""What ``gansrv runs`` reads from a run directory, without torch: config.json, the checkpoint folder
names, and metrics.jsonl.

How a run's state shows on disk today (gansrv/train/engine.py, checkpoint.py):

- every run ends on a checkpoint (``_finish``): plan done, Ctrl-C/SIGTERM (exit 130) or time budget;
- ``config.json``'s ``train.total_steps`` / ``train.total_seconds`` hold the plan (a resume updates
  them), and each metrics row its training ``time``;
- a kill, a crash or a NaN stop (which writes no checkpoint) leaves no checkpoint at the last logged
  step: metrics rows past the newest checkpoint, or no checkpoint at all.

So: **finished** when the newest checkpoint is the last logged step and it reached the planned steps
or the time budget; **stopped** when it is the last logged step short of the plan (resume it);
**crashed** otherwise (a run being trained right now also looks so until its next checkpoint).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansrv.errors import UserError

CONFIG = "config.json"
NOT_LOSSES = ("step", "epoch", "time", "it_s")
_STEP = re.compile(r"^step-(\d+)$")


@dataclass(frozen=True)
class RunInfo:
    path: Path
    family: str
    data: str
    step: int  # of the newest complete checkpoint (0: none)
    total_steps: int | None
    total_seconds: float | None
    checkpoint: str | None
    losses: dict[str, float]
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {"run": str(self.path), "family": self.family, "data": self.data, "step": self.step,
                "total_steps": self.total_steps, "total_seconds": self.total_seconds,
                "checkpoint": self.checkpoint, "losses": self.losses,
                "state": self.state}


def newest_checkpoint(run_dir: Path) -> tuple[str, int] | None:
    """(name, step) of the checkpoint ``latest`` names, or else of the newest complete folder
    (the rule of gansrv.train.checkpoint.latest_checkpoint, read without importing torch)."""
    root = run_dir / "checkpoints"

    def complete(p: Path) -> bool:
        return (p / "weights.safetensors").is_file() and (p / "state.pt").is_file()

    pointer = root / "latest"
    if pointer.is_file():
        name = pointer.read_text(errors="replace").strip()
        m = _STEP.match(name)
        if m and complete(root / name):
            return name, int(m.group(1))
    found = sorted((int(m.group(1)), p.name) for p in root.glob("step-*")
                   if (m := _STEP.match(p.name)) and complete(p))
    return (found[-1][1], found[-1][0]) if found else None


def _metrics(run_dir: Path) -> list[dict]:
    path, rows = run_dir / "metrics.jsonl", []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if isinstance(row, dict) and isinstance(row.get("step"), int):
                rows.append(row)
    return rows


def read_run(run_dir: Path) -> RunInfo:
    """One run's summary; UserError for a folder that is not a readable gansrv run."""
    path = run_dir / CONFIG
    try:
        cfg = json.loads(path.read_text())
        family, train = cfg["family"], cfg["train"]
        data = ", ".join(str(d) for d in train["data"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a readable gansrv run config ({type(exc).__name__})") from None
    ckpt = newest_checkpoint(run_dir)
    rows = _metrics(run_dir)
    last = rows[-1] if rows else {}
    losses = {k: v for k, v in last.items() if k not in NOT_LOSSES and isinstance(v, (int, float))}
    step = ckpt[1] if ckpt else 0
    total_steps, total_seconds = train.get("total_steps"), train.get("total_seconds")
    return RunInfo(run_dir, family, data, step, total_steps, total_seconds, ckpt[0] if ckpt else None, losses,
                   _state(ckpt is not None, step, last, total_steps, total_seconds))


def _state(has_checkpoint: bool, step: int, last: dict, total_steps: int | None,
           total_seconds: float | None) -> str:
    if not has_checkpoint or last.get("step", step) != step:
        return "crashed"
    done_steps = total_steps is not None and step >= total_steps
    # a metrics row's time is rounded to the millisecond; the budget is met when it is reached
    done_time = total_seconds is not None and float(last.get("time", 0.0)) >= total_seconds - 1e-3
    return "finished" if done_steps or done_time else "stopped"


def find_runs(folder: Path) -> tuple[list[RunInfo], list[str]]:
    """The runs in ``folder`` (itself a run, or its sub-folders that are), by name, and one note per
    sub-folder with an unreadable config.json. UserError for a missing folder or one with no runs."""
    if not folder.exists():
        raise UserError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder")
    if (folder / CONFIG).is_file():
        return [read_run(folder)], []
    runs, notes = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / CONFIG).is_file()):
        try:
            runs.append(read_run(sub))
        except UserError as exc:
            notes.append(f"skipped {sub.name}: {exc.format_message()}")
    if not runs:
        raise UserError(f"{folder}: no gansrv runs in it (no sub-folder with a readable {CONFIG})")
    return runs, notes


def table(runs: list[RunInfo], base: Path) -> str:
    """Aligned columns, one run per line."""
    head = ("RUN", "FAMILY", "DATA", "STEPS", "CHECKPOINT", "LAST LOSSES", "STATE")
    lines = [head]
    for r in runs:
        inside = r.path != base and r.path.is_relative_to(base)
        name = str(r.path.relative_to(base)) if inside else str(r.path)
        steps = f"{r.step}/{r.total_steps}" if r.total_steps is not None else str(r.step)
        if r.total_seconds is not None:
            steps += f" ({r.total_seconds:g} s)"
        losses = " ".join(f"{k}={v:.4g}" for k, v in r.losses.items()) or "-"
        lines.append((name, r.family, r.data, steps, r.checkpoint or "-", losses, r.state))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1]
                     for row in lines)
