"""stargan (Choi et al. 2018): one image -> image generator for every pair of K domains.

The data is an image folder with one subfolder per domain (the domain is the class), grey or RGB.
G takes an image and a target domain (its one-hot replicated over the image, joined to the channels);
D is a PatchGAN with a second head that classifies the domain. Losses (the paper's eq. 1-7):
WGAN-GP for realism, domain classification (D on real images and their own domain, G on fakes and
the target domain) and the L1 reconstruction G(G(x, c), c_orig) ~ x. Each step's targets are a
seeded permutation of the batch's own domains. Exported: ``generator`` (``image`` + ``label`` ->
``translated``, any H and W that are multiples of 4, the domain names as class names), ``classifier``
(D's domain head, what ``gansrv classify`` runs) and, on request, the discriminator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import fields


@dataclass
class Config:
    image_size: int = option(128, "Images are resized to this side (square); a multiple of 4 (the "
                                  "paper: 128).", min=8, max=1024)
    g_width: int = fields.width(64, "G")
    d_width: int = fields.width(64, "D", "doubling per layer")
    blocks: int = option(6, "Residual blocks at G's bottleneck (the paper: 6).", min=0, max=32)
    d_layers: int = option(0, "D's stride-2 convs (0: by training size, at most 6, leaving a map of "
                              "at least 2x2; the paper: 6 at 128 px).", min=0, max=10)
    lambda_cls: float = option(1.0, "Weight of the domain-classification losses.", min=0.0, max=1e4)
    lambda_rec: float = option(10.0, "Weight of G's L1 reconstruction G(G(x, c), c_orig) ~ x.",
                               min=0.0, max=1e4)
    lambda_gp: float = option(10.0, "Weight of D's gradient penalty (WGAN-GP).", min=0.0, max=1e4)
    lambda_id: float = option(0.0, "Weight of an identity term ||G(x, c_orig) - x||_1 (CycleGAN's; "
                                   "not in the StarGAN paper: 0 = off).", min=0.0, max=1e4)
    domain_norm: bool = option(False, "G's instance norms take the target domain's own scale and "
                                      "shift (conditional instance norm): the domain reaches every "
                                      "layer, not only the input, whose constant one-hot maps the "
                                      "first InstanceNorm mostly subtracts away.")
    domain_critic: bool = option(False, "D's realness head has one branch per domain (StarGAN v2's "
                                        "multi-task D): a fake is judged against real images of its "
                                        "target domain only, not the mix of all domains.")
    n_critic: int = fields.steps(5, "D")
    lr: float = fields.lr(1e-4, players="G and D")
    beta1: float = fields.beta1(0.5)
    beta2: float = fields.beta2(0.999)


def d_layers(config: Config) -> int:
    from gansrv_plugins.stargan.models import auto_layers

    return config.d_layers or auto_layers(config.image_size)


class StarGAN(Family):
    name = "stargan"
    description = ("StarGAN: one image-to-image generator for all pairs of K domains, conditioned on "
                   "the target domain (Choi 2018).")
    kind = Kind.IMAGE
    Config = Config
    needs_labels = True  # the subfolders are the domains
    smoke_args = ("--image-size", "16", "--g-width", "4", "--d-width", "4", "--blocks", "1",
                  "--n-critic", "2")

    def takes_noise(self, config) -> bool:
        return False

    def validate(self, config, data) -> None:
        from gansrv.errors import UserError
        from gansrv_plugins.stargan.models import MULTIPLE, d_side

        if config.image_size % MULTIPLE:
            raise UserError(f"--image-size must be a multiple of {MULTIPLE} (G's two stride-2 "
                            f"convs), got {config.image_size}")
        if d_side(config.image_size, d_layers(config)) < 1:
            raise UserError(f"--d-layers {config.d_layers} leaves no feature map at "
                            f"{config.image_size} px")
        if data is not None and data.num_classes < 2:
            raise UserError(f"stargan needs at least two domains (one subfolder each), got "
                            f"{data.num_classes}")

    def build(self, config, data):
        from gansrv_plugins.stargan.models import StarDiscriminator, StarGenerator

        k = data.num_classes
        return {"G": StarGenerator(data.channels, k, config.g_width, config.blocks,
                                   config.domain_norm),
                "D": StarDiscriminator(data.channels, config.image_size, k, config.d_width,
                                       d_layers(config), config.domain_critic)}

    def double_backward(self, config) -> set[str]:
        return {"D"} if config.lambda_gp > 0 else set()  # the gradient penalty

    def optimizers(self, config, modules):
        import torch

        betas = (config.beta1, config.beta2)
        return {name: torch.optim.Adam(m.parameters(), lr=config.lr, betas=betas)
                for name, m in modules.items()}

    def train_step(self, batch, ctx):
        from gansrv_plugins.stargan.step import stargan_step

        return stargan_step(batch, ctx)

    def sample(self, modules, inputs, labels=None):
        """``inputs`` real images, ``labels`` the target domain of each (the engine's domain grid)."""
        return modules["G"](inputs, labels)

    def export_graphs(self, modules, config, data):
        from gansrv.kits.classifier_family import INPUT_RANGE
        from gansrv.nn.aux_classifier import ClassifierGraph
        from gansrv_plugins.stargan.models import MULTIPLE

        side = config.image_size
        shapes = {"image": (data.channels, side, side)}
        rule = {"size_rule": f"height and width: any multiples of {MULTIPLE}",
                "domains": json.dumps(list(data.class_names))}
        return [ExportSpec("generator", modules["G"], ("image", "label"), outputs=["translated"],
                           metadata=rule, size_multiple=MULTIPLE, shapes=shapes),
                ExportSpec("classifier", ClassifierGraph(modules["D"]), ("image",),
                           outputs=["logits", "probs"], kind=Kind.CLASSIFIER, shapes=shapes,
                           metadata={"input_range": json.dumps(list(INPUT_RANGE)),
                                     "head": "domain"}),
                ExportSpec("discriminator", modules["D"], ("image",),
                           outputs=["patch_logits", "class_logits"], shapes=shapes)]


@hookimpl
def gansrv_register_families(register):
    register(StarGAN())
