"""The options every family's ``gansrv train`` command shares (the engine's, not the family's)."""

from __future__ import annotations

from dataclasses import dataclass

# Bounds on user-supplied sizes: a typo must not allocate the machine away.
MAX_BATCH = 65536
MAX_STEPS = 100_000_000


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

    def total_steps(self, dataset_size: int, default_steps: int) -> int:
        """--steps wins; else --epochs over the data; else the family's default length."""
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            per_epoch = max(1, dataset_size // min(self.batch_size, dataset_size))
            return max(1, round(self.epochs * per_epoch))
        return default_steps
