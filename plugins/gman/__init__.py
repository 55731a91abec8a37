"""gman: Generative Multi-Adversarial Networks (Durugkar et al. 2017) — one G against N discriminators.

The N discriminators share one architecture (DCGAN's strided convs) but start from different
initialisations and drop their features at different rates (``--dropout-low`` .. ``--dropout-high``,
spread evenly over D0..DN-1), and each trains on its own BCE over its own slice of the real data
(N real batches per step) and of the fakes (N batches of them). G's loss mixes the N losses with
softmax weights: ``--lam 0`` is their mean (GMAN-0), a large λ tends to their maximum (the
harshest D), and ``--learn-lambda`` lets G learn λ under a penalty that keeps it from 0 (GMAN*).
``--g-objective minimax`` trains G on the original log(1 - D(G(z))), the paper's central claim;
``nonsaturating`` on -log D(G(z)). ``--augment`` (:mod:`gansrv.kits.data_efficient`) shows every
D its real and generated images through the same augmentation, in D's updates and in G's. The
export is the generator (z -> image) and D0 as the discriminator graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv import ExportSpec, Family, Kind, hookimpl, option
from gansrv.kits import AugmentOptions, fields


@dataclass
class Config(AugmentOptions):
    latent_dim: int = fields.latent_dim(100)
    image_size: int = fields.image_size(28)
    g_width: int = fields.width(64, "G", "doubles toward low resolutions")
    d_width: int = fields.width(64, "every D", "doubles per downsampling")
    discriminators: int = option(5, "Number N of discriminators (paper: 2-5).", min=1, max=16)
    dropout_low: float = option(0.5, "Dropout rate of D0's features (paper: keep 0.4-0.5).",
                                min=0.0, max=0.95)
    dropout_high: float = option(0.6, "Dropout rate of the last D's; the others' are spread evenly.",
                                 min=0.0, max=0.95)
    lam: float = option(0.0, "Softmax weight lambda of G's mix of the D losses: 0 mean, large max "
                        "(the starting value with --learn-lambda).", min=0.0, max=1000.0)
    learn_lambda: bool = option(False, "G learns lambda (GMAN*), penalised by -penalty*log(lambda).")
    lambda_penalty: float = option(1e-3, "Weight of GMAN*'s -log(lambda) penalty.", min=0.0, max=10.0)
    g_objective: str = fields.g_objective("minimax")
    lr: float = fields.lr(2e-4, players="G and every D")
    beta1: float = fields.beta1(0.5)


def dropout_rates(config: Config) -> list[float]:
    """D_i's dropout rate: evenly spread from ``dropout_low`` (D0) to ``dropout_high`` (D_{N-1})."""
    n, lo, hi = config.discriminators, config.dropout_low, config.dropout_high
    return [lo if n == 1 else lo + (hi - lo) * i / (n - 1) for i in range(n)]


class GMAN(Family):
    name = "gman"
    description = "GMAN: one G against N discriminators, their losses mixed by softmax (Durugkar 2017)."
    kind = Kind.NOISE
    Config = Config
    smoke_args = ("--g-width", "8", "--d-width", "8", "--discriminators", "2")

    def validate(self, config, data):
        from gansrv.errors import UserError

        if config.dropout_high < config.dropout_low:
            raise UserError(f"--dropout-high ({config.dropout_high}) is below --dropout-low "
                            f"({config.dropout_low})")

    def build(self, config, data):
        from gansrv_plugins.gman.models import LearntLambda, build_players

        modules = build_players(config, data.channels, dropout_rates(config))
        if config.learn_lambda:
            modules["L"] = LearntLambda(config.lam)
        return modules

    def optimizers(self, config, modules):
        """One Adam per D; G's Adam also moves GMAN*'s lambda (G learns it)."""
        import itertools

        import torch

        betas = (config.beta1, 0.999)
        g_params = itertools.chain(*(modules[k].parameters() for k in ("G", "L") if k in modules))
        opts = {"G": torch.optim.Adam(g_params, lr=config.lr, betas=betas)}
        for i in range(config.discriminators):
            opts[f"D{i}"] = torch.optim.Adam(modules[f"D{i}"].parameters(), lr=config.lr, betas=betas)
        return opts

    def train_step(self, batch, ctx):
        from gansrv_plugins.gman.step import train_step

        return train_step(batch, ctx)

    def export_graphs(self, modules, config, data):
        return [ExportSpec("generator", modules["G"], ("z",)),
                ExportSpec("discriminator", modules["D0"], ("image",), outputs=["logit"])]


@hookimpl
def gansrv_register_families(register):
    register(GMAN())
