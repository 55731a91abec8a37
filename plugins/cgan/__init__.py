"""cgan: conditional GAN (Mirza & Osindero 2014): the class label y is fed to both G and D.

Two label placements (``--label-at``) and two backbones (``--backbone``): ``input`` joins y to the
raw input (z for G, the image for D); ``hidden`` maps y to a hidden layer and joins it there (for
the conv D as a projection term, Miyato & Koyama 2018). The default is ``input`` with Adam lr 4e-4,
chosen by CAS and recall on MNIST; ``--ema`` exports a moving average of G's weights, off by
default since it did not raise CAS. The measurements behind both choices:
plugins/cgan/README.md and docs/benchmarks.md. ``--augment`` is the shared data-efficient mechanism
(:mod:`gansrv.kits.data_efficient`, on by default for small training sets); runs saved when it was
a pixel count load as the translation they trained with. The update and the export graphs are the
adversarial kit's (:class:`gansrv.kits.AdversarialFamily`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gansrv import Kind, hookimpl, option
from gansrv.kits import AdversarialFamily, AugmentOptions, fields

EMA = "G_ema"  # module name of the moving average of G's weights (checkpoint key prefix too)


@dataclass
class Config(AugmentOptions):
    # --augment auto stays off: on 100 and 500 digits it lowered cgan's class accuracy and
    # augmentation gain in every run (docs/benchmarks.md, Low data); --augment on forces it
    auto_on_small_data: ClassVar[bool] = False
    backbone: str = option("conv", "Network type.", choices=("conv", "mlp"))
    label_at: str = option("input", "Where y joins the networks (input: measured best CAS, see "
                           "docs/benchmarks.md).", choices=("hidden", "input"))
    latent_dim: int = fields.latent_dim(64)
    image_size: int = fields.image_size(28)
    g_width: int = option(64, "conv: base channels of G; mlp: first hidden width / 4.", min=1, max=1024)
    d_width: int = option(64, "conv: base channels of D; mlp: first hidden width / 8.", min=1, max=1024)
    embed_dim: int = option(64, "Size of the label embedding (label_at=hidden).", min=1, max=4096)
    lr: float = fields.lr(4e-4)
    beta1: float = fields.beta1(0.5)
    d_steps: int = fields.steps(1, "D", note="mlp notes: 1:1 beat 2:1")
    g_steps: int = fields.steps(1, "G")
    label_smoothing: float = fields.label_smoothing(0.0)
    ema: float = fields.ema(0.0, "Decay of a moving average of G's weights to sample and export "
                            "instead of G's last weights (e.g. 0.999; 0: off).")


class CGAN(AdversarialFamily):
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
        return super().optimizers(config, {k: m for k, m in modules.items() if k != EMA})

    def train_step(self, batch, ctx):
        from gansrv.nn.ema import ema_update

        losses = super().train_step(batch, ctx)
        if EMA in ctx.modules:
            ema_update(ctx.modules[EMA], ctx.modules["G"], ctx.config.ema, ctx.step)
        return losses

    def generator(self, modules):
        """The generator users get (grids, export): the weight average when the run keeps one."""
        return modules.get(EMA, modules["G"])


@hookimpl
def gansrv_register_families(register):
    register(CGAN())
