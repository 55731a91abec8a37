"""``--shard auto``: the shard K/N of this task of a Slurm job array or a Kubernetes Indexed Job.

Slurm sets ``SLURM_ARRAY_TASK_ID`` with ``_MIN``, ``_STEP`` and ``_COUNT`` for ``sbatch --array``
(arrays 0-7 and 1-8 both give 8 shards); Kubernetes sets ``JOB_COMPLETION_INDEX``
(0-based) in an Indexed Job's pods but not the count, which the manifest passes as
``GANSRV_SHARD_COUNT`` (= ``spec.completions``). The environment is read once, before any work, so
a task outside an array is refused with nothing written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gansrv.errors import UserError
from gansrv.generate.plan import Shard, parse_shard

COUNT_VAR = "GANSRV_SHARD_COUNT"


def resolve_shard(text: str | None, env: Mapping[str, str] | None = None) -> Shard:
    """``--shard`` as given: ``K/N``, ``auto`` (from the environment) or nothing (the whole set)."""
    if text is None or text.strip().lower() != "auto":
        return parse_shard(text)
    env = os.environ if env is None else env
    if "SLURM_ARRAY_TASK_ID" in env:
        return _slurm(env)
    if "JOB_COMPLETION_INDEX" in env:
        return _indexed_job(env)
    raise UserError("--shard auto: not in a Slurm job array (no SLURM_ARRAY_TASK_ID) or a "
                    "Kubernetes Indexed Job (no JOB_COMPLETION_INDEX); give --shard K/N")


def _int(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    raw = env.get(name)
    if raw is None and default is not None:
        return default
    try:
        return int(str(raw).strip())
    except ValueError:
        raise UserError(f"--shard auto: {name}={raw!r} is not a whole number") from None


def _slurm(env: Mapping[str, str]) -> Shard:
    task, low = _int(env, "SLURM_ARRAY_TASK_ID"), _int(env, "SLURM_ARRAY_TASK_MIN", 0)
    step, count = _int(env, "SLURM_ARRAY_TASK_STEP", 1), _int(env, "SLURM_ARRAY_TASK_COUNT")
    if step < 1 or (task - low) % step:
        raise UserError(f"--shard auto: Slurm array task {task} is not on the range {low}..:{step}; "
                        f"use an evenly spaced --array (e.g. 0-7) or --shard K/N")
    return parse_shard(f"{(task - low) // step + 1}/{count}")


def _indexed_job(env: Mapping[str, str]) -> Shard:
    index = _int(env, "JOB_COMPLETION_INDEX")
    if COUNT_VAR not in env:
        raise UserError(f"--shard auto: a Kubernetes Indexed Job needs {COUNT_VAR} (set it to the "
                        f"Job's completions) beside JOB_COMPLETION_INDEX")
    return parse_shard(f"{index + 1}/{_int(env, COUNT_VAR)}")
