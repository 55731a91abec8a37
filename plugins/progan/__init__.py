"""progan: progressive growing of GANs (Karras et al. 2018, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation").

Training starts at the coarsest side (4 x 4 for 32 px, 7 x 7 for 28 px) and doubles it up to
``--image-size``; each new block fades in over ``--fade-images`` (alpha 0 -> 1, G's output
lerp(upsampled toRGB of the previous level, toRGB of the new one), real images cross-faded alike,
D's new fromRGB path likewise) and then trains stable for ``--stable-images``, both counted in
images seen. WGAN-GP loss with the drift term, one critic step per G step, Adam (lr 1e-3,
betas 0 and 0.99) whose state is reset at every new resolution, equalised learning rate, pixel
norm, minibatch stddev in D, and an EMA generator that is sampled and exported. All blocks exist
from the start, so checkpoint keys never change and resume is exact mid-fade; the images seen
are the step context's (the job's under torchrun), mirrored in a buffer of G
(``schedule.images_seen``) that the export reads. The export is the EMA generator at the full size at
the position reached (metadata ``progan_resolution``, ``progan_alpha``, ``progan_images_seen``).
Networks: :mod:`gansrv_plugins.progan.models`; the update: :mod:`gansrv_plugins.progan.step`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import fields

EMA = "G_ema"


@dataclass
class Config:
    latent_dim: int = fields.latent_dim(128, "paper: 512")
    image_size: int = option(28, "Target resolution; growing starts at the coarsest side reached "
                             "by halving it (28: 7 -> 14 -> 28, 32: 4 -> 8 -> 16 -> 32).",
                             min=8, max=256)
    width: int = fields.width(64, "G and D at the two coarsest levels, halved per doubling above",
                              "CPU-sized; paper: 512 up to 32 px")
    fade_images: int = option(8000, "Images over which each new resolution fades in (CPU-sized; paper: "
                              "800k).", min=0, max=10**9)
    stable_images: int = option(8000, "Images each resolution then trains stable (CPU-sized; paper: 800k).",
                                min=1, max=10**9)
    gp_weight: float = option(10.0, "Weight lambda of the gradient penalty (paper: 10).", min=0.0,
                              max=1e4)
    drift: float = option(0.001, "Weight of the drift term E[D(x)^2] (paper: 0.001).", min=0.0,
                          max=1.0)
    group: int = option(4, "Minibatch-stddev group size (paper: 4).", min=1, max=64)
    lr: float = fields.lr(1e-3, players="G and D", note="paper: 1e-3")
    beta1: float = fields.beta1(0.0)
    beta2: float = fields.beta2(0.99)
    ema: float = fields.ema(0.999, "Decay of the EMA generator that is sampled and exported.")


class ProGAN(Family):
    name = "progan"
    description = ("ProGAN: G and D grown from 4x4 with fade-in, WGAN-GP + drift, equalised lr, "
                   "pixel norm, minibatch stddev, EMA generator (Karras 2018).")
    kind = Kind.NOISE
    Config = Config
    smoke_args = ("--width", "8", "--fade-images", "32", "--stable-images", "32")

    def sides(self, config) -> list[int]:
        from gansrv.nn.pyramid import halvings

        return halvings(config.image_size)

    def build(self, config, data):
        from gansrv.nn.ema import ema_copy
        from gansrv_plugins.progan.models import GrowingDiscriminator, GrowingGenerator

        sides = self.sides(config)
        G = GrowingGenerator(config.latent_dim, sides, data.channels, config.width,
                             config.fade_images, config.stable_images)
        D = GrowingDiscriminator(sides, data.channels, config.width, config.group)
        return {"G": G, "D": D, EMA: ema_copy(G)}

    def double_backward(self, config) -> set[str]:
        return {"D"} if config.gp_weight > 0 else set()  # the gradient penalty

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        players = {k: m for k, m in modules.items() if k != EMA}
        return adam_per_module(players, config.lr, config.beta1, config.beta2)

    def train_step(self, batch, ctx):
        from gansrv_plugins.progan.step import growing_step

        return growing_step(ctx, batch, EMA)

    def sample(self, modules, inputs, labels=None):
        return modules[EMA](inputs)

    def export_graphs(self, modules, config, data):
        from gansrv_plugins.progan.models import ReachedGenerator, ReachedJudge

        g = ReachedGenerator(modules[EMA])
        side = self.sides(config)[g.level]
        meta = {"progan_resolution": side, "progan_alpha": g.alpha,
                "progan_images_seen": int(modules[EMA].schedule.images_seen)}
        return [ExportSpec("generator", g, ("z",), metadata=meta),
                ExportSpec("discriminator", ReachedJudge(modules["D"], g.level, g.alpha),
                           ("image",), outputs=["logit"], metadata=meta)]


@hookimpl
def gansrv_register_families(register):
    register(ProGAN())
