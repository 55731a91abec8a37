"""The classifier-guided kit's update: D -> C -> G, shared by acgan and wgan-c; the one place
the AC-GAN and TAC-GAN story is told.

AC-GAN (Odena, Olah & Shlens 2017) gives the discriminator an auxiliary classifier: besides
P(real | x) it outputs P(class | x), and G is trained so that its images are classified as the class
it was asked for (their L_C, eq. 2-3). The classifier-guided variant implemented here: the
classifier C is trained on *real* labels only (cross-entropy log P(c = y | x_real)), and G is
trained through it on the labels it was given (log P(c = y_fake | G(z, y_fake))), reported to train
faster and better than appending the condition to D's input.
C is either a head on D's trunk (DCGAN + classifier, ``acgan``) or a network of its own beside a
clipped Wasserstein critic (WGAN + classifier). One generator iteration is ``d_steps`` D updates,
``c_steps`` C updates, then ``g_steps`` G updates, so the D:G:C ratio (1:1:1, 5:1:1) is a setting.

Twin auxiliary classifier (optional, ``twin_weight`` > 0; Gong et al. 2019, "Twin Auxiliary
Classifiers GAN", NeurIPS): AC-GAN's class loss on fakes equals, in expectation, H(Y|X_fake) plus a
KL term, so G lowers the conditional entropy of its own samples: it drifts to easy, typical images
of each class, away from the class boundaries (low recall). TAC-GAN adds a second class head C_twin
trained on *fakes* with the labels they were generated with; its CE estimates that same entropy
term, and G's loss becomes CE(C(G(z, y)), y) - twin_weight * CE(C_twin(G(z, y)), y), which
cancels it. Here C_twin is a linear head on D's trunk (``ACDiscriminator(twin=True)``), trained in
the D update on the fakes D already sees (one trunk pass, almost no extra compute) and moved by D's
optimizer; the real C head, and so the exported classifier, are unchanged.

Their family base is :class:`gansrv.kits.classifier_family.ClassifierGANFamily`; the networks are
in :mod:`gansrv.nn.aux_classifier`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gansrv.kits import data_efficient
from gansrv.nn.losses import d_loss_bce, g_loss_nonsaturating
from gansrv.nn.optim import frozen, update
from gansrv.nn.wasserstein import clip_weights_, critic_loss_wasserstein, generator_loss_wasserstein

LOSSES = ("bce", "wasserstein")


def _same(x: torch.Tensor) -> torch.Tensor:
    return x


def adversarial(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """D's real/fake output alone (a D with a class head has ``adversarial``; a critic is called)."""
    return D.adversarial(x) if hasattr(D, "adversarial") else D(x)


def classifier_gan_step(ctx, batch, latent_dim: int, d_steps: int = 1, c_steps: int = 1,
                        g_steps: int = 1, loss: str = "bce", clip: float | None = None,
                        class_weight: float = 1.0, twin_weight: float = 0.0) -> dict[str, float]:
    """One generator iteration: ``d_steps`` D updates, ``c_steps`` C updates, ``g_steps`` G updates.

    Modules: ``G(z, y)``, ``D`` and, for a separate classifier, ``C`` (else D's class head is C);
    optimizers ``D``, ``C``, ``G``. D: BCE on logits (Goodfellow et al. 2014, eq. 1) or the
    Wasserstein critic loss mean(f(fake)) - mean(f(real)) with weights clipped to [-clip, clip]
    after every update (Arjovsky et al. 2017, Alg. 1). C: cross-entropy on real labels. G:
    non-saturating -log D(G(z, y)) (or -mean f(G(z, y))) + ``class_weight`` * CE(C(G(z, y)), y).
    With ``twin_weight`` > 0 (TAC-GAN; D must have a twin head): D's update also minimises
    CE(C_twin(G(z, y)), y) on its fakes, and G's loss subtracts ``twin_weight`` times that CE.
    The first D and C updates use `batch`; each further update draws a fresh real batch. With the
    data-efficient mechanism on (:mod:`gansrv.kits.data_efficient`), every image D and C see (real or
    generated, in every update) goes through its augmentation first.
    Logged: ``loss_d``, ``loss_c``, ``loss_g`` (its class part as ``loss_g_class``), ``real_acc``
    (C on the real batch) and ``fake_acc`` (G's images classified as asked); with a twin head also
    ``loss_twin`` (its CE on the fakes of D's update, before that update), ``twin_acc`` (its accuracy
    there) and ``loss_g_twin`` (the CE that G's update maximises).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if twin_weight < 0:
        raise ValueError(f"twin_weight must be >= 0, got {twin_weight}")
    twin = twin_weight > 0
    if twin and getattr(ctx.modules["D"], "twin", None) is None:
        raise ValueError("twin_weight > 0 needs a D with a twin class head")
    wasserstein = loss == "wasserstein"
    aug = data_efficient.augmenter(ctx)
    row, outs = d_updates(ctx, batch, latent_dim, d_steps, wasserstein, clip, twin, aug)
    row.update(c_updates(ctx, batch, c_steps, aug))
    row.update(g_updates(ctx, batch[0].size(0), latent_dim, g_steps, wasserstein, class_weight,
                          twin_weight, aug))
    if wasserstein:
        row["wasserstein"] = torch.stack([r.mean() - f.mean() for r, f in outs]).mean().item()
    else:
        row["d_real"] = torch.stack([torch.sigmoid(r).mean() for r, _ in outs]).mean().item()
        row["d_fake"] = torch.stack([torch.sigmoid(f).mean() for _, f in outs]).mean().item()
    return row


def d_updates(ctx, batch, latent_dim: int, steps: int, wasserstein: bool, clip: float | None,
               twin: bool = False, aug=_same):
    """D against fakes of uniformly drawn labels; returns its last loss and every (real, fake) output.

    With ``twin``, the same pass over the fakes feeds the twin head, trained by D's optimizer to
    read the label each fake was generated with (``loss_d`` logs the adversarial part only)."""
    G, D = ctx.modules["G"], ctx.modules["D"]
    outs, twin_hits, row = [], [], {}
    for i in range(steps):
        x, _ = batch if i == 0 else ctx.next_batch()
        n = x.size(0)
        with torch.no_grad():
            z = ctx.randn(n, latent_dim)
            yf = ctx.fake_labels(n)
            fake = aug(G(z, yf))
        real_out = adversarial(D, aug(x))
        if twin:
            fake_out, _, twin_logits = D.heads(fake)  # the class head's output goes unused
        else:
            fake_out = adversarial(D, fake)
        loss_d = (critic_loss_wasserstein(real_out, fake_out) if wasserstein
                  else d_loss_bce(real_out, fake_out))
        if twin:
            loss_twin = F.cross_entropy(twin_logits, yf)
            twin_hits.append((twin_logits.detach().argmax(1) == yf).float().mean())
            update(ctx.optimizers["D"], loss_d + loss_twin)
        else:
            update(ctx.optimizers["D"], loss_d)
        if clip is not None:
            clip_weights_(D, clip)
        outs.append((real_out.detach(), fake_out.detach()))
        row.update(data_efficient.observe(ctx, real_out, fake_out.detach().mean() if wasserstein
                                          else 0.0))
    row["loss_d"] = loss_d.item()
    if twin:
        row.update(loss_twin=loss_twin.item(), twin_acc=torch.stack(twin_hits).mean().item())
    return row, outs


def c_updates(ctx, batch, steps: int, aug=_same) -> dict[str, float]:
    """The classifier on real images and their labels only."""
    C = ctx.modules.get("C", ctx.modules["D"])
    hits = []
    for i in range(steps):
        x, y = batch if i == 0 else ctx.next_batch()
        logits = C.class_logits(aug(x))
        loss_c = F.cross_entropy(logits, y)
        update(ctx.optimizers["C"], loss_c)
        hits.append((logits.detach().argmax(1) == y).float().mean())
    return {"loss_c": loss_c.item(), "real_acc": torch.stack(hits).mean().item()}


def g_updates(ctx, n: int, latent_dim: int, steps: int, wasserstein: bool,
               class_weight: float, twin_weight: float = 0.0, aug=_same) -> dict[str, float]:
    """G fools D and makes C read the labels it was given; D and C are frozen meanwhile.

    With ``twin_weight`` > 0, G also *raises* the twin head's CE on its images: the twin term
    cancels the conditional-entropy part of C's loss that pulls G towards typical samples."""
    G, D = ctx.modules["G"], ctx.modules["D"]
    C = ctx.modules.get("C", D)
    with frozen(D, C):
        for _ in range(steps):
            yf = ctx.fake_labels(n)
            fake = aug(G(ctx.randn(n, latent_dim), yf))
            twin_logits = None
            if twin_weight > 0:  # one pass through the shared trunk gives all three heads
                adv, class_logits, twin_logits = D.heads(fake)
            elif C is D:  # one pass through the shared trunk gives both heads
                adv, class_logits = D(fake)
            else:
                adv, class_logits = adversarial(D, fake), C.class_logits(fake)
            loss_class = F.cross_entropy(class_logits, yf)
            adv_loss = generator_loss_wasserstein(adv) if wasserstein else g_loss_nonsaturating(adv)
            loss_g = adv_loss + class_weight * loss_class
            if twin_logits is not None:
                loss_g_twin = F.cross_entropy(twin_logits, yf)
                loss_g = loss_g - twin_weight * loss_g_twin
            update(ctx.optimizers["G"], loss_g)
    row = {"loss_g": loss_g.item(), "loss_g_class": loss_class.item(),
           "fake_acc": (class_logits.detach().argmax(1) == yf).float().mean().item()}
    if twin_logits is not None:
        row["loss_g_twin"] = loss_g_twin.item()
    return row
