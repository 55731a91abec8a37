"""Wasserstein objectives and the ways of keeping a critic Lipschitz (the critic-first update that
uses them: :mod:`gansrv.kits.critic`).

Arjovsky et al. 2017 ("WGAN") estimate the Wasserstein-1 distance through the Kantorovich-Rubinstein
duality, W(P_r, P_g) = sup_{||f||_L <= 1} E_{x~P_r}[f(x)] - E_{x~P_g}[f(x)] (their eq. 2), with a
critic f that has no sigmoid. The supremum only means something if f is Lipschitz; three ways:

- weight clipping (WGAN, Algorithm 1, line 7): clamp every critic parameter to [-c, c];
- gradient penalty (Gulrajani et al. 2017, "WGAN-GP", eq. 3): lambda * E[(||grad f(x_hat)||_2 - 1)^2]
  on random interpolates x_hat = eps x + (1 - eps) x_g between real and fake samples;
- spectral normalisation (Miyato et al. 2018, "SN-GAN", eq. 8): W / sigma(W) in every layer.

Nothing here names a family; a family picks its constraint and loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("wasserstein", "hinge")


def critic_loss_wasserstein(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Arjovsky et al. 2017, Algorithm 1: the critic maximises E[f(x)] - E[f(G(z))], so it minimises
    mean(f(fake)) - mean(f(real)); no log, no sigmoid."""
    return fake.mean() - real.mean()


def generator_loss_wasserstein(fake: torch.Tensor) -> torch.Tensor:
    """Arjovsky et al. 2017, Algorithm 1, line 10: G minimises -E[f(G(z))]. Also the generator loss
    that goes with the hinge critic loss (Lim & Ye 2017; Miyato et al. 2018)."""
    return -fake.mean()


def critic_loss_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Hinge loss of Lim & Ye 2017 ("Geometric GAN"), as used by Miyato et al. 2018:
    E[max(0, 1 - f(x))] + E[max(0, 1 + f(G(z)))]; samples already beyond the margin add nothing."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def critic_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The critic loss named by `kind` (one of :data:`LOSSES`)."""
    if kind == "hinge":
        return critic_loss_hinge(real, fake)
    return critic_loss_wasserstein(real, fake)


def interpolates(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x_hat = eps * x + (1 - eps) * x_g, one eps ~ U[0, 1] per sample (Gulrajani et al., Alg. 1)."""
    eps = eps.view(-1, *([1] * (real.dim() - 1)))
    return real + eps * (fake - real)  # the same point as eps' = 1 - eps in the paper's form


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gulrajani et al. 2017, eq. 3: GP = E[(||grad_x_hat f(x_hat)||_2 - 1)^2]; returns (GP, norms).

    ``create_graph=True`` keeps the input gradient in the autograd graph, so that the penalty's
    own gradient reaches the critic's parameters: without it, GP would be a constant to the
    optimizer and penalise nothing. `fake` is detached: the penalty constrains the critic only.
    """
    x_hat = interpolates(real.detach(), fake.detach(), eps).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean(), norms.detach()


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Arjovsky et al. 2017, Algorithm 1, line 7: w <- clip(w, -c, c) for every critic parameter."""
    for p in module.parameters():
        p.clamp_(-c, c)


def spectral_normalize_(module: nn.Module) -> nn.Module:
    """Miyato et al. 2018, eq. 8: W_SN = W / sigma(W) on every conv, linear and embedding layer.

    Uses torch's parametrization (one power iteration per training forward, u and v kept as
    buffers, so checkpoints and resume carry them). Call after the weights are initialised: the
    parametrization reads the plain weight once, when registered. Export folds it into plain weights.
    """
    sn = nn.utils.parametrizations.spectral_norm
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            sn(m)
    return module
