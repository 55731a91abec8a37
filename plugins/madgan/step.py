"""One MAD-GAN iteration (Ghosh et al. 2018): D names each image's source, then the k generators
each push their fakes towards "real".

D: cross-entropy with real -> class k and G_j(z) -> class j. G_j: the non-saturating form of its
objective, cross-entropy of its fakes against class k (-log D_k(G_j(z))). The fakes of a batch are
split evenly: image i comes from generator i mod k (no randomness in the split, so a resumed run
repeats it). The generators share one optimizer: their shared trunk gets the sum of their losses.
With ``--augment`` every image D sees goes through the data-efficient augmentation first; ADA's
signal is D's logit of real against any generator (the exported discriminator's ``logit``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gansrv.kits import data_efficient
from gansrv.nn.optim import frozen, update


def train_step(batch, ctx) -> dict[str, float]:
    c, G, D = ctx.config, ctx.modules["G"], ctx.modules["D"]
    real = batch[0]  # labels are never read
    n, k = real.size(0), c.generators
    source = torch.arange(n, device=real.device) % k
    is_real = torch.full((n,), k, dtype=torch.long, device=real.device)
    aug = data_efficient.augmenter(ctx)
    with torch.no_grad():
        fake = G(ctx.randn(n, c.latent_dim), source)
    real_logits, fake_logits = D(aug(real)), D(aug(fake))
    loss_d = F.cross_entropy(real_logits, is_real) + F.cross_entropy(fake_logits, source)
    update(ctx.optimizers["D"], loss_d)
    logged = data_efficient.observe(ctx, real_logits[:, k] - torch.logsumexp(real_logits[:, :k], 1))
    with frozen(D):
        logits = D(aug(G(ctx.randn(n, c.latent_dim), source)))
        loss_g = F.cross_entropy(logits, is_real)
        update(ctx.optimizers["G"], loss_g)
    with torch.no_grad():
        p_real, p_fake = real_logits.softmax(1), fake_logits.softmax(1)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
                "d_real": p_real[:, k].mean().item(), "d_fake": p_fake[:, k].mean().item(),
                "d_source_acc": (fake_logits[:, :k].argmax(1) == source).float().mean().item(),
                **logged}
