"""ebgan: Energy-Based GAN (Zhao, Mathieu & LeCun 2016).

D is an autoencoder whose energy is the reconstruction MSE. D pushes the energy of real images
down and that of fakes up to a margin m; G lowers the energy of its fakes, plus the pulling-away
term on D's encoder codes against mode collapse. D can be pre-trained as a plain autoencoder on
real data (``--pretrain-steps``), so it is strong from the generator's first step.
The losses live in ``gansrv.nn.energy``, the networks in ``gansrv.nn.autoencoder``, and the step
shape it shares with began in the autoencoder kit (``gansrv.kits.autoencoder``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl, option
from gansrv.kits import AugmentOptions, AutoencoderFamily, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(64)
    image_size: int = fields.image_size(28)
    conditional: bool = option(False, "Class-conditional G and D: the run and its exports are then of "
                                          "kind conditional (needs labelled data).")
    g_width: int = fields.width(64, "G")
    d_width: int = fields.width(64, "the autoencoder D")
    code_dim: int = option(64, "Size of D's encoder code (the pulling-away term's embedding).",
                           min=1, max=4096)
    embed_dim: int = option(16, "Size of the label embedding (conditional only).", min=1, max=1024)
    g_norm: str = option("batch", "Normalisation in G.", choices=("batch", "none"))
    margin: float = option(0.5, "Margin m on fake energies (per-pixel MSE of [-1, 1] images).",
                           min=0.0, max=100.0)
    pt_weight: float = option(0.1, "Weight of the pulling-away term in G's loss (paper: 0.1).",
                              min=0.0, max=100.0)
    pretrain_steps: int = option(100, "Autoencoder pre-training steps of D on real data before "
                                      "the first generator step (0: none).", min=0, max=20000)
    lr: float = fields.lr(2e-4)
    beta1: float = fields.beta1(0.5)


class EBGAN(AutoencoderFamily):
    name = "ebgan"
    description = "Energy-based GAN: autoencoder D, MSE energy with a margin, pulling-away term."
    Config = Config
    smoke_args = ("--g-width", "16", "--d-width", "16", "--code-dim", "16", "--pretrain-steps", "2")

    energy_norm = "l2"

    def scorer_metadata(self, config):
        return {"energy": "mean squared reconstruction error per pixel",
                "margin": config.margin}

    def train_step(self, batch, ctx):
        from gansrv_plugins.ebgan.step import train_step

        return train_step(batch, ctx)


@hookimpl
def gansrv_register_families(register):
    register(EBGAN())
