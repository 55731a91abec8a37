"""The adversarial kit's update: the classic alternating GAN step (Goodfellow et al. 2014) that
gan, dcgan and cgan train with; their family base is :mod:`gansrv.kits.adversarial_family`."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gansrv.kits import data_efficient
from gansrv.nn.losses import d_loss_bce, g_loss
from gansrv.nn.optim import frozen, update


def adversarial_step(ctx, batch, generate: Callable, discriminate: Callable, latent_dim: int,
                     d_steps: int = 1, g_steps: int = 1, smooth: float = 0.0,
                     objective: str = "nonsaturating") -> dict[str, float]:
    """One generator iteration of the classic GAN: `d_steps` D updates, then `g_steps` G updates.

    ``generate(z, labels)`` and ``discriminate(x, labels)`` hide whether the family is conditional
    (labels are None for unconditional ones). Extra D updates draw fresh real batches. With the
    data-efficient mechanism on (:mod:`gansrv.kits.data_efficient`), every image D sees, real or
    generated, in D's update and in G's, goes through its augmentation first. ``objective`` is
    G's loss (:func:`gansrv.nn.losses.g_loss`): ``nonsaturating`` or the original ``minimax``.
    """
    opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
    D = ctx.modules["D"]
    conditional = batch[1] is not None
    aug = data_efficient.augmenter(ctx)
    loss_of_g = g_loss(objective)

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
        update(opt_d, loss_d)
        logged = data_efficient.observe(ctx, real_logits)
    with frozen(D):
        for _ in range(g_steps):
            z = ctx.randn(n, latent_dim)
            yf = ctx.fake_labels(n) if conditional else None
            loss_g = loss_of_g(judge(generate(z, yf), yf))
            update(opt_g, loss_g)
    return {
        "loss_d": loss_d.item(),
        "loss_g": loss_g.item(),
        "d_real": torch.sigmoid(real_logits).mean().item(),
        "d_fake": torch.sigmoid(fake_logits).mean().item(),
        **logged,
    }
