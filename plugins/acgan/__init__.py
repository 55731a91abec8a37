"""acgan: DCGAN + classifier (Odena, Olah & Shlens 2017, "AC-GAN"), the classifier-guided recipe.

The discriminator has one conv trunk and two heads: real/fake and the class. The class head is the
classifier C: trained on real labels only, and G (z joined with a one-hot y) is trained through it
on the labels it was asked for, besides the usual non-saturating BCE loss. D:G:C = 1:1:1 and Adam
(beta1 0.5) at lr 4e-4, twice DCGAN's 2e-4, chosen by measurement (plugins/acgan/README.md);
``--d-steps/--g-steps/--c-steps`` change the ratio. TAC-GAN's twin class head is on by default
(``--twin-weight 1``; 0 gives plain AC-GAN); why, and how it is trained: :mod:`gansrv.kits.classifier`.
Runs saved before the option existed load with ``twin_weight`` 0 (``legacy_config``).

D's trunk is per-sample normalised by default (``--d-norm layer``) because the class head is
exported as an image classifier (``<name>.classifier.onnx``) that must not depend on a batch.
Networks: gansrv.nn.aux_classifier; update and export graphs: the classifier-guided kit
(gansrv.kits.classifier, gansrv.kits.classifier_family); the WGAN variant is ``wgan-c``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl, option
from gansrv.kits import AugmentOptions, ClassifierGANFamily, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(100)
    image_size: int = fields.image_size(28)
    g_width: int = fields.width(64, "G")
    d_width: int = fields.width(64, "D", "trunk of both heads")
    d_norm: str = option("layer", "Normalisation of D's hidden convs (batch would make the exported "
                         "classifier depend on real/fake running statistics).",
                         choices=("layer", "batch", "none"))
    lr: float = fields.lr(4e-4, players="G, D and C")
    beta1: float = fields.beta1(0.5)
    d_steps: int = fields.steps(1, "D (real/fake)")
    c_steps: int = fields.steps(1, "Classifier-head", note="real labels")
    g_steps: int = fields.steps(1, "G")
    class_weight: float = option(1.0, "Weight of the classifier's loss in G's loss.", min=0.0, max=100.0)
    twin_weight: float = option(1.0, "TAC-GAN: weight of the twin class head's loss (a head on D's "
                                "trunk trained on fakes), subtracted from G's loss; 0 = off "
                                "(plain AC-GAN).", min=0.0, max=100.0)


class ACGAN(ClassifierGANFamily):
    name = "acgan"
    description = ("AC-GAN: DCGAN whose D also predicts the class; G trained through that "
                   "classifier (exported as an image classifier too).")
    Config = Config
    smoke_args = ("--g-width", "8", "--d-width", "8")
    # runs saved before --twin-weight existed trained plain AC-GAN (their checkpoints hold no twin head)
    legacy_config = {"twin_weight": 0.0}

    def build_players(self, config, data):
        from gansrv.nn.aux_classifier import ACDiscriminator

        return {"D": ACDiscriminator(data.channels, config.image_size, config.d_width,
                                     data.num_classes, config.d_norm, twin=config.twin_weight > 0)}

    def step_options(self, config):
        return {"twin_weight": config.twin_weight}

    def optimizers(self, config, modules):
        import torch

        D, betas = modules["D"], (config.beta1, 0.999)
        return {"G": torch.optim.Adam(modules["G"].parameters(), lr=config.lr, betas=betas),
                "D": torch.optim.Adam(D.adversarial_parameters(), lr=config.lr, betas=betas),
                "C": torch.optim.Adam(D.classifier_parameters(), lr=config.lr, betas=betas)}


@hookimpl
def gansrv_register_families(register):
    register(ACGAN())
