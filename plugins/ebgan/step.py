"""One EBGAN generator iteration: a D update on the margin loss, then a G update on energy plus the
pulling-away term (Zhao et al. 2016, eqs. 1, 2 and 8)."""

from __future__ import annotations

import torch

from gansrv.nn import energy as E
from gansrv.nn.autoencoder import energy


def train_step(batch, ctx) -> dict[str, float]:
    G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
    opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
    E.pretrain_once(ctx, D, opt_d, c.pretrain_steps, c.conditional)
    x, y = batch
    y = y if c.conditional else None
    n = x.size(0)

    with torch.no_grad():
        fake, yf = E.fakes(ctx, G, n, c.latent_dim, c.conditional)
    real_energy, _ = D(x, y)
    fake_energy, _ = D(fake, yf)
    loss_d = E.ebgan_d_loss(real_energy, fake_energy, c.margin)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    D.requires_grad_(False)
    fake, yf = E.fakes(ctx, G, n, c.latent_dim, c.conditional)
    recon, code = D.reconstruct(fake, yf)
    g_energy = energy(fake, recon, D.norm)
    pt = E.pulling_away(code)
    loss_g = E.ebgan_g_loss(g_energy) + c.pt_weight * pt
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    D.requires_grad_(True)

    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "energy_real": real_energy.mean().item(), "energy_fake": fake_energy.mean().item(),
            "margin_hits": E.margin_hits(fake_energy.detach(), c.margin), "pt": pt.item()}
