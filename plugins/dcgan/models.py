"""DCGAN networks: G from a 1x1 noise "image" by transposed convolutions, D by strided ones.

The generator is the shared unconditional :class:`gansrv.nn.convnets.ConvGenerator`; D keeps its
own all-convolutional head (a conv over the whole s x s map), so its checkpoints stay as they were.
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, init_normal
from gansrv.nn.convnets import ConvGenerator

__all__ = ["ConvDiscriminator", "ConvGenerator"]


class ConvDiscriminator(nn.Module):
    """Strided convs down to s x s, then one conv over the whole map -> a logit."""

    def __init__(self, channels: int, size: int, width: int):
        super().__init__()
        self.body = ConvDown(channels, size, width)
        self.head = nn.Conv2d(self.body.out_channels, 1, self.body.out_side, 1, 0)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten()
