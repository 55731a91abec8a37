"""The autoencoder kit: networks, export graphs and the update of GANs whose discriminator is an
autoencoder (ebgan, began), on the energies and losses of :mod:`gansrv.nn.energy`.

:func:`energy_step` is the step both recipes share: D's pre-training once, one D update on the
real and fake energies, one G update with D frozen; a recipe passes its two losses. Their family
base is :class:`gansrv.kits.autoencoder_family.AutoencoderFamily`. With the data-efficient
mechanism on (:mod:`gansrv.kits.data_efficient`) every image D reconstructs, real or generated, in
the pre-training, D's update and G's, goes through its augmentation first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from gansrv.kits import data_efficient
from gansrv.nn.autoencoder import AutoencoderD, Decoder
from gansrv.nn.optim import frozen, update


def energy_step(ctx, batch, d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                g_loss: Callable[[nn.Module, torch.Tensor, torch.Tensor | None],
                                 tuple[torch.Tensor, dict[str, Any]]]) -> dict[str, Any]:
    """One generator iteration: the recipe's D pre-training (first step only), a D update on
    ``d_loss(real_energy, fake_energy)``, then a G update on ``g_loss(D, fakes, labels)`` (which
    returns the loss and extra values to log) with D frozen. ``g_loss`` gets the fakes as D sees
    them (augmented when the data-efficient mechanism is on), so energies stay comparable.

    Returns ``loss_d``, ``loss_g`` and the real and fake energies of D's update as tensors, with
    the recipe's extras and, under ``augment``, the data-efficient mechanism's row to log (numbers;
    empty when off): the caller turns what it logs into numbers (one device sync)."""
    G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
    opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
    aug = data_efficient.augmenter(ctx)
    pretrain_once(ctx, D, opt_d, c.pretrain_steps, c.conditional, aug)
    x, y = batch
    y = y if c.conditional else None
    n = x.size(0)
    with torch.no_grad():
        fake, yf = fakes(ctx, G, n, c.latent_dim, c.conditional)
    real_energy, _ = D(aug(x), y)
    fake_energy, _ = D(aug(fake), yf)
    loss_d = d_loss(real_energy, fake_energy)
    update(opt_d, loss_d)
    # ADA's signal wants "D's output on a real image, positive = sure it is real". An autoencoder
    # D outputs an energy, lower = more real, so the signal is the fakes' mean energy minus each
    # real's: positive for a real D ranks as more real than the average fake (centre 0; like the
    # critic's, relative, since an energy has no fixed "undecided" value).
    logged = data_efficient.observe(ctx, fake_energy.detach().mean() - real_energy.detach(), 0.0)
    with frozen(D):
        fake, yf = fakes(ctx, G, n, c.latent_dim, c.conditional)
        loss_g, extras = g_loss(D, aug(fake), yf)
        update(opt_g, loss_g)
    return {"loss_d": loss_d, "loss_g": loss_g, "energy_real": real_energy.mean(),
            "energy_fake": fake_energy.mean(), "fake_energy": fake_energy.detach(), **extras,
            "augment": logged}


def fakes(ctx, G: torch.nn.Module, n: int, latent_dim: int, conditional: bool
          ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n generated images and the labels they were asked for (None when unconditional); the noise
    and labels come from ctx, so a resumed run draws the same ones."""
    labels = ctx.fake_labels(n) if conditional else None
    return G(ctx.randn(n, latent_dim), labels), labels


def pretrain_once(ctx, D: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int,
                  conditional: bool, aug: Callable[[torch.Tensor], torch.Tensor] | None = None
                  ) -> None:
    """Run the D pre-training of the recipe once, at the run's first generator step, on the real
    images as ``aug`` (the data-efficient augmentation, identity by default) shows them to D.

    It lives inside ``train_step`` (not before the loop) so that it draws its batches from the
    engine's stream and ends before the first checkpoint: a resumed run neither repeats nor skips
    it. The real energy of every pre-training step is kept in the family state
    (``pretrain_energy``, saved in each checkpoint's state.pt) as the record that D learnt.
    """
    if steps <= 0 or ctx.state.get("pretrained_steps", 0) >= steps:
        return
    aug = aug or data_efficient.augmenter(ctx)
    curve = pretrain_autoencoder(ctx, lambda x, y: D(aug(x), y if conditional else None)[0],
                                 optimizer, steps)
    ctx.state["pretrained_steps"] = steps
    ctx.state["pretrain_energy"] = torch.tensor(curve, dtype=torch.float32)


def pretrain_autoencoder(ctx, energy_of: Callable, optimizer: torch.optim.Optimizer,
                         steps: int) -> list[float]:
    """Train D as a plain autoencoder on ``steps`` real batches (min of real energy); returns the
    real energy of each step. Batches come from ``ctx.next_batch()``, so the engine's data stream,
    and with it a resumed run, accounts for them.

    EBGAN's D is then strong from the generator's first step (the recipe's fast start).
    """
    curve = []
    for _ in range(steps):
        x, y = ctx.next_batch()
        loss = energy_of(x, y).mean()
        update(optimizer, loss)
        curve.append(loss.item())
    return curve


def build_players(config, channels: int, classes: int, energy_norm: str) -> dict[str, nn.Module]:
    """G (a :class:`Decoder` from z) and D (an :class:`AutoencoderD`) from a config that has
    ``latent_dim, image_size, g_width, d_width, code_dim, embed_dim, g_norm, conditional``."""
    k = classes if config.conditional else 0
    embed = config.embed_dim if k else 0
    size = config.image_size
    return {"G": Decoder(config.latent_dim, size, channels, config.g_width, k, embed,
                         norm=config.g_norm, tanh=True),
            "D": AutoencoderD(size, channels, config.d_width, config.code_dim, energy_norm, k, embed)}
