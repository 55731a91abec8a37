"""infogan: InfoGAN (Chen et al. 2016) — codes that control the images, learnt without labels.

G takes noise z and codes c: one categorical code (``--categories`` values, uniform) and
``--continuous`` continuous codes (uniform on [-1, 1]). A head Q estimates the codes back from the
image, and Q's negative log-likelihood of them (the mutual-information bound L_I) is added to D's and
G's losses, so G must make the codes visible. On MNIST the categorical code tends to pick up the
digit and the continuous ones slant and width. Q shares D's body (``--q-head shared``, the paper's
choice) or has its own (``separate``); both are reported to give clear digits with conv nets.

The exported generator takes ``z``, ``code`` (the continuous codes) and ``label`` (the categorical
code, values named ``code-0``, ``code-1``, ...), kind ``code``; the metadata's ``code_range`` is the
range the demo's sliders and ``gansrv generate --sweep`` are meant for, ``code_prior`` the training
prior the runtime samples from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import AugmentOptions, fields

CODE_RANGE = (-2.0, 2.0)  # twice the prior's range: the paper sweeps to +-2 to show extrapolation


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(62, "paper, MNIST: 62")
    categories: int = option(10, "Values of the categorical code.", min=2, max=100)
    continuous: int = option(2, "Continuous codes, each uniform on [-1, 1].", min=1, max=8)
    q_head: str = option("shared", "Q on D's body (shared) or on a network of its own (separate).",
                         choices=("shared", "separate"))
    image_size: int = fields.image_size(28)
    g_width: int = option(64, "Base channel width of G's transposed convs.", min=1, max=1024)
    d_width: int = option(64, "Base channel width of D's (and Q's) strided convs.", min=1, max=1024)
    fc_width: int = option(1024, "Width of G's first and the trunk's fully connected layer.",
                           min=1, max=8192)
    lambda_cat: float = option(1.0, "Weight of the categorical code's cross-entropy in L_I.",
                               min=0.0, max=100.0)
    lambda_cont: float = option(0.1, "Weight of the continuous codes' Gaussian NLL in L_I.",
                                min=0.0, max=100.0)
    lr_g: float = option(1e-3, "Adam learning rate of G (paper: 1e-3).", min=0.0, max=10.0)
    lr_d: float = option(2e-4, "Adam learning rate of D and Q (paper: 2e-4).", min=0.0, max=10.0)
    beta1: float = fields.beta1(0.5)
    d_steps: int = fields.steps(1, "D (and Q)", note="recipe: 1")
    g_steps: int = fields.steps(1, "G")


def code_names(categories: int) -> list[str]:
    """Names of the categorical code's values: folder names of ``gansrv generate`` and the demo's picker."""
    return [f"code-{i}" for i in range(categories)]


class InfoGAN(Family):
    name = "infogan"
    description = "InfoGAN: categorical + continuous codes learnt without labels through a Q head."
    kind = Kind.CODE
    Config = Config
    smoke_args = ("--g-width", "8", "--d-width", "8", "--fc-width", "32")

    def kind_for(self, config) -> Kind:
        return Kind.CODE

    def build(self, config, data):
        from gansrv_plugins.infogan import models as m

        shared = config.q_head == "shared"
        size, ch = config.image_size, data.channels
        modules = {"G": m.CodeGenerator(config.latent_dim, config.categories, config.continuous, size,
                                        ch, config.g_width, config.fc_width),
                   "D": m.Discriminator(ch, size, config.d_width, config.categories, config.continuous,
                                        shared, config.fc_width)}
        if not shared:
            modules["Q"] = m.SeparateQ(ch, size, config.d_width, config.categories, config.continuous,
                                       config.fc_width)
        return modules

    def optimizers(self, config, modules):
        """G alone; D with Q (Q's loss is part of D's update, whether Q shares D's body or not)."""
        import itertools

        import torch

        betas = (config.beta1, 0.999)
        d_params = itertools.chain(*(modules[k].parameters() for k in ("D", "Q") if k in modules))
        return {"G": torch.optim.Adam(modules["G"].parameters(), lr=config.lr_g, betas=betas),
                "D": torch.optim.Adam(d_params, lr=config.lr_d, betas=betas)}

    def train_step(self, batch, ctx):
        from gansrv_plugins.infogan.step import train_step

        return train_step(batch, ctx)

    def sample(self, modules, inputs, labels=None):
        """The training grid: row r shows categorical value r (mod K), continuous codes at 0."""
        import torch

        G, z = modules["G"], inputs
        n = z.size(0)
        label = (torch.arange(n, device=z.device) // 8) % G.categories if labels is None else labels
        return G(z, torch.zeros(n, G.continuous, device=z.device), label)

    def export_graphs(self, modules, config, data):
        from gansrv_plugins.infogan.step import PRIOR_HIGH, PRIOR_LOW

        meta = {"code_range": json.dumps(list(CODE_RANGE)),
                "code_prior": json.dumps({"distribution": "uniform", "low": PRIOR_LOW, "high": PRIOR_HIGH}),
                "q_head": config.q_head}
        return [ExportSpec("generator", modules["G"], ("z", "code", "label"), metadata=meta,
                           class_names=code_names(config.categories),
                           shapes={"code": (config.continuous,)}),
                ExportSpec("discriminator", modules["D"], ("image",), outputs=["logit"])]


@hookimpl
def gansrv_register_families(register):
    register(InfoGAN())
