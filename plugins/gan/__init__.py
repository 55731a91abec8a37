"""gan: the original GAN (Goodfellow et al. 2014) with fully connected G and D.

This folder is the template for a new family: copy it, rename the class and the ``name``, and add
an entry point to the ``gansrv`` group. Keep this module light (no torch at import): the CLI imports
it to list families, and torch is only needed once training starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.family import ExportSpec, Family, Kind, option
from gansrv.nn.data_efficient import AugmentOptions


@dataclass
class Config(AugmentOptions):
    latent_dim: int = option(100, "Size of the noise vector z.", min=1, max=4096)
    image_size: int = option(28, "Images are resized to this side length.", min=4, max=256)
    g_hidden: str = option("256,512,1024", "Hidden layer widths of G, comma-separated.")
    d_hidden: str = option("512,256", "Hidden layer widths of D, comma-separated.")
    dropout: float = option(0.3, "Dropout in D's hidden layers (as in the paper).", min=0.0, max=0.95)
    lr: float = option(2e-4, "Adam learning rate for G and D.", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1.", min=0.0, max=0.9999)
    d_steps: int = option(1, "D updates per generator step.", min=1, max=100)
    g_steps: int = option(1, "G updates per generator step.", min=1, max=100)
    label_smoothing: float = option(0.0, "One-sided label smoothing of D's real targets.", min=0.0, max=0.5)


def widths(text: str) -> list[int]:
    from gansrv.errors import UserError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(not 1 <= v <= 16384 for v in values):
        raise UserError(f"layer widths must be between 1 and 16384, got {text!r}")
    return values


class GAN(Family):
    name = "gan"
    description = "Original GAN: MLP generator and discriminator, BCE loss (Goodfellow 2014)."
    kind = Kind.NOISE
    Config = Config
    smoke_args = ("--g-hidden", "64,128", "--d-hidden", "128,64")

    def validate(self, config, data) -> None:
        widths(config.g_hidden), widths(config.d_hidden)

    def build(self, config, data):
        from gansrv_plugins.gan.models import MLPDiscriminator, MLPGenerator

        shape = (data.channels, config.image_size, config.image_size)
        return {"G": MLPGenerator(config.latent_dim, widths(config.g_hidden), shape),
                "D": MLPDiscriminator(shape, widths(config.d_hidden), config.dropout)}

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1)

    def train_step(self, batch, ctx):
        from gansrv.nn.losses import adversarial_step

        G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
        return adversarial_step(ctx, batch, lambda z, y: G(z), lambda x, y: D(x), c.latent_dim,
                                c.d_steps, c.g_steps, c.label_smoothing)

    def export_graphs(self, modules, config, data):
        import torch

        image = torch.rand(2, data.channels, config.image_size, config.image_size) * 2 - 1
        return [ExportSpec("generator", modules["G"], {"z": torch.randn(2, config.latent_dim)}),
                ExportSpec("discriminator", modules["D"], {"image": image}, outputs=["logit"])]


@hookimpl
def gansrv_register_families(register):
    register(GAN())
