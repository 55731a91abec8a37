"""The engine's data stream: the :class:`gansrv.step.BatchSource` its :class:`StepContext` draws
from. The step context itself is part of the contract (:mod:`gansrv.step`); it is re-exported here
for code that imported it from this module before."""

from __future__ import annotations

import torch

from gansrv.step import StepContext

__all__ = ["BatchStream", "StepContext"]


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

    def _indices(self) -> torch.Tensor:
        """The dataset indices of the next batch (a process of a torchrun job takes its slice)."""
        epoch, pos = divmod(self.consumed, self.per_epoch)
        return self._order(epoch)[pos * self.batch_size:(pos + 1) * self.batch_size]

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self._indices()
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
