"""Fully connected G and D of the original GAN."""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import init_normal, mlp


class MLPGenerator(nn.Module):
    """z -> hidden layers (BatchNorm, ReLU) -> C*H*W pixels, tanh."""

    def __init__(self, latent_dim: int, hidden: list[int], shape: tuple[int, int, int]):
        super().__init__()
        self.shape = shape
        out = shape[0] * shape[1] * shape[2]
        self.net = mlp([latent_dim, *hidden, out], nn.ReLU(True), norm=True)
        init_normal(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(-1, *self.shape)


class MLPDiscriminator(nn.Module):
    """Flattened image -> hidden layers (LeakyReLU, dropout) -> one logit."""

    def __init__(self, shape: tuple[int, int, int], hidden: list[int], dropout: float):
        super().__init__()
        self.net = mlp([shape[0] * shape[1] * shape[2], *hidden, 1], nn.LeakyReLU(0.2, True),
                       dropout=dropout)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)
