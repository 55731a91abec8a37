"""sngan: spectrally normalised critic (Miyato, Kataoka, Koyama & Yoshida 2018).

Every critic layer (convs, the linear head and, when conditional, the projection embedding) is
divided by its largest singular value through torch's spectral-norm parametrization, so the critic
needs no BatchNorm, clipping or penalty; G keeps BatchNorm. Loss: hinge (the paper's choice for
its best results) or Wasserstein. Defaults: Adam lr 2e-4, betas (0.5, 0.999), one critic update per
G update — one of the paper's settings (Table 1). Export folds the parametrization into plain weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.family import option
from gansrv.nn.critic_family import ConvCriticFamily
from gansrv.nn.data_efficient import AugmentOptions


@dataclass
class Config(AugmentOptions):
    latent_dim: int = option(128, "Size of the noise vector z.", min=1, max=4096)
    image_size: int = option(28, "Resolution.", choices=(28, 32, 64))
    g_width: int = option(64, "Base channel width of G.", min=1, max=1024)
    d_width: int = option(64, "Base channel width of the critic.", min=1, max=1024)
    conditional: bool = option(False, "Class-conditional G and critic (needs labelled data).")
    loss: str = option("hinge", "Critic loss (G minimises -mean(f(G(z))) with either).",
                       choices=("hinge", "wasserstein"))
    n_critic: int = option(1, "Critic updates per generator update.", min=1, max=100)
    lr: float = option(2e-4, "Adam learning rate for G and the critic.", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1.", min=0.0, max=0.9999)
    beta2: float = option(0.999, "Adam beta2.", min=0.0, max=0.9999)


class SNGAN(ConvCriticFamily):
    name = "sngan"
    description = ("SNGAN: spectral normalisation on every critic layer, hinge or Wasserstein loss "
                   "(Miyato 2018); --conditional for labels.")
    Config = Config
    spectral_norm = True

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1, config.beta2)

    def critic_options(self, config):
        return {"n_critic": config.n_critic, "loss": config.loss}


@hookimpl
def gansrv_register_families(register):
    register(SNGAN())
