"""wgan-gp: Wasserstein GAN with a gradient penalty (Gulrajani et al. 2017).

Instead of clipping, the critic loss gets lambda * mean((||grad f(x_hat)||_2 - 1)^2) on random
interpolates x_hat between real and fake images. The penalty is per sample, so the critic has no
BatchNorm (LayerNorm — GroupNorm with one group — or none); G keeps BatchNorm. Defaults are the
paper's: lambda = 10, 5 critic updates per G update, Adam lr 1e-4, betas (0, 0.9).
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.family import option
from gansrv.nn.critic_family import ConvCriticFamily
from gansrv.nn.data_efficient import AugmentOptions


@dataclass
class Config(AugmentOptions):
    latent_dim: int = option(100, "Size of the noise vector z.", min=1, max=4096)
    image_size: int = option(28, "Resolution.", choices=(28, 32, 64))
    g_width: int = option(64, "Base channel width of G.", min=1, max=1024)
    d_width: int = option(64, "Base channel width of the critic.", min=1, max=1024)
    conditional: bool = option(False, "Class-conditional G and critic (needs labelled data).")
    critic_norm: str = option("layer", "Normalisation in the critic's hidden convs (no BatchNorm: "
                              "the penalty is per sample).", choices=("layer", "none"))
    gp_weight: float = option(10.0, "Weight lambda of the gradient penalty.", min=0.0, max=1e4)
    n_critic: int = option(5, "Critic updates per generator update.", min=1, max=100)
    lr: float = option(1e-4, "Adam learning rate for G and the critic.", min=0.0, max=10.0)
    beta1: float = option(0.0, "Adam beta1.", min=0.0, max=0.9999)
    beta2: float = option(0.9, "Adam beta2.", min=0.0, max=0.9999)


class WGANGP(ConvCriticFamily):
    name = "wgan-gp"
    description = ("WGAN-GP: Wasserstein critic with a gradient penalty, no BatchNorm in the "
                   "critic (Gulrajani 2017); --conditional for labels.")
    Config = Config

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1, config.beta2)

    def critic_options(self, config):
        return {"n_critic": config.n_critic, "gp_weight": config.gp_weight}


@hookimpl
def gansrv_register_families(register):
    register(WGANGP())
