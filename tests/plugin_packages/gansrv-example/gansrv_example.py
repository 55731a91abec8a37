"""tinygan: a third-party gansrv family in one module, to prove the plugin contract end to end.

Everything a plugin needs is here: a Config dataclass (its fields become ``gansrv train tinygan``
options), a Family subclass, and the ``gansrv_register_families`` hook. torch is imported only
inside the hooks that train, so listing families stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option


@dataclass
class Config:
    latent_dim: int = option(8, "Size of the noise vector z.")
    image_size: int = option(8, "Images are resized to this side length.")
    hidden: int = option(32, "Width of the single hidden layer of G and D.")
    lr: float = option(2e-4, "Adam learning rate for G and D.")


class TinyGAN(Family):
    name = "tinygan"
    description = "Tiny MLP GAN from a third-party package (test plugin)."
    kind = Kind.NOISE
    Config = Config

    def build(self, config, data):
        from torch import nn

        shape = (data.channels, config.image_size, config.image_size)
        pixels = shape[0] * shape[1] * shape[2]
        G = nn.Sequential(nn.Linear(config.latent_dim, config.hidden), nn.ReLU(),
                          nn.Linear(config.hidden, pixels), nn.Tanh(), nn.Unflatten(1, shape))
        D = nn.Sequential(nn.Flatten(), nn.Linear(pixels, config.hidden), nn.LeakyReLU(0.2),
                          nn.Linear(config.hidden, 1), nn.Flatten(0))
        return {"G": G, "D": D}

    def optimizers(self, config, modules):
        import torch

        return {k: torch.optim.Adam(m.parameters(), lr=config.lr, betas=(0.5, 0.999))
                for k, m in modules.items()}

    def train_step(self, batch, ctx):
        from gansrv.kits.adversarial import adversarial_step

        G, D = ctx.modules["G"], ctx.modules["D"]
        return adversarial_step(ctx, batch, lambda z, y: G(z), lambda x, y: D(x),
                                ctx.config.latent_dim)

    def export_graphs(self, modules, config, data):
        import torch

        return [ExportSpec("generator", modules["G"], {"z": torch.randn(2, config.latent_dim)})]


@hookimpl
def gansrv_register_families(register):
    register(TinyGAN())
