"""One InfoGAN iteration (Chen et al. 2016, eq. 6): min_{G,Q} max_D V(D, G) - lambda L_I(G, Q).

L_I, the variational lower bound of I(c; G(z, c)), becomes the loss :func:`info_loss` (Q's negative
log-likelihood of the codes G was given). As the recipe says, it is added to both players' losses:
the D update (which also trains Q, shared or separate) and the G update. Real labels are never
read: InfoGAN is unsupervised. With the data-efficient mechanism on
(:mod:`gansrv.kits.data_efficient`) D sees real and generated images through its augmentation, in
D's update and in G's. Q reads the same augmented features, so it learns to read the codes back
through the augmentation: the codes it learns (and makes G show) are those invariant to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gansrv.kits import data_efficient
from gansrv.nn.losses import d_loss_bce, g_loss_nonsaturating
from gansrv.nn.optim import frozen, update

PRIOR_LOW, PRIOR_HIGH = -1.0, 1.0  # continuous codes ~ U(-1, 1), as in the paper's MNIST runs


def sample_codes(ctx, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(z, continuous codes, categorical code) from the priors, drawn from the engine's generator."""
    c = ctx.config
    z = ctx.randn(n, c.latent_dim)
    code = ctx.rand(n, c.continuous) * (PRIOR_HIGH - PRIOR_LOW) + PRIOR_LOW
    label = ctx.randint(c.categories, n)
    return z, code, label


def info_loss(q: tuple[torch.Tensor, torch.Tensor], code: torch.Tensor, label: torch.Tensor,
              lambda_cat: float, lambda_cont: float) -> tuple[torch.Tensor, dict[str, float]]:
    """lambda_cat CE(categorical) + lambda_cont NLL of the continuous codes under N(mean, 1).

    A Gaussian with fixed unit variance, i.e. half the squared error summed over the codes (up to a
    constant), rather than a learnt variance: Q then cannot make the loss unbounded below by
    shrinking its variance on easy codes (a NaN stop in a long run), and the gradient that reaches G
    keeps one scale through training. The paper also treats Q's continuous output as a factored
    Gaussian; a fixed sigma is the common simplification.
    """
    logits, mean = q
    cat = F.cross_entropy(logits, label)
    cont = 0.5 * (mean - code).pow(2).sum(1).mean()
    stats = {"q_cat": cat.item(), "q_cont": cont.item(),
             "q_acc": (logits.argmax(1) == label).float().mean().item()}
    return lambda_cat * cat + lambda_cont * cont, stats


def _judge(ctx, x: torch.Tensor):
    """D's logit and Q's estimate of the codes of ``x`` (one trunk pass when Q is shared)."""
    logit, q = ctx.modules["D"].with_q(x)
    return logit, (q if q is not None else ctx.modules["Q"](x))


def train_step(batch, ctx) -> dict[str, float]:
    G, c = ctx.modules["G"], ctx.config
    players = [ctx.modules[k] for k in ("D", "Q") if k in ctx.modules]
    opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
    aug = data_efficient.augmenter(ctx)
    logged: dict[str, float] = {}
    for i in range(c.d_steps):
        x = batch[0] if i == 0 else ctx.next_batch()[0]  # labels (batch[1]) are never used
        n = x.size(0)
        z, code, label = sample_codes(ctx, n)
        with torch.no_grad():
            fake = G(z, code, label)
        real_logit = ctx.modules["D"](aug(x))
        fake_logit, q = _judge(ctx, aug(fake))
        loss_q_d, _ = info_loss(q, code, label, c.lambda_cat, c.lambda_cont)
        loss_d = d_loss_bce(real_logit, fake_logit) + loss_q_d
        update(opt_d, loss_d)
        logged = data_efficient.observe(ctx, real_logit)
    with frozen(*players):
        for _ in range(c.g_steps):
            z, code, label = sample_codes(ctx, n)
            fake_logit, q = _judge(ctx, aug(G(z, code, label)))
            loss_q, stats = info_loss(q, code, label, c.lambda_cat, c.lambda_cont)
            adv = g_loss_nonsaturating(fake_logit)
            update(opt_g, adv + loss_q)
    return {"loss_d": loss_d.item(), "loss_g": adv.item(), "loss_q": loss_q.item(), **stats,
            "d_real": torch.sigmoid(real_logit).mean().item(),
            "d_fake": torch.sigmoid(fake_logit).mean().item(), **logged}
