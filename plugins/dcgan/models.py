"""DCGAN networks: G from a 1x1 noise "image" by transposed convolutions, D by strided ones."""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, ConvUp, init_normal, stages, up_width


class ConvGenerator(nn.Module):
    """z (as latent x 1 x 1) -> ConvT to s x s -> ConvUp stages -> tanh image."""

    def __init__(self, latent_dim: int, size: int, channels: int, width: int):
        super().__init__()
        side, _ = stages(size)
        ch = up_width(size, width)
        self.stem = nn.Sequential(nn.ConvTranspose2d(latent_dim, ch, side, 1, 0, bias=False),
                                  nn.BatchNorm2d(ch), nn.ReLU(True))
        self.up = ConvUp(ch, size, channels, width)
        init_normal(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.stem(z[:, :, None, None]))


class ConvDiscriminator(nn.Module):
    """Strided convs down to s x s, then one conv over the whole map -> a logit."""

    def __init__(self, channels: int, size: int, width: int):
        super().__init__()
        self.body = ConvDown(channels, size, width)
        self.head = nn.Conv2d(self.body.out_channels, 1, self.body.out_side, 1, 0)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten()
