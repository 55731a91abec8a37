"""Schedules counted in images seen, for families that kept their own count before the step
context had one (:attr:`gansrv.step.StepContext.images_seen`): ProGAN's growing buffer, StackGAN's
stage switch.

Such a family keeps its count (a buffer the export reads, a ``ctx.state`` value old checkpoints
hold) but no longer decides it: :func:`images_seen` gives the context's count, the job's over all
torchrun processes, and the value to store after the step, so the own count stays equal to the
context's. The one exception is a checkpoint written before the context existed by a torchrun job:
its own count then summed each process's slice only (world times smaller than the job's), so it
disagrees with the context; that run keeps counting its own way (a flag in ``ctx.state``, saved in
every checkpoint), so it resumes exactly as its uninterrupted run would have gone on.

Light at import (no torch).
"""

from __future__ import annotations

from typing import Any

OWN_COUNT_KEY = "images_seen_own_count"  # set in ctx.state for a run that counts its own way


def images_seen(ctx: Any, own: int, batch: int) -> tuple[int, int]:
    """(images seen before this step, as the schedule reads it; the own count to store after it).

    ``own`` is the family's stored count before this step, ``batch`` the images of this process's
    batch; the family must draw one real batch per step (its own count advances by one batch)."""
    own = int(own)
    if not ctx.state.get(OWN_COUNT_KEY) and own == ctx.images_seen:
        return ctx.images_seen, ctx.images_seen + ctx.batch_size
    ctx.state[OWN_COUNT_KEY] = 1
    return own, own + batch
