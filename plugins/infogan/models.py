"""InfoGAN networks (Chen et al. 2016, appendix C.1, MNIST): G, the D/Q trunk, the heads.

G: [z, one-hot(c_cat), c_cont] -> fc(1024, BN, ReLU) -> fc(BN, ReLU) -> reshape -> ConvUp (transposed
convs, BN, ReLU, tanh). D: ConvDown (strided convs, LeakyReLU, BN after the first) -> fc(1024, BN,
LeakyReLU) -> fc(1). Q: fc(128, BN, LeakyReLU) -> fc(categories + continuous), either on D's trunk
features (``shared``, the paper's choice: Q costs almost nothing) or on a trunk of its own
(``separate``). Attribute names are part of the checkpoint format.
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, ConvUp, init_normal, one_hot, stages, up_width

TRUNK_FC = 1024
Q_HIDDEN = 128


class CodeGenerator(nn.Module):
    """(z, code, label) -> image in [-1, 1]; the argument order is the exported graph's input order."""

    def __init__(self, latent: int, categories: int, continuous: int, size: int, channels: int,
                 width: int, fc: int = TRUNK_FC):
        super().__init__()
        self.categories, self.continuous = categories, continuous
        self.side, _ = stages(size)
        self.ch = up_width(size, width)
        self.fc = nn.Sequential(
            nn.Linear(latent + categories + continuous, fc, bias=False), nn.BatchNorm1d(fc), nn.ReLU(True),
            nn.Linear(fc, self.ch * self.side**2, bias=False), nn.BatchNorm1d(self.ch * self.side**2),
            nn.ReLU(True))
        self.up = ConvUp(self.ch, size, channels, width)
        init_normal(self)

    def forward(self, z: torch.Tensor, code: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, code, one_hot(label, self.categories)], 1))
        return self.up(h.view(-1, self.ch, self.side, self.side))


class Trunk(nn.Module):
    """Image -> features (batch, fc): the body D and Q share (or Q's own copy when separate)."""

    def __init__(self, channels: int, size: int, width: int, fc: int = TRUNK_FC):
        super().__init__()
        self.conv = ConvDown(channels, size, width)
        self.fc = nn.Sequential(nn.Linear(self.conv.features, fc, bias=False), nn.BatchNorm1d(fc),
                                nn.LeakyReLU(0.2, True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).flatten(1))


class QHead(nn.Module):
    """Features -> (categorical logits (batch, K), continuous code means (batch, L))."""

    def __init__(self, features: int, categories: int, continuous: int):
        super().__init__()
        self.categories = categories
        self.net = nn.Sequential(nn.Linear(features, Q_HIDDEN, bias=False), nn.BatchNorm1d(Q_HIDDEN),
                                 nn.LeakyReLU(0.2, True), nn.Linear(Q_HIDDEN, categories + continuous))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(h)
        return out[:, :self.categories], out[:, self.categories:]


class Discriminator(nn.Module):
    """``forward(x)`` -> real/fake logit (what exports); ``with_q(x)`` also gives Q's estimate from the
    same trunk pass when Q is shared (``q`` is None for a separate Q)."""

    def __init__(self, channels: int, size: int, width: int, categories: int, continuous: int,
                 shared_q: bool, fc: int = TRUNK_FC):
        super().__init__()
        self.trunk = Trunk(channels, size, width, fc)
        self.head = nn.Linear(fc, 1)
        self.q = QHead(fc, categories, continuous) if shared_q else None
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).squeeze(1)

    def with_q(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        h = self.trunk(x)
        return self.head(h).squeeze(1), (self.q(h) if self.q is not None else None)


class SeparateQ(nn.Module):
    """Q with a trunk of its own: image -> (categorical logits, continuous means)."""

    def __init__(self, channels: int, size: int, width: int, categories: int, continuous: int,
                 fc: int = TRUNK_FC):
        super().__init__()
        self.trunk = Trunk(channels, size, width, fc)
        self.head = QHead(fc, categories, continuous)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.trunk(x))
