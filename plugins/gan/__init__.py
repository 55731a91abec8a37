"""gan: the original GAN (Goodfellow et al. 2014) with fully connected G and D.

This folder is the template for a new family: copy it and rename the class and the ``name``; a
folder under ``plugins/`` is all a built-in family is. Keep this module light (no torch at import):
the CLI imports it to list families, and torch is only needed once training starts. The update,
the optimizers and the export graphs come from the adversarial kit
(:class:`gansrv.kits.AdversarialFamily`); this module holds the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl, option
from gansrv.kits import AdversarialFamily, AugmentOptions, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(100)
    image_size: int = option(28, "Images are resized to this side length.", min=4, max=256)
    g_hidden: str = option("256,512,1024", "Hidden layer widths of G, comma-separated.")
    d_hidden: str = option("512,256", "Hidden layer widths of D, comma-separated.")
    dropout: float = option(0.3, "Dropout in D's hidden layers (as in the paper).", min=0.0, max=0.95)
    lr: float = fields.lr(2e-4)
    beta1: float = fields.beta1(0.5)
    d_steps: int = fields.steps(1, "D")
    g_steps: int = fields.steps(1, "G")
    label_smoothing: float = fields.label_smoothing(0.0)


def widths(text: str) -> list[int]:
    from gansrv.errors import UserError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(not 1 <= v <= 16384 for v in values):
        raise UserError(f"layer widths must be between 1 and 16384, got {text!r}")
    return values


class GAN(AdversarialFamily):
    name = "gan"
    description = "Original GAN: MLP generator and discriminator, BCE loss (Goodfellow 2014)."
    Config = Config
    smoke_args = ("--g-hidden", "64,128", "--d-hidden", "128,64")

    def validate(self, config, data) -> None:
        widths(config.g_hidden), widths(config.d_hidden)

    def build(self, config, data):
        from gansrv_plugins.gan.models import MLPDiscriminator, MLPGenerator

        shape = (data.channels, config.image_size, config.image_size)
        return {"G": MLPGenerator(config.latent_dim, widths(config.g_hidden), shape),
                "D": MLPDiscriminator(shape, widths(config.d_hidden), config.dropout)}


@hookimpl
def gansrv_register_families(register):
    register(GAN())
