"""sngan: spectrally normalised critic (Miyato, Kataoka, Koyama & Yoshida 2018).

Every critic layer (convs, the linear head and, when conditional, the projection embedding) is
divided by its largest singular value through torch's spectral-norm parametrization, so the critic
needs no BatchNorm, clipping or penalty; G keeps BatchNorm. Loss: hinge (the paper's choice for
its best results) or Wasserstein. Defaults: Adam lr 2e-4, betas (0.5, 0.999), one critic update per
G update — one of the paper's settings (Table 1). Export folds the parametrization into plain weights.
Everything else (networks, update, Adam, export) is the critic kit's, as for wgan-gp.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl, option
from gansrv.kits import AugmentOptions, ConvCriticFamily, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(128)
    image_size: int = fields.image_size(28)
    g_width: int = fields.width(64, "G")
    d_width: int = fields.width(64, "the critic")
    conditional: bool = fields.conditional("G and critic")
    loss: str = option("hinge", "Critic loss (G minimises -mean(f(G(z))) with either).",
                       choices=("hinge", "wasserstein"))
    n_critic: int = fields.steps(1, "Critic", per="generator update")
    lr: float = fields.lr(2e-4, players="G and the critic")
    beta1: float = fields.beta1(0.5)
    beta2: float = fields.beta2(0.999)


class SNGAN(ConvCriticFamily):
    name = "sngan"
    description = ("SNGAN: spectral normalisation on every critic layer, hinge or Wasserstein loss "
                   "(Miyato 2018); --conditional for labels.")
    Config = Config
    spectral_norm = True


@hookimpl
def gansrv_register_families(register):
    register(SNGAN())
