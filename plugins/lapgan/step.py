"""LAPGAN's update: every level one D step and one G step on the real pyramid of the batch.

The levels never see each other's samples in training (Denton et al. 2015, sec. 3.2: each level
is trained independently): level 0 learns the coarsest real images, level k the residual of the
real I_k over u(I_{k+1}), where I_{k+1} is the real coarser image of the same batch. BCE with the
non-saturating G loss (Goodfellow et al. 2014).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from gansrv.nn.losses import d_loss_bce, g_loss_nonsaturating
from gansrv.nn.optim import frozen, update
from gansrv.nn.pyramid import gaussian_pyramid, upsample


def pyramid_step(ctx, batch, levels: int, latent_dim: int) -> dict[str, float]:
    """One iteration of every level, coarsest first; logs each level's ``loss_dK``/``loss_gK``
    and ``d_realK``/``d_fakeK``, and ``loss_d``/``loss_g``, their means over the levels."""
    x, y = batch
    y = y if ctx.config.conditional else None
    real = gaussian_pyramid(x, levels)
    n = x.size(0)
    out: dict[str, float] = {}
    for k in range(levels):
        G, D = ctx.modules[f"G{k}"], ctx.modules[f"D{k}"]
        if k == 0:  # a plain (conditional) GAN; fakes of fresh uniform labels
            yf = ctx.fake_labels(n) if y is not None else None
            z = ctx.randn(n, latent_dim)
            gen = lambda G=G, z=z, yf=yf: G(z, yf)  # noqa: E731
            judge_real = lambda D=D: D(real[0], y)  # noqa: E731
            judge_fake = lambda img, D=D, yf=yf: D(img, yf)  # noqa: E731
        else:  # the residual over the batch's own real coarser image, of its own class
            up = upsample(real[k - 1])
            side = real[k].shape[-1]
            z = ctx.randn(n, side * side)
            gen = lambda G=G, z=z, up=up: up + G(up, z, y)  # noqa: E731
            judge_real = lambda D=D, up=up, k=k: D(real[k], up, y)  # noqa: E731
            judge_fake = lambda img, D=D, up=up: D(img, up, y)  # noqa: E731
        out.update(_level_update(ctx, k, G, D, gen, judge_real, judge_fake))
    out["loss_d"] = sum(out[f"loss_d{k}"] for k in range(levels)) / levels
    out["loss_g"] = sum(out[f"loss_g{k}"] for k in range(levels)) / levels
    return out


def _level_update(ctx, k: int, G, D, gen: Callable, judge_real: Callable,
                  judge_fake: Callable) -> dict[str, float]:
    """One D update, then one G update with D frozen (the same noise: one G sample per level)."""
    with torch.no_grad():
        fake = gen()
    real_logits, fake_logits = judge_real(), judge_fake(fake)
    loss_d = d_loss_bce(real_logits, fake_logits)
    update(ctx.optimizers[f"D{k}"], loss_d)
    with frozen(D):
        loss_g = g_loss_nonsaturating(judge_fake(gen()))
        update(ctx.optimizers[f"G{k}"], loss_g)
    return {f"loss_d{k}": loss_d.item(), f"loss_g{k}": loss_g.item(),
            f"d_real{k}": torch.sigmoid(real_logits).mean().item(),
            f"d_fake{k}": torch.sigmoid(fake_logits).mean().item()}
