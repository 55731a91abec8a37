"""Objectives of autoencoder-discriminator GANs: the EBGAN margin loss and pulling-away term, the
BEGAN equilibrium control k_t and its convergence measure M (the updates and the autoencoder
pre-training that use them: :mod:`gansrv.kits.autoencoder`).

Energies are per-image tensors from :class:`gansrv.nn.autoencoder.AutoencoderD` (low = real-looking).
"""

from __future__ import annotations

import torch


def ebgan_d_loss(real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float) -> torch.Tensor:
    """EBGAN D objective (Zhao et al. 2016, eq. 1): L_D = D(x) + [m - D(G(z))]^+, batch mean.

    Real energy is pushed down everywhere; a fake is pushed up only while its energy is below the
    margin m, so D spends no capacity on fakes it already rejects.
    """
    return real_energy.mean() + torch.clamp(margin - fake_energy, min=0).mean()


def ebgan_g_loss(fake_energy: torch.Tensor) -> torch.Tensor:
    """EBGAN G objective (eq. 2): L_G = D(G(z)), batch mean."""
    return fake_energy.mean()


def margin_hits(fake_energy: torch.Tensor, margin: float) -> float:
    """Fraction of fakes at or above the margin: those D already rejects and gets no gradient from."""
    return (fake_energy >= margin).float().mean().item()


def pulling_away(codes: torch.Tensor) -> torch.Tensor:
    """The pulling-away term (EBGAN eq. 8) on a batch of encoder codes S (N, d):

        f_PT(S) = 1 / (N (N - 1)) * sum_i sum_{j != i} ( S_i . S_j / (|S_i| |S_j|) )^2

    the mean squared cosine similarity between distinct codes of the batch; added to G's loss it
    pushes generated samples apart in D's representation (against mode collapse). 0 for N < 2.
    """
    n = codes.size(0)
    if n < 2:
        return codes.new_zeros(())
    unit = codes / codes.norm(dim=1, keepdim=True).clamp_min(1e-8)
    cos2 = (unit @ unit.t()) ** 2
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def began_d_loss(real_energy: torch.Tensor, fake_energy: torch.Tensor, k: float) -> torch.Tensor:
    """BEGAN D objective (Berthelot et al. 2017, eq. 4): L_D = L(x) - k_t * L(G(z_D))."""
    return real_energy.mean() - k * fake_energy.mean()


def began_k_update(k: float, real_loss: float, fake_loss: float, gamma: float, lambda_k: float) -> float:
    """The proportional control of BEGAN eq. 4:  k_{t+1} = k_t + lambda_k (gamma L(x) - L(G(z_G))),
    kept in [0, 1] (sec. 3.3). It raises the weight of fake energies while the generator's samples
    are reconstructed better than gamma times the real ones, holding E[L(G(z))] = gamma E[L(x)]."""
    return min(1.0, max(0.0, k + lambda_k * (gamma * real_loss - fake_loss)))


def convergence_measure(real_loss: float, fake_loss: float, gamma: float) -> float:
    """BEGAN's global convergence measure (sec. 3.4.1): M = L(x) + |gamma L(x) - L(G(z_G))|.

    Falls as D reconstructs real images better *and* the equilibrium holds; unlike the two losses,
    it decreases steadily over a healthy run, so it is the one number to watch.
    """
    return real_loss + abs(gamma * real_loss - fake_loss)
