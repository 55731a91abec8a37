"""ProGAN's networks (Karras et al. 2018, table 2, scaled down): every block of every resolution
built up front, so checkpoint keys never change while the networks grow.

Channels: ``width`` at the two coarsest levels, halved per doubling above (:func:`level_widths`).
G: z pixel-normalised -> dense -> base x base map -> conv3x3 (LeakyReLU 0.2, pixel norm); each
next level: nearest x2, two conv3x3 (LeakyReLU, pixel norm); a 1x1 toRGB per level, no tanh.
D mirrors it: a 1x1 fromRGB per level, two conv3x3 (LeakyReLU) and a 2x2 average pool per level,
then minibatch stddev, conv3x3, dense, dense -> score. The schedule (images seen) lives in G's
buffer ``images_seen`` so that the EMA copy, the checkpoint and the export all carry it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gansrv.nn.progressive import (
    EqualizedConv2d,
    EqualizedLinear,
    fade,
    minibatch_stddev,
    pixel_norm,
    schedule,
)


def level_widths(levels: int, width: int, smallest: int = 8) -> list[int]:
    """Channels per level: `width` at the two coarsest levels, halved per doubling above them
    (the paper halves from 64 px on, 512 -> 16; on a CPU the budget is spent at the low sides)."""
    return [max(smallest, width >> max(0, k - 1)) for k in range(levels)]


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def upscale(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest upscale by an integer factor, as a broadcast (3x faster than F.interpolate on
    CPU here, and exported as Expand + Reshape)."""
    if factor == 1:
        return x
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, factor, w, factor).reshape(n, c, h * factor,
                                                                                w * factor)


class Schedule(nn.Module):
    """Images seen (a buffer) and the schedule's constants: where the growing stands."""

    def __init__(self, levels: int, fade_images: int, stable_images: int):
        super().__init__()
        self.levels, self.fade_images, self.stable_images = levels, fade_images, stable_images
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.int64))

    def position(self) -> tuple[int, float]:
        """Where the growing stands after the images seen so far (what the export shows)."""
        return self.at(int(self.images_seen))

    def at(self, images_seen: int) -> tuple[int, float]:
        return schedule(images_seen, self.levels, self.fade_images, self.stable_images)


class GrowingGenerator(nn.Module):
    def __init__(self, latent_dim: int, sides: list[int], channels: int, width: int,
                 fade_images: int, stable_images: int):
        super().__init__()
        ch = level_widths(len(sides), width)
        self.sides, self.latent_dim, self.width = sides, latent_dim, ch[0]
        self.schedule = Schedule(len(sides), fade_images, stable_images)
        base = sides[0]
        self.dense = EqualizedLinear(latent_dim, ch[0] * base * base, gain=2.0 / 16)
        self.base_conv = EqualizedConv2d(ch[0], ch[0], 3, 1)
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(ch[k - 1], ch[k], 3, 1), EqualizedConv2d(ch[k], ch[k], 3, 1)])
            for k in range(1, len(sides)))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, channels, 1, gain=1.0) for c in ch)

    def at_level(self, z: torch.Tensor, level: int, alpha: float) -> torch.Tensor:
        """The image at the level's own side, the new block faded in by alpha."""
        base = self.sides[0]
        h = pixel_norm(_act(self.dense(pixel_norm(z))).view(-1, self.width, base, base))
        h = pixel_norm(_act(self.base_conv(h)))
        previous = h
        for block in self.blocks[:level]:
            previous = h
            h = upscale(h)
            for conv in block:
                h = pixel_norm(_act(conv(h)))
        new = self.to_rgb[level](h)
        if level == 0 or alpha >= 1.0:
            return new
        return fade(upscale(self.to_rgb[level - 1](previous)), new, alpha)

    def full_size(self, z: torch.Tensor, level: int, alpha: float) -> torch.Tensor:
        """The image at the target side (nearest upscale of the reached level), in [-1, 1]."""
        image = self.at_level(z, level, alpha)
        return torch.clamp(upscale(image, self.sides[-1] // self.sides[level]), -1.0, 1.0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.full_size(z, *self.schedule.position())


class GrowingDiscriminator(nn.Module):
    def __init__(self, sides: list[int], channels: int, width: int, group: int = 4):
        super().__init__()
        ch = level_widths(len(sides), width)
        self.sides, self.group = sides, group
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, c, 1) for c in ch)
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(ch[k], ch[k], 3, 1), EqualizedConv2d(ch[k], ch[k - 1], 3, 1)])
            for k in range(1, len(sides)))
        base, w = sides[0], ch[0]
        self.final_conv = EqualizedConv2d(w + 1, w, 3, 1)
        self.dense = EqualizedLinear(w * base * base, w)
        self.out = EqualizedLinear(w, 1, gain=1.0)

    def forward(self, x: torch.Tensor, level: int, alpha: float, group: int | None = None
                ) -> torch.Tensor:
        """Score of images at the level's side; the skip path (fromRGB of the pooled image) is
        faded out as alpha goes to 1."""
        h = _act(self.from_rgb[level](x))
        for i in range(level, 0, -1):
            for conv in self.blocks[i - 1]:
                h = _act(conv(h))
            h = F.avg_pool2d(h, 2)
            if i == level and alpha < 1.0:
                h = fade(_act(self.from_rgb[level - 1](F.avg_pool2d(x, 2))), h, alpha)
        h = minibatch_stddev(h, self.group if group is None else group)
        h = _act(self.final_conv(h))
        return self.out(_act(self.dense(h.flatten(1)))).squeeze(1)


class ReachedGenerator(nn.Module):
    """The export: G at the schedule position it had reached, fixed as constants."""

    def __init__(self, g: GrowingGenerator):
        super().__init__()
        self.g = g
        self.level, self.alpha = g.schedule.position()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.g.full_size(z, self.level, self.alpha)


class ReachedJudge(nn.Module):
    """D as a judge of full-size images at the reached position; every image its own stddev
    group, so one image's score never depends on the rest of the batch."""

    def __init__(self, d: GrowingDiscriminator, level: int, alpha: float):
        super().__init__()
        self.d, self.level, self.alpha = d, level, alpha
        self.factor = d.sides[-1] // d.sides[level]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image if self.factor == 1 else F.avg_pool2d(image, self.factor)
        return self.d(x, self.level, self.alpha, group=1)
