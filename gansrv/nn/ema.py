"""Exponential moving average (EMA) of a generator's weights, the copy that is sampled and exported.

A GAN's generator keeps moving with its discriminator, so the weights of any one step carry that
step's noise; their running average (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in
GAN Training"; used by ProGAN, StyleGAN, BigGAN) generates more varied and cleaner samples at the
cost of one extra copy of G and a lerp per step. The average never feeds back into training, so a
run with it trains exactly as one without it. A family keeps the copy as one more module (saved in
every checkpoint, hence resume stays exact) and updates it after each generator step.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

WARMUP = 10  # the effective decay ramps up as (1 + step) / (WARMUP + step): early weights fade fast


def ema_copy(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module`` to hold the average; it starts equal to the live weights."""
    avg = copy.deepcopy(module)
    avg.requires_grad_(False)
    return avg


def effective_decay(decay: float, step: int) -> float:
    """``decay``, ramped up over the first steps: a fixed 0.999 would keep the random initial
    weights dominant for thousands of steps, longer than a short CPU run lasts."""
    return min(decay, (1.0 + step) / (WARMUP + step))


@torch.no_grad()
def ema_update(avg: nn.Module, live: nn.Module, decay: float, step: int) -> None:
    """avg <- d * avg + (1 - d) * live for parameters; buffers (BatchNorm's running statistics)
    are copied, so the averaged G normalises with the statistics of the weights it averages over
    most recently. ``step`` is the number of updates done before this one."""
    d = effective_decay(decay, step)
    for a, p in zip(avg.parameters(), live.parameters()):
        a.lerp_(p.detach(), 1.0 - d)
    for a, b in zip(avg.buffers(), live.buffers()):
        a.copy_(b)
