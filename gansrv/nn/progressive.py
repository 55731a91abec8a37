"""Progressive-growing pieces (Karras et al. 2018, "Progressive Growing of GANs", sec. 2-4), usable
by any family that grows its networks: the schedule, the fade-in, equalised learning rate, pixel
norm and the minibatch standard deviation.

- :func:`schedule`: (level, alpha) from the images seen, with a fade phase and a stable phase per
  new resolution (sec. 2, fig. 2: the new block's weight alpha goes 0 -> 1 over the fade);
- :func:`fade`: lerp(previous, new, alpha), the cross-fade of outputs and of real images;
- :class:`EqualizedConv2d`, :class:`EqualizedLinear` (sec. 4.1): weights drawn N(0, 1) and scaled
  by the He constant sqrt(2 / fan_in) at run time, so that Adam's per-parameter step size means
  the same for every layer;
- :func:`pixel_norm` (sec. 4.2): each pixel's feature vector scaled to unit mean square;
- :func:`minibatch_stddev` (sec. 3): the mean standard deviation over a group of images, appended
  as one feature map, so D can see a batch's lack of variety.

Nothing here names a family.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def schedule(images_seen: int, levels: int, fade_images: int, stable_images: int
             ) -> tuple[int, float]:
    """(level, alpha) after `images_seen` images: level 0 trains stable for `stable_images`; each
    next level fades in over `fade_images` (alpha 0 -> 1), then trains stable; the last level stays."""
    if images_seen < stable_images:
        return 0, 1.0
    phase = fade_images + stable_images
    level, into = divmod(images_seen - stable_images, phase)
    level += 1
    if level >= levels:
        return levels - 1, 1.0
    return level, (min(1.0, into / fade_images) if fade_images else 1.0)


def fade(previous: torch.Tensor, new: torch.Tensor, alpha: float) -> torch.Tensor:
    """(1 - alpha) * previous + alpha * new; at alpha 1 exactly `new` (no arithmetic)."""
    if alpha >= 1.0:
        return new
    return previous + alpha * (new - previous)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """b = a / sqrt(mean_j(a_j^2) + eps) over the feature axis (eq. in sec. 4.2)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def minibatch_stddev(x: torch.Tensor, group: int = 4, eps: float = 1e-8) -> torch.Tensor:
    """x with one more channel: per group of images, the standard deviation of every feature over
    the group, averaged to one number, repeated over the map (reference code, group size 4).

    The group is the largest divisor of the batch not above `group`; ``group=1`` makes every
    image its own group, so the extra channel is the constant sqrt(eps) and the output of one
    image never depends on the others (what an exported judge of single images needs)."""
    n, c, h, w = x.shape
    if group <= 1:
        return torch.cat([x, torch.zeros_like(x[:, :1]) + math.sqrt(eps)], 1)
    g = max(d for d in range(1, min(group, n) + 1) if n % d == 0)
    y = x.reshape(g, -1, c, h, w)
    y = (y - y.mean(0, keepdim=True)).pow(2).mean(0).add(eps).sqrt()  # (n / g, C, H, W)
    y = y.mean(dim=(1, 2, 3)).view(1, -1, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], 1)


class EqualizedConv2d(nn.Module):
    """Conv2d with N(0, 1) weights scaled by sqrt(gain / fan_in) in every forward; zero bias."""

    def __init__(self, cin: int, cout: int, kernel: int, padding: int = 0, gain: float = 2.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale, self.padding = math.sqrt(gain / (cin * kernel * kernel)), padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """Linear with N(0, 1) weights scaled by sqrt(gain / fan_in) in every forward; zero bias."""

    def __init__(self, cin: int, cout: int, gain: float = 2.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = math.sqrt(gain / cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def reset_optimizer(opt: torch.optim.Optimizer) -> None:
    """Forget Adam's moments and step counts (ProGAN resets them at each new resolution)."""
    opt.state.clear()
