"""cyclegan (Zhu et al. 2017): unpaired image -> image translation between two domains.

Two ResNet generators (G_AB: A -> B, G_BA: B -> A) and two PatchGAN discriminators (D_A, D_B),
LSGAN losses, an L1 cycle-consistency term (A -> B -> A and B -> A -> B) weighted by
``cycle_weight``, an identity term, and a history pool of fakes for the discriminators. Data is a
folder with ``trainA/`` and ``trainB/``. Both generators are exported: ``generator`` (A -> B) and
``generator_ba`` (B -> A), input ``image``, output ``translated``, H and W multiples of 8.

``--variant dualgan`` and ``--variant discogan`` keep these networks and swap the losses, the update
order and the optimizer (see variants.py); the variant is recorded in config.json and in the
exported files' metadata (``variant``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gansrv import DataForm, ExportSpec, Family, Kind, hookimpl, option

VARIANTS = ("cyclegan", "dualgan", "discogan")

# Values of the options left unset (None), by variant.
DEFAULTS: dict[str, dict[str, Any]] = {
    "cyclegan": {"cycle_weight": 10.0, "identity_weight": 0.5, "pool_size": 50, "lr": 2e-4},
    "dualgan": {"cycle_weight": 100.0, "identity_weight": 0.0, "pool_size": 0, "lr": 5e-5},
    "discogan": {"cycle_weight": 1.0, "identity_weight": 0.0, "pool_size": 0, "lr": 2e-4},
}


@dataclass
class Config:
    variant: str = option("cyclegan", "Loss recipe: cyclegan (LSGAN, cycle L1), dualgan (WGAN "
                                      "critics with clipped weights, RMSprop, L1 reconstruction) or "
                                      "discogan (BCE, MSE reconstruction). Options left unset take "
                                      "the variant's defaults.", choices=VARIANTS)
    image_size: int = option(256, "Images of both domains are resized to this side (square).",
                             min=8, max=1024)
    crop_size: int = option(0, "Random crop side for training (0: no crop).", min=0, max=1024)
    flip: bool = option(True, "Mirror random images left-right during training.")
    jitter: float = option(0.0, "Colour jitter: each training image's brightness, contrast and "
                                "saturation scaled by a random factor in [1-j, 1+j] (0: off).",
                           min=0.0, max=1.0)
    ngf: int = option(64, "Width of the generators' first layer.", min=1, max=512)
    ndf: int = option(64, "Width of the discriminators' first layer.", min=1, max=512)
    blocks: int = option(0, "Residual blocks per generator (0: 6 up to 128 px, else 9).", min=0,
                         max=32)
    norm: str = option("instance", "Normalisation in G and D.", choices=("instance", "batch"))
    cycle_weight: float | None = option(None, "Weight lambda of the reconstruction (cycle) term "
                                              "[default by variant: cyclegan 10, dualgan 100, "
                                              "discogan 1].", min=0.0, max=1e6)
    identity_weight: float | None = option(None, "Identity term weight, as a fraction of lambda "
                                                 "(needs the same channels in A and B; 0: off) "
                                                 "[default: cyclegan 0.5, others 0].", min=0.0,
                                           max=100.0)
    pool_size: int | None = option(None, "Fakes kept per domain for the discriminators (0: no "
                                         "pool) [default: cyclegan 50, others 0].", min=0, max=1000)
    lr: float | None = option(None, "Learning rate (Adam; RMSprop for dualgan) [default: 2e-4, "
                                    "dualgan 5e-5].", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1 (cyclegan, discogan).", min=0.0, max=0.9999)
    n_critic: int = option(2, "dualgan: critic updates per generator update.", min=1, max=100)
    clip: float = option(0.01, "dualgan: critic weights are clipped to [-clip, clip].", min=1e-6,
                         max=10.0)

    def __post_init__(self) -> None:
        """Fill the options left unset with the variant's values, so that config.json records
        what was trained (an unknown variant keeps cyclegan's and fails the choices check)."""
        for name, value in DEFAULTS.get(self.variant, DEFAULTS["cyclegan"]).items():
            if getattr(self, name) is None:
                setattr(self, name, value)


def train_side(config: Config) -> int:
    return config.crop_size or config.image_size


def blocks(config: Config) -> int:
    return config.blocks or (6 if train_side(config) <= 128 else 9)


class CycleGAN(Family):
    name = "cyclegan"
    description = ("CycleGAN: unpaired image-to-image translation, two ResNet Gs + cycle loss (Zhu "
                   "2017); --variant dualgan|discogan.")
    kind = Kind.IMAGE
    Config = Config
    smoke_args = ("--image-size", "32", "--ngf", "4", "--ndf", "4", "--blocks", "1",
                  "--pool-size", "4")

    def data_form(self, config):
        return DataForm.UNPAIRED

    def takes_noise(self, config) -> bool:
        return False

    def validate(self, config, data) -> None:
        from gansrv.errors import UserError

        if config.crop_size > config.image_size:
            raise UserError(f"--crop-size {config.crop_size} is larger than --image-size "
                            f"{config.image_size}")
        if train_side(config) % 8 or train_side(config) < 32:  # D's last norm needs 2x2 maps
            raise UserError(f"the training size must be a multiple of 8 and at least 32, got "
                            f"{train_side(config)}")
        if data is not None and config.identity_weight and data.channels != data.target_channels:
            raise UserError(f"--identity-weight needs the same channels in A and B "
                            f"({data.channels} vs {data.target_channels}); pass 0")

    def multiprocess(self, config):
        if config.pool_size:
            return ("each process keeps its own pool of past fakes (not synced yet); "
                    "pass --pool-size 0")
        return None

    def build(self, config, data):
        from gansrv_plugins.cyclegan.models import PatchDiscriminator, ResnetGenerator

        a, b = data.channels, data.target_channels or data.channels
        n = blocks(config)
        return {"G_AB": ResnetGenerator(a, b, config.ngf, n, config.norm),
                "G_BA": ResnetGenerator(b, a, config.ngf, n, config.norm),
                "D_A": PatchDiscriminator(a, config.ndf, 3, config.norm),
                "D_B": PatchDiscriminator(b, config.ndf, 3, config.norm)}

    def optimizers(self, config, modules):
        import itertools

        import torch

        def make(*names):
            params = itertools.chain(*(modules[n].parameters() for n in names))
            if config.variant == "dualgan":
                return torch.optim.RMSprop(params, lr=config.lr)
            return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, 0.999))

        return {"G": make("G_AB", "G_BA"), "D": make("D_A", "D_B")}

    def train_step(self, batch, ctx):
        from gansrv_plugins.cyclegan.variants import critic_first_step, generator_first_step

        if ctx.config.variant == "dualgan":
            return critic_first_step(batch, ctx)
        return generator_first_step(batch, ctx)

    def sample(self, modules, inputs, labels=None):
        return modules["G_AB"](inputs)  # inputs: images of domain A

    def export_graphs(self, modules, config, data):
        side, a, b = train_side(config), data.channels, data.target_channels or data.channels
        of_a, of_b = {"image": (a, side, side)}, {"image": (b, side, side)}
        m, variant = modules["G_AB"].multiple, {"variant": config.variant}
        return [ExportSpec("generator", modules["G_AB"], ("image",), outputs=["translated"],
                           metadata={"direction": "AtoB", **variant}, size_multiple=m, shapes=of_a),
                ExportSpec("generator_ba", modules["G_BA"], ("image",),
                           outputs=["translated"], metadata={"direction": "BtoA", **variant},
                           size_multiple=m, shapes=of_b),
                ExportSpec("discriminator", modules["D_B"], ("image",),
                           outputs=["patch_logits"], metadata={"domain": "B", **variant},
                           shapes=of_b)]


@hookimpl
def gansrv_register_families(register):
    register(CycleGAN())
