"""dcgan: Radford et al. 2015 — transposed-conv G (BatchNorm, ReLU, tanh), strided-conv D
(LeakyReLU 0.2), no pooling and no fully connected hidden layers, Adam(2e-4, beta1 0.5)."""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.family import ExportSpec, Family, Kind, option
from gansrv.nn.data_efficient import AugmentOptions


@dataclass
class Config(AugmentOptions):
    latent_dim: int = option(100, "Size of the noise vector z.", min=1, max=4096)
    image_size: int = option(28, "Resolution.", choices=(28, 32, 64))
    g_width: int = option(64, "Base channel width of G (doubles toward low resolutions).", min=1, max=1024)
    d_width: int = option(64, "Base channel width of D (doubles per downsampling).", min=1, max=1024)
    lr: float = option(2e-4, "Adam learning rate for G and D.", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1.", min=0.0, max=0.9999)
    d_steps: int = option(1, "D updates per generator step.", min=1, max=100)
    g_steps: int = option(1, "G updates per generator step (one report found 2 helped).", min=1, max=100)
    label_smoothing: float = option(0.0, "One-sided label smoothing of D's real targets.", min=0.0, max=0.5)


class DCGAN(Family):
    name = "dcgan"
    description = "DCGAN: transposed-conv G with BatchNorm, strided-conv D (Radford 2015)."
    kind = Kind.NOISE
    Config = Config
    smoke_args = ("--g-width", "16", "--d-width", "16")

    def build(self, config, data):
        from gansrv_plugins.dcgan.models import ConvDiscriminator, ConvGenerator

        return {"G": ConvGenerator(config.latent_dim, config.image_size, data.channels,
                                   config.g_width),
                "D": ConvDiscriminator(data.channels, config.image_size, config.d_width)}

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
    register(DCGAN())
