"""wgan-c: WGAN + classifier (the classifier-guided recipe on a clipped Wasserstein critic).

A critic without sigmoid, weights clipped to [-c, c] after every update (Arjovsky et al. 2017), and
a *separate* classifier C (conv -> fc -> softmax) trained on real labels; G (z joined with a one-hot
y) minimises -mean f(G(z, y)) plus the classifier's cross-entropy on the labels it was asked for.
Defaults of that recipe: D:G:C = 5:1:1, RMSprop lr 2e-4, c = 0.01 (plugins/wgan_c/README.md).

Why a family of its own and not ``acgan --critic wgan``: every default differs (step ratio,
optimizer, learning rate, clipping, a separate classifier network with its own width), and a config
field has one default; as its own family, ``gansrv train wgan-c --help`` shows the recipe's values
and a run's config reads as what it is. The update and the export graphs are acgan's (the
classifier-guided kit, :class:`gansrv.kits.ClassifierGANFamily`), so the two cannot drift apart.
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
    d_width: int = fields.width(64, "the critic")
    c_width: int = fields.width(32, "the classifier")
    critic_norm: str = option("batch", "Normalisation in the critic's hidden convs.",
                              choices=("batch", "layer", "none"))
    clip: float = fields.clip(0.01)
    lr: float = fields.lr(2e-4, "RMSprop", "G, the critic and the classifier")
    d_steps: int = fields.steps(5, "Critic")
    c_steps: int = fields.steps(1, "Classifier", note="real labels")
    g_steps: int = fields.steps(1, "G")
    class_weight: float = option(1.0, "Weight of the classifier's loss in G's loss.", min=0.0, max=100.0)


class WGANClassifier(ClassifierGANFamily):
    name = "wgan-c"
    description = ("WGAN + classifier: clipped critic and a separate classifier that G is trained "
                   "through (D:G:C = 5:1:1).")
    Config = Config
    separate_classifier = True
    smoke_args = ("--g-width", "8", "--d-width", "8", "--c-width", "8")

    def build_players(self, config, data):
        from gansrv.nn.aux_classifier import ConvClassifier
        from gansrv.nn.convnets import ConvCritic

        return {"D": ConvCritic(data.channels, config.image_size, config.d_width, 0, "hidden",
                                config.critic_norm),
                "C": ConvClassifier(data.channels, config.image_size, config.c_width, data.num_classes)}

    def optimizers(self, config, modules):
        from gansrv.nn.optim import rmsprop_per_module

        return rmsprop_per_module(modules, config.lr)

    def step_options(self, config):
        return {"loss": "wasserstein", "clip": config.clip}


@hookimpl
def gansrv_register_families(register):
    register(WGANClassifier())
