"""The job torchrun started, seen from one process: who it is, how it talks to the others, and
the checks and one-writer helpers ``gansrv.train.api`` needs. Torch-free at import (the training
API is imported by commands that must not load torch); :mod:`gansrv.train.distributed` holds the
trainer."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansrv.errors import UserError


@dataclass(frozen=True)
class Group:
    """This process's place in the job."""

    rank: int
    world: int
    local_rank: int
    backend: str
    device: Any  # torch.device: where collectives' tensors live (CPU for gloo, the GPU for NCCL)

    @property
    def main(self) -> bool:
        return self.rank == 0


class LostPeer(UserError):
    """Another process of the job died or stopped answering: exit 1 with what to do next."""

    exit_code = 1


def env_world() -> int:
    """The process count torchrun set (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main() -> bool:
    """False in every process but torchrun's rank 0: those stay quiet."""
    return env_world() <= 1 or os.environ.get("RANK", "0") == "0"


def setup(device: str) -> Group | None:
    """Join the job torchrun started (None when this process trains alone).

    Backend: NCCL when each local process gets its own GPU, else gloo (on CPU, and for several
    processes sharing one GPU, which NCCL refuses)."""
    world = env_world()
    if world <= 1:
        return None
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        raise UserError("this torch build has no torch.distributed; train with one process")
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch build sees no CUDA device")
    if cuda:  # not tested on the project's CPU machine
        torch.cuda.set_device(local % torch.cuda.device_count())
        backend = "nccl" if torch.cuda.device_count() >= local_world else "gloo"
        where = torch.device("cuda", torch.cuda.current_device())
    else:
        backend, where = "gloo", torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend, store=_attempt_store(dist, rank, world), rank=rank,
                                world_size=world)
    return Group(rank, world, local, backend, where)


def _attempt_store(dist: Any, rank: int, world: int) -> Any:
    """torchrun's store, under a prefix of its own per restart: after ``--max-restarts`` relaunched
    the job, the keys of the failed attempt were still there (tried on torch 2.13, --standalone:
    gloo connected to the dead process's address and failed)."""
    store, _, _ = next(dist.rendezvous("env://", rank, world))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return dist.PrefixStore(f"gansrv/attempt-{attempt}/", store)


def barrier(group: Group | None) -> None:
    if group is not None:
        import torch.distributed as dist

        comm(dist.barrier)


def stop_together(group: Group | None, exc: UserError) -> None:
    """An error every process raised at the same step boundary (a NaN loss): process 0 says it,
    then all leave at once. torchrun ends the other processes as soon as one exits non-zero: a
    process 1 that left first had process 0 killed while it was still on its way out (torch 2.13:
    rank 0 "exitcode -15 (SIGTERM)" in torchrun's report), a race with its message."""
    if group is None or not getattr(exc, "decided_together", False):
        return
    if group.main:
        exc.show()
        exc.shown = True
    barrier(group)


def teardown(group: Group | None) -> None:
    if group is not None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def comm(fn: Callable[[], Any]) -> Any:
    """Run a collective; a peer that died turns into one line instead of a backend traceback."""
    import torch.distributed as dist

    try:
        return fn()
    except (RuntimeError, dist.DistError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        first = re.sub(r"^\[[^\]]*\]\s*", "", first).split(". ")[0][:120]  # no source path
        raise LostPeer(f"another training process stopped ({first}); relaunch with --resume "
                       f"to continue from the last checkpoint") from None


def broadcast(group: Group | None, value: Any) -> Any:
    """Process 0's value, in every process."""
    if group is None:
        return value
    import torch.distributed as dist

    box = [value]
    comm(lambda: dist.broadcast_object_list(box, src=0, device=group.device))
    return box[0]


def gather(group: Group, value: Any) -> list[Any]:
    import torch.distributed as dist

    out: list[Any] = [None] * group.world
    comm(lambda: dist.all_gather_object(out, value))
    return out


def on_main(group: Group | None, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Run ``fn`` in process 0 only; every process then returns its result or raises its error."""
    if group is None:
        return fn(*args, **kw)
    outcome: tuple[str, Any, int] = ("ok", None, 0)
    if group.main:
        try:
            outcome = ("ok", fn(*args, **kw), 0)
        except UserError as exc:
            outcome = ("error", exc.format_message(), exc.exit_code)
            broadcast(group, outcome)
            raise
        except BaseException as exc:
            broadcast(group, ("error", f"process 0 failed: {type(exc).__name__}: {exc}", 1))
            raise
    kind, value, code = broadcast(group, outcome)
    if kind == "error":
        err = UserError(value)
        err.exit_code = code
        raise err
    return value


def main_log(group: Group | None, log: Callable[[str], Any]) -> Callable[[str], Any]:
    return log if group is None or group.main else (lambda message: None)


def check_family(world: int, family: Any, config: Any) -> None:
    """One ``error:`` line when the family cannot yet train under ``world`` > 1 processes."""
    reason = family.multiprocess(config) if world > 1 else None
    if reason:
        raise UserError(f"{family.name} cannot train with several processes yet: {reason}")


def world_of(group: Group | None) -> int:
    return 1 if group is None else group.world


def check_resume(group: Group | None, saved_train: dict[str, Any], run_dir: Path) -> None:
    """Noise streams are per process, so a run resumes exactly only at its own process count."""
    check_resume_count(world_of(group), saved_train, run_dir)


def check_resume_count(now: int, saved_train: dict[str, Any], run_dir: Path) -> None:
    """:func:`check_resume` for ``now`` processes (``--nproc`` asks before it starts them)."""
    ran = int(saved_train.get("processes", 1))
    if ran != now:
        raise UserError(f"{run_dir} trained with {ran} process(es), this launch has {now}; resume "
                        f"it with {ran} (torchrun --nproc-per-node / gansrv train --nproc)")


def restarted(group: Group | None, opts: Any) -> Any:
    """torchrun ``--max-restarts``: a restarted job runs the same command line again, so a new run's
    ``--out`` that already holds this run (its config.json) is resumed instead of refused."""
    if group is None or int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0) == 0:
        return opts
    if opts.resume or not opts.out or not (Path(opts.out) / "config.json").is_file():
        return opts
    from dataclasses import replace

    return replace(opts, resume=opts.out)
