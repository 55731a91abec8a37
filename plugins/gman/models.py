"""GMAN's players: DCGAN's generator, N dropout discriminators and GMAN*'s learnt lambda.

Attribute names are part of the checkpoint format (``D0.body.0.weight``, ``L.log_lam``, ...).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, init_normal
from gansrv.nn.convnets import ConvGenerator


class DropoutDiscriminator(nn.Module):
    """DCGAN's D (strided convs, one conv over the last map -> a logit) with dropout on the last
    features: the rate differs per D, which with the different initialisations keeps the N apart."""

    def __init__(self, channels: int, size: int, width: int, dropout: float):
        super().__init__()
        self.body = ConvDown(channels, size, width)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Conv2d(self.body.out_channels, 1, self.body.out_side, 1, 0)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.body(x))).flatten()


class LearntLambda(nn.Module):
    """GMAN*'s lambda as exp(log_lam), so it stays positive; G's optimizer moves it."""

    def __init__(self, start: float):
        super().__init__()
        self.log_lam = nn.Parameter(torch.tensor(math.log(max(start, 1e-2))))

    def forward(self) -> torch.Tensor:
        return self.log_lam.exp()


def build_players(config, channels: int, rates: list[float]) -> dict[str, nn.Module]:
    """G and D0..DN-1, each D initialised from the next draws of torch's (seeded) generator."""
    modules: dict[str, nn.Module] = {"G": ConvGenerator(config.latent_dim, config.image_size, channels,
                                                        config.g_width)}
    for i, rate in enumerate(rates):
        modules[f"D{i}"] = DropoutDiscriminator(channels, config.image_size, config.d_width, rate)
    return modules
