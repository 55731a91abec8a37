"""The options every family's ``gansrv train`` command shares (the engine's, not the family's),
declared once: each field carries its default, help text and bounds, the way a family's Config
does. ``gansrv.cli.train`` generates the click options from these fields, and :func:`check_options`
checks the bounds for every source of a value (flag, config file, Python API).

Field metadata (all optional besides ``help``): ``min``/``max`` (inclusive bounds), ``above``
(an exclusive lower bound), ``choices``, ``folder`` (a directory path), ``many`` (a repeatable
option) and ``click_checks`` (the bounds become a click range, so that the command line refuses a
value with click's usage message before anything loads; the others are refused by
:func:`check_options` with the messages below).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gansrv.errors import UserError

# Bounds on user-supplied sizes: a typo must not allocate the machine away.
MAX_BATCH = 65536
MAX_STEPS = 100_000_000
MAX_EPOCHS = 1e6
# The length of a run given none of --steps/--epochs/--max-seconds; any of the three replaces it,
# so that a --max-seconds budget alone is the only limit (issue 16: it used to stop at 2,000 steps).
DEFAULT_STEPS = 2000
DEVICES = ("auto", "cpu", "cuda")

DATA_HELP = ("Dataset: a named one (see 'gansrv datasets'), an image folder (one subfolder per "
             "class), an .npz, an IDX folder, or --data IMAGES --data LABELS.")


def engine_option(default: Any, help: str, **meta: Any) -> Any:
    """A TrainOptions field: its default, help text and bounds (see the module docstring)."""
    return field(default=default, metadata={"help": help, **meta})


@dataclass
class TrainOptions:
    data: tuple[str, ...] = engine_option(("digits",), DATA_HELP, many=True)
    limit: int | None = engine_option(None, "Use only the first N images.", min=1, click_checks=True)
    steps: int | None = engine_option(
        None, f"Training iterations (generator steps). The run stops at whichever of --steps, "
              f"--epochs, --max-seconds given comes first; with none, {DEFAULT_STEPS} steps. "
              f"With --resume: the run's new total.", min=1, max=MAX_STEPS)
    epochs: float | None = engine_option(
        None, "Training length in passes over the data. With --resume: the new total.",
        above=0, max=MAX_EPOCHS)
    max_seconds: float | None = engine_option(
        None, "Stop (and checkpoint) after this much training time. With --resume: this many "
              "seconds more; a plain --resume keeps the steps and time the last command set.", above=0)
    batch_size: int = engine_option(64, "Images per batch.", min=1, max=MAX_BATCH)
    seed: int = engine_option(0, "Seed for init, data and noise.")
    labels_per_class: int | None = engine_option(
        None, "Semi-supervised families: keep the labels of only M images per class (chosen from "
              "--label-seed); every image still trains unlabelled.", min=1, max=MAX_STEPS,
        click_checks=True)
    labelled: int | None = engine_option(
        None, "Semi-supervised families: keep N labels in all, balanced over the classes (instead "
              "of --labels-per-class).", min=1, max=MAX_STEPS, click_checks=True)
    label_seed: int | None = engine_option(
        None, "Seed of the labelled subset (default: --seed), so one subset can train with "
              "several seeds.")
    device: str = engine_option("auto", "auto picks CUDA when torch sees a GPU.", choices=DEVICES)
    out: str | None = engine_option(None, "Run directory (default: runs/<family>-<time>).", folder=True)
    resume: str | None = engine_option(
        None, "Continue the run in this directory from its latest checkpoint.", folder=True)
    sample_every: int = engine_option(
        500, "Write a sample grid every N steps (0: only at the end).", min=0, click_checks=True)
    checkpoint_every: int = engine_option(
        1000, "Checkpoint every N steps (0: only at the end).", min=0, click_checks=True)
    log_every: int = engine_option(
        10, "Average losses over N steps per metrics.jsonl row.", min=1, click_checks=True)
    keep_checkpoints: int = engine_option(
        2, "How many recent checkpoints to keep.", min=1, click_checks=True)
    progress: bool = engine_option(True, "Show the progress bar.")
    tensorboard: bool = engine_option(
        False, "Also write a TensorBoard log to RUN/tensorboard/: every metrics.jsonl quantity, the "
               "sample grids, the hyperparameters (needs gansrv[tensorboard]).")
    deterministic: bool = engine_option(
        True, "On CUDA, deterministic kernels: a seed repeats a run bit for bit and resume is "
              "exact. --no-deterministic lets cuDNN/cuBLAS use faster atomics. CPU runs are "
              "deterministic either way.")

    compile: bool = engine_option(
        False, "torch.compile every network (gansrv/train/compile.py; measured per family in "
               "docs/benchmarks.md). Checkpoints are the same either way; --resume takes it anew.")
    channels_last: bool = engine_option(
        False, "Keep 4-D weights in channels-last memory layout (see --compile).")
    precision: str = engine_option(
        "fp32", "Arithmetic of the training steps: bf16 (CUDA autocast) or fp32 (the default, "
                "and the only one on CPU; resume is exact in fp32).",
        choices=("fp32", "bf16", "fp16"))
    sync_bn: bool = engine_option(
        False, "Several processes on CUDA: synchronized BatchNorm (batch statistics over the "
               "global batch, not each process's slice). Without it the running statistics are "
               "averaged before every grid and checkpoint.")
    nproc: int = engine_option(
        1, "Train with N processes on this machine: launches 'torchrun --standalone "
           "--nproc-per-node N' with this command (a resume needs the run's own N).",
        min=1, max=1024, click_checks=True)

    def given_length(self) -> bool:
        """Did the user pass any of --steps/--epochs/--max-seconds (then only those limits apply)?"""
        return any(v is not None for v in (self.steps, self.epochs, self.max_seconds))

    def step_limit(self, dataset_size: int) -> int | None:
        """The step count --steps and --epochs set (the smaller when both: whichever comes first);
        None when neither is given."""
        limits = [] if self.steps is None else [self.steps]
        if self.epochs is not None:
            per_epoch = max(1, dataset_size // min(self.batch_size, dataset_size))
            limits.append(max(1, round(self.epochs * per_epoch)))
        return min(limits) if limits else None


def option_fields() -> list[dataclasses.Field]:
    """The engine's options in the order ``gansrv train <family> --help`` lists them."""
    return list(dataclasses.fields(TrainOptions))


def check_options(opts: TrainOptions) -> None:
    """Raise UserError for a value outside its field's bounds (None: not given, always fine)."""
    for f in option_fields():
        value, meta = getattr(opts, f.name), f.metadata
        if value is None or isinstance(value, (bool, tuple, list)):
            continue
        flag = "--" + f.name.replace("_", "-")
        if "above" in meta and not (value > meta["above"] and value <= meta.get("max", value)):
            what = "positive" if meta["above"] == 0 else f"> {meta['above']}"
            raise UserError(f"{flag} must be {what}, got {value}")
        if "min" in meta and "max" in meta and not meta["min"] <= value <= meta["max"]:
            raise UserError(f"{flag} must be between {meta['min']} and {meta['max']}, got {value}")
        if "min" in meta and "max" not in meta and value < meta["min"]:
            raise UserError(f"{flag} must be >= {meta['min']}")
        if "choices" in meta and value not in meta["choices"]:
            raise UserError(f"{flag} must be one of {', '.join(meta['choices'])}, got {value!r}")
