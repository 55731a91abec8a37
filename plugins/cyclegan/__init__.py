"""cyclegan (Zhu et al. 2017): unpaired image -> image translation between two domains.

Two ResNet generators (G_AB: A -> B, G_BA: B -> A) and two PatchGAN discriminators (D_A, D_B),
LSGAN losses, an L1 cycle-consistency term (A -> B -> A and B -> A -> B) weighted by
``cycle_weight``, an identity term, and a history pool of fakes for the discriminators. Data is a
folder with ``trainA/`` and ``trainB/``. Both generators are exported: ``generator`` (A -> B) and
``generator_ba`` (B -> A), input ``image``, output ``translated``, H and W multiples of 8.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.family import ExportSpec, Family, Kind, option


@dataclass
class Config:
    image_size: int = option(256, "Images of both domains are resized to this side (square).",
                             min=8, max=1024)
    crop_size: int = option(0, "Random crop side for training (0: no crop).", min=0, max=1024)
    flip: bool = option(True, "Mirror random images left-right during training.")
    ngf: int = option(64, "Width of the generators' first layer.", min=1, max=512)
    ndf: int = option(64, "Width of the discriminators' first layer.", min=1, max=512)
    blocks: int = option(0, "Residual blocks per generator (0: 6 up to 128 px, else 9).", min=0,
                         max=32)
    norm: str = option("instance", "Normalisation in G and D.", choices=("instance", "batch"))
    cycle_weight: float = option(10.0, "Weight lambda of the cycle-consistency L1 term.", min=0.0,
                                 max=1e6)
    identity_weight: float = option(0.5, "Identity term weight, as a fraction of lambda (needs the "
                                         "same channels in A and B; 0: off).", min=0.0, max=100.0)
    pool_size: int = option(50, "Fakes kept per domain for the discriminators (0: no pool).",
                            min=0, max=1000)
    lr: float = option(2e-4, "Adam learning rate.", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1.", min=0.0, max=0.9999)


def train_side(config: Config) -> int:
    return config.crop_size or config.image_size


def blocks(config: Config) -> int:
    return config.blocks or (6 if train_side(config) <= 128 else 9)


class CycleGAN(Family):
    name = "cyclegan"
    description = "CycleGAN: unpaired image-to-image translation, two ResNet Gs + cycle loss (Zhu 2017)."
    kind = Kind.IMAGE
    Config = Config
    smoke_args = ("--image-size", "32", "--ngf", "4", "--ndf", "4", "--blocks", "1",
                  "--pool-size", "4")

    def pairing(self, config):
        return "unpaired"

    def latent_dim(self, config) -> int:
        return 0

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

        def adam(*names):
            params = itertools.chain(*(modules[n].parameters() for n in names))
            return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, 0.999))

        return {"G": adam("G_AB", "G_BA"), "D": adam("D_A", "D_B")}

    def train_step(self, batch, ctx):
        import torch.nn.functional as F

        from gansrv.nn.augment import paired_crop_flip
        from gansrv_plugins.cyclegan.models import image_pool

        m, c = ctx.modules, ctx.config
        real_a, real_b = paired_crop_flip(*batch, c.crop_size, c.flip, ctx)
        fake_b, fake_a = m["G_AB"](real_a), m["G_BA"](real_b)
        opt_g, opt_d = ctx.optimizers["G"], ctx.optimizers["D"]
        opt_g.zero_grad(set_to_none=True)
        gan = _ls(m["D_B"](fake_b), 1.0) + _ls(m["D_A"](fake_a), 1.0)
        cycle = F.l1_loss(m["G_BA"](fake_b), real_a) + F.l1_loss(m["G_AB"](fake_a), real_b)
        loss = gan + c.cycle_weight * cycle
        identity = fake_b.new_zeros(())
        if c.identity_weight:
            identity = F.l1_loss(m["G_AB"](real_b), real_b) + F.l1_loss(m["G_BA"](real_a), real_a)
            loss = loss + c.cycle_weight * c.identity_weight * identity
        loss.backward()
        opt_g.step()
        opt_d.zero_grad(set_to_none=True)
        pool_a = image_pool(ctx, "pool_a", fake_a.detach(), c.pool_size)
        pool_b = image_pool(ctx, "pool_b", fake_b.detach(), c.pool_size)
        d_a = 0.5 * (_ls(m["D_A"](real_a), 1.0) + _ls(m["D_A"](pool_a), 0.0))
        d_b = 0.5 * (_ls(m["D_B"](real_b), 1.0) + _ls(m["D_B"](pool_b), 0.0))
        (d_a + d_b).backward()
        opt_d.step()
        return {"d_a": d_a.item(), "d_b": d_b.item(), "g_gan": gan.item(), "cycle": cycle.item(),
                "identity": identity.item()}

    def sample(self, modules, z, labels=None):
        return modules["G_AB"](z)

    def export_graphs(self, modules, config, data):
        import torch

        side, a, b = train_side(config), data.channels, data.target_channels or data.channels
        image_a = torch.rand(2, a, side, side) * 2 - 1
        image_b = torch.rand(2, b, side, side) * 2 - 1
        m = modules["G_AB"].multiple
        return [ExportSpec("generator", modules["G_AB"], {"image": image_a}, outputs=["translated"],
                           metadata={"direction": "AtoB"}, size_multiple=m),
                ExportSpec("generator_ba", modules["G_BA"], {"image": image_b},
                           outputs=["translated"], metadata={"direction": "BtoA"}, size_multiple=m),
                ExportSpec("discriminator", modules["D_B"], {"image": image_b},
                           outputs=["patch_logits"], metadata={"domain": "B"})]


def _ls(scores, target: float):
    """LSGAN (Mao et al. 2017): mean squared distance of the patch scores to the target label."""
    return ((scores - target) ** 2).mean()


@hookimpl
def gansrv_register_families(register):
    register(CycleGAN())
