"""The options every family's ``gansrv train`` command shares (the engine's, not the family's)."""

from __future__ import annotations

from dataclasses import dataclass

# Bounds on user-supplied sizes: a typo must not allocate the machine away.
MAX_BATCH = 65536
MAX_STEPS = 100_000_000
# The length of a run given none of --steps/--epochs/--max-seconds; any of the three replaces it,
# so that a --max-seconds budget alone is the only limit (issue 16: it used to stop at 2,000 steps).
DEFAULT_STEPS = 2000


@dataclass
class TrainOptions:
    data: tuple[str, ...] = ("digits",)
    limit: int | None = None
    steps: int | None = None
    epochs: float | None = None
    max_seconds: float | None = None
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    out: str | None = None
    resume: str | None = None
    sample_every: int = 500
    checkpoint_every: int = 1000
    log_every: int = 10
    keep_checkpoints: int = 2
    progress: bool = True
    deterministic: bool = True

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
