"""A Family base for GANs whose discriminator is an autoencoder (energy = reconstruction error).

Families that differ only in the energy (L1 or L2), in their losses (the ``train_step``) and in what
the exported scorer's metadata says subclass :class:`AutoencoderFamily`; networks, optimizers and the
export graphs are shared here. Light at import (no torch), like every family module. Config fields it
reads: ``latent_dim, image_size, g_width, d_width, code_dim, embed_dim, g_norm, conditional, lr,
beta1``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from gansrv.family import ExportSpec, Family, Kind


class AutoencoderFamily(Family):
    """Decoder-shaped G and an autoencoder D; ``--conditional`` adds labels to both."""

    kind = Kind.NOISE  # what `gansrv families` lists; `--conditional` makes kind_for() conditional
    energy_norm: ClassVar[str]  # "l1" or "l2": the reconstruction error that is D's energy

    def scorer_metadata(self, config: Any) -> dict[str, Any]:
        """Keys the exported scorer graph carries (what its energy means, the loss's parameter)."""
        raise NotImplementedError

    def build(self, config, data):
        from gansrv.kits.autoencoder import build_players

        return build_players(config, data.channels, data.num_classes, self.energy_norm)

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1)

    def export_graphs(self, modules, config, data):
        label = ("label",) if config.conditional else ()
        return [ExportSpec("generator", modules["G"], ("z", *label)),
                ExportSpec("discriminator", modules["D"], ("image", *label),
                           outputs=["energy", "reconstruction"], metadata=self.scorer_metadata(config))]
