"""Multi-process training under ``torchrun``: one process per device, one writer, shared decisions.

Started by ``torchrun`` (it sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` and the rendezvous), every
process runs the same ``gansrv train`` command. The engine, not the family, does the distribution:

* each process takes its slice of every global batch (:class:`ShardedStream`), so ``--batch-size``
  means the same at any process count;
* before every optimizer step, the gradients of that optimizer's parameters are averaged over the
  processes (an optimizer step pre-hook), so all processes hold identical weights at all times.
  Not DistributedDataParallel: DDP syncs in ``backward`` of a wrapped module's ``forward``, and GAN
  steps run several backwards per network (a frozen D under G's loss, two optimizers on one D, a
  gradient penalty's double backward, methods other than ``forward``); syncing at the step, as the
  StyleGAN3 codebase does, needs no wrapper and no change in any family;
* process 0 alone writes (run directory, config, metrics, grids, checkpoints);
* stop decisions (signal, NaN loss, time budget) are reduced at every step boundary, so every
  process stops after the same step.

Per-process state: BatchNorm running statistics are averaged before every grid and checkpoint;
each process draws noise from its own seeded generator (seed, rank), saved per process in the
checkpoint, so resume is exact at the same process count (and refused at another). A family whose
``ctx.state`` would differ per process refuses (:meth:`gansrv.family.Family.multiprocess`).
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from gansrv.errors import UserError
from gansrv.train.context import BatchStream
from gansrv.train.engine import Trainer, TrainingStopped, stop_signals
from gansrv.train.group import Group, comm, gather, on_main

NOISE_SEED_STRIDE = 1_000_003  # rank r draws noise from seed + 1 + r * stride; rank 0 as alone


class ShardedStream(BatchStream):
    """The engine's stream, cut: process r takes the r-th slice of every global batch, so the
    batches, their order and an epoch mean the same at any process count."""

    def __init__(self, whole: BatchStream, group: Group):
        super().__init__(whole.images, whole.labels, whole.batch_size, whole.seed, whole.device,
                         whole.consumed, whole.targets)
        if self.batch_size % group.world:
            raise UserError(f"batch size {self.batch_size} does not split over {group.world} "
                            f"processes; pass a --batch-size divisible by {group.world}")
        self.rank, self.local = group.rank, self.batch_size // group.world

    def _indices(self) -> torch.Tensor:
        return super()._indices()[self.rank * self.local:(self.rank + 1) * self.local]


@contextmanager
def _shared_interrupt():
    """Ctrl-C/SIGTERM only ask; the processes agree at the next step boundary (a second signal
    does not abort one process alone: torchrun forwards its own signal on top of the terminal's)."""
    flag = {"stop": False, "asked": False}

    def handler(signum, frame):
        flag["asked"] = True

    with stop_signals(handler):
        yield flag


def _norm_layers(modules: dict[str, torch.nn.Module]) -> list[torch.nn.Module]:
    from torch.nn.modules.batchnorm import _NormBase

    return [m for net in modules.values() for m in net.modules()
            if isinstance(m, _NormBase) and m.track_running_stats]


def _bytes(value: Any) -> bytes:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().contiguous().numpy().tobytes()
    return repr(value).encode()


def state_digests(modules: dict[str, torch.nn.Module], family_state: dict[str, Any]) -> dict[str, str]:
    """sha256 of every weight, buffer and family-state value, by key: equal in every process."""
    out = {f"{role}.{key}": hashlib.sha256(_bytes(value)).hexdigest()
           for role in sorted(modules) for key, value in modules[role].state_dict().items()}
    out.update({f"state.{k}": hashlib.sha256(_bytes(family_state[k])).hexdigest()
                for k in sorted(family_state)})
    return out


def digest(parts: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{k}={v};" for k, v in parts.items()).encode()).hexdigest()


class DistributedTrainer(Trainer):
    """The engine's trainer in one process of a torchrun job (see the module docstring)."""

    def __init__(self, group: Group, *args: Any, **kw: Any):
        self.group = group
        super().__init__(*args, **kw)
        if not group.main:
            self.opts = replace(self.opts, progress=False)
        self.ctx.stream = ShardedStream(self.ctx.stream, group)
        if self.ctx.labelled is not None:
            self.ctx.labelled = ShardedStream(self.ctx.labelled, group)
        self.ctx.generator.manual_seed(self.opts.seed + 1 + group.rank * NOISE_SEED_STRIDE)
        self.ctx.reducer = self._mean
        if self.opts.sync_bn:
            self._sync_batchnorm()
        self._broadcast_modules()
        for opt in self.optimizers.values():
            opt.register_step_pre_hook(self._sync_grads)
        self._gathered: dict[str, Any] = {}

    # -- keeping the processes identical ------------------------------------------------------
    def _broadcast_modules(self) -> None:
        """Process 0's initial weights everywhere (they agree already on CPU; this makes it so)."""
        import torch.distributed as dist

        for net in self.modules.values():
            for t in net.state_dict().values():
                comm(lambda t=t: dist.broadcast(t, src=0))

    def _sync_grads(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        """Average the gradients of this optimizer's parameters over the processes, in one
        all-reduce per dtype; called by the optimizer right before it steps."""
        import torch.distributed as dist

        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        for dtype in sorted({g.dtype for g in grads}, key=str):
            same = [g for g in grads if g.dtype == dtype]
            flat = torch.cat([g.reshape(-1) for g in same])
            comm(lambda flat=flat: dist.all_reduce(flat))
            flat.div_(self.group.world)
            at = 0
            for g in same:
                g.copy_(flat[at:at + g.numel()].view_as(g))
                at += g.numel()

    def _sync_batchnorm(self) -> None:
        """--sync-bn: torch's SyncBatchNorm in place of every BatchNorm (same parameters, same
        checkpoint keys). torch syncs only CUDA inputs, so CPU refuses. Not run here (no GPU)."""
        if self.device.type != "cuda":
            raise UserError("--sync-bn needs CUDA (torch synchronizes BatchNorm only on GPUs); on "
                            "CPU the running statistics are averaged at every checkpoint")
        for role, net in self.modules.items():
            self.modules[role] = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)

    def _mean(self, value: float) -> float:
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=self.group.device)
        comm(lambda: dist.all_reduce(t))
        return float(t.div_(self.group.world).item())

    def _sync_norm_stats(self) -> None:
        """Average BatchNorm running statistics (each process saw only its slice of the batch)."""
        import torch.distributed as dist

        for m in _norm_layers(self.modules):
            for name in ("running_mean", "running_var"):
                buf = getattr(m, name, None)
                if buf is not None:
                    comm(lambda buf=buf: dist.all_reduce(buf))
                    buf.div_(self.group.world)

    # -- step boundary ------------------------------------------------------------------------
    def _interrupt(self):
        return _shared_interrupt()

    def _agree(self, losses: dict[str, float], dt: float,
               interrupt: dict[str, bool]) -> tuple[dict[str, float], float]:
        """One all-reduce per step: losses and step time averaged (a NaN anywhere is a NaN
        everywhere), and a stop asked by a signal in any process."""
        import torch.distributed as dist

        keys = list(losses)
        vec = torch.tensor([*(float(losses[k]) for k in keys), dt, float(interrupt["asked"])],
                           dtype=torch.float64, device=self.group.device)
        comm(lambda: dist.all_reduce(vec))
        values = vec.div_(self.group.world).tolist()
        if values[-1] > 0:
            interrupt["stop"] = True
        return dict(zip(keys, values[:-2])), values[-2]

    # -- one writer ---------------------------------------------------------------------------
    def _flush_log(self) -> dict[str, float]:
        if self.group.main:
            return super()._flush_log()
        means = {k: v / max(1, self.acc_n) for k, v in self.acc.items()}
        self.logged_at, self.acc, self.acc_n = self.elapsed, {}, 0
        return means

    def write_grid(self) -> Path:
        self._sync_norm_stats()
        if self.group.main:
            return super().write_grid()
        return self.out / "samples" / f"step-{self.ctx.step:06d}.png"

    def write_curves(self) -> None:
        if self.group.main:
            super().write_curves()

    def truncate_metrics(self, step: int) -> None:
        if self.group.main:
            super().truncate_metrics(step)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), **self._gathered}

    def save(self) -> Path:
        """Every process: stats synced, RNG states and a digest gathered; process 0 writes."""
        self._sync_norm_stats()
        parts = state_digests(self.modules, self.ctx.state)
        digests = gather(self.group, digest(parts))
        if len(set(digests)) > 1:  # a bug: name the first value that differs
            every = gather(self.group, parts)
            key = next((k for k in parts if len({str(p.get(k)) for p in every}) > 1), "?")
            raise TrainingStopped(f"the training processes hold different values of {key} at "
                                  f"step {self.ctx.step} (a bug); last checkpoint kept")
        self._gathered = {
            "processes": self.group.world,
            "weights_digest_ranks": digests,
            "rng_noise_ranks": gather(self.group, self.ctx.generator.get_state().cpu()),
            "rng_torch_ranks": gather(self.group, torch.get_rng_state()),
        }
        return Path(on_main(self.group, lambda: str(super(DistributedTrainer, self).save())))

    def restore(self, path: Path) -> None:
        super().restore(path)
        from gansrv.train import checkpoint as ckpt

        state = ckpt.load_state(path)
        ran = int(state.get("processes", 1))
        if ran != self.group.world:
            raise UserError(f"{path}: written by {ran} process(es), not {self.group.world}")
        self.ctx.generator.set_state(state["rng_noise_ranks"][self.group.rank])
        torch.set_rng_state(state["rng_torch_ranks"][self.group.rank])
