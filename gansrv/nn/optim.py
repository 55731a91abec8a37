"""Optimizer set-ups and update mechanics shared by every recipe.

:func:`update` is one optimizer step on one loss; :func:`frozen` keeps players out of the graph of
another player's update (e.g. D while G steps), so backward does not compute gradients that the
next ``zero_grad`` would throw away. Recipes use these two instead of writing the
``zero_grad``/``backward``/``step`` triplet and the ``requires_grad_`` pair by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

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


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One step of `optimizer` on `loss`: gradients cleared (to None, so untouched parameters keep
    no stale zeros and Adam skips them), back-propagated, applied."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Within the block, the parameters of `modules` require no gradient: losses still flow
    *through* them to the player being updated, but their own gradients are not computed.

    Each parameter's previous ``requires_grad`` is restored on exit, also when the block raises
    (a NaN check, a KeyboardInterrupt), so a frozen player never stays frozen by accident and a
    parameter that was frozen before stays frozen. The same module may be named twice (a shared
    classifier head)."""
    params = {id(p): p for m in modules for p in m.parameters()}
    before = {k: p.requires_grad for k, p in params.items()}
    for p in params.values():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for k, p in params.items():
            p.requires_grad_(before[k])
