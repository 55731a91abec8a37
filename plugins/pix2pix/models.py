"""pix2pix networks (Isola et al. 2017): a U-Net generator and a PatchGAN discriminator."""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import init_normal

MAX_MULT = 8  # channel multiplier cap: ngf * 8 from the fourth level down, as in the paper


def _norm(kind: str, channels: int) -> nn.Module:
    """pix2pix's norms: BatchNorm, or InstanceNorm without affine terms or running statistics."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.BatchNorm2d(channels)


def unet_widths(ngf: int, depth: int) -> list[int]:
    return [ngf * min(2 ** i, MAX_MULT) for i in range(depth)]


class UNetGenerator(nn.Module):
    """Encoder of ``depth`` stride-2 convs, mirrored decoder, skip concatenations at every level.

    Inputs must have H and W divisible by 2**depth. Dropout (the generator's only noise) sits in
    the three decoder levels nearest the bottleneck; it is off in eval mode, so exports are
    deterministic.
    """

    def __init__(self, in_ch: int, out_ch: int, ngf: int, depth: int, norm: str, dropout: float):
        super().__init__()
        self.multiple = 2 ** depth  # H and W must divide by this
        widths = unet_widths(ngf, depth)
        bias = norm == "instance"  # BatchNorm has its own shift
        self.down = nn.ModuleList()
        prev = in_ch
        for i, w in enumerate(widths):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(prev, w, 4, 2, 1, bias=bias or i in (0, depth - 1)))
            if 0 < i < depth - 1:
                layers.append(_norm(norm, w))
            self.down.append(nn.Sequential(*layers))
            prev = w
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            cin = widths[i] if i == depth - 1 else 2 * widths[i]
            cout = widths[i - 1] if i > 0 else out_ch
            layers = [nn.ReLU(True), nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias or i == 0)]
            if i > 0:
                layers.append(_norm(norm, cout))
                if dropout > 0 and depth - 4 <= i <= depth - 2:
                    layers.append(nn.Dropout(dropout))
            else:
                layers.append(nn.Tanh())
            self.up.append(nn.Sequential(*layers))
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.up[0](skips.pop())
        for block in self.up[1:]:
            x = block(torch.cat([x, skips.pop()], 1))
        return x


class PatchDiscriminator(nn.Module):
    """PatchGAN on the channel-wise pair (input, output): one logit per overlapping patch.

    ``n_layers`` stride-2 convs set the receptive field: 1 -> 16 px, 2 -> 34, 3 -> 70 (the paper's
    default), 4 -> 142, 5 -> 286.
    """

    def __init__(self, in_ch: int, ndf: int, n_layers: int, norm: str):
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        prev = ndf
        for n in range(1, n_layers + 1):
            w = ndf * min(2 ** n, MAX_MULT)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(prev, w, 4, stride, 1, bias=bias), _norm(norm, w),
                       nn.LeakyReLU(0.2, True)]
            prev = w
        layers.append(nn.Conv2d(prev, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image, target], 1))


def receptive_field(n_layers: int) -> int:
    """Receptive field in pixels of one output of PatchDiscriminator(n_layers)."""
    strides = [2] * n_layers + [1, 1]  # n_layers stride-2 convs (first included), two stride-1
    field = 1
    for s in reversed(strides):
        field = (field - 1) * s + 4
    return field


def patch_output_side(side: int, n_layers: int) -> int:
    for _ in range(n_layers):
        side = (side + 2 - 4) // 2 + 1
    for _ in range(2):
        side = side + 2 - 4 + 1
    return side
