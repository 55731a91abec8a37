"""Jitter for image -> image training: the same random crop and flip applied to an input and its
target, and colour jitter of single images.

Randomness comes from the step context's seeded generator, so a resumed run crops, flips and
jitters exactly as an uninterrupted one would.
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


_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights: the grey an RGB image's saturation pivots on


def colour_jitter(x: torch.Tensor, strength: float, ctx: Any) -> torch.Tensor:
    """Scale each image's brightness, then contrast (about its mean), then saturation (about its
    grey; RGB only) by factors drawn uniformly from [1 - strength, 1 + strength]; clamp to [-1, 1].

    Three factors are drawn per image whatever the channel count, so a run's random stream does
    not depend on the data; ``strength`` 0 draws nothing and returns ``x`` itself.
    """
    if not strength:
        return x
    n, c = x.shape[:2]
    f = 1.0 + strength * (2.0 * ctx.rand(n, 3) - 1.0)
    bright, contrast, sat = (f[:, i].view(n, 1, 1, 1) for i in range(3))
    u = (x + 1.0) * 0.5 * bright
    mean = u.mean(dim=(1, 2, 3), keepdim=True)
    u = (u - mean) * contrast + mean
    if c == 3:
        grey = sum(w * u[:, i:i + 1] for i, w in enumerate(_LUMA))
        u = (u - grey) * sat + grey
    return u.clamp(0.0, 1.0) * 2.0 - 1.0


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
