"""What a family's ``train_step`` may touch: its modules, optimizers, config and the engine's
seeded randomness and data stream. Everything random comes from here so that resume is exact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch


class BatchStream:
    """Endless shuffled batches; the order depends only on (seed, batches consumed so far).

    A batch is ``(images, labels)``, or ``(images, targets)`` for paired data (both in [-1, 1]).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, batch_size: int,
                 seed: int, device: torch.device, consumed: int = 0,
                 targets: torch.Tensor | None = None):
        self.images, self.labels, self.targets = images, labels, targets
        self.batch_size = min(batch_size, len(images))
        self.per_epoch = len(images) // self.batch_size
        self.seed, self.device, self.consumed = seed, device, consumed
        self._epoch, self._perm = -1, None

    def _order(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm, self._epoch = torch.randperm(len(self.images), generator=gen), epoch
        return self._perm

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        epoch, pos = divmod(self.consumed, self.per_epoch)
        idx = self._order(epoch)[pos * self.batch_size:(pos + 1) * self.batch_size]
        self.consumed += 1
        x = self._pixels(self.images[idx])
        if self.targets is not None:
            return x, self._pixels(self.targets[idx])
        y = None if self.labels is None else self.labels[idx].to(self.device)
        return x, y

    def _pixels(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.device, non_blocking=True).float().div_(127.5).sub_(1.0)

    @property
    def epoch(self) -> float:
        return self.consumed / self.per_epoch


@dataclass
class StepContext:
    modules: Mapping[str, torch.nn.Module]
    optimizers: Mapping[str, torch.optim.Optimizer]
    config: Any
    device: torch.device
    num_classes: int
    stream: BatchStream
    generator: torch.Generator
    step: int = 0
    # Family-owned values that must survive a resume (e.g. BEGAN's k_t): plain numbers/tensors.
    state: dict[str, Any] = field(default_factory=dict)

    def randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator, device=self.device)

    def rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator, device=self.device)

    def randint(self, high: int, *shape: int) -> torch.Tensor:
        return torch.randint(high, shape, generator=self.generator, device=self.device)

    def fake_labels(self, n: int) -> torch.Tensor:
        """Uniform class labels for generated samples (conditional families)."""
        return self.randint(self.num_classes, n)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Another real batch, for recipes that update D several times per G step."""
        return self.stream.next()
