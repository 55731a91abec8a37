"""``gansrv generate --engine ray [--address HOST:PORT]``: one Ray task per shard file.

Each task opens its own onnxruntime session with as many threads as the CPUs Ray gave it (a GPU
with ``--provider cuda``) and writes its file with the same deterministic writer as a local run
(:func:`gansrv.generate.shards.write_one`), never with Ray's own writers; so the dataset is
byte-identical to a single-process run. A task whose worker dies is retried by Ray
(``MAX_RETRIES``); its half-written file is a temporary one, renamed only when whole, and the
driver removes the temporaries dead workers left. Each file's count is taken once, from the
task's one result. The model file and ``--out`` must be paths every node sees (a shared file
system), as for ``--shard auto``.
"""

from __future__ import annotations

import socket
from pathlib import Path

from gansrv.errors import UserError
from gansrv.generate.plan import Plan, Shard
from gansrv.generate.shards import Layout, Tally, images_in, missing_files, remove_temps

ENGINES = ("local", "ray")
TASK_CPUS = 1  # one-thread sessions beat one many-thread session on small models (docs/benchmarks.md)
MAX_RETRIES = 3
CONNECT_TIMEOUT_S = 5.0


def check_address(address: str | None) -> None:
    """A ``HOST:PORT`` (or ``ray://HOST:PORT``) that does not answer is refused before any work."""
    if address is None or address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--address must look like HOST:PORT (or auto), got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError(f"--address {address}: no Ray cluster answers ({exc.strerror or exc})") from None


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` (None: start a local one for this run)."""
    from gansrv.extras import require

    require("ray", what="--engine ray")
    check_address(address)
    import ray

    try:
        extra = {"include_dashboard": False} if address is None else {}
        ray.init(address=address, logging_level="ERROR", log_to_driver=False, **extra)
    except (ConnectionError, RuntimeError) as exc:
        raise UserError(f"--address {address}: cannot join the Ray cluster ({exc})") from None


def _task(model: str, provider: str, plan: Plan, layout: Layout, j: int, out: str, seed: int,
          truncation: float | None, batch_size: int, level: int) -> tuple[int, int]:
    """One shard file on a Ray worker: its own session, sized to the CPUs Ray assigned."""
    import ray

    from gansrv.generate.shards import write_one
    from gansrv.runtime import Generator

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    gen = Generator.from_file(model, provider, threads=max(1, int(cpus)))
    return j, write_one(gen, plan, layout, j, Path(out), seed, truncation, batch_size, Path(model).name,
                        level)


def write_shards_ray(model: Path, provider: str, plan: Plan, shard: Shard, out: Path, seed: int,
                     truncation: float | None, batch_size: int, progress: bool, level: int, fmt: str,
                     size: int) -> Tally:
    """Run the shard files of ``shard`` that are missing as Ray tasks; returns the tally."""
    import time

    import ray

    from gansrv.generate.progress import ShardProgress

    start = time.perf_counter()
    layout = Layout(len(plan.entries), size, fmt)
    todo, tally = missing_files(layout, shard, out)
    remote = ray.remote(num_cpus=TASK_CPUS, num_gpus=1 if provider == "cuda" else 0,
                        max_retries=MAX_RETRIES)(_task)
    plan_ref = ray.put(plan)
    pending = [remote.remote(str(model.resolve()), provider, plan_ref, layout, j, str(out.resolve()), seed,
                             truncation, batch_size, level) for j in todo]
    bar = ShardProgress(images_in(layout, todo), len(todo), progress)
    done: dict[int, int] = {}
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            j, count = ray.get(ready[0])
            if j not in done:  # a file is counted once, whatever the retries
                done[j] = count
                bar.file_done(count)
    finally:
        bar.close()
        ray.shutdown()
    remove_temps(out)  # left by workers that died mid-shard (their tasks were retried)
    tally.images, tally.files = sum(done.values()), len(done)
    tally.seconds = time.perf_counter() - start
    return tally
