"""Losses of the original GAN objective (the update built on them: :mod:`gansrv.kits.adversarial`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor,
               smooth: float = 0.0) -> torch.Tensor:
    """Goodfellow et al. 2014, eq. 1 for D: -[log D(x) + log(1 - D(G(z)))], on logits.

    ``smooth`` is one-sided label smoothing (Salimans et al. 2016): real targets 1 - smooth.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 1 - smooth))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating G loss of Goodfellow et al. 2014, sec. 3: -log D(G(z))."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """The original minimax G loss of Goodfellow et al. 2014, eq. 1: log(1 - D(G(z))), on logits.

    log(1 - sigmoid(l)) = -softplus(l): it saturates (its gradient vanishes) when D rejects the
    fakes confidently, which is why single-D recipes use :func:`g_loss_nonsaturating`; GMAN's claim
    is that several discriminators make this loss trainable again."""
    return -F.softplus(fake_logits).mean()


G_OBJECTIVES = ("nonsaturating", "minimax")


def g_loss(objective: str):
    """The G loss on D's logits for a ``g_objective`` config value (:data:`G_OBJECTIVES`)."""
    return g_loss_minimax if objective == "minimax" else g_loss_nonsaturating
