"""The three loss recipes that share cyclegan's networks: CycleGAN, DualGAN and DiscoGAN.

All three learn two mappings between unpaired domains and tie them with a reconstruction term
(A -> B -> A and B -> A -> B); they differ in the adversarial loss, the reconstruction distance, the
update order and the optimizer:

In all three, the generators' update runs with both discriminators frozen
(:func:`gansrv.nn.optim.frozen`): the adversarial terms pass through D_A and D_B, but their
parameters' gradients, which D's next update would clear unused, are not computed.

- **cyclegan** (Zhu et al. 2017): LSGAN losses (Mao et al. 2017), L1 cycle weight 10, an identity
  term, a 50-image history pool for D, Adam 2e-4 / beta1 0.5; G updated first, then D.
- **dualgan** (Yi et al. 2017): WGAN critics (Arjovsky et al. 2017: no sigmoid, weights clipped to
  [-c, c] after every update, RMSprop 5e-5), ``n_critic`` critic updates before each generator
  update, L1 reconstruction with a large weight (the paper puts lambda_U, lambda_V in [100, 1000];
  default 100 here), no identity term, no pool.
- **discogan** (Kim et al. 2017): the BCE GAN loss and an MSE reconstruction loss in both
  directions, weighted equally (weight 1), no identity term, no pool, Adam 2e-4 / beta1 0.5.

Every default is only a default: ``--cycle-weight``, ``--identity-weight``, ``--pool-size`` and
``--lr`` override the variant's choice, and the resolved values are what config.json records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def ls_loss(scores: torch.Tensor, target: float) -> torch.Tensor:
    """LSGAN (Mao et al. 2017): mean squared distance of the patch scores to the target label."""
    return ((scores - target) ** 2).mean()


@dataclass(frozen=True)
class Losses:
    """One recipe's loss terms: G's adversarial loss, D's loss, the reconstruction distance."""

    g_adv: Callable[[torch.Tensor], torch.Tensor]
    d_adv: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    recon: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def losses_for(variant: str) -> Losses:
    from gansrv.nn.losses import d_loss_bce, g_loss_nonsaturating
    from gansrv.nn.wasserstein import critic_loss_wasserstein, generator_loss_wasserstein

    if variant == "dualgan":
        return Losses(generator_loss_wasserstein, critic_loss_wasserstein, F.l1_loss)
    if variant == "discogan":
        return Losses(g_loss_nonsaturating, d_loss_bce, F.mse_loss)
    # the 1/2 on D's loss slows D relative to G, as in Zhu et al. 2017, sec. 7.1
    return Losses(lambda s: ls_loss(s, 1.0),
                  lambda r, f: 0.5 * (ls_loss(r, 1.0) + ls_loss(f, 0.0)), F.l1_loss)


def real_pair(batch, ctx) -> tuple[torch.Tensor, torch.Tensor]:
    """One image of each domain, cropped, flipped and colour-jittered as the config says."""
    from gansrv.nn.augment import colour_jitter, paired_crop_flip

    c = ctx.config
    real_a, real_b = paired_crop_flip(*batch, c.crop_size, c.flip, ctx)
    return colour_jitter(real_a, c.jitter, ctx), colour_jitter(real_b, c.jitter, ctx)


def generator_update(ctx, real_a, real_b, losses: Losses) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """One step of both generators on adversarial + reconstruction (+ identity) terms, with both
    discriminators frozen (every variant).

    Returns the logged terms and the (graph-attached) fakes fake_a, fake_b."""
    from gansrv.nn.optim import frozen, update

    m, c = ctx.modules, ctx.config
    with frozen(m["D_A"], m["D_B"]):
        fake_b, fake_a = m["G_AB"](real_a), m["G_BA"](real_b)
        gan = losses.g_adv(m["D_B"](fake_b)) + losses.g_adv(m["D_A"](fake_a))
        cycle = losses.recon(m["G_BA"](fake_b), real_a) + losses.recon(m["G_AB"](fake_a), real_b)
        loss = gan + c.cycle_weight * cycle
        identity = fake_b.new_zeros(())
        if c.identity_weight:
            identity = F.l1_loss(m["G_AB"](real_b), real_b) + F.l1_loss(m["G_BA"](real_a), real_a)
            loss = loss + c.cycle_weight * c.identity_weight * identity
        update(ctx.optimizers["G"], loss)
    return {"g_gan": gan.detach(), "cycle": cycle.detach(), "identity": identity.detach()}, \
        fake_a, fake_b


def discriminator_update(ctx, real_a, real_b, fake_a, fake_b, losses: Losses
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of both discriminators on real images against (pooled) detached fakes."""
    from gansrv.nn.optim import update
    from gansrv_plugins.cyclegan.models import image_pool

    m, c = ctx.modules, ctx.config
    pool_a = image_pool(ctx, "pool_a", fake_a.detach(), c.pool_size)
    pool_b = image_pool(ctx, "pool_b", fake_b.detach(), c.pool_size)
    d_a = losses.d_adv(m["D_A"](real_a), m["D_A"](pool_a))
    d_b = losses.d_adv(m["D_B"](real_b), m["D_B"](pool_b))
    update(ctx.optimizers["D"], d_a + d_b)
    return d_a.detach(), d_b.detach()


def generator_first_step(batch, ctx) -> dict[str, float]:
    """cyclegan and discogan: G on this batch, then D on the same reals and the new fakes."""
    losses = losses_for(ctx.config.variant)
    real_a, real_b = real_pair(batch, ctx)
    logs, fake_a, fake_b = generator_update(ctx, real_a, real_b, losses)
    d_a, d_b = discriminator_update(ctx, real_a, real_b, fake_a, fake_b, losses)
    return {"d_a": d_a.item(), "d_b": d_b.item(), **{k: v.item() for k, v in logs.items()}}


def critic_first_step(batch, ctx) -> dict[str, float]:
    """dualgan (Yi et al. 2017, Algorithm 1): ``n_critic`` clipped critic updates, each on a fresh
    batch, then one generator update on the last batch (critics frozen, as in every variant).

    Logged: the critics' losses of the last update and ``wasserstein``, mean(f(real)) - mean(f(fake))
    summed over both critics and averaged over the updates (the estimate that should fall as G improves)."""
    from gansrv.nn.wasserstein import clip_weights_

    m, c = ctx.modules, ctx.config
    losses = losses_for("dualgan")
    gaps = []
    for i in range(c.n_critic):
        real_a, real_b = real_pair(batch if i == 0 else ctx.next_batch(), ctx)
        with torch.no_grad():
            fake_b, fake_a = m["G_AB"](real_a), m["G_BA"](real_b)
        d_a, d_b = discriminator_update(ctx, real_a, real_b, fake_a, fake_b, losses)
        clip_weights_(m["D_A"], c.clip)
        clip_weights_(m["D_B"], c.clip)
        gaps.append(-(d_a + d_b))
    logs, _, _ = generator_update(ctx, real_a, real_b, losses)
    return {"d_a": d_a.item(), "d_b": d_b.item(), "wasserstein": torch.stack(gaps).mean().item(),
            **{k: v.item() for k, v in logs.items()}}
