"""CycleGAN networks (Zhu et al. 2017): a ResNet generator and a single-image PatchGAN."""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import init_normal


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.BatchNorm2d(channels)


class ResBlock(nn.Module):
    def __init__(self, width: int, norm: str):
        super().__init__()
        bias = norm == "instance"
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=bias), _norm(norm, width),
            nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=bias),
            _norm(norm, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, ``blocks`` residual blocks, two upsamplings, c7s1-out.

    Reflection padding needs every feature map wider than its pad, so inputs are taken in multiples
    of 8 (4 for the two downsamplings, 2 more for the blocks' 1-pixel reflection at the bottleneck).
    """

    multiple = 8

    def __init__(self, in_ch: int, out_ch: int, ngf: int, blocks: int, norm: str):
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, bias=bias),
                                   _norm(norm, ngf), nn.ReLU(True)]
        for m in (1, 2):
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, 2, 1, bias=bias), _norm(norm, ngf * m * 2),
                       nn.ReLU(True)]
        layers += [ResBlock(ngf * 4, norm) for _ in range(blocks)]
        for m in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, 2, 1, output_padding=1,
                                          bias=bias), _norm(norm, ngf * m // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """70x70 PatchGAN (``n_layers`` 3) on one image: one realness score per patch (LSGAN: no
    sigmoid)."""

    def __init__(self, in_ch: int, ndf: int, n_layers: int, norm: str):
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        prev = ndf
        for n in range(1, n_layers + 1):
            w = ndf * min(2 ** n, 8)
            layers += [nn.Conv2d(prev, w, 4, 2 if n < n_layers else 1, 1, bias=bias),
                       _norm(norm, w), nn.LeakyReLU(0.2, True)]
            prev = w
        layers.append(nn.Conv2d(prev, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


def image_pool(ctx, key: str, fakes: torch.Tensor, size: int) -> torch.Tensor:
    """Shrivastava et al. 2017's history buffer: D sees, per image, either the new fake or (p=1/2,
    once the pool is full) a stored older one, which the new fake then replaces. The pool lives in
    ``ctx.state`` so that a resumed run continues with the same history."""
    if size == 0:
        return fakes
    pool = ctx.state.get(key)
    pool = fakes.new_empty((0, *fakes.shape[1:])) if pool is None else pool.to(fakes.device)
    out = []
    for img in fakes:
        if len(pool) < size:
            pool = torch.cat([pool, img[None]])
            out.append(img)
        elif float(ctx.rand(1)) < 0.5:
            i = int(ctx.randint(len(pool), 1))
            out.append(pool[i].clone())
            pool[i] = img
        else:
            out.append(img)
    ctx.state[key] = pool
    return torch.stack(out)
