"""stackgan: stacked GANs with conditioning augmentation (Zhang et al. 2017, "StackGAN: Text to
Photo-realistic Image Synthesis with Stacked Generative Adversarial Networks"), label-conditioned.

Stage I draws a coarse image at half the target side from (z, c1); stage II refines it to the
target side with its own conditioning code c2. Each c is sampled by conditioning augmentation
(c = mu + sigma * eps from the class embedding, KL term in G's loss; ``--no-ca`` uses mu alone);
the eps are inputs, packed with z into the exported ``z`` (metadata ``z_layout``). D is
matching-aware (real images with wrong labels count as fake). ``--schedule staged`` trains stage I
for ``--stage1-images``, then stage II with stage I frozen; ``joint`` trains both from the start.
The learning rate is halved every ``--lr-halve-epochs`` epochs of the stage in training (paper:
100), counted in the step context's images seen.
The export: the full generator (``z``, ``label`` -> ``image``), the stage-II discriminator on
request, and stage I upsampled to the target side as the graph ``stage1`` (same ``z`` layout,
metadata ``role=generator`` so ``gansrv eval`` and ``generate`` serve it). Networks:
:mod:`gansrv_plugins.stackgan.models`; the update: :mod:`gansrv_plugins.stackgan.step`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import fields


@dataclass
class Config:
    latent_dim: int = fields.latent_dim(100, "the exported z also packs both stages' CA noise")
    image_size: int = option(28, "Stage II's resolution; stage I draws at half of it.", min=8,
                             max=256)
    width: int = fields.width(32, "G and D", "CPU-sized")
    embed_dim: int = option(32, "Size of the class embedding that conditions G and D.", min=1,
                            max=1024)
    ca_dim: int = option(16, "Size of the conditioning code c (paper: 128).", min=1, max=1024)
    ca: bool = option(True, "Conditioning augmentation: sample c = mu + sigma * eps with the KL "
                      "term (--no-ca: c = mu, no KL).")
    kl_weight: float = option(0.1, "Weight of the KL term in G's loss (paper: 1-2; 0.1 read "
                              "better than 1 in 600 s CPU runs).", min=0.0,
                              max=100.0)
    projection: bool = option(False, "Add a projection term to each D's conditional logit "
                              "(Miyato & Koyama 2018: <embed(label), pooled features>).")
    kl_per_dim: bool = option(True, "KL term averaged over the code's dimensions, as "
                              "StackGAN-Pytorch's (--no-kl-per-dim: summed, ca-dim times "
                              "stronger).")
    res_blocks: int = option(2, "Residual blocks of stage II (paper: 4).", min=0, max=16)
    schedule: str = option("staged", "staged: stage I alone, then stage II with stage I frozen; "
                           "joint: both from the start.", choices=("staged", "joint"))
    stage1_images: int = option(96000, "Staged: images stage I trains alone (CPU-sized: 1,500 "
                                "steps at batch 64, where its class-acc had reached 0.8).", min=0,
                                max=10**9)
    lr: float = fields.lr(2e-4, players="every G and D", note="paper: 2e-4")
    beta1: float = fields.beta1(0.5)
    lr_halve_epochs: float = option(100.0, "Halve every G's and D's learning rate after each this "
                                    "many epochs of the stage in training (passes over the "
                                    "training set; paper: 100); 0 = never.", min=0.0, max=1e6)


class StackGAN(Family):
    name = "stackgan"
    description = ("StackGAN: label-conditioned stage I + stage II with conditioning augmentation "
                   "and a matching-aware D (Zhang 2017).")
    kind = Kind.CONDITIONAL
    Config = Config
    needs_labels = True
    # runs saved before an option: a fixed lr, no projection term, the summed KL
    legacy_config = {"lr_halve_epochs": 0.0, "projection": False, "kl_per_dim": False}
    smoke_args = ("--width", "8", "--embed-dim", "4", "--ca-dim", "4", "--res-blocks", "1",
                  "--stage1-images", "32")

    def shape(self, config) -> tuple[int, int, int]:
        """(base side, stage I's upsamplings, stage II D's downsamplings)."""
        from gansrv.errors import UserError
        from gansrv.nn.pyramid import halvings

        sides = halvings(config.image_size)
        if len(sides) < 3:
            raise UserError(f"--image-size {config.image_size}: stackgan needs a side that halves "
                            f"twice to >= 4 (e.g. 28, 32, 64)")
        return sides[0], len(sides) - 2, len(sides) - 1

    def validate(self, config, data) -> None:
        self.shape(config)

    def kind_for(self, config) -> Kind:
        return Kind.CONDITIONAL

    def latent_dim(self, config) -> int:
        return config.latent_dim + 2 * config.ca_dim

    def build(self, config, data):
        from gansrv_plugins.stackgan import models as mm

        base, ups, downs = self.shape(config)
        k, c, w = data.num_classes, data.channels, config.width

        def ca():
            return mm.ConditioningAugmentation(k, config.embed_dim, config.ca_dim, config.ca)

        return {"G1": mm.StageOne(config.latent_dim, ca(), config.ca_dim, base, ups, c, w),
                "D1": mm.Judge(c, downs - 1, w, k, config.embed_dim, base,
                               projection=config.projection),
                "G2": mm.StageTwo(ca(), config.ca_dim, c, w, config.res_blocks),
                "D2": mm.Judge(c, downs, w, k, config.embed_dim, base, uncond=True,
                               projection=config.projection)}

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1)

    def train_step(self, batch, ctx):
        from gansrv_plugins.stackgan.step import stacked_step

        return stacked_step(ctx, batch)

    def sample(self, modules, inputs, labels=None):
        from gansrv_plugins.stackgan.models import StackedGenerator

        return StackedGenerator(modules["G1"], modules["G2"])(inputs, labels)

    def export_graphs(self, modules, config, data):
        from gansrv_plugins.stackgan.models import StackedGenerator, StageTwoJudge, z_layout

        meta = {"z_layout": z_layout(config.latent_dim, config.ca_dim).to_json()}
        full = StackedGenerator(modules["G1"], modules["G2"])
        first = StackedGenerator(modules["G1"], modules["G2"], final=False)
        return [ExportSpec("generator", full, ("z", "label"), metadata=meta),
                ExportSpec("discriminator", StageTwoJudge(modules["D2"]), ("image", "label"),
                           outputs=["logit"]),
                ExportSpec("stage1", first, ("z", "label"),
                           metadata={**meta, "role": "generator"})]


@hookimpl
def gansrv_register_families(register):
    register(StackGAN())
