"""Jitter for paired images: the same random crop and flip applied to an input and its target.

Randomness comes from the step context's seeded generator, so a resumed run crops and flips exactly
as an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import torch


def paired_crop_flip(x: torch.Tensor, t: torch.Tensor, crop: int, flip: bool, ctx: Any
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop both (N, C, H, W) batches to ``crop`` x ``crop`` at one random offset per pair, then
    mirror each pair left-right with probability 1/2 when ``flip``; ``crop`` 0 keeps the size."""
    n, _, h, w = x.shape
    if crop and (crop < h or crop < w):
        tops = ctx.randint(h - crop + 1, n).tolist()
        lefts = ctx.randint(w - crop + 1, n).tolist()
        x = torch.stack([x[i, :, a:a + crop, b:b + crop] for i, (a, b) in enumerate(zip(tops, lefts))])
        t = torch.stack([t[i, :, a:a + crop, b:b + crop] for i, (a, b) in enumerate(zip(tops, lefts))])
    if flip:
        mirror = (ctx.rand(n) < 0.5).view(n, 1, 1, 1)
        x = torch.where(mirror, x.flip(3), x)
        t = torch.where(mirror, t.flip(3), t)
    return x, t
