"""LAPGAN's networks (Denton et al. 2015, sec. 3 and 4.2; the eyescream reference code).

Level 0 is the coarsest: an MLP GAN on small images. Every finer level k is a conditional GAN
whose G maps (u(I_{k+1}), a noise plane, a class plane) to the band-pass residual h_k, and whose D
judges u(I_{k+1}) + h_k with u(I_{k+1}) beside it. :class:`LaplacianChain` chains the levels into
the one generator that is sampled and exported: all levels' noise comes packed in ``z``
(:class:`gansrv.nn.pyramid.ZLayout`).
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import init_normal, mlp, one_hot
from gansrv.nn.pyramid import ZLayout, ZPart, downsample, upsample


class ClassPlane(nn.Module):
    """Class-conditional variant (sec. 4.2): one-hot -> linear -> one extra H x W input plane."""

    def __init__(self, num_classes: int, side: int):
        super().__init__()
        self.num_classes, self.side = num_classes, side
        self.fc = nn.Linear(num_classes, side * side)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.fc(one_hot(labels, self.num_classes)).view(-1, 1, self.side, self.side)


class CoarseGenerator(nn.Module):
    """Level 0: z (+ one-hot label) -> MLP (BatchNorm, ReLU) -> C x s x s pixels, tanh."""

    def __init__(self, latent_dim: int, hidden: list[int], channels: int, side: int,
                 num_classes: int = 0):
        super().__init__()
        self.shape, self.num_classes = (channels, side, side), num_classes
        self.latent_dim, self.side = latent_dim, side
        self.net = mlp([latent_dim + num_classes, *hidden, channels * side * side], nn.ReLU(True),
                       norm=True)
        init_normal(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, one_hot(labels, self.num_classes)], 1)
        return torch.tanh(self.net(z)).view(-1, *self.shape)


class CoarseDiscriminator(nn.Module):
    """Level 0: flattened image (+ one-hot label) -> MLP (LeakyReLU, dropout) -> logit."""

    def __init__(self, channels: int, side: int, hidden: list[int], dropout: float,
                 num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        self.net = mlp([channels * side * side + num_classes, *hidden, 1], nn.LeakyReLU(0.2, True),
                       dropout=dropout)
        init_normal(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = x.flatten(1)
        if self.num_classes:
            h = torch.cat([h, one_hot(labels, self.num_classes)], 1)
        return self.net(h).squeeze(1)


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, k // 2)


class RefineGenerator(nn.Module):
    """Finer level: [u(I_{k+1}), noise plane, class plane] -> convs (ReLU) -> residual h_k.

    The residual is linear (no tanh): a band-pass image is signed and small; the chain clamps
    the sum to [-1, 1]."""

    def __init__(self, channels: int, side: int, width: int, kernels: list[int],
                 num_classes: int = 0):
        super().__init__()
        self.side = side
        self.label = ClassPlane(num_classes, side) if num_classes else None
        cin = channels + 1 + (1 if num_classes else 0)
        layers: list[nn.Module] = []
        for i, k in enumerate(kernels):
            last = i == len(kernels) - 1
            layers.append(_conv(cin, channels if last else width, k))
            if not last:
                layers.append(nn.ReLU(True))
            cin = width
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, coarse_up: torch.Tensor, noise: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        planes = [coarse_up, noise.view(-1, 1, self.side, self.side)]
        if self.label is not None:
            planes.append(self.label(labels))
        return self.net(torch.cat(planes, 1))


class RefineDiscriminator(nn.Module):
    """Finer level: [u(I_{k+1}) + h, u(I_{k+1}), class plane] -> 2 strided convs (LeakyReLU),
    dropout, fc -> logit. Seeing u(I_{k+1}) makes it judge the residual given its coarser image."""

    def __init__(self, channels: int, side: int, width: int, dropout: float, num_classes: int = 0):
        super().__init__()
        self.label = ClassPlane(num_classes, side) if num_classes else None
        cin = 2 * channels + (1 if num_classes else 0)
        self.body = nn.Sequential(
            _conv(cin, width, 5, 2), nn.LeakyReLU(0.2, True),
            _conv(width, 2 * width, 5, 2), nn.LeakyReLU(0.2, True), nn.Dropout(dropout))
        out_side = (side + 3) // 4  # two stride-2 convs with padding 2: ceil(side / 4)
        self.fc = nn.Linear(2 * width * out_side * out_side, 1)
        init_normal(self)

    def forward(self, image: torch.Tensor, coarse_up: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        planes = [image, coarse_up]
        if self.label is not None:
            planes.append(self.label(labels))
        return self.fc(self.body(torch.cat(planes, 1)).flatten(1)).squeeze(1)


def z_layout(latent_dim: int, sides: list[int]) -> ZLayout:
    """Level 0's noise vector, then one 1 x s x s noise plane per finer level, in level order."""
    parts = [ZPart("level0", (latent_dim,))]
    parts += [ZPart(f"level{k}", (1, s, s)) for k, s in enumerate(sides[1:], start=1)]
    return ZLayout(parts)


class LaplacianChain(nn.Module):
    """Sampling (sec. 3.2): I_coarse = G_0(z_0); I_k = clamp(u(I_{k+1}) + G_k(z_k, u(I_{k+1}))).

    ``levels`` are the trained level generators, coarsest first (shared, not copied)."""

    def __init__(self, levels: list[nn.Module]):
        super().__init__()
        self.levels = nn.ModuleList(levels)
        self.layout = z_layout(levels[0].latent_dim, [g.side for g in levels])

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        noise = list(self.layout.split(z).values())
        image = self.levels[0](noise[0], label)
        for g, n in zip(self.levels[1:], noise[1:]):
            up = upsample(image)
            image = torch.clamp(up + g(up, n, label), -1.0, 1.0)
        return image


class RefineJudge(nn.Module):
    """The finest level's D as an image judge: the image, conditioned on u(d(image))."""

    def __init__(self, d: nn.Module):
        super().__init__()
        self.d = d

    def forward(self, image: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.d(image, upsample(downsample(image)), label)
