"""StackGAN's update (Zhang et al. 2017, sec. 3.2-3.3; StackGAN-Pytorch's trainer): a matching-aware
D step, then a G step with the KL term, for stage I and/or stage II as the schedule says.

Matching-aware D: real images with their labels count as real, generated ones and real images with
WRONG labels as fake: errD = real + (fake + wrong) / 2; stage II's D adds its unconditional logit
(real vs generated). Stage II is trained on the detached output of stage I; in the ``staged``
schedule stage I trains alone for ``stage1_images`` and is then frozen (eval mode, no updates),
in ``joint`` both stages train from the first step. The schedule reads the step context's images
seen (the job's under torchrun), mirrored in ``ctx.state`` for older checkpoints
(:mod:`gansrv.kits.progress`). Every optimizer's learning rate is set at each step from the
images seen (:func:`lr_factor`), so it needs no state of its own and resumes exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gansrv.kits.progress import images_seen
from gansrv.nn.optim import frozen, update
from gansrv_plugins.stackgan.models import kl_loss


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def phases(config, images_seen: int) -> tuple[bool, bool]:
    """(train stage I, train stage II) at this point of the run."""
    if config.schedule == "joint":
        return True, True
    first = images_seen < config.stage1_images
    return first, not first


def lr_factor(config, seen: int, epoch_images: int) -> float:
    """0.5 ** (whole ``lr_halve_epochs`` periods the stage in training has run): the paper's "decayed
    to 1/2 of its previous value every 100 epochs" (sec. 4), each stage from its own start (the
    paper trains the stages one after the other), so stage II of ``staged`` starts at ``lr``."""
    if not config.lr_halve_epochs or not epoch_images:
        return 1.0
    start = config.stage1_images if config.schedule == "staged" and seen >= config.stage1_images else 0
    return 0.5 ** math.floor((seen - start) / epoch_images / config.lr_halve_epochs)


def _d_loss(D, real, fake, y, wrong) -> tuple[torch.Tensor, float]:
    (r, ru), (f, fu), (w, _) = D(real, y), D(fake, y), D(real, wrong)
    loss = _bce(r, 1.0) + 0.5 * (_bce(f, 0.0) + _bce(w, 0.0))
    if ru is not None:
        loss = loss + _bce(ru, 1.0) + _bce(fu, 0.0)
    return loss, torch.sigmoid(r).mean().item()


def _g_loss(D, fake, y, mu, logvar, kl_weight: float, per_dim: bool) -> torch.Tensor:
    f, fu = D(fake, y)
    loss = _bce(f, 1.0) + (_bce(fu, 1.0) if fu is not None else 0.0)
    return loss + kl_weight * kl_loss(mu, logvar, per_dim) if kl_weight else loss


def _stage(ctx, i: int, generate, real, y, wrong, kl_weight: float, out: dict[str, float]) -> None:
    """One matching-aware D step and one G step of stage ``i``; ``generate()`` gives (fake, mu, logvar)."""
    D = ctx.modules[f"D{i}"]
    with torch.no_grad():
        fake = generate()[0]
    loss_d, out[f"d_real{i}"] = _d_loss(D, real, fake, y, wrong)
    update(ctx.optimizers[f"D{i}"], loss_d)
    with frozen(D):
        fake, mu, logvar = generate()
        loss_g = _g_loss(D, fake, y, mu, logvar, kl_weight, ctx.config.kl_per_dim)
        update(ctx.optimizers[f"G{i}"], loss_g)
    out.update({f"loss_d{i}": loss_d.item(), f"loss_g{i}": loss_g.item()})


def stacked_step(ctx, batch) -> dict[str, float]:
    c, m = ctx.config, ctx.modules
    x, y = batch
    n, k = x.size(0), ctx.num_classes
    seen, after = images_seen(ctx, ctx.state.get("images_seen", 0), n)
    one_on, two_on = phases(c, seen)
    lr = c.lr * lr_factor(c, seen, ctx.images_per_epoch)
    for opt in ctx.optimizers.values():
        for group in opt.param_groups:
            group["lr"] = lr
    kl = c.kl_weight if c.ca else 0.0
    wrong = (y + ctx.randint(k - 1, n) + 1) % k  # never the true label
    z, e1, e2 = ctx.randn(n, c.latent_dim), ctx.randn(n, c.ca_dim), ctx.randn(n, c.ca_dim)
    out: dict[str, float] = {}
    if one_on:
        _stage(ctx, 1, lambda: m["G1"](z, e1, y), F.avg_pool2d(x, 2), y, wrong, kl, out)
    if two_on:
        if not one_on:
            m["G1"].eval()  # frozen: BatchNorm keeps the statistics stage I ended with
        with torch.no_grad():
            low = m["G1"](z, e1, y)[0]
        _stage(ctx, 2, lambda: m["G2"](low, e2, y), x, y, wrong, kl, out)
    ctx.state["images_seen"] = after
    # the same keys every step: loss_d, loss_g, d_real of the stage being trained (stage II once it
    # trains), stage I's own as loss_d1, loss_g1 when both train (joint)
    last = "2" if two_on else "1"
    logged = {"loss_d": out[f"loss_d{last}"], "loss_g": out[f"loss_g{last}"],
              "d_real": out[f"d_real{last}"], "stage": float(last), "lr": lr}
    if one_on and two_on:
        logged.update(loss_d1=out["loss_d1"], loss_g1=out["loss_g1"])
    return logged
