"""A Family base for conv GANs trained with a Wasserstein-style critic, optionally class-conditional.

Families that differ only in how the critic is kept Lipschitz (clipping, gradient penalty, spectral
normalisation), in its loss and in the optimizers subclass :class:`ConvCriticFamily`; networks,
conditioning, the update (:func:`gansrv.kits.critic.wasserstein_step`), Adam and the export graphs
are shared here, so such a family is its Config and a flag or two. Config fields it reads:
``latent_dim``, ``image_size``, ``g_width``, ``d_width``, ``conditional``, ``lr``, ``beta1``,
``beta2`` (the default optimizers) and, where the Config has them, ``critic_norm``, ``n_critic``,
``loss``, ``gp_weight``, ``clip`` (the update's options).
"""

from __future__ import annotations

from typing import Any

from gansrv.family import ExportSpec, Family, Kind

CRITIC_OPTIONS = ("n_critic", "loss", "gp_weight", "clip")  # wasserstein_step's keyword arguments


class ConvCriticFamily(Family):
    """DCGAN-like G (BatchNorm) and critic; ``--conditional`` adds labels to both (projection in D)."""

    kind = Kind.NOISE  # what `gansrv families` lists; `--conditional` makes kind_for() conditional
    smoke_args = ("--g-width", "8", "--d-width", "8")
    spectral_norm = False  # True: every critic layer is spectrally normalised

    def critic_norm(self, config: Any) -> str:
        """Normalisation of the critic's hidden convs (see gansrv.nn.blocks.norm2d)."""
        return getattr(config, "critic_norm", "none")

    def critic_options(self, config: Any) -> dict[str, Any]:
        """Keyword arguments of :func:`gansrv.kits.critic.wasserstein_step` for this config: the
        Config's fields of the same names."""
        return {k: getattr(config, k) for k in CRITIC_OPTIONS if hasattr(config, k)}

    def double_backward(self, config: Any) -> set[str]:
        return {"D"} if getattr(config, "gp_weight", 0) > 0 else set()

    def optimizers(self, config: Any, modules: Any) -> dict[str, Any]:
        """One Adam per player (``lr``, ``beta1``, ``beta2``); WGAN's RMSprop overrides this."""
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1, config.beta2)

    def build(self, config: Any, data: Any) -> dict[str, Any]:
        from gansrv.nn.convnets import ConvCritic, ConvGenerator
        from gansrv.nn.wasserstein import spectral_normalize_

        classes = data.num_classes if config.conditional else 0
        G = ConvGenerator(config.latent_dim, config.image_size, data.channels, config.g_width, classes)
        D = ConvCritic(data.channels, config.image_size, config.d_width, classes, "hidden",
                       self.critic_norm(config))
        if self.spectral_norm:
            spectral_normalize_(D)
        return {"G": G, "D": D}

    def train_step(self, batch: Any, ctx: Any) -> dict[str, float]:
        from gansrv.kits.critic import wasserstein_step

        G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
        return wasserstein_step(ctx, batch, G, D, c.latent_dim, conditional=c.conditional,
                                **self.critic_options(c))

    def export_graphs(self, modules: Any, config: Any, data: Any) -> list[ExportSpec]:
        label = ("label",) if config.conditional else ()
        return [ExportSpec("generator", modules["G"], ("z", *label)),
                ExportSpec("discriminator", modules["D"], ("image", *label), outputs=["logit"])]
