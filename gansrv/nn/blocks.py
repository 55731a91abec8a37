"""Network pieces in the DCGAN tradition, parametrised by resolution and width.

Resolutions: 28 (MNIST-like: 7 -> 14 -> 28), or a power of two from 32 up (4 -> 8 -> ... -> size).
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.errors import UserError

SIZES = (28, 32, 64, 128)


def stages(size: int) -> tuple[int, int]:
    """(start side, number of x2 upsamplings) for a square image of side `size`."""
    if size == 28:
        return 7, 2
    if size in (32, 64, 128):
        n = {32: 3, 64: 4, 128: 5}[size]
        return 4, n
    raise UserError(f"image_size {size} is not supported (choose from {', '.join(map(str, SIZES))})")


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """N(0, 0.02) weights (the DCGAN recipe), BatchNorm scale N(1, 0.02), zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class ConvUp(nn.Sequential):
    """Feature map (C0, s, s) -> image (channels, size, size): ConvT x2 stages, BN, ReLU, tanh."""

    def __init__(self, in_ch: int, size: int, channels: int, width: int, norm: str = "batch"):
        _, n_up = stages(size)
        layers: list[nn.Module] = []
        ch = in_ch
        for i in range(n_up):
            last = i == n_up - 1
            out = channels if last else max(width, width * 2 ** (n_up - 2 - i))
            layers.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=last or norm == "none"))
            if not last:
                layers += [norm2d(norm, out), nn.ReLU(True)]
            ch = out
        layers.append(nn.Tanh())
        super().__init__(*layers)


def up_width(size: int, width: int) -> int:
    """Channels of the first feature map of ConvUp for this size and base width."""
    _, n_up = stages(size)
    return max(width, width * 2 ** (n_up - 1))


class ConvDown(nn.Sequential):
    """Image (in_ch, size, size) -> features (C, s, s): strided convs, LeakyReLU(0.2), no pooling."""

    def __init__(self, in_ch: int, size: int, width: int, norm: str = "batch",
                 sn: bool = False):
        _, n_down = stages(size)
        layers: list[nn.Module] = []
        ch = in_ch
        for i in range(n_down):
            out = width * 2 ** i
            use_norm = i > 0 and norm != "none"  # no norm on the input layer (DCGAN)
            conv = nn.Conv2d(ch, out, 4, 2, 1, bias=not use_norm or norm != "batch")
            if sn:
                conv = nn.utils.parametrizations.spectral_norm(conv)
            layers.append(conv)
            if use_norm:
                layers.append(norm2d(norm, out))
            layers.append(nn.LeakyReLU(0.2, True))
            ch = out
        self.out_channels = ch
        self.out_side = stages(size)[0]
        super().__init__(*layers)

    @property
    def features(self) -> int:
        return self.out_channels * self.out_side**2


def mlp(sizes: list[int], act: nn.Module, dropout: float = 0.0, norm: bool = False) -> nn.Sequential:
    """Linear layers with `act` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if norm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(act)
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def one_hot(labels: torch.Tensor, n: int) -> torch.Tensor:
    """One-hot floats; written as a comparison so it exports to ONNX without OneHot quirks."""
    return (labels.unsqueeze(1) == torch.arange(n, device=labels.device)).float()
