"""The training loop. It knows no family: it builds what the family asks for and calls its hooks.

Written around a single process; under torchrun, :mod:`gansrv.train.distributed` subclasses the
trainer (sharded batches, gradient sync, one writer, shared stop decisions) without touching families.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from gansrv import atomic
from gansrv.data import Dataset, DataSpec
from gansrv.errors import UserError
from gansrv.family import Family
from gansrv.kinds import Kind
from gansrv.step import StepContext
from gansrv.train import checkpoint as ckpt
from gansrv.train import pictures, precision, progress
from gansrv.train.compile import apply as compile_modules
from gansrv.train.context import BatchStream
from gansrv.train.options import TrainOptions

GRID_COLS = 8
MAX_GRID_ROWS = 16


class TrainingStopped(UserError):
    """Training cannot go on (diverged); one line, exit 1, last good checkpoint kept. Under
    torchrun every process raises it at the same step boundary (the decision is reduced)."""

    exit_code = 1
    decided_together = True


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch build sees no CUDA device")
    return torch.device(name)


def set_determinism(device: torch.device, on: bool) -> None:
    """Two fresh CUDA runs of one seed differed at step 1 (loss 1.6974770 vs 1.6974777 on an H100:
    atomics in cuDNN/cuBLAS and embedding backward), which also breaks exact resume; so CUDA runs
    use deterministic kernels unless asked not to. cuBLAS reads its workspace setting at start-up."""
    if device.type != "cuda":
        return
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = on
    torch.use_deterministic_algorithms(on, warn_only=True)


@contextmanager
def stop_signals(handler):
    """Ctrl-C and SIGTERM go to ``handler`` inside the block; the old handlers come back after it."""
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def _graceful_interrupt():
    """First Ctrl-C (or SIGTERM) asks the loop to stop at the next step boundary."""
    flag = {"stop": False}

    def handler(signum, frame):
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    with stop_signals(handler):
        yield flag


class Trainer:
    def __init__(self, family: Family, config: Any, data: Dataset, opts: TrainOptions,
                 out: Path, total_steps: int | None, log=print,
                 total_seconds: float | None = None):
        """total_steps / total_seconds: where the run stops (steps done, training time spent over
        all its invocations), whichever comes first; None for no such limit."""
        self.family, self.config, self.opts, self.out = family, config, opts, out
        self.total_steps, self.total_seconds, self.log = total_steps, total_seconds, log
        self.device = pick_device(opts.device)
        set_determinism(self.device, opts.deterministic)
        precision.check(self.device, opts.precision)
        self.spec: DataSpec = data.spec()
        torch.manual_seed(opts.seed)
        self.modules = {k: m.to(self.device) for k, m in family.build(config, self.spec).items()}
        compile_modules(self.modules, opts.compile, opts.channels_last,
                        family.double_backward(config), log)
        self.optimizers = family.optimizers(config, self.modules)
        semi = getattr(family, "semi_supervised", False) and data.labels is not None
        labels = None if data.labels is None or semi else torch.from_numpy(data.labels)
        targets = None if data.targets is None else torch.from_numpy(data.targets)
        stream = BatchStream(torch.from_numpy(data.images), labels, opts.batch_size, opts.seed,
                             self.device, targets=targets)
        gen = torch.Generator(device=self.device).manual_seed(opts.seed + 1)
        self.ctx = StepContext(self.modules, self.optimizers, config, self.device,
                               self.spec.num_classes, stream, gen,
                               labelled=self._labelled_stream(data) if semi else None)
        self.elapsed = 0.0
        self.acc: dict[str, float] = {}
        self.acc_n = 0
        self.logged_at = 0.0  # training time at the last metrics row, for its it/s
        self.sample_targets: torch.Tensor | None = None
        self.domain_inputs: torch.Tensor | None = None  # labelled image -> image: real inputs
        self.sample_z, self.sample_labels = self._fixed_samples(data)
        self.tb = None  # the TensorBoard log (--tensorboard), opened by run() after any restore

    def _labelled_stream(self, data: Dataset) -> BatchStream:
        """The semi-supervised family's labelled pairs: the run's subset, or every image."""
        from gansrv.train.semi import LABELLED_STREAM_OFFSET

        idx = None if data.labelled is None else torch.from_numpy(data.labelled)
        images, labels = torch.from_numpy(data.images), torch.from_numpy(data.labels)
        if idx is not None:
            images, labels = images[idx], labels[idx]
        return BatchStream(images, labels, self.opts.batch_size,
                           self.opts.seed + LABELLED_STREAM_OFFSET, self.device)

    # -- state ------------------------------------------------------------------------------
    def _meta(self) -> dict[str, str]:
        return {"family": self.family.name, "config": json.dumps(asdict(self.config)),
                "data_fingerprint": self.spec.fingerprint}

    def _state(self) -> dict[str, Any]:
        return {
            "step": self.ctx.step,
            "batches_consumed": self.ctx.stream.consumed,
            "labelled_consumed": 0 if self.ctx.labelled is None else self.ctx.labelled.consumed,
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "rng_torch": torch.get_rng_state(),
            "rng_noise": self.ctx.generator.get_state().cpu(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "family_state": dict(self.ctx.state),
            "elapsed": self.elapsed,
            "log_acc": dict(self.acc),
            "log_acc_n": self.acc_n,
            "logged_at": self.logged_at,
        }

    def save(self) -> Path:
        return ckpt.save_checkpoint(self.out, self.ctx.step, self.modules, self._state(),
                                    self._meta(), keep=self.opts.keep_checkpoints)

    def restore(self, path: Path) -> None:
        meta = ckpt.load_weights(path, self.modules)
        if meta.get("family") != self.family.name:
            raise UserError(f"{path}: checkpoint of family {meta.get('family')!r}, "
                            f"not {self.family.name!r}")
        state = ckpt.load_state(path)
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        torch.set_rng_state(state["rng_torch"])
        self.ctx.generator.set_state(state["rng_noise"])  # a CPU ByteTensor, for CUDA generators too
        if state.get("rng_cuda") and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.ctx.step = int(state["step"])
        self.ctx.stream.consumed = int(state["batches_consumed"])
        if self.ctx.labelled is not None:
            self.ctx.labelled.consumed = int(state.get("labelled_consumed", 0))
        self.ctx.state.update(state.get("family_state", {}))
        self.elapsed = float(state.get("elapsed", 0.0))
        self.acc, self.acc_n = dict(state.get("log_acc", {})), int(state.get("log_acc_n", 0))
        self.logged_at = float(state.get("logged_at", self.elapsed))
        self.truncate_metrics(self.ctx.step)

    def truncate_metrics(self, step: int) -> None:
        """Drop rows a killed run logged after its last checkpoint; they will be logged again."""
        path = self.out / "metrics.jsonl"
        rows = [r for r in pictures.read_metrics(path) if r.get("step", 0) <= step]
        atomic.write_text(path, "".join(json.dumps(r) + "\n" for r in rows))

    # -- sampling ---------------------------------------------------------------------------
    def _fixed_samples(self, data: Dataset) -> tuple[torch.Tensor, torch.Tensor | None]:
        if data.targets is not None:  # paired: the first pairs' inputs stand in for z
            n = min(GRID_COLS, len(data))
            self.sample_targets = torch.from_numpy(data.targets[:n]).float() / 127.5 - 1
            return torch.from_numpy(data.images[:n]).float() / 127.5 - 1, None
        if data.labels is not None and self.family.kind_for(self.config) is Kind.IMAGE:
            return self._domain_samples(data)
        gen = torch.Generator().manual_seed(self.opts.seed + 2)
        latent = self.family.latent_dim(self.config)
        if self.family.kind_for(self.config) is Kind.CONDITIONAL and self.spec.num_classes:
            rows = min(self.spec.num_classes, MAX_GRID_ROWS)
            labels = torch.arange(rows).repeat_interleave(GRID_COLS)
        else:
            rows, labels = GRID_COLS, None
        z = torch.randn(rows * GRID_COLS, latent, generator=gen)
        return z, labels

    def _domain_samples(self, data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
        """Labelled image -> image data: real inputs, each translated to every domain (label)."""
        k = self.spec.num_classes
        idx = pictures.domain_rows(data.labels, k, GRID_COLS)
        self.domain_inputs = torch.from_numpy(data.images[idx]).float() / 127.5 - 1
        self.domain_input_names = [self.spec.class_names[int(data.labels[i])] for i in idx]
        return self.domain_inputs.repeat_interleave(k, 0), torch.arange(k).repeat(len(idx))

    def write_grid(self) -> Path:
        for m in self.modules.values():
            m.eval()
        with torch.no_grad():
            labels = None if self.sample_labels is None else self.sample_labels.to(self.device)
            imgs = self.family.sample(self.modules, self.sample_z.to(self.device), labels)
        for m in self.modules.values():
            m.train()
        if self.sample_targets is not None:  # rows: inputs, outputs, targets
            imgs = _grid_rows([self.sample_z, imgs.float().cpu(), self.sample_targets])
        row_labels, cols, title = None, GRID_COLS, f"{self.family.name}  step {self.ctx.step}"
        names = self.spec.class_names
        if self.domain_inputs is not None:  # rows: (input, to each domain), labelled by input domain
            k = self.spec.num_classes
            imgs = torch.from_numpy(pictures.domain_grid_cells(
                self.domain_inputs.numpy(), imgs.float().cpu().numpy(), k))
            row_labels = self.domain_input_names
            cols, title = k + 1, f"{title}  columns: input, {', '.join(names)}"
        elif self.sample_labels is not None:
            row_labels = [names[i] for i in range(len(self.sample_labels) // GRID_COLS)]
        if self.sample_targets is not None:
            cols = len(self.sample_z)
        grid = pictures.grid_image(pictures.to_uint8(imgs.float().cpu().numpy()), cols,
                                   row_labels, title)
        path = self.out / "samples" / f"step-{self.ctx.step:06d}.png"
        pictures.save_png(path, grid)
        if self.tb is not None:
            self.tb.grid(self.ctx.step, grid)
        return path

    def write_curves(self) -> None:
        rows = pictures.read_metrics(self.out / "metrics.jsonl")
        pictures.loss_curves(rows, self.out / "loss.png", f"{self.family.name} - {self.out.name}")

    # -- loop -------------------------------------------------------------------------------
    def _record(self, losses: dict[str, float]) -> None:
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            last = ckpt.latest_checkpoint(self.out)
            where = f"last good checkpoint: {last}" if last else "no checkpoint was written yet"
            raise TrainingStopped(f"loss {bad[0]} became {losses[bad[0]]} at step "
                                  f"{self.ctx.step + 1}; training stopped ({where})")
        for k, v in losses.items():
            self.acc[k] = self.acc.get(k, 0.0) + float(v)
        self.acc_n += 1

    def _flush_log(self) -> dict[str, float]:
        means = {k: v / max(1, self.acc_n) for k, v in self.acc.items()}
        spent = self.elapsed - self.logged_at
        rate = self.acc_n / spent if spent > 0 else 0.0
        self.logged_at = self.elapsed
        row = {"step": self.ctx.step, "epoch": round(self.ctx.stream.epoch, 4),
               "time": round(self.elapsed, 3), "it_s": round(rate, 2), **means}
        atomic.append_line(self.out / "metrics.jsonl", json.dumps(row))
        if self.tb is not None:
            self.tb.row(row)
        self.acc, self.acc_n = {}, 0
        return means

    def _interrupt(self):
        return _graceful_interrupt()

    def _agree(self, losses: dict[str, float], dt: float,
               interrupt: dict[str, bool]) -> tuple[dict[str, float], float]:
        """What all processes of a job decide together (gansrv.train.distributed); alone: as is."""
        return losses, dt

    def _due(self, every: int) -> bool:
        return every > 0 and self.ctx.step % every == 0

    def run(self) -> dict[str, Any]:
        """Train to total_steps (or the time budget, or Ctrl-C); always ends on a checkpoint."""
        bar = _progress(self.total_steps, self.ctx.step, self.opts.progress, self.family.name)
        reason = "done"
        budget = self.total_seconds
        if self.opts.tensorboard:
            from gansrv.train.tensorboard import TensorBoardLog

            self.tb = TensorBoardLog(self.out, self.ctx.step, {**asdict(self.config), **asdict(self.opts)})
        with self._interrupt() as interrupt:
            while self.total_steps is None or self.ctx.step < self.total_steps:
                t0 = time.perf_counter()
                progress.stamp(self.ctx, self.total_steps)
                batch = self.ctx.next_batch()
                with precision.autocast(self.device, self.opts.precision):
                    losses = self.family.train_step(batch, self.ctx)
                dt = time.perf_counter() - t0
                losses, dt = self._agree(losses, dt, interrupt)
                self._record(losses)
                self.ctx.step += 1
                self.elapsed += dt
                bar.update(1)
                if self._due(self.opts.log_every) or self.ctx.step == self.total_steps:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in self._flush_log().items()})
                if self._due(self.opts.sample_every):
                    self.write_grid()
                    self.write_curves()
                if self._due(self.opts.checkpoint_every):
                    self.save()
                if interrupt["stop"]:
                    reason = "interrupted"
                    break
                if budget is not None and self.elapsed >= budget:
                    reason = "time budget"
                    break
        bar.close()
        return self._finish(reason)

    def _finish(self, reason: str) -> dict[str, Any]:
        if self.acc_n:
            self._flush_log()
        last = self.save()
        grid = self.write_grid()
        self.write_curves()
        if self.tb is not None:
            self.tb.close()
        return {"reason": reason, "step": self.ctx.step, "checkpoint": str(last),
                "grid": str(grid), "elapsed": self.elapsed}


def _grid_rows(rows: list[torch.Tensor]) -> torch.Tensor:
    """Stack image batches into one: centre-cut to the smallest size, grey repeated to RGB when any
    batch is RGB (an image -> image family may output a cut or another channel count)."""
    c = max(r.shape[1] for r in rows)
    h, w = min(r.shape[2] for r in rows), min(r.shape[3] for r in rows)
    cut = [r[:, :, (r.shape[2] - h) // 2:][:, :, :h, (r.shape[3] - w) // 2:][..., :w] for r in rows]
    return torch.cat([r.expand(-1, c, -1, -1) if r.shape[1] != c else r for r in cut])


def _progress(total: int, initial: int, enabled: bool, name: str):
    import sys

    from tqdm import tqdm

    # On a terminal redraw often; in a log file, a line every 30 s rather than a flood of them.
    interval = 0.2 if sys.stderr.isatty() else 30.0
    return tqdm(total=total, initial=initial, disable=not enabled, desc=name, unit="it",
                dynamic_ncols=True, leave=True, mininterval=interval)

