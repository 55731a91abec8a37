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
