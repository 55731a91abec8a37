"""One StarGAN generator iteration: ``n_critic`` updates of D, then one of G (Choi et al. 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gansrv.nn.optim import frozen, update
from gansrv.nn.wasserstein import gradient_penalty
from gansrv_plugins.stargan.models import branch


def permutation(labels: torch.Tensor, ctx) -> torch.Tensor:
    """A seeded random order of the batch (the reference code's ``randperm``); ``labels[perm]`` are
    the targets: every target is a domain the data has, in the proportions the batch has them, and
    ``x[perm]`` are real images of exactly those domains."""
    return ctx.rand(len(labels)).argsort()


def d_update(ctx, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """D's loss, eq. 7: -E[D_src(x)] + E[D_src(G(x, c))] + lambda_cls L_cls^r + lambda_gp GP, with
    L_cls^r = CE(D_cls(x), c') on real images and their own domain c' (eq. 2)."""
    c, G, D = ctx.config, ctx.modules["G"], ctx.modules["D"]
    perm = permutation(y, ctx)
    trg = y[perm]
    with torch.no_grad():
        fake = G(x, trg)
    real_src, real_cls = D(x)
    fake_src, _ = D(fake)
    cls = F.cross_entropy(real_cls, y)
    # per-domain branches: interpolate each fake with a real image of its own target domain
    real = x if real_src.shape[1] == 1 else x[perm]
    gp, _ = gradient_penalty(lambda v: branch(D(v)[0], trg), real, fake, ctx.rand(len(x)))
    adv = branch(fake_src, trg).mean() - branch(real_src, y).mean()
    update(ctx.optimizers["D"], adv + c.lambda_cls * cls + c.lambda_gp * gp)
    acc = (real_cls.argmax(1) == y).float().mean()
    return {"d_adv": adv.detach(), "d_cls": cls.detach(), "gp": gp.detach(), "d_acc": acc}


def g_update(ctx, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """G's loss, eq. 7: -E[D_src(G(x, c))] + lambda_cls CE(D_cls(G(x, c)), c) (eq. 3) +
    lambda_rec ||x - G(G(x, c), c')||_1 (eq. 4), c the target domain and c' the original one;
    with ``lambda_id`` > 0 also CycleGAN's identity term lambda_id ||G(x, c') - x||_1."""
    c, G, D = ctx.config, ctx.modules["G"], ctx.modules["D"]
    trg = y[permutation(y, ctx)]
    logs = {}
    with frozen(D):
        fake = G(x, trg)
        src, cls_logits = D(fake)
        adv = -branch(src, trg).mean()
        cls = F.cross_entropy(cls_logits, trg)
        rec = (x - G(fake, y)).abs().mean()
        loss = adv + c.lambda_cls * cls + c.lambda_rec * rec
        if c.lambda_id > 0:
            same = (G(x, y) - x).abs().mean()
            loss = loss + c.lambda_id * same
            logs["g_id"] = same.detach()
        update(ctx.optimizers["G"], loss)
    return {"g_adv": adv.detach(), "g_cls": cls.detach(), "g_rec": rec.detach(), **logs}


def stargan_step(batch, ctx) -> dict[str, float]:
    """D on ``n_critic`` real batches (the first is this step's, then fresh ones from the stream),
    then G on the last of them. Logged values are D's means over its updates and G's."""
    x, y = batch
    d_logs = []
    for i in range(ctx.config.n_critic):
        if i:
            x, y = ctx.next_batch()
        d_logs.append(d_update(ctx, x, y))
    g_logs = g_update(ctx, x, y)
    out = {k: torch.stack([d[k] for d in d_logs]).mean() for k in d_logs[0]}
    out.update(g_logs)
    return {k: float(v) for k, v in out.items()}
