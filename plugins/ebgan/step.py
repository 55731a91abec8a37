"""One EBGAN generator iteration: a D update on the margin loss, then a G update on energy plus the
pulling-away term (Zhao et al. 2016, eqs. 1, 2 and 8), through the autoencoder kit's step."""

from __future__ import annotations

from gansrv.kits.autoencoder import energy_step
from gansrv.nn import energy as E
from gansrv.nn.autoencoder import energy


def train_step(batch, ctx) -> dict[str, float]:
    c = ctx.config

    def g_loss(D, fake, yf):
        recon, code = D.reconstruct(fake, yf)
        pt = E.pulling_away(code)
        return E.ebgan_g_loss(energy(fake, recon, D.norm)) + c.pt_weight * pt, {"pt": pt}

    out = energy_step(ctx, batch, lambda r, f: E.ebgan_d_loss(r, f, c.margin), g_loss)
    return {"loss_d": out["loss_d"].item(), "loss_g": out["loss_g"].item(),
            "energy_real": out["energy_real"].item(), "energy_fake": out["energy_fake"].item(),
            "margin_hits": E.margin_hits(out["fake_energy"], c.margin), "pt": out["pt"].item(),
            **out["augment"]}
