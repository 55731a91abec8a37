"""One GMAN iteration (Durugkar et al. 2017): each D_i on its own real and fake slices, then G on
the softmax mix of the N losses.

G's loss: sum_i w_i L_i with w = softmax(lambda L_i), where L_i is G's loss against D_i (minimax
log(1 - D_i(G(z))) or non-saturating -log D_i(G(z))): lambda = 0 gives the mean, lambda -> inf the
maximum, i.e. the D that is hardest to fool. The gradient flows through the weights too, as the
derivative of that soft maximum. GMAN* (``learn_lambda``) adds -penalty * log(lambda): the mix's
derivative in lambda is the weighted variance of the L_i, >= 0, so without a penalty G would drive
lambda to 0 (the softest mix); the log barrier keeps it away. z is standard normal (the runtime's
noise), not the paper's uniform [-1, 1]. With ``--augment`` every image a D sees, real or
generated, goes through the data-efficient augmentation first; ADA's signal is read from all N
D's real logits together, once per step.
"""

from __future__ import annotations

import torch

from gansrv.kits import data_efficient
from gansrv.nn.losses import d_loss_bce, g_loss
from gansrv.nn.optim import frozen, update


def mix(losses: torch.Tensor, lam: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum_i softmax(lam * L)_i L_i, the weights) of the N losses ``losses`` (shape (N,))."""
    weights = torch.softmax(lam * losses, 0)
    return (weights * losses).sum(), weights


def train_step(batch, ctx) -> dict[str, float]:
    c, G = ctx.config, ctx.modules["G"]
    Ds = [ctx.modules[f"D{i}"] for i in range(c.discriminators)]
    reals = [batch[0]] + [ctx.next_batch()[0] for _ in Ds[1:]]  # labels are never read
    n = reals[0].size(0)
    aug = data_efficient.augmenter(ctx)
    with torch.no_grad():
        fakes = G(ctx.randn(n * len(Ds), c.latent_dim)).split(n)
    d_losses, d_real, d_fake, real_logits = [], [], [], []
    for i, (D, real, fake) in enumerate(zip(Ds, reals, fakes)):
        real_logit, fake_logit = D(aug(real)), D(aug(fake))
        loss = d_loss_bce(real_logit, fake_logit)
        update(ctx.optimizers[f"D{i}"], loss)
        real_logits.append(real_logit)
        d_losses.append(loss.item())
        d_real.append(torch.sigmoid(real_logit).mean().item())
        d_fake.append(torch.sigmoid(fake_logit).mean().item())
    logged = data_efficient.observe(ctx, torch.cat(real_logits))
    loss_of_g = g_loss(c.g_objective)
    with frozen(*Ds):
        fakes = G(ctx.randn(n * len(Ds), c.latent_dim)).split(n)
        losses = torch.stack([loss_of_g(D(aug(f))) for D, f in zip(Ds, fakes)])
        lam = ctx.modules["L"]() if c.learn_lambda else c.lam
        loss_g, weights = mix(losses, lam)
        total = loss_g - c.lambda_penalty * torch.log(lam) if c.learn_lambda else loss_g
        update(ctx.optimizers["G"], total)
    return {"loss_d": sum(d_losses) / len(Ds), "loss_g": loss_g.item(),
            "lambda": float(torch.as_tensor(lam).detach()), "w_max": weights.max().item(),
            "d_real": sum(d_real) / len(Ds), "d_fake": sum(d_fake) / len(Ds), **logged}
