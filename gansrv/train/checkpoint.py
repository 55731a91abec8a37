"""Checkpoints: weights in safetensors, optimizer/step/RNG state in a weights-only torch file.

Layout inside a run dir::

    checkpoints/step-00001000/weights.safetensors   module weights, keys "<role>.<param>"
    checkpoints/step-00001000/state.pt              optimizers, step, RNG, family state
    checkpoints/latest                              name of the newest complete checkpoint

A checkpoint folder is written under a temporary name and renamed when complete, and ``latest`` is
replaced atomically after it, so a kill at any moment leaves the previous checkpoint usable.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from gansrv import __version__, atomic
from gansrv.errors import UserError

WEIGHTS = "weights.safetensors"
STATE = "state.pt"


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def _flat_weights(modules: Mapping[str, torch.nn.Module]) -> dict[str, torch.Tensor]:
    flat = {}
    for role, module in modules.items():
        for key, value in module.state_dict().items():
            flat[f"{role}.{key}"] = value.detach().to("cpu").contiguous().clone()
    return flat


def save_checkpoint(run_dir: Path, step: int, modules: Mapping[str, torch.nn.Module],
                    state: dict[str, Any], meta: dict[str, str], keep: int = 2) -> Path:
    """Write a complete checkpoint, point ``latest`` at it, prune old ones; returns its folder."""
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    tmp = root / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    header = {**meta, "step": str(step), "gansrv_version": __version__}
    # Serialised in memory and written by Python: a full disk then raises OSError(ENOSPC), which the
    # CLI reports as "disk full", instead of torch's or safetensors' own opaque write errors.
    state_buf = io.BytesIO()
    torch.save(state, state_buf)
    try:
        for name, data in ((WEIGHTS, save(_flat_weights(modules), metadata=header)),
                           (STATE, state_buf.getvalue())):
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:  # e.g. disk full: leave no half-written folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    atomic.fsync_dir(root)
    atomic.write_text(root / "latest", final.name + "\n")
    _prune(root, keep, final.name)
    return final


def _prune(root: Path, keep: int, newest: str) -> None:
    done = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
    for old in done[:-keep] if keep > 0 else []:
        if old.name != newest:
            shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint ``latest`` names, or else the newest complete one; None if there is none."""
    root = run_dir / "checkpoints"
    pointer = root / "latest"
    if pointer.is_file():
        cand = root / pointer.read_text().strip()
        if (cand / WEIGHTS).is_file() and (cand / STATE).is_file():
            return cand
    done = sorted(p for p in root.glob("step-*") if (p / WEIGHTS).is_file() and (p / STATE).is_file())
    return done[-1] if done else None


def load_weights(ckpt: Path, modules: Mapping[str, torch.nn.Module]) -> dict[str, str]:
    """Load weights into the modules (strictly); returns the safetensors metadata header."""
    path = ckpt / WEIGHTS
    try:
        flat = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable checkpoint weights ({exc})") from None
    for role, module in modules.items():
        prefix = f"{role}."
        sub = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(sub, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise UserError(f"{path}: weights do not fit module {role!r} ({first})") from None
    return meta


def load_state(ckpt: Path) -> dict[str, Any]:
    path = ckpt / STATE
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean the same here
        raise UserError(f"{path}: unreadable checkpoint state ({type(exc).__name__})") from None

