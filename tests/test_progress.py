"""Where a run stands, in the step context (issue 21 item 4): images seen (global, exact across
--resume), one batch's and one epoch's images, and the planned length (None under a pure time
budget); and the families whose schedules read it: progan's growing, stackgan's stage switch and
its learning-rate halving."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from gansrv.train.api import train
from gansrv.train.checkpoint import STATE, WEIGHTS
from gansrv.train.load import load_run
from gansrv.train.options import TrainOptions
from gansrv_plugins.gan import GAN
from gansrv_plugins.gan import Config as GanConfig
from tests.conftest import QUIET, metrics_rows, run, train_and_resume

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


# -- progan: the schedule reads the context; its buffer follows ---------------------------------

SMALL = ("--data", "digits", "--limit", "128", "--batch-size", "16", "--no-progress",
         "--log-every", "1", "--checkpoint-every", "3", "--sample-every", "0")
PROGAN = ("--width", "8", "--stable-images", "32", "--fade-images", "64")


def _set_images_seen(ckpt: Path, value: int) -> None:
    """Rewrite a checkpoint's progan count, as a torchrun job wrote it before the context had
    one (each process counted its own slice: world times fewer images)."""
    path = ckpt / WEIGHTS
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
    flat = load_file(str(path))
    for key in ("G.schedule.images_seen", "G_ema.schedule.images_seen"):
        flat[key] = torch.tensor(value, dtype=torch.int64)
    save_file(flat, str(path), metadata=meta)


def test_progan_buffer_equals_the_context_count(tmp_path):
    out = tmp_path / "run"
    run("train", "progan", "--steps", 5, "--out", out, *SMALL, *PROGAN)
    G = load_run(out).modules["G"]
    assert int(G.schedule.images_seen) == 5 * 16
    state = torch.load(out / "checkpoints" / "step-00000005" / STATE, weights_only=True)
    assert "images_seen_own_count" not in state["family_state"]


def test_progan_checkpoint_with_a_per_process_count_resumes_on_its_own_count(tmp_path):
    # the count of a 2-process job after 3 steps of batch 16 was 24, not 48
    out = tmp_path / "run"
    run("train", "progan", "--steps", 3, "--out", out, *SMALL, *PROGAN)
    _set_images_seen(out / "checkpoints" / "step-00000003", 24)
    run("train", "progan", "--resume", out, "--steps", 5, "--no-progress")
    rows = metrics_rows(out)[3:]
    # own count 24 -> level 0 (stable until 32); 40 -> level 1, alpha (40 - 32) / 64
    assert [(r["resolution"], r["alpha"]) for r in rows] == [(7, 1.0), (14, 0.125)]
    assert int(load_run(out).modules["G"].schedule.images_seen) == 24 + 2 * 16
    state = torch.load(out / "checkpoints" / "step-00000005" / STATE, weights_only=True)
    assert state["family_state"]["images_seen_own_count"] == 1


def test_progan_counts_the_job_images_under_torchrun(tmp_path):
    from tests.test_distributed import torchrun

    out = tmp_path / "run"
    done = torchrun("train", "progan", "--steps", 3, "--out", out, *SMALL, *PROGAN)
    assert done.returncode == 0, done.stderr[-3000:]
    # 16 images a step over both processes: step 3 starts at 32, level 1 (a per-process count,
    # 8 a step, would still be at level 0)
    assert [r["resolution"] for r in metrics_rows(out)] == [7, 7, 14]
    assert int(load_run(out).modules["G"].schedule.images_seen) == 48


# -- stackgan: the learning rate halves every --lr-halve-epochs ----------------------------------

STACKGAN = ("--width", "8", "--embed-dim", "4", "--ca-dim", "4", "--res-blocks", "1")
EPOCH4 = ("--data", "digits", "--limit", "64", "--batch-size", "16", "--no-progress",
          "--log-every", "1", "--checkpoint-every", "3", "--sample-every", "0")  # 4 steps an epoch


def test_stackgan_halves_the_lr_per_epochs_and_resumes_exactly(tmp_path):
    common = (*EPOCH4, *STACKGAN, "--schedule", "joint", "--lr-halve-epochs", "1")
    full, part = train_and_resume("stackgan", tmp_path, 10, *common)
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["lr"] for r in a] == [2e-4] * 4 + [1e-4] * 4 + [5e-5] * 2
    for ra, rb in zip(a, b, strict=True):
        for key in ("lr", "loss_d", "loss_g", "loss_d1", "loss_g1"):
            assert ra[key] == rb[key], (ra["step"], key)
    state = torch.load(part / "checkpoints" / "step-00000010" / STATE, weights_only=True)
    assert all(g["lr"] == 5e-5 for opt in state["optimizers"].values() for g in opt["param_groups"])


def test_stackgan_stage_two_starts_its_own_halving_and_zero_is_off(tmp_path):
    out = tmp_path / "staged"
    run("train", "stackgan", "--steps", 9, "--out", out, *EPOCH4, *STACKGAN,
        "--stage1-images", "96", "--lr-halve-epochs", "1")
    rows = metrics_rows(out)
    assert [r["stage"] for r in rows] == [1] * 6 + [2] * 3
    assert [r["lr"] for r in rows] == [2e-4] * 4 + [1e-4] * 2 + [2e-4] * 3
    off = tmp_path / "off"
    run("train", "stackgan", "--steps", 6, "--out", off, *EPOCH4, *STACKGAN, "--schedule", "joint",
        "--lr-halve-epochs", "0")
    assert all(r["lr"] == 2e-4 for r in metrics_rows(off))


def test_stackgan_option_is_in_help_and_older_runs_keep_a_fixed_lr(tmp_path):
    assert "--lr-halve-epochs" in run("train", "stackgan", "--help").output
    out = tmp_path / "run"
    run("train", "stackgan", "--steps", 1, "--out", out, *EPOCH4, *STACKGAN)
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["lr_halve_epochs"] == 100
    saved["config"].pop("lr_halve_epochs")  # a run from before the option
    (out / "config.json").write_text(json.dumps(saved))
    assert load_run(out).config.lr_halve_epochs == 0


@pytest.mark.parametrize("value", ["-1", "x"])
def test_stackgan_bad_halving_is_a_usage_error(tmp_path, value):
    result = run("train", "stackgan", "--lr-halve-epochs", value, "--out", tmp_path / "r", *EPOCH4,
                 expect=2)
    assert "--lr-halve-epochs" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
