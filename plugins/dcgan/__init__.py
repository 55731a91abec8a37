"""dcgan: Radford et al. 2015 — transposed-conv G (BatchNorm, ReLU, tanh), strided-conv D
(LeakyReLU 0.2), no pooling and no fully connected hidden layers, Adam(2e-4, beta1 0.5).
The update, optimizers and export graphs are the adversarial kit's, as for gan. ``--g-objective
minimax`` trains G on the original log(1 - D(G(z))), the single-D baseline of GMAN's claim; a run
saved before the option loads with the non-saturating loss it trained with (the default)."""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.kits import AdversarialFamily, AugmentOptions, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(100)
    image_size: int = fields.image_size(28)
    g_width: int = fields.width(64, "G", "doubles toward low resolutions")
    d_width: int = fields.width(64, "D", "doubles per downsampling")
    lr: float = fields.lr(2e-4)
    beta1: float = fields.beta1(0.5)
    d_steps: int = fields.steps(1, "D")
    g_steps: int = fields.steps(1, "G", note="one report found 2 helped")
    label_smoothing: float = fields.label_smoothing(0.0)
    g_objective: str = fields.g_objective("nonsaturating")  # minimax: the baseline GMAN is judged by


class DCGAN(AdversarialFamily):
    name = "dcgan"
    description = "DCGAN: transposed-conv G with BatchNorm, strided-conv D (Radford 2015)."
    Config = Config
    smoke_args = ("--g-width", "16", "--d-width", "16")

    def build(self, config, data):
        from gansrv_plugins.dcgan.models import ConvDiscriminator, ConvGenerator

        return {"G": ConvGenerator(config.latent_dim, config.image_size, data.channels,
                                   config.g_width),
                "D": ConvDiscriminator(data.channels, config.image_size, config.d_width)}


@hookimpl
def gansrv_register_families(register):
    register(DCGAN())
