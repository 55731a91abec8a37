"""MAD-GAN's networks: k generators on one shared trunk, and a D that names an image's source.

Attribute names are part of the checkpoint format (``G.trunk.0.weight``, ``G.heads.2.weight``, ...).
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, ConvUp, init_normal, one_hot, stages, up_width


class MultiGenerator(nn.Module):
    """(z, label = which generator) -> image in [-1, 1].

    The trunk is DCGAN's generator up to its last transposed conv (shared); each generator owns one
    last transposed conv. Every head runs on the whole batch and a one-hot mask keeps generator
    ``label[i]``'s output for image i: a masked sum adds exact zeros, so the selection is exact, and
    the exported graph has no data-dependent shapes.
    """

    def __init__(self, latent: int, k: int, size: int, channels: int, width: int):
        super().__init__()
        self.k = k
        side, _ = stages(size)
        ch = up_width(size, width)
        up = list(ConvUp(ch, size, channels, width))  # [..., last ConvTranspose2d, Tanh]
        last = up[-2]
        self.trunk = nn.Sequential(
            nn.ConvTranspose2d(latent, ch, side, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True),
            *up[:-2])
        self.heads = nn.ModuleList(
            nn.ConvTranspose2d(last.in_channels, last.out_channels, 4, 2, 1) for _ in range(k))
        init_normal(self)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = self.trunk(z[:, :, None, None])
        outs = torch.stack([head(h) for head in self.heads], 1)  # (N, k, C, H, W)
        mask = one_hot(label, self.k)[:, :, None, None, None]
        return torch.tanh((outs * mask).sum(1))


class SourceDiscriminator(nn.Module):
    """Image -> k + 1 logits: made by generator 0 .. k-1, or real (the last)."""

    def __init__(self, channels: int, size: int, width: int, k: int):
        super().__init__()
        self.body = ConvDown(channels, size, width)
        self.head = nn.Conv2d(self.body.out_channels, k + 1, self.body.out_side, 1, 0)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten(1)


class RealLogit(nn.Module):
    """The exported D: (logit of real vs any generator, the k + 1 source logits).

    logit = log p(real) - log p(fake) = l_real - logsumexp(l_0 .. l_{k-1}), so it reads like every
    other family's discriminator logit."""

    def __init__(self, D: SourceDiscriminator):
        super().__init__()
        self.D = D

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.D(image)
        return logits[:, -1] - torch.logsumexp(logits[:, :-1], 1), logits
