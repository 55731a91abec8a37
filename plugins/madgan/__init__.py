"""madgan: Multi-Agent Diverse GAN (Ghosh et al. 2018) — k generators against one discriminator.

The k generators share every layer but the last (DCGAN's transposed-conv stack; each has its own
last transposed conv). D has k + 1 outputs: which generator made an image, or "real"; it trains on
the cross-entropy of that choice, and generator j on pushing its fakes towards "real". Each batch
of fakes is split evenly over the generators (image i from generator i mod k). At D's optimum the
uniform mixture of the generators equals the data, which is what fights mode collapse: a generator
that copies another is told apart from it.

The exported generator is one graph, kind ``code`` with a categorical code only: ``z`` and ``label``
= which generator (values named ``generator-0`` .. ``generator-{k-1}``), every head computed and the
asked one selected exactly. Balanced labels (image i from generator i mod k, the runtime's default)
are the uniform mixture the model was trained as; ``gansrv generate --classes generator-2`` draws
from one generator. ``gansrv eval`` scores how generator index and digit class go together.
``--augment`` (:mod:`gansrv.kits.data_efficient`) shows D real and generated images through the
same augmentation, in D's update and in the generators'.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import AugmentOptions, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(100)
    generators: int = option(5, "Number k of generators (they share all but the last layer).",
                             min=2, max=64)
    image_size: int = fields.image_size(28)
    g_width: int = fields.width(64, "the generators' shared layers", "doubles toward low resolutions")
    d_width: int = fields.width(64, "D", "doubles per downsampling")
    lr: float = fields.lr(2e-4)
    beta1: float = fields.beta1(0.5)


def generator_names(k: int) -> list[str]:
    """Names of the ``label`` values: folder names of ``gansrv generate`` and the demo's choice."""
    return [f"generator-{j}" for j in range(k)]


class MADGAN(Family):
    name = "madgan"
    description = "MAD-GAN: k generators sharing all but their last layer, a (k+1)-way D (Ghosh 2018)."
    kind = Kind.CODE
    Config = Config
    smoke_args = ("--g-width", "8", "--d-width", "8", "--generators", "3")

    def kind_for(self, config) -> Kind:
        return Kind.CODE

    def build(self, config, data):
        from gansrv_plugins.madgan.models import MultiGenerator, SourceDiscriminator

        return {"G": MultiGenerator(config.latent_dim, config.generators, config.image_size,
                                    data.channels, config.g_width),
                "D": SourceDiscriminator(data.channels, config.image_size, config.d_width,
                                         config.generators)}

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1)

    def train_step(self, batch, ctx):
        from gansrv_plugins.madgan.step import train_step

        return train_step(batch, ctx)

    def sample(self, modules, inputs, labels=None):
        """The training grid: row r (8 images) from generator r mod k."""
        import torch

        G, n = modules["G"], inputs.size(0)
        label = (torch.arange(n, device=inputs.device) // 8) % G.k if labels is None else labels
        return G(inputs, label)

    def export_graphs(self, modules, config, data):
        from gansrv_plugins.madgan.models import RealLogit

        return [ExportSpec("generator", modules["G"], ("z", "label"),
                           class_names=generator_names(config.generators)),
                ExportSpec("discriminator", RealLogit(modules["D"]), ("image",),
                           outputs=["logit", "source_logits"])]


@hookimpl
def gansrv_register_families(register):
    register(MADGAN())
