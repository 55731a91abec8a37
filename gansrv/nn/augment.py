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


def translate(x: torch.Tensor, max_shift: int, ctx: Any, fill: float = -1.0) -> torch.Tensor:
    """Shift each image of an (N, C, H, W) batch by its own random offset of up to ``max_shift``
    pixels in each direction, filling the border with ``fill`` (the background at -1).

    Differentiable in ``x``: applied to real and generated images alike before the discriminator
    (DiffAugment, Zhao et al. 2020), it keeps D from memorising a small training set while G still
    gets gradients through the shift; ``max_shift`` 0 returns ``x``.
    """
    if max_shift <= 0:
        return x
    n, c, h, w = x.shape
    span = 2 * max_shift + 1
    dy, dx = ctx.randint(span, n), ctx.randint(span, n)
    padded = torch.nn.functional.pad(x, (max_shift,) * 4, value=fill)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    out = padded.gather(2, rows.expand(n, c, h, w + 2 * max_shift))
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    return out.gather(3, cols.expand(n, c, h, w))
