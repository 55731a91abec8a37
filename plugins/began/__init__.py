"""began: Boundary Equilibrium GAN (Berthelot, Schumm & Metz 2017).

D is an autoencoder with the pixel-wise L1 reconstruction loss L(v) = |v - D(v)|. Instead of
separating real and fake energies, D minimises L(x) - k_t L(G(z)) and G minimises L(G(z)); the
proportional control k_t (family state, saved with every checkpoint) holds the equilibrium
E[L(G(z))] = gamma E[L(x)], and M = L(x) + |gamma L(x) - L(G(z))| measures convergence. Both are
logged every step. The losses live in ``gansrv.nn.energy``, the networks in
``gansrv.nn.autoencoder``, the step shape it shares with ebgan in ``gansrv.kits.autoencoder``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl, option
from gansrv.kits import AugmentOptions, AutoencoderFamily, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(64, "paper: 64")
    image_size: int = fields.image_size(28)
    conditional: bool = option(False, "Class-conditional G and D: the run and its exports are then of "
                                          "kind conditional (needs labelled data).")
    g_width: int = fields.width(64, "G", "the decoder's shape")
    d_width: int = fields.width(64, "the autoencoder D")
    code_dim: int = option(64, "Size of D's embedding h (paper: 64).", min=1, max=4096)
    embed_dim: int = option(16, "Size of the label embedding (conditional only).", min=1, max=1024)
    g_norm: str = option("none", "Normalisation in G (the paper uses none).", choices=("batch", "none"))
    gamma: float = option(0.5, "Diversity ratio gamma = E[L(G(z))] / E[L(x)]: lower gives sharper, "
                               "less varied images.", min=0.0, max=1.0)
    lambda_k: float = option(1e-3, "Learning rate lambda_k of the k_t control.", min=0.0, max=1.0)
    k0: float = option(0.0, "Initial k_t.", min=0.0, max=1.0)
    pretrain_steps: int = option(0, "Autoencoder pre-training steps of D on real data before the "
                                    "first generator step (0: none, as in the paper).", min=0, max=20000)
    lr: float = fields.lr(1e-4, note="paper: 1e-4")
    beta1: float = fields.beta1(0.5)


class BEGAN(AutoencoderFamily):
    name = "began"
    description = "Boundary equilibrium GAN: autoencoder D, L1 energy, k_t control, convergence M."
    Config = Config
    smoke_args = ("--g-width", "16", "--d-width", "16", "--code-dim", "16")

    energy_norm = "l1"

    def scorer_metadata(self, config):
        return {"energy": "mean absolute reconstruction error per pixel",
                "gamma": config.gamma}

    def train_step(self, batch, ctx):
        from gansrv_plugins.began.step import train_step

        return train_step(batch, ctx)


@hookimpl
def gansrv_register_families(register):
    register(BEGAN())
