"""lapgan: a Laplacian pyramid of GANs (Denton et al. 2015, "Deep Generative Image Models using a
Laplacian Pyramid of Adversarial Networks").

The image is built coarse to fine: level 0, a small MLP GAN, makes the coarsest image (7 x 7 for
28 px, 8 x 8 for 32 px with the default 3 levels); each finer level is a conditional GAN that
generates the band-pass residual h_k = I_k - u(I_{k+1}) over the upsampled coarser image. Every
level trains on the REAL pyramid of the same batch, independently of the others (sec. 3.2); only
sampling chains them. ``--conditional`` adds the class at every level (sec. 4.2). The export is one
graph: all levels' noise packed in ``z`` (the metadata's ``z_layout`` gives each level's slice),
``label`` when conditional, the full-size ``image``. Networks: :mod:`gansrv_plugins.lapgan.models`;
the update: :mod:`gansrv_plugins.lapgan.step`. Light at import (no torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import fields
from gansrv_plugins.gan import widths


@dataclass
class Config:
    latent_dim: int = fields.latent_dim(100, "level 0's noise; the exported z also packs one "
                                        "noise plane per finer level")
    image_size: int = option(28, "Resolution of the finest level.", min=8, max=256)
    levels: int = option(3, "Pyramid levels (3: 7 -> 14 -> 28 or 8 -> 16 -> 32).", min=2, max=5)
    conditional: bool = fields.conditional("G and D at every level")
    coarse_g_hidden: str = option("256,512", "Hidden widths of level 0's MLP G, comma-separated.")
    coarse_d_hidden: str = option("512,256", "Hidden widths of level 0's MLP D, comma-separated.")
    width: int = fields.width(32, "every finer level's G and D", "CPU-sized; paper: 128")
    kernels: str = option("5,5,3", "Kernel sizes of a finer level's G convs (CPU-sized; paper: 7,7,5).")
    dropout: float = option(0.5, "Dropout in every D (as in the reference code).", min=0.0, max=0.95)
    lr: float = fields.lr(2e-4, players="every G and D", note="Adam, as in the PyTorch ports")
    beta1: float = fields.beta1(0.5)


def kernels(text: str) -> list[int]:
    from gansrv.errors import UserError

    values = widths(text)
    if any(v % 2 == 0 or v > 15 for v in values):
        raise UserError(f"--kernels must be odd sizes up to 15, got {text!r}")
    return values


class LAPGAN(Family):
    name = "lapgan"
    description = ("LAPGAN: a Laplacian pyramid of GANs, each finer level generating the residual "
                   "over the upsampled coarser image (Denton 2015); --conditional for labels.")
    kind = Kind.NOISE
    Config = Config
    smoke_args = ("--coarse-g-hidden", "32", "--coarse-d-hidden", "32", "--width", "8",
                  "--kernels", "3,3")

    def sides(self, config) -> list[int]:
        from gansrv.nn.pyramid import pyramid_sizes

        return pyramid_sizes(config.image_size, config.levels)

    def validate(self, config, data) -> None:
        self.sides(config)
        widths(config.coarse_g_hidden), widths(config.coarse_d_hidden), kernels(config.kernels)

    def latent_dim(self, config) -> int:
        return config.latent_dim + sum(s * s for s in self.sides(config)[1:])

    def build(self, config, data):
        from gansrv_plugins.lapgan import models

        sides, c = self.sides(config), data.channels
        k = data.num_classes if config.conditional else 0
        mods = {"G0": models.CoarseGenerator(config.latent_dim, widths(config.coarse_g_hidden), c,
                                             sides[0], k),
                "D0": models.CoarseDiscriminator(c, sides[0], widths(config.coarse_d_hidden),
                                                 config.dropout, k)}
        for i, s in enumerate(sides[1:], start=1):
            mods[f"G{i}"] = models.RefineGenerator(c, s, config.width, kernels(config.kernels), k)
            mods[f"D{i}"] = models.RefineDiscriminator(c, s, config.width, config.dropout, k)
        return mods

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1)

    def train_step(self, batch, ctx):
        from gansrv_plugins.lapgan.step import pyramid_step

        return pyramid_step(ctx, batch, len(self.sides(ctx.config)), ctx.config.latent_dim)

    def chain(self, modules):
        """The one generator: every level chained, all noise packed in z."""
        from gansrv_plugins.lapgan.models import LaplacianChain

        levels = sum(1 for k in modules if k.startswith("G"))
        return LaplacianChain([modules[f"G{i}"] for i in range(levels)])

    def sample(self, modules, inputs, labels=None):
        return self.chain(modules)(inputs, labels)

    def export_graphs(self, modules, config, data):
        from gansrv_plugins.lapgan.models import RefineJudge, z_layout

        label = ("label",) if config.conditional else ()
        sides = self.sides(config)
        meta = {"z_layout": z_layout(config.latent_dim, sides).to_json(),
                "pyramid_sides": json.dumps(sides)}
        judge = RefineJudge(modules[f"D{len(sides) - 1}"])
        return [ExportSpec("generator", self.chain(modules), ("z", *label), metadata=meta),
                ExportSpec("discriminator", judge, ("image", *label), outputs=["logit"])]


@hookimpl
def gansrv_register_families(register):
    register(LAPGAN())
