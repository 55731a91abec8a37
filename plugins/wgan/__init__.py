"""wgan: Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017).

The critic has no sigmoid and its loss no log: it minimises mean(f(fake)) - mean(f(real)) and G
minimises -mean(f(G(z))); after every critic update its weights are clipped to [-c, c]. Defaults are
the paper's Algorithm 1: c = 0.01, RMSprop lr 5e-5, 5 critic updates per G update, DCGAN-like nets
with BatchNorm in both. Networks, conditioning, the update and the export graphs are the critic
kit's (:class:`gansrv.kits.ConvCriticFamily`, :mod:`gansrv.kits.critic`); this module holds the
recipe.
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
    critic_norm: str = option("batch", "Normalisation in the critic's hidden convs.",
                              choices=("batch", "layer", "none"))
    clip: float = fields.clip(0.01)
    n_critic: int = fields.steps(5, "Critic", per="generator update")
    lr: float = fields.lr(5e-5, "RMSprop", "G and the critic")


class WGAN(ConvCriticFamily):
    name = "wgan"
    description = ("WGAN: Wasserstein critic with weight clipping, RMSprop (Arjovsky 2017); "
                   "--conditional for labels.")
    Config = Config

    def optimizers(self, config, modules):
        from gansrv.nn.optim import rmsprop_per_module

        return rmsprop_per_module(modules, config.lr)


@hookimpl
def gansrv_register_families(register):
    register(WGAN())
