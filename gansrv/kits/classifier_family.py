"""A Family base for classifier-guided conditional GANs (see :mod:`gansrv.kits.classifier`).

Families that differ in where the classifier lives (a head on D, or a network of its own), in D's
loss and constraint and in the optimizers subclass :class:`ClassifierGANFamily`; the generator, the
update and the export graphs are shared here. Every such family exports three graphs: the generator
(``z``, ``label`` -> ``image``), the discriminator (``--with-discriminator``) and the classifier,
an image classifier of kind ``classifier`` that users run on any image (``gansrv classify``).
Config fields it reads: ``latent_dim``, ``image_size``, ``g_width``, ``d_width``, ``d_steps``,
``c_steps``, ``g_steps``, ``class_weight``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from gansrv.family import ExportSpec, Family, Kind

# The pixel values the classifier graph takes, stored in its metadata (``gansrv.input_range``).
INPUT_RANGE = (-1.0, 1.0)


class ClassifierGANFamily(Family):
    """Conditional G (G concat(z, one-hot y)), D and a classifier C."""

    kind = Kind.CONDITIONAL
    needs_labels = True
    separate_classifier: ClassVar[bool] = False  # True: module "C" of its own; False: D's class head

    def build_players(self, config: Any, data: Any) -> dict[str, Any]:
        """D (and C when separate) for this config; G is built by :meth:`build`."""
        raise NotImplementedError

    def step_options(self, config: Any) -> dict[str, Any]:
        """D's loss and constraint: keyword arguments of ``classifier_gan_step`` (loss, clip)."""
        return {}

    def build(self, config: Any, data: Any) -> dict[str, Any]:
        from gansrv.nn.convnets import ConvGenerator

        G = ConvGenerator(config.latent_dim, config.image_size, data.channels, config.g_width,
                          data.num_classes, "input")
        return {"G": G, **self.build_players(config, data)}

    def classifier(self, modules: Any) -> Any:
        """The network whose ``class_logits`` is the classifier."""
        return modules["C"] if self.separate_classifier else modules["D"]

    def train_step(self, batch: Any, ctx: Any) -> dict[str, float]:
        from gansrv.kits.classifier import classifier_gan_step

        c = ctx.config
        return classifier_gan_step(ctx, batch, c.latent_dim, c.d_steps, c.c_steps, c.g_steps,
                                   class_weight=c.class_weight, **self.step_options(c))

    def export_graphs(self, modules: Any, config: Any, data: Any) -> list[ExportSpec]:
        from gansrv.nn.aux_classifier import ClassifierGraph

        d_outputs = ["logit"] if self.separate_classifier else ["logit", "class_logits"]
        return [ExportSpec("generator", modules["G"], ("z", "label")),
                ExportSpec("discriminator", modules["D"], ("image",), outputs=d_outputs),
                ExportSpec("classifier", ClassifierGraph(self.classifier(modules)), ("image",),
                           outputs=["logits", "probs"], kind=Kind.CLASSIFIER,
                           metadata={"input_range": json.dumps(list(INPUT_RANGE))})]
