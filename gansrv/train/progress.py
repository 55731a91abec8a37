"""Where a run stands, written into the step context before every step: images seen, the global
batch, one epoch's images and the planned length (see :class:`gansrv.step.StepContext`).

Everything is derived from the main stream's position (batches consumed, saved in every
checkpoint) and the run's plan, so nothing new is saved and a resumed run sees the values an
uninterrupted one saw. Under torchrun each process's stream (``ShardedStream``) keeps the global
batch size and the same count of batches, so the values are the job's, equal in every process.
"""

from __future__ import annotations

from typing import Any

from gansrv.step import StepContext


def stamp(ctx: StepContext, planned_steps: int | None) -> None:
    """Set ``ctx``'s progress fields for the step about to run."""
    stream: Any = ctx.stream  # the engine's BatchStream (or its sharded form)
    ctx.batch_size = int(stream.batch_size)
    ctx.images_seen = int(stream.consumed) * ctx.batch_size
    ctx.images_per_epoch = int(stream.per_epoch) * ctx.batch_size
    ctx.planned_steps = planned_steps
