"""Losses of the original GAN objective, and the generic alternating update built on them."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor,
               smooth: float = 0.0) -> torch.Tensor:
    """Goodfellow et al. 2014, eq. 1 for D: -[log D(x) + log(1 - D(G(z)))], on logits.

    ``smooth`` is one-sided label smoothing (Salimans et al. 2016): real targets 1 - smooth.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 1 - smooth))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating G loss of Goodfellow et al. 2014, sec. 3: -log D(G(z))."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def adversarial_step(ctx, batch, generate: Callable, discriminate: Callable, latent_dim: int,
                     d_steps: int = 1, g_steps: int = 1, smooth: float = 0.0) -> dict[str, float]:
    """One generator iteration of the classic GAN: `d_steps` D updates, then `g_steps` G updates.

    ``generate(z, labels)`` and ``discriminate(x, labels)`` hide whether the family is conditional
    (labels are None for unconditional ones). Extra D updates draw fresh real batches. With the
    data-efficient mechanism on (:mod:`gansrv.nn.data_efficient`), every image D sees, real or
    generated, in D's update and in G's, goes through its augmentation first.
    """
    from gansrv.nn import data_efficient

    opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
    D = ctx.modules["D"]
    conditional = batch[1] is not None
    aug = data_efficient.augmenter(ctx)

    def judge(x, y):
        return discriminate(aug(x), y)

    logged: dict[str, float] = {}
    for i in range(d_steps):
        x, y = batch if i == 0 else ctx.next_batch()
        n = x.size(0)
        z = ctx.randn(n, latent_dim)
        yf = ctx.fake_labels(n) if conditional else None
        with torch.no_grad():
            fake = generate(z, yf)
        real_logits, fake_logits = judge(x, y), judge(fake, yf)
        loss_d = d_loss_bce(real_logits, fake_logits, smooth)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        logged = data_efficient.observe(ctx, real_logits)
    D.requires_grad_(False)
    for _ in range(g_steps):
        z = ctx.randn(n, latent_dim)
        yf = ctx.fake_labels(n) if conditional else None
        loss_g = g_loss_nonsaturating(judge(generate(z, yf), yf))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    D.requires_grad_(True)
    return {
        "loss_d": loss_d.item(),
        "loss_g": loss_g.item(),
        "d_real": torch.sigmoid(real_logits).mean().item(),
        "d_fake": torch.sigmoid(fake_logits).mean().item(),
        **logged,
    }
