"""Load a finished (or interrupted) run back: its family, config, data spec and trained modules.

Only the run directory is needed: config.json and the self-describing checkpoint carry the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansrv.data import DataSpec
from gansrv.errors import UserError
from gansrv.family import Family
from gansrv.train import checkpoint as ckpt
from gansrv.train import rundir


@dataclass
class LoadedRun:
    family: Family
    config: Any
    spec: DataSpec
    modules: dict
    checkpoint: Path
    step: int


def load_run(run_dir: str | Path, families: dict[str, Family] | None = None,
             checkpoint: str | Path | None = None) -> LoadedRun:
    """Rebuild the run's modules on CPU in eval mode from its latest (or the given) checkpoint."""
    run_dir = Path(run_dir)
    saved = rundir.read_config(run_dir)
    if families is None:
        from gansrv.plugins import registry

        families = registry().families
    family = families.get(saved["family"])
    if family is None:
        raise UserError(f"{run_dir} was trained with family {saved['family']!r}, which is not "
                        f"installed")
    try:
        config = family.saved_config(saved["config"])
        spec = DataSpec(**saved["data"])
    except TypeError as exc:
        raise UserError(f"{run_dir}/config.json does not match this gansrv version ({exc})") from None
    path = Path(checkpoint) if checkpoint else ckpt.latest_checkpoint(run_dir)
    if path is None:
        raise UserError(f"{run_dir}: no complete checkpoint")
    modules = family.build(config, spec)
    meta = ckpt.load_weights(path, modules)
    for m in modules.values():
        m.eval()
    return LoadedRun(family, config, spec, modules, path, int(meta.get("step", 0)))
