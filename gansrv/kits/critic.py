"""The critic kit's update: ``n_critic`` Lipschitz-constrained critic updates, then one G update
(Arjovsky et al. 2017, Algorithm 1; the constraints are in :mod:`gansrv.nn.wasserstein`). wgan,
wgan-gp and sngan train with it through :class:`gansrv.kits.critic_family.ConvCriticFamily`."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gansrv.kits import data_efficient
from gansrv.nn.optim import frozen, update
from gansrv.nn.wasserstein import (
    clip_weights_,
    critic_loss,
    generator_loss_wasserstein,
    gradient_penalty,
)


def wasserstein_step(ctx, batch, generate: Callable, critic: Callable, latent_dim: int,
                     n_critic: int = 5, loss: str = "wasserstein", gp_weight: float = 0.0,
                     clip: float | None = None, conditional: bool | None = None) -> dict[str, float]:
    """One generator iteration: `n_critic` critic updates, then one G update with -E[f(G(z))].

    ``generate(z, labels)`` and ``critic(x, labels)`` hide conditioning: labels are None unless
    `conditional` (default: the data has labels). Conditional critic updates draw the fakes with
    the real batch's labels, so that an interpolate between a real and a fake image has one label.
    Extra critic updates draw fresh real batches. Logged: ``wasserstein`` = mean(f(real)) -
    mean(f(fake)) averaged over the critic updates (for a 1-Lipschitz critic a lower bound of W_1,
    the "meaningful loss" that should fall as samples improve) and, with a penalty, ``gp`` and the
    mean and spread of the interpolates' gradient norms (``grad_norm``, ``grad_norm_std``).
    With the data-efficient mechanism on (:mod:`gansrv.kits.data_efficient`) the critic sees real
    and generated images through its augmentation (the penalty's interpolates lie between the
    augmented pair); its ADA signal is the share of real images scored above the fakes' mean (a
    critic's outputs are defined up to a constant).
    """
    aug = data_efficient.augmenter(ctx)
    logged: dict[str, float] = {}
    opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
    D = ctx.modules["D"]
    conditional = batch[1] is not None if conditional is None else conditional
    gaps, gps, norms = [], [], []
    for i in range(n_critic):
        x, y = batch if i == 0 else ctx.next_batch()
        n, y = x.size(0), y if conditional else None
        with torch.no_grad():
            fake = generate(ctx.randn(n, latent_dim), y)
        x, fake = aug(x), aug(fake)
        real_out, fake_out = critic(x, y), critic(fake, y)
        loss_d = critic_loss(loss, real_out, fake_out)
        if gp_weight > 0:
            gp, grad_norms = gradient_penalty(lambda v, y=y: critic(v, y), x, fake, ctx.rand(n))
            loss_d = loss_d + gp_weight * gp
            gps.append(gp.detach())
            norms.append(grad_norms)
        update(opt_d, loss_d)
        if clip is not None:
            clip_weights_(D, clip)
        gaps.append((real_out.mean() - fake_out.mean()).detach())
        logged = data_efficient.observe(ctx, real_out, fake_out.detach().mean())
    with frozen(D):
        z = ctx.randn(n, latent_dim)
        yf = ctx.fake_labels(n) if conditional else None
        loss_g = generator_loss_wasserstein(critic(aug(generate(z, yf)), yf))
        update(opt_g, loss_g)
    # one device sync per generator step: the per-update values stay tensors until here
    out = {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
           "wasserstein": torch.stack(gaps).mean().item(), **logged}
    if norms:
        all_norms = torch.cat(norms)
        out.update(gp=torch.stack(gps).mean().item(), grad_norm=all_norms.mean().item(),
                   grad_norm_std=all_norms.std(correction=0).item())
    return out
