"""cgan: conditional GAN (Mirza & Osindero 2014): the class label y is fed to both G and D.

Two label placements (``--label-at``) and two backbones (``--backbone``), as compared on MNIST:
``input`` joins y to the raw input (z for G, the image for D); ``hidden`` maps y to a hidden layer
and joins it there (for the conv D as a projection term, Miyato & Koyama 2018). The default is
``input`` with Adam lr 4e-4: at 300 s of 2-core training it gave CAS 0.968-0.980 (three seeds)
where ``hidden`` at 2e-4 gave 0.927-0.945, with recall 0.81-0.82 instead of 0.55-0.63 — the
projection D let G settle on few writing styles per class (docs/benchmarks.md). ``--ema`` exports
a moving average of G's weights; off by default, since it did not raise CAS on MNIST at 5,000 steps
(docs/benchmarks.md). ``--augment`` is the shared data-efficient mechanism
(:mod:`gansrv.nn.data_efficient`, on by default for small training sets); runs saved when it was a
pixel count load as the translation they trained with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gansrv import hookimpl
from gansrv.family import ExportSpec, Family, Kind, option
from gansrv.nn.data_efficient import AugmentOptions

EMA = "G_ema"  # module name of the moving average of G's weights (checkpoint key prefix too)


@dataclass
class Config(AugmentOptions):
    labelled_samples: ClassVar[bool] = True  # every sample has a class: --augment auto is off
    backbone: str = option("conv", "Network type.", choices=("conv", "mlp"))
    label_at: str = option("input", "Where y joins the networks (input: measured best CAS, see "
                           "docs/benchmarks.md).", choices=("hidden", "input"))
    latent_dim: int = option(64, "Size of the noise vector z.", min=1, max=4096)
    image_size: int = option(28, "Resolution.", choices=(28, 32, 64))
    g_width: int = option(64, "conv: base channels of G; mlp: first hidden width / 4.", min=1, max=1024)
    d_width: int = option(64, "conv: base channels of D; mlp: first hidden width / 8.", min=1, max=1024)
    embed_dim: int = option(64, "Size of the label embedding (label_at=hidden).", min=1, max=4096)
    lr: float = option(4e-4, "Adam learning rate for G and D.", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1.", min=0.0, max=0.9999)
    d_steps: int = option(1, "D updates per generator step (mlp notes: 1:1 beat 2:1).", min=1, max=100)
    g_steps: int = option(1, "G updates per generator step.", min=1, max=100)
    label_smoothing: float = option(0.0, "One-sided label smoothing of D's real targets.", min=0.0, max=0.5)
    ema: float = option(0.0, "Decay of a moving average of G's weights to sample and export "
                        "instead of G's last weights (e.g. 0.999; 0: off).", min=0.0, max=0.99999)


class CGAN(Family):
    name = "cgan"
    description = "Conditional GAN: class label fed to G and D (mlp or conv, input or hidden)."
    kind = Kind.CONDITIONAL
    Config = Config
    smoke_args = ("--g-width", "16", "--d-width", "16")
    needs_labels = True

    def saved_config(self, values):
        """Runs saved when ``--augment N`` was a pixel count (0: off) load as the translation-only,
        always-on policy they trained with, which draws the same random shifts."""
        old = values.get("augment")
        if isinstance(old, int) and not isinstance(old, bool):
            values = {**values, "augment": "on" if old else "off"}
            if old:
                values.update(augment_policy="translation", augment_target=0.0, augment_shift=old)
        return super().saved_config(values)

    def build(self, config, data):
        from gansrv_plugins.cgan import models

        return models.build(config, data.channels, data.num_classes)

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module({k: m for k, m in modules.items() if k != EMA}, config.lr, config.beta1)

    def train_step(self, batch, ctx):
        from gansrv.nn.ema import ema_update
        from gansrv.nn.losses import adversarial_step

        G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
        losses = adversarial_step(ctx, batch, G, D, c.latent_dim, c.d_steps, c.g_steps,
                                  c.label_smoothing)
        if EMA in ctx.modules:
            ema_update(ctx.modules[EMA], G, c.ema, ctx.step)
        return losses

    def sample(self, modules, z, labels=None):
        return _generator(modules)(z, labels)

    def export_graphs(self, modules, config, data):
        import torch

        label = torch.tensor([0, 1])
        image = torch.rand(2, data.channels, config.image_size, config.image_size) * 2 - 1
        return [ExportSpec("generator", _generator(modules), {"z": torch.randn(2, config.latent_dim),
                                                      "label": label}),
                ExportSpec("discriminator", modules["D"], {"image": image, "label": label},
                           outputs=["logit"])]


def _generator(modules):
    """The generator users get (grids, export): the weight average when the run keeps one."""
    return modules.get(EMA, modules["G"])


@hookimpl
def gansrv_register_families(register):
    register(CGAN())
