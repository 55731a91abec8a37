"""acgan: DCGAN + classifier (Odena, Olah & Shlens 2017, "AC-GAN"), the classifier-guided recipe.

The discriminator has one conv trunk and two heads: real/fake and the class. The class head is the
classifier C: trained on real labels only, and G (z joined with a one-hot y) is trained through it
on the labels it was asked for, besides the usual non-saturating BCE loss. D:G:C = 1:1:1 and Adam
(beta1 0.5) at lr 4e-4, twice DCGAN's 2e-4: in 300 s on 2 cores it raised CAS from 0.917 to
0.930-0.941 and FID from 46.9 to 36.7-39.5 (docs/benchmarks.md); ``--d-steps/--g-steps/--c-steps``
change the ratio.

Twin auxiliary classifier (TAC-GAN, Gong et al. 2019), on by default (``--twin-weight 1``; 0 gives
plain AC-GAN): a second class head on D's trunk learns to read the labels of G's *fakes*, and G's
loss subtracts its cross-entropy. AC-GAN's class loss rewards G for images of low conditional
entropy (easy, typical digits: recall 0.5325-0.5545 after 2,500 steps); the twin term cancels that
part. At 2,500 steps it raised CAS from 0.911/0.928 to 0.940/0.9435 and recall from 0.5325/0.5545
to 0.587/0.6245 (seeds 0/1, docs/benchmarks.md). The head is one linear layer trained in D's update on
the fakes D already scores, moved by D's optimizer; the exported classifier and discriminator graphs
do not include it. Runs saved before the option existed load with ``twin_weight`` 0
(``legacy_config``).

D's trunk is per-sample normalised by default (``--d-norm layer``) because the class head is
exported as an image classifier (``<name>.classifier.onnx``) that must not depend on a batch.
Networks, update and export graphs: gansrv.nn.classifier_family and gansrv.nn.aux_classifier; the
WGAN variant is ``wgan-c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gansrv import hookimpl
from gansrv.family import option
from gansrv.nn.classifier_family import ClassifierGANFamily
from gansrv.nn.data_efficient import AugmentOptions


@dataclass
class Config(AugmentOptions):
    labelled_samples: ClassVar[bool] = True  # every sample has a class: --augment auto is off
    latent_dim: int = option(100, "Size of the noise vector z.", min=1, max=4096)
    image_size: int = option(28, "Resolution.", choices=(28, 32, 64))
    g_width: int = option(64, "Base channel width of G.", min=1, max=1024)
    d_width: int = option(64, "Base channel width of D (trunk of both heads).", min=1, max=1024)
    d_norm: str = option("layer", "Normalisation of D's hidden convs (batch would make the exported "
                         "classifier depend on real/fake running statistics).",
                         choices=("layer", "batch", "none"))
    lr: float = option(4e-4, "Adam learning rate for G, D and C.", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1.", min=0.0, max=0.9999)
    d_steps: int = option(1, "D (real/fake) updates per generator step.", min=1, max=100)
    c_steps: int = option(1, "Classifier-head updates per generator step (real labels).", min=1, max=100)
    g_steps: int = option(1, "G updates per generator step.", min=1, max=100)
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
