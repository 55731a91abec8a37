"""Optimizer set-ups shared by families whose recipe gives every player the same optimizer."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


def adam_per_module(modules: Mapping[str, nn.Module], lr: float, beta1: float,
                    beta2: float = 0.999) -> dict[str, torch.optim.Optimizer]:
    """One Adam per player, as in the DCGAN recipe (lr 2e-4, beta1 0.5), keyed by role name."""
    return {name: torch.optim.Adam(m.parameters(), lr=lr, betas=(beta1, beta2))
            for name, m in modules.items()}


def rmsprop_per_module(modules: Mapping[str, nn.Module], lr: float) -> dict[str, torch.optim.Optimizer]:
    """One RMSprop per player, as in WGAN (Arjovsky et al. 2017, lr 5e-5): the authors found
    momentum-based optimizers such as Adam unstable with a clipped critic."""
    return {name: torch.optim.RMSprop(m.parameters(), lr=lr) for name, m in modules.items()}
