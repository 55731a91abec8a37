"""Where a run stands, in the step context (issue 21 item 4): images seen (global, exact across
--resume), one batch's and one epoch's images, and the planned length (None under a pure time
budget)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gansrv.train.api import train
from gansrv.train.options import TrainOptions
from gansrv_plugins.gan import GAN
from gansrv_plugins.gan import Config as GanConfig
from tests.conftest import QUIET, metrics_rows

NO_PLAN = -1.0  # the probe logs planned_steps None as this (a logged value must be a number)


class Probe(GAN):
    """gan's networks, and a step that only logs the context's progress fields; on even steps it
    draws one extra batch, which images_seen must count too."""

    name = "progress-probe"

    def train_step(self, batch, ctx):
        row = {"images_seen": float(ctx.images_seen), "batch_size": float(ctx.batch_size),
               "images_per_epoch": float(ctx.images_per_epoch), "epochs_seen": ctx.epochs_seen,
               "planned_steps": NO_PLAN if ctx.planned_steps is None else float(ctx.planned_steps)}
        if ctx.step % 2 == 1:
            ctx.next_batch()
        return row


def probe(out: Path, **opts) -> list[dict]:
    base = TrainOptions(limit=60, batch_size=16, progress=False, sample_every=0, log_every=1,
                        checkpoint_every=2, out=str(out))
    config = GanConfig(g_hidden="8", d_hidden="8")
    train(Probe(), config, replace(base, **opts), log=QUIET)
    return metrics_rows(out)


def test_context_counts_images_and_knows_the_plan_from_step_one(tmp_path):
    rows = probe(tmp_path / "run", steps=4)
    # 60 images, batch 16: 3 whole batches an epoch (48 images); steps 2 and 4 draw a second batch
    assert [r["images_seen"] for r in rows] == [0, 16, 48, 64]
    assert all(r["batch_size"] == 16 and r["images_per_epoch"] == 48 for r in rows)
    assert [r["epochs_seen"] for r in rows] == [0, 16 / 48, 1, 64 / 48]
    assert all(r["planned_steps"] == 4 for r in rows)


def test_context_is_exact_after_resume_and_follows_the_new_plan(tmp_path):
    straight = probe(tmp_path / "straight", steps=6)
    out = tmp_path / "part"
    probe(out, steps=3)  # checkpoints at 2 and 3: the resume starts after step 3
    train(Probe(), None, TrainOptions(resume=str(out), steps=6, progress=False), log=QUIET)
    resumed = metrics_rows(out)
    assert [r["images_seen"] for r in resumed] == [r["images_seen"] for r in straight]
    assert [r["planned_steps"] for r in resumed] == [3, 3, 3, 6, 6, 6]


def test_planned_steps_is_none_under_a_pure_time_budget(tmp_path):
    rows = probe(tmp_path / "budget", max_seconds=1e-6)  # spent after the first step
    assert [(r["images_seen"], r["planned_steps"]) for r in rows] == [(0, NO_PLAN)]
    both = probe(tmp_path / "both", steps=3, max_seconds=60)
    assert [r["planned_steps"] for r in both] == [3, 3, 3]
    epochs = probe(tmp_path / "epochs", epochs=1)  # one pass: 3 batches
    assert [r["planned_steps"] for r in epochs] == [3, 3, 3]
