"""One Triple-GAN iteration (Li, Xu, Zhu & Zhang 2017, "Triple Generative Adversarial Nets").

Three players share one game: C models p(y | x), G models p(x | y), D judges (x, y) pairs.

- D (their eq. 2, on logits): real labelled pairs (x_l, y_l) -> 1 (with ``real_pseudo``, also
  unlabelled images with C's labels, as the authors' code); with weight α the pairs C
  labels, (x_u, ŷ = C(x_u)) -> 0; with weight 1 - α the pairs G draws, (G(z, y), y) -> 0.
- C: cross-entropy on the labelled pairs, plus the semi-supervised terms of the authors' code:
  entropy minimisation on unlabelled images (``entropy_weight``, Grandvalet & Bengio 2005) and a
  class-balance term, KL(mean prediction || uniform) (``balance_weight``), which keeps entropy
  minimisation from collapsing onto a few classes; plus α · (-log D(x_u, ŷ)), C fooling D with its
  labels (the non-saturating form of their α E log(1 - D)). ŷ is a one-hot of C's argmax with C's
  probabilities' gradient passed straight through, so D sees hard labels as on real pairs and C
  still gets a gradient. After ``warmup`` steps C also learns from G's pairs: ``pseudo_weight`` ·
  CE(C(G(z, y)), y) (their R_P, α_P = 0.1 after a warm-up), its weight ramped in over
  ``pseudo_ramp`` steps.
- G: (1 - α) · (-log D(G(z, y), y)), non-saturating.

The first ``c_pretrain`` steps train C alone on its own terms (the authors pre-train C when labels
are very few); with ``players = classifier`` every step does (the C-only baselines). The
semi-supervised terms join after ``ssl_start`` steps (0: from the first). C's inputs are
randomly shifted by up to ``shift`` pixels (every draw from the step context). After every step
the averaged copy ``C_avg`` follows C; it is what is evaluated and exported.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gansrv.nn.augment import translate
from gansrv.nn.blocks import one_hot
from gansrv.nn.ema import ema_update
from gansrv.nn.losses import g_loss_nonsaturating
from gansrv.nn.optim import frozen, update


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Mean entropy of each row's class distribution (entropy minimisation)."""
    return -(probs * torch.log(probs.clamp_min(1e-8))).sum(1).mean()


def balance(probs: torch.Tensor) -> torch.Tensor:
    """KL(mean prediction || uniform): 0 when the batch's predictions cover the classes evenly."""
    mean = probs.mean(0).clamp_min(1e-8)
    return (mean * torch.log(mean * probs.size(1))).sum()


def straight_through(probs: torch.Tensor) -> torch.Tensor:
    """One-hot of the argmax in the forward pass, the probabilities' gradient in the backward."""
    hard = one_hot(probs.argmax(1), probs.size(1))
    return hard + probs - probs.detach()


def c_own_loss(ctx, xl, yl, xu) -> tuple[torch.Tensor, dict[str, float], torch.Tensor | None]:
    """C's supervised and semi-supervised terms; also C's probabilities on x_u (None if unused)."""
    c, C = ctx.config, ctx.modules["C"]
    logits_l = C(translate(xl, c.shift, ctx))
    loss = F.cross_entropy(logits_l, yl)
    row = {"loss_c_sup": loss.item(), "labelled_acc": (logits_l.argmax(1) == yl).float().mean().item()}
    probs_u = None
    ssl = ctx.step >= c.ssl_start and (c.entropy_weight > 0 or c.balance_weight > 0)
    if ssl or (c.players == "all" and ctx.step >= c.c_pretrain):
        probs_u = torch.softmax(C(translate(xu, c.shift, ctx)), 1)
        ent, bal = entropy(probs_u), balance(probs_u)
        if ssl:
            loss = loss + c.entropy_weight * ent + c.balance_weight * bal
        row.update(entropy=ent.item(), balance=bal.item())
    return loss, row, probs_u


def pseudo_weight(c, step: int) -> float:
    """The weight of G's pairs in C's loss at ``step``: 0 before the warm-up, then a linear ramp
    over ``pseudo_ramp`` steps (a sudden new term made C's loss spike where it joined)."""
    if step < c.warmup or c.pseudo_weight <= 0:
        return 0.0
    if c.pseudo_ramp <= 0:
        return c.pseudo_weight
    return c.pseudo_weight * min(1.0, (step - c.warmup + 1) / c.pseudo_ramp)


def c_labels(C, x: torch.Tensor, k: int) -> torch.Tensor:
    """One-hot of C's argmax on ``x``, no gradient: the labels C gives unlabelled images in D's pairs."""
    return c_labels_and_confidence(C, x, k)[0]


def c_labels_and_confidence(C, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """C's one-hot labels on ``x`` and the probability C gives each, no gradient."""
    with torch.no_grad():
        conf, label = torch.softmax(C(x), 1).max(1)
        return one_hot(label, k), conf


def real_loss(ctx, D, real: torch.Tensor) -> torch.Tensor:
    """D's loss on its real side: the labelled pairs and, with weight ``real_pseudo``, a second
    unlabelled batch with C's hard labels. With the labelled pairs alone D's real side is 100
    images, so G learns to redraw those; the authors' code fills the real side with C-labelled
    unlabelled images, so G learns every image's class-conditional distribution. With
    ``real_confidence``, only the images C labels with at least that probability count (C's
    mistakes teach G wrong classes)."""
    c = ctx.config
    loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    if c.real_pseudo <= 0:
        return loss
    xr, _ = ctx.next_batch()
    yr, conf = c_labels_and_confidence(ctx.modules["C"], xr, ctx.num_classes)
    on_r = D(xr, yr)
    keep = (conf >= c.real_confidence).float()
    per = F.binary_cross_entropy_with_logits(on_r, torch.ones_like(on_r), reduction="none")
    loss_r = (per * keep).sum() / keep.sum().clamp_min(1.0)
    return (1 - c.real_pseudo) * loss + c.real_pseudo * loss_r


def triple_step(batch, ctx) -> dict[str, float]:
    """One iteration; ``batch`` is the main stream's unlabelled images, labels from ``ctx``."""
    c = ctx.config
    xu, _ = batch
    xl, yl = ctx.next_labelled()
    if c.players == "classifier" or ctx.step < c.c_pretrain:
        loss_c, row, _ = c_own_loss(ctx, xl, yl, xu)
        update(ctx.optimizers["C"], loss_c)
    else:
        row = _game_step(ctx, xl, yl, xu)
    ema_update(ctx.modules["C_avg"], ctx.modules["C"], c.ema, ctx.step)
    return row


def _game_step(ctx, xl, yl, xu) -> dict[str, float]:
    c, (G, D, C) = ctx.config, (ctx.modules[k] for k in ("G", "D", "C"))
    k, alpha = ctx.num_classes, c.alpha
    n = xu.size(0)
    yg = ctx.fake_labels(n)
    with torch.no_grad():
        xg = G(ctx.randn(n, c.latent_dim), yg)
    yu = c_labels(C, xu, k)
    real, on_c, on_g = D(xl, one_hot(yl, k)), D(xu, yu), D(xg, one_hot(yg, k))
    loss_d = (real_loss(ctx, D, real)
              + alpha * F.binary_cross_entropy_with_logits(on_c, torch.zeros_like(on_c))
              + (1 - alpha) * F.binary_cross_entropy_with_logits(on_g, torch.zeros_like(on_g)))
    update(ctx.optimizers["D"], loss_d)

    loss_c, row, probs_u = c_own_loss(ctx, xl, yl, xu)
    with frozen(D):
        loss_c_adv = g_loss_nonsaturating(D(xu, straight_through(probs_u)))
    loss_c = loss_c + alpha * c.adversarial_weight * loss_c_adv
    weight = pseudo_weight(c, ctx.step)
    if weight > 0:
        loss_p = F.cross_entropy(C(xg), yg)
        loss_c = loss_c + weight * loss_p
        row.update(loss_c_fake=loss_p.item(), pseudo_weight=weight)
    update(ctx.optimizers["C"], loss_c)

    yg2 = ctx.fake_labels(n)
    with frozen(D):
        loss_g = (1 - alpha) * g_loss_nonsaturating(D(G(ctx.randn(n, c.latent_dim), yg2),
                                                         one_hot(yg2, k)))
    update(ctx.optimizers["G"], loss_g)
    row.update(loss_d=loss_d.item(), loss_c=loss_c.item(), loss_c_adv=loss_c_adv.item(),
               loss_g=loss_g.item(), d_real=torch.sigmoid(real).mean().item(),
               d_c=torch.sigmoid(on_c).mean().item(), d_g=torch.sigmoid(on_g).mean().item())
    return row

