"""ProGAN's update (Karras et al. 2018, sec. 4 and appendix A.1): at the schedule's position, one
WGAN-GP critic step with the drift term, one G step, then the EMA generator and the images seen.

The schedule reads the step context's images seen (the job's under torchrun, exact on resume);
G's buffer ``schedule.images_seen`` is kept equal to it for the export and older checkpoints
(:mod:`gansrv.kits.progress`).

The Adam moments of both players are reset when a new resolution starts (the first step of its
fade), as the reference code does; the level of the previous step is kept in ``ctx.state`` so a
resumed run resets exactly where an uninterrupted one does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gansrv.kits.progress import images_seen
from gansrv.nn.ema import ema_update
from gansrv.nn.optim import frozen, update
from gansrv.nn.progressive import fade, reset_optimizer
from gansrv.nn.wasserstein import gradient_penalty
from gansrv_plugins.progan.models import upscale


def real_at(x: torch.Tensor, side: int, alpha: float) -> torch.Tensor:
    """Real images at the level's side, cross-faded with their upsampled half-size version."""
    factor = x.shape[-1] // side
    if factor > 1:
        x = F.avg_pool2d(x, factor)
    if alpha >= 1.0:
        return x
    coarse = upscale(F.avg_pool2d(x, 2))
    return fade(coarse, x, alpha)


def growing_step(ctx, batch, ema_name: str) -> dict[str, float]:
    G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
    x, _ = batch
    n = x.size(0)
    seen, after = images_seen(ctx, int(G.schedule.images_seen), n)
    level, alpha = G.schedule.at(seen)
    if ctx.state.get("level", 0) != level:
        for opt in ctx.optimizers.values():
            reset_optimizer(opt)
    ctx.state["level"] = level
    real = real_at(x, G.sides[level], alpha)
    with torch.no_grad():
        fake = G.at_level(ctx.randn(n, c.latent_dim), level, alpha)
    real_out, fake_out = D(real, level, alpha), D(fake, level, alpha)
    gp, _ = gradient_penalty(lambda v: D(v, level, alpha), real, fake, ctx.rand(n))
    drift = real_out.pow(2).mean()
    loss_d = fake_out.mean() - real_out.mean() + c.gp_weight * gp + c.drift * drift
    update(ctx.optimizers["D"], loss_d)
    with frozen(D):
        loss_g = -D(G.at_level(ctx.randn(n, c.latent_dim), level, alpha), level, alpha).mean()
        update(ctx.optimizers["G"], loss_g)
    G.schedule.images_seen.fill_(after)
    ema_update(ctx.modules[ema_name], G, c.ema, ctx.step)
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "wasserstein": (real_out.mean() - fake_out.mean()).item(), "gp": gp.item(),
            "resolution": float(G.sides[level]), "alpha": alpha}
