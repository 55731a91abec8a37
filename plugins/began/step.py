"""One BEGAN generator iteration (Berthelot et al. 2017, eq. 4): a D update on L(x) - k_t L(G(z_D)),
a G update on L(G(z_G)) (the autoencoder kit's step), then the k_t control step; k_t lives in
``ctx.state`` so that it survives checkpoints and a resumed run continues with the same value
(under torchrun, updated from energies averaged over the processes: one k_t in all of them)."""

from __future__ import annotations

from gansrv.kits.autoencoder import energy_step
from gansrv.nn import energy as E


def train_step(batch, ctx) -> dict[str, float]:
    c = ctx.config
    k = float(ctx.state.get("k_t", c.k0))

    def g_loss(D, fake, yf):
        return D(fake, yf)[0].mean(), {}

    out = energy_step(ctx, batch, lambda r, f: E.began_d_loss(r, f, k), g_loss)
    # the global batch's energies (averaged over torchrun processes), so every process keeps one k_t
    real_loss, fake_loss = ctx.mean(out["energy_real"].item()), ctx.mean(out["loss_g"].item())
    k = E.began_k_update(k, real_loss, fake_loss, c.gamma, c.lambda_k)
    ctx.state["k_t"] = k
    return {"loss_d": out["loss_d"].item(), "loss_g": fake_loss, "energy_real": real_loss,
            "energy_fake": out["energy_fake"].item(), "k_t": k,
            "M": E.convergence_measure(real_loss, fake_loss, c.gamma), **out["augment"]}
