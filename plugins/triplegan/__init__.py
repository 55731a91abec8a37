"""triplegan: Triple-GAN (Li, Xu, Zhu & Zhang, NeurIPS 2017): a generator, a classifier and a
discriminator of (image, label) pairs, trained semi-supervised from a few labels.

The engine's semi-supervised data (``gansrv train triplegan --labels-per-class 10``) gives the
unlabelled main stream and a seeded stream of the labelled pairs (``ctx.next_labelled()``); the
game is told in ``step.py``, the networks are in ``models.py``. C is evaluated and exported as
the moving average of its weights (``C_avg``), as the authors evaluate it. ``--players classifier``
trains C alone on its own terms: the baselines of the semi-supervised benchmark, with the same C
network (docs/benchmarks.md). Export: the conditional generator (``z``, ``label`` -> ``image``),
the classifier graph as acgan's (``gansrv classify`` runs it) and, with ``--with-discriminator``,
D on (``image``, ``label``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import fields


@dataclass
class Config:
    latent_dim: int = fields.latent_dim(64)
    image_size: int = fields.image_size(28)
    g_width: int = fields.width(32, "G")
    d_width: int = fields.width(32, "D")
    c_width: int = fields.width(32, "C", "its first conv block; 2x and 4x deeper")
    c_dropout: float = option(0.3, "Dropout after each of C's conv blocks.", min=0.0, max=0.9)
    lr: float = fields.lr(1e-3, players="G, D and C", note="the authors' value")
    beta1: float = fields.beta1(0.5)
    beta2: float = fields.beta2(0.999)
    c_beta1: float = option(-1.0, "C's own Adam beta1 (negative: --beta1, as G and D).", min=-1.0, max=0.999)
    c_beta2: float = option(-1.0, "C's own Adam beta2 (negative: --beta2, as G and D).", min=-1.0, max=0.9999)
    players: str = option("all", "all: the Triple-GAN game; classifier: C alone on its labelled "
                          "pairs and semi-supervised terms (the benchmark's baselines).",
                          choices=("all", "classifier"))
    alpha: float = option(0.5, "Share of D's fake side given to C's pairs (the rest: G's).",
                          min=0.0, max=1.0)
    entropy_weight: float = option(0.3, "C: weight of entropy minimisation on unlabelled images.",
                                   min=0.0, max=100.0)
    balance_weight: float = option(1.0, "C: weight of the class-balance term (KL of the mean "
                                   "prediction from uniform) on unlabelled images.", min=0.0, max=100.0)
    ssl_start: int = option(0, "Steps before entropy minimisation and class balance join C's loss "
                            "(0: from the start).", min=0, max=10**8)
    real_pseudo: float = option(0.9, "Share of D's real side given to unlabelled images with C's "
                                "labels, the rest to the labelled pairs (the authors' code: about "
                                "400 of 401; 0: the labelled pairs alone, as the paper's text "
                                "and runs saved before the option).",
                                min=0.0, max=1.0)
    real_confidence: float = option(0.9, "Of those unlabelled images, only the ones C labels with "
                                    "at least this probability count on D's real side (0: all, "
                                    "as runs saved before the option).", min=0.0, max=1.0)
    adversarial_weight: float = option(0.0, "C: weight of its term from D (times alpha; the "
                                       "paper: 1; 0 measured better at CPU lengths).",
                                       min=0.0, max=100.0)
    pseudo_weight: float = option(0.3, "C: weight of cross-entropy on G's pairs after --warmup "
                                  "(the paper: 0.1).",
                                  min=0.0, max=100.0)
    pseudo_ramp: int = option(300, "Steps over which the weight of G's pairs grows linearly from 0 "
                              "to --pseudo-weight after --warmup (0: all at once).",
                              min=0, max=10**8)
    warmup: int = option(2400, "Steps before C learns from G's pairs (G has trained from "
                         "--c-pretrain on).", min=0, max=10**8)
    c_pretrain: int = option(2000, "First steps that train C alone on its own terms (labels are "
                             "few; the authors pre-train C).",
                             min=0, max=10**8)
    shift: int = option(2, "C's inputs are shifted by up to this many pixels (0: off).", min=0, max=8)
    ema: float = fields.ema(0.999, "Decay of the weight average of C that is evaluated and exported.")


class TripleGAN(Family):
    name = "triplegan"
    description = ("Triple-GAN: generator, classifier and pair discriminator; learns a classifier "
                   "and a conditional generator from a few labels (--labels-per-class).")
    kind = Kind.CONDITIONAL
    Config = Config
    needs_labels = True
    semi_supervised = True
    legacy_config = {"real_pseudo": 0.0, "pseudo_ramp": 0,  # runs saved before these options
                     "real_confidence": 0.0}
    smoke_args = ("--g-width", "8", "--d-width", "8", "--c-width", "8", "--c-pretrain", "1",
                  "--warmup", "2")

    def build(self, config, data):
        from gansrv.nn.convnets import ConvGenerator
        from gansrv.nn.ema import ema_copy
        from gansrv_plugins.triplegan.models import PairDiscriminator, TripleClassifier

        C = TripleClassifier(data.channels, data.num_classes, config.c_width, config.c_dropout)
        return {"G": ConvGenerator(config.latent_dim, config.image_size, data.channels,
                                   config.g_width, data.num_classes, "input"),
                "D": PairDiscriminator(data.channels, config.image_size, config.d_width,
                                       data.num_classes),
                "C": C, "C_avg": ema_copy(C)}

    def optimizers(self, config, modules):
        import torch

        betas = {k: (config.beta1, config.beta2) for k in ("G", "D")}
        betas["C"] = (config.beta1 if config.c_beta1 < 0 else config.c_beta1,
                      config.beta2 if config.c_beta2 < 0 else config.c_beta2)
        return {k: torch.optim.Adam(modules[k].parameters(), lr=config.lr, betas=b)
                for k, b in betas.items()}

    def train_step(self, batch, ctx):
        from gansrv_plugins.triplegan.step import triple_step

        return triple_step(batch, ctx)

    def export_graphs(self, modules, config, data):
        from gansrv.nn.aux_classifier import ClassifierGraph
        from gansrv_plugins.triplegan.models import LabelledDiscriminator

        return [ExportSpec("generator", modules["G"], ("z", "label")),
                ExportSpec("discriminator", LabelledDiscriminator(modules["D"]), ("image", "label"),
                           outputs=["logit"]),
                ExportSpec("classifier", ClassifierGraph(modules["C_avg"]), ("image",),
                           outputs=["logits", "probs"], kind=Kind.CLASSIFIER,
                           metadata={"input_range": json.dumps([-1.0, 1.0])})]


@hookimpl
def gansrv_register_families(register):
    register(TripleGAN())
