"""A test plugin: ``diverging-gan``, the real gan family except that in ONE process of a torchrun
job (rank 1) its loss turns to NaN at step 4, as with a too-large learning rate there.

The same way test_train.py provokes a NaN alone (a family subclass), but found by gansrv's own
discovery: :func:`install` writes a ``.dist-info`` with the entry point into a folder that goes on
``PYTHONPATH``, so ``torchrun ... -m gansrv train diverging-gan`` runs as a user's would.
"""

from __future__ import annotations

import os
from pathlib import Path

from gansrv import hookimpl
from gansrv_plugins.gan import GAN

NAN_STEP = 4  # the step (1-based, as the error message counts) whose loss is NaN in rank 1


class DivergingGAN(GAN):
    name = "diverging-gan"
    description = "gan whose loss turns to NaN at step 4 in process 1 of a job (test plugin)."

    def train_step(self, batch, ctx):
        losses = super().train_step(batch, ctx)
        if os.environ.get("RANK") == "1" and ctx.step == NAN_STEP - 1:
            return {**losses, "loss_g": float("nan")}
        return losses


@hookimpl
def gansrv_register_families(register):
    register(DivergingGAN())


def install(site: Path) -> dict[str, str]:
    """Make ``site`` a folder where this plugin is installed; returns the environment to run in."""
    info = site / "gansrv_test_diverging-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gansrv-test-diverging\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[gansrv]\ndiverging-gan = tests.diverging_plugin\n")
    repo = Path(__file__).resolve().parents[1]  # where the ``tests`` package is imported from
    path = os.pathsep.join(p for p in (str(site), str(repo), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
