"""wgan: Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017).

The critic has no sigmoid and its loss no log: it minimises mean(f(fake)) - mean(f(real)) and G
minimises -mean(f(G(z))); after every critic update its weights are clipped to [-c, c]. Defaults are
the paper's Algorithm 1: c = 0.01, RMSprop lr 5e-5, 5 critic updates per G update, DCGAN-like nets
with BatchNorm in both. Networks, conditioning and the update live in gansrv.nn (critic_family,
wasserstein); this module holds the recipe.
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
    critic_norm: str = option("batch", "Normalisation in the critic's hidden convs.",
                              choices=("batch", "layer", "none"))
    clip: float = option(0.01, "Critic weights are clipped to [-clip, clip].", min=1e-6, max=10.0)
    n_critic: int = option(5, "Critic updates per generator update.", min=1, max=100)
    lr: float = option(5e-5, "RMSprop learning rate for G and the critic.", min=0.0, max=10.0)


class WGAN(ConvCriticFamily):
    name = "wgan"
    description = ("WGAN: Wasserstein critic with weight clipping, RMSprop (Arjovsky 2017); "
                   "--conditional for labels.")
    Config = Config

    def optimizers(self, config, modules):
        from gansrv.nn.optim import rmsprop_per_module

        return rmsprop_per_module(modules, config.lr)

    def critic_options(self, config):
        return {"n_critic": config.n_critic, "clip": config.clip}


@hookimpl
def gansrv_register_families(register):
    register(WGAN())
