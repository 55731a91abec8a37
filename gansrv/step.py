"""What a family's ``train_step`` may touch: its modules, optimizers, config and the engine's
seeded randomness, extra batches and state that survives a resume. Part of the contract, so it
imports nothing of the engine: the engine builds a :class:`StepContext` over any
:class:`BatchSource` (``gansrv.train.context.BatchStream`` is the engine's).

Everything random a step draws comes from here, so that a resumed run repeats an uninterrupted one
exactly. Light at import (torch only when a step runs), like every contract module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@runtime_checkable
class BatchSource(Protocol):
    """An endless, seeded source of real batches whose order depends only on (seed, batches taken):
    ``next()`` gives ``(images, labels)`` (labels None for unlabelled data) or ``(input, target)``
    for paired data, images in [-1, 1] on the training device."""

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]: ...


@dataclass
class StepContext:
    """The argument of :meth:`gansrv.family.Family.train_step`.

    ``state`` holds family-owned values that must survive a resume (e.g. BEGAN's k_t): plain numbers
    or tensors, saved in every checkpoint. ``step`` is the number of generator steps done before
    this one. ``labelled`` is the second stream of a semi-supervised family (``Family.semi_supervised``):
    ``(images, labels)`` batches over the images whose labels the run may read, while ``stream``
    then gives ``(images, None)``; its position is saved in every checkpoint too.

    Where the run stands, for a schedule counted in images or steps (ProGAN's growing, StackGAN's
    learning-rate halving), set by the engine before every step (:mod:`gansrv.train.progress`):
    ``images_seen`` is the number of real images the main stream gave before this step, summed
    over the processes of a torchrun job (0 at step 1; every batch counts, also the extra ones a
    step draws with :meth:`next_batch`; the labelled stream does not), derived from the batches
    consumed, which every checkpoint saves, so it is exact across ``--resume``. ``batch_size`` is
    the images of one such global batch, ``images_per_epoch`` those of one pass (the whole batches
    of the training set, as ``--epochs`` counts). ``planned_steps`` is the step the run is planned
    to stop at (``--steps``/``--epochs``, the default length, or a resume's new total), None under
    a pure time budget (``--max-seconds`` alone): a schedule must then not depend on it.
    """

    modules: Mapping[str, torch.nn.Module]
    optimizers: Mapping[str, torch.optim.Optimizer]
    config: Any
    device: torch.device
    num_classes: int
    stream: BatchSource
    generator: torch.Generator
    step: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    labelled: BatchSource | None = None
    # set by the engine in a torchrun job: a number -> its mean over the processes (see `mean`)
    reducer: Callable[[float], float] | None = None
    images_seen: int = 0
    batch_size: int = 0
    images_per_epoch: int = 0
    planned_steps: int | None = None

    def mean(self, value: float) -> float:
        """``value`` averaged over the processes of a torchrun job, as is when training alone. For a
        batch statistic that steers training and lives in ``state`` (ADA's r_t, BEGAN's balance):
        each process sees a slice of the batch, and this gives every one the global batch's value
        (the slices are equal), so they all keep the same state. Every process must call it."""
        return float(value) if self.reducer is None else self.reducer(float(value))

    @property
    def epochs_seen(self) -> float:
        """Passes over the training set before this step (``images_seen / images_per_epoch``)."""
        return self.images_seen / self.images_per_epoch if self.images_per_epoch else 0.0

    def randn(self, *shape: int) -> torch.Tensor:
        import torch

        return torch.randn(*shape, generator=self.generator, device=self.device)

    def rand(self, *shape: int) -> torch.Tensor:
        import torch

        return torch.rand(*shape, generator=self.generator, device=self.device)

    def randint(self, high: int, *shape: int) -> torch.Tensor:
        import torch

        return torch.randint(high, shape, generator=self.generator, device=self.device)

    def fake_labels(self, n: int) -> torch.Tensor:
        """Uniform class labels for generated samples (conditional families)."""
        return self.randint(self.num_classes, n)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Another real batch, for recipes that update D several times per G step."""
        return self.stream.next()

    def next_labelled(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of labelled pairs (semi-supervised families; the stream is seeded and resumes)."""
        if self.labelled is None:
            raise RuntimeError("no labelled stream: the family does not declare semi_supervised")
        x, y = self.labelled.next()
        assert y is not None
        return x, y
