"""The shard formats' part of a ``gansrv generate`` job: the checks and the manifest entries they
add, and which engine writes the files (a Ray cluster, model processes, or this process).

Kept out of :mod:`gansrv.generate.job` so that the job stays one flow for every format.
"""

from __future__ import annotations

from pathlib import Path

from gansrv.generate.plan import Plan
from gansrv.generate.shards import Layout, Tally


def prepare(plan: Plan, req, manifest: dict) -> dict:
    """Check what a shard run needs before any file (tar-safe class names, a Ray cluster that
    answers) and return the manifest with the shard entries."""
    from gansrv.generate.shards import check_names, shard_manifest

    check_names(plan, req.fmt)
    if req.engine == "ray":
        from gansrv.generate.ray_engine import connect

        connect(req.address)
    return shard_manifest(manifest, req.shard_size, req.compression)


def write(gen, model: Path, provider: str, plan: Plan, req, out: Path, workers: int) -> Tally:
    """Write the run's missing shard files with the engine it asks for; returns the tally.

    On one machine, model processes from two files to write (faster than one session with N
    threads, docs/benchmarks.md "Shard formats"); else one session in this process.
    """
    common = (plan, req.shard, out, req.seed, req.truncation, req.batch_size)
    if req.engine == "ray":
        from gansrv.generate.ray_engine import write_shards_ray

        return write_shards_ray(model, provider, *common, req.progress, req.compression, req.fmt,
                                req.shard_size)
    files = len(Layout(len(plan.entries), req.shard_size, req.fmt).mine(req.shard))
    if min(workers, files) > 1:
        from gansrv.generate.model_pool import write_shards_processes

        return write_shards_processes(model, provider, *common, req.progress, req.compression,
                                      req.fmt, req.shard_size, workers)
    from gansrv.generate.shards import write_shards

    return write_shards(gen, *common, model.name, req.progress, 1, req.compression, req.fmt,
                        req.shard_size)
