"""pix2pix (Isola et al. 2017): paired image -> image translation with a conditional GAN.

G is a U-Net whose depth follows the training size (down to a 1x1 bottleneck at 2**k pixels, at
most 8 levels); D is a PatchGAN on the concatenated (input, output) pair. The loss is the BCE
adversarial term plus ``l1_weight`` times the L1 distance to the real target. The exported generator
(input ``image``, output ``translated``) takes any H and W that are multiples of 2**depth.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import DataForm, ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import AugmentOptions

PATCHES = (16, 34, 70, 142, 286)  # PatchGAN receptive fields for 1..5 stride-2 layers
MAX_DEPTH = 8


@dataclass
class Config(AugmentOptions):
    image_size: int = option(256, "Pairs are resized to this side length (square).", min=2, max=1024)
    crop_size: int = option(0, "Random crop side for training (0: no crop; the paper: 286 -> 256).",
                            min=0, max=1024)
    flip: bool = option(True, "Mirror random pairs left-right during training.")
    jitter: float = option(0.0, "Colour jitter of the input: brightness, contrast and saturation "
                                "scaled by a random factor in [1-j, 1+j] (0: off; the target is "
                                "left as is).", min=0.0, max=1.0)
    direction: str = option("AtoB", "Which side is the input: AtoB (left/A -> right/B) or BtoA.",
                            choices=("AtoB", "BtoA"))
    depth: int = option(0, "U-Net levels (0: by training size, the largest k <= 8 with "
                           "size % 2**k == 0).", min=0, max=MAX_DEPTH)
    ngf: int = option(64, "Width of G's first layer (doubling per level up to 8x).", min=1, max=512)
    ndf: int = option(64, "Width of D's first layer.", min=1, max=512)
    patch: int = option(70, "PatchGAN receptive field in pixels.", choices=PATCHES)
    norm: str = option("batch", "Normalisation in G and D.", choices=("batch", "instance"))
    dropout: float = option(0.5, "Dropout in G's three decoder levels nearest the bottleneck.",
                            min=0.0, max=0.95)
    l1_weight: float = option(100.0, "Weight lambda of the L1 term (the paper: 100).", min=0.0,
                              max=1e6)
    lr: float = option(2e-4, "Adam learning rate for G and D.", min=0.0, max=10.0)
    beta1: float = option(0.5, "Adam beta1.", min=0.0, max=0.9999)


def train_side(config: Config) -> int:
    return config.crop_size or config.image_size


def unet_depth(config: Config) -> int:
    """The configured depth, or the largest k <= 8 such that the training side divides by 2**k."""
    if config.depth:
        return config.depth
    side, k = train_side(config), 0
    while k < MAX_DEPTH and side % (2 ** (k + 1)) == 0:
        k += 1
    return max(k, 1)


class Pix2Pix(Family):
    name = "pix2pix"
    description = "pix2pix: paired image-to-image translation, U-Net G + PatchGAN D + L1 (Isola 2017)."
    kind = Kind.IMAGE
    Config = Config
    smoke_args = ("--image-size", "16", "--ngf", "8", "--ndf", "8", "--patch", "16")

    def data_form(self, config):
        return DataForm.PAIRED  # the input side: config.direction (Family.direction reads it)

    def takes_noise(self, config) -> bool:
        return False  # no z: dropout is the only noise

    def validate(self, config, data) -> None:
        from gansrv.errors import UserError
        from gansrv_plugins.pix2pix.models import patch_output_side

        if config.crop_size > config.image_size:
            raise UserError(f"--crop-size {config.crop_size} is larger than --image-size "
                            f"{config.image_size}")
        side, depth = train_side(config), unet_depth(config)
        if side % 2 ** depth:
            raise UserError(f"a {depth}-level U-Net needs a training size divisible by "
                            f"{2 ** depth}, got {side}")
        n_layers = PATCHES.index(config.patch) + 1
        if patch_output_side(side, n_layers) < 1:
            raise UserError(f"--patch {config.patch} needs larger images than {side} px")

    def build(self, config, data):
        from gansrv_plugins.pix2pix.models import PatchDiscriminator, UNetGenerator

        out_ch = data.target_channels or data.channels
        return {"G": UNetGenerator(data.channels, out_ch, config.ngf, unet_depth(config),
                                   config.norm, config.dropout),
                "D": PatchDiscriminator(data.channels + out_ch, config.ndf,
                                        PATCHES.index(config.patch) + 1, config.norm)}

    def optimizers(self, config, modules):
        from gansrv.nn.optim import adam_per_module

        return adam_per_module(modules, config.lr, config.beta1)

    def train_step(self, batch, ctx):
        import torch
        import torch.nn.functional as F

        from gansrv.kits import data_efficient
        from gansrv.nn.augment import colour_jitter, paired_crop_flip
        from gansrv.nn.losses import d_loss_bce, g_loss_nonsaturating
        from gansrv.nn.optim import frozen, update

        G, D, c = ctx.modules["G"], ctx.modules["D"], ctx.config
        x, target = paired_crop_flip(*batch, c.crop_size, c.flip, ctx)
        x = colour_jitter(x, c.jitter, ctx)
        fake = G(x)
        opt_d, opt_g = ctx.optimizers["D"], ctx.optimizers["G"]
        aug = data_efficient.augmenter(ctx)

        def judge(a, b):
            """D on the pair as the data-efficient augmentation shows it: one T on the joined
            (input, output) channels, so input and output stay aligned (colour, which needs a
            3-channel batch, never applies to a pair of 1- or 3-channel images); the L1 term
            below reads G's raw output."""
            pair = aug(torch.cat([a, b], 1))
            return D(pair[:, :a.shape[1]], pair[:, a.shape[1]:])

        real_logits = judge(x, target)
        d_loss = 0.5 * d_loss_bce(real_logits, judge(x, fake.detach()))  # halved, as in the paper
        update(opt_d, d_loss)
        logged = data_efficient.observe(ctx, real_logits)
        with frozen(D):  # D passes G's gradient on, but computes none of its own
            g_gan = g_loss_nonsaturating(judge(x, fake))
            g_l1 = F.l1_loss(fake, target)
            update(opt_g, g_gan + c.l1_weight * g_l1)
        return {"d_loss": d_loss.item(), "g_gan": g_gan.item(), "g_l1": g_l1.item(), **logged}

    def sample(self, modules, inputs, labels=None):
        """G on the centre of each input image, cut to a size the U-Net takes (the engine's sample
        grid shows pairs at the loaded size, which a random crop may have made unfit)."""
        G, x = modules["G"], inputs
        h, w = x.shape[2] // G.multiple * G.multiple, x.shape[3] // G.multiple * G.multiple
        top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
        return G(x[:, :, top:top + h, left:left + w])

    def export_graphs(self, modules, config, data):
        side, depth = train_side(config), unet_depth(config)
        out_ch = data.target_channels or data.channels
        shapes = {"image": (data.channels, side, side), "target": (out_ch, side, side)}
        rule = {"direction": config.direction, "unet_depth": depth}
        return [ExportSpec("generator", modules["G"], ("image",), outputs=["translated"],
                           metadata=rule, size_multiple=2 ** depth, shapes=shapes),
                ExportSpec("discriminator", modules["D"], ("image", "target"),
                           outputs=["patch_logits"], metadata=rule, shapes=shapes)]


@hookimpl
def gansrv_register_families(register):
    register(Pix2Pix())
