"""A Family base for the classic alternating GAN (gan, dcgan, cgan): one Adam per player, the
adversarial kit's update (:func:`gansrv.kits.adversarial.adversarial_step`) and a generator plus a
discriminator graph. A family fills in :meth:`build`. Config fields it reads: ``latent_dim``,
``lr``, ``beta1``, ``d_steps``, ``g_steps``, ``label_smoothing`` and, if it has one, ``g_objective``
(non-saturating without it). Light at import (no torch).
"""

from __future__ import annotations

from typing import Any

from gansrv.family import ExportSpec, Family, Kind


class AdversarialFamily(Family):
    """G and D by role name; G(z) and D(x), or G(z, y) and D(x, y) for conditional kinds."""

    kind = Kind.NOISE

    def optimizers(self, config: Any, modules: Any) -> dict[str, Any]:
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1)

    def train_step(self, batch: Any, ctx: Any) -> dict[str, float]:
        from gansrv.kits.adversarial import adversarial_step

        G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
        if self.kind_for(c) is Kind.CONDITIONAL:
            generate, judge = G, D
        else:
            generate, judge = (lambda z, y: G(z)), (lambda x, y: D(x))
        return adversarial_step(ctx, batch, generate, judge, c.latent_dim, c.d_steps, c.g_steps,
                                c.label_smoothing, getattr(c, "g_objective", "nonsaturating"))

    def export_graphs(self, modules: Any, config: Any, data: Any) -> list[ExportSpec]:
        label = ("label",) if self.kind_for(config) is Kind.CONDITIONAL else ()
        return [ExportSpec("generator", self.generator(modules), ("z", *label)),
                ExportSpec("discriminator", modules["D"], ("image", *label), outputs=["logit"])]

    def generator(self, modules: Any) -> Any:
        """The network users get (grids, export); a family keeping a weight average overrides it."""
        return modules["G"]

    def sample(self, modules, inputs, labels=None):
        g = self.generator(modules)
        return g(inputs) if labels is None else g(inputs, labels)
