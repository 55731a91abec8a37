"""``--workers N`` (N > 1) for the shard formats on one machine: N model processes, each with its
own one-thread onnxruntime session, each writing whole shard files with the same writer as the
in-process loop (:func:`gansrv.generate.shards.write_one`), so the bytes do not change.

Why processes: one session with N threads splits each small convolution over N cores and waits
for the slowest, and the PNG/tar work beside it is Python; N one-thread sessions keep every core
on its own batch (measured in docs/benchmarks.md, "Shard formats"). Started by forkserver, so the
parent's onnxruntime threads are never forked; each exits with the parent (gansrv.generate.pool).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from gansrv.generate.plan import Plan, Shard
from gansrv.generate.shards import Layout, Tally, images_in, missing_files, remove_temps

_GEN = None  # the worker process's generator (one session, one thread)


def _init(model: str, provider: str, main_pid: int) -> None:
    from gansrv.generate.pool import _writer_init
    from gansrv.runtime import Generator

    global _GEN
    _writer_init(main_pid)
    _GEN = Generator.from_file(model, provider, threads=1)


def _task(plan: Plan, layout: Layout, j: int, out: str, seed: int, truncation: float | None,
          batch_size: int, model_name: str, level: int) -> int:
    from gansrv.generate.shards import write_one

    return write_one(_GEN, plan, layout, j, Path(out), seed, truncation, batch_size, model_name, level)


def write_shards_processes(model: Path, provider: str, plan: Plan, shard: Shard, out: Path, seed: int,
                           truncation: float | None, batch_size: int, progress: bool, level: int,
                           fmt: str, size: int, workers: int) -> Tally:
    """Write the shard's missing files with ``workers`` model processes; returns the tally."""
    from gansrv.generate.progress import ShardProgress

    start = time.perf_counter()
    layout = Layout(len(plan.entries), size, fmt)
    todo, tally = missing_files(layout, shard, out)
    bar = ShardProgress(images_in(layout, todo), len(todo), progress)
    ctx = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(min(workers, max(1, len(todo))), mp_context=ctx, initializer=_init,
                               initargs=(str(model), provider, os.getpid()))
    try:
        futures = [pool.submit(_task, plan, layout, j, str(out), seed, truncation, batch_size,
                               model.name, level) for j in todo]
        for future in as_completed(futures):
            count = future.result()
            tally.images += count
            tally.files += 1
            bar.file_done(count)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    remove_temps(out)  # none unless a worker died, which fails the run above
    tally.seconds = time.perf_counter() - start
    return tally
