"""One BEGAN generator iteration (Berthelot et al. 2017, eq. 4): a D update on L(x) - k_t L(G(z_D)),
a G update on L(G(z_G)), then the k_t control step; k_t lives in ``ctx.state`` so that it survives
checkpoints and a resumed run continues with the same value."""

from __future__ import annotations

import torch

from gansrv.nn import energy as E


def train_step(batch, ctx) -> dict[str, float]:
    G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
    opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
    E.pretrain_once(ctx, D, opt_d, c.pretrain_steps, c.conditional)
    k = float(ctx.state.get("k_t", c.k0))
    x, y = batch
    y = y if c.conditional else None
    n = x.size(0)

    with torch.no_grad():
        fake, yf = E.fakes(ctx, G, n, c.latent_dim, c.conditional)
    real_energy, _ = D(x, y)
    fake_energy, _ = D(fake, yf)
    loss_d = E.began_d_loss(real_energy, fake_energy, k)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    D.requires_grad_(False)
    fake, yf = E.fakes(ctx, G, n, c.latent_dim, c.conditional)
    g_energy, _ = D(fake, yf)
    loss_g = g_energy.mean()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    D.requires_grad_(True)

    real_loss, fake_loss = real_energy.mean().item(), loss_g.item()
    k = E.began_k_update(k, real_loss, fake_loss, c.gamma, c.lambda_k)
    ctx.state["k_t"] = k
    return {"loss_d": loss_d.item(), "loss_g": fake_loss, "energy_real": real_loss,
            "energy_fake": fake_energy.mean().item(), "k_t": k,
            "M": E.convergence_measure(real_loss, fake_loss, c.gamma)}
