"""One StarGAN generator iteration: ``n_critic`` updates of D, then one of G (Choi et al. 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gansrv.nn.optim import frozen, update
from gansrv.nn.wasserstein import gradient_penalty


def targets(labels: torch.Tensor, ctx) -> torch.Tensor:
    """The batch's own domains in a seeded random order (the reference code's ``randperm``): every
    target is a domain the data has, in the proportions the batch has them."""
    return labels[ctx.rand(len(labels)).argsort()]


def d_update(ctx, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """D's loss, eq. 7: -E[D_src(x)] + E[D_src(G(x, c))] + lambda_cls L_cls^r + lambda_gp GP, with
    L_cls^r = CE(D_cls(x), c') on real images and their own domain c' (eq. 2)."""
    c, G, D = ctx.config, ctx.modules["G"], ctx.modules["D"]
    with torch.no_grad():
        fake = G(x, targets(y, ctx))
    real_src, real_cls = D(x)
    fake_src, _ = D(fake)
    cls = F.cross_entropy(real_cls, y)
    gp, _ = gradient_penalty(lambda v: D(v)[0], x, fake, ctx.rand(len(x)))
    adv = fake_src.mean() - real_src.mean()
    update(ctx.optimizers["D"], adv + c.lambda_cls * cls + c.lambda_gp * gp)
    acc = (real_cls.argmax(1) == y).float().mean()
    return {"d_adv": adv.detach(), "d_cls": cls.detach(), "gp": gp.detach(), "d_acc": acc}


def g_update(ctx, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """G's loss, eq. 7: -E[D_src(G(x, c))] + lambda_cls CE(D_cls(G(x, c)), c) (eq. 3) +
    lambda_rec ||x - G(G(x, c), c')||_1 (eq. 4), c the target domain and c' the original one;
    with ``lambda_id`` > 0 also CycleGAN's identity term lambda_id ||G(x, c') - x||_1."""
    c, G, D = ctx.config, ctx.modules["G"], ctx.modules["D"]
    trg = targets(y, ctx)
    logs = {}
    with frozen(D):
        fake = G(x, trg)
        src, cls_logits = D(fake)
        adv = -src.mean()
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
