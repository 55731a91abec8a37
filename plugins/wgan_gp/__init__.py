"""wgan-gp: Wasserstein GAN with a gradient penalty (Gulrajani et al. 2017).

Instead of clipping, the critic loss gets lambda * mean((||grad f(x_hat)||_2 - 1)^2) on random
interpolates x_hat between real and fake images. The penalty is per sample, so the critic has no
BatchNorm (LayerNorm — GroupNorm with one group — or none); G keeps BatchNorm. Defaults are the
paper's: lambda = 10, 5 critic updates per G update, Adam lr 1e-4, betas (0, 0.9). Everything
else (networks, update, Adam, export) is the critic kit's (:class:`gansrv.kits.ConvCriticFamily`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl, option
from gansrv.kits import AugmentOptions, ConvCriticFamily, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(100)
    image_size: int = fields.image_size(28)
    g_width: int = fields.width(64, "G")
    d_width: int = fields.width(64, "the critic")
    conditional: bool = fields.conditional("G and critic")
    critic_norm: str = option("layer", "Normalisation in the critic's hidden convs (no BatchNorm: "
                              "the penalty is per sample).", choices=("layer", "none"))
    gp_weight: float = option(10.0, "Weight lambda of the gradient penalty.", min=0.0, max=1e4)
    n_critic: int = fields.steps(5, "Critic", per="generator update")
    lr: float = fields.lr(1e-4, players="G and the critic")
    beta1: float = fields.beta1(0.0)
    beta2: float = fields.beta2(0.9)


class WGANGP(ConvCriticFamily):
    name = "wgan-gp"
    description = ("WGAN-GP: Wasserstein critic with a gradient penalty, no BatchNorm in the "
                   "critic (Gulrajani 2017); --conditional for labels.")
    Config = Config


@hookimpl
def gansrv_register_families(register):
    register(WGANGP())
