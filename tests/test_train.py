"""The training engine through the real CLI: run dir contents, exact resume, Ctrl-C, NaN, config."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gansrv.errors import UserError
from gansrv.train import TrainOptions
from gansrv.train.api import train
from gansrv.train.pictures import read_metrics
from gansrv_plugins.gan import GAN

from .conftest import assert_loss_plot, metrics_rows, one_line_error, run, train_and_resume

FAST = ("--limit", "256", "--batch-size", "32", "--no-progress")


def test_run_dir_has_config_checkpoints_samples_and_curves(tmp_path):
    out = tmp_path / "run"
    result = run("train", "cgan", "--backbone", "mlp", "--steps", 6, "--sample-every", 3,
                 "--checkpoint-every", 3, "--log-every", 2, "--out", out, *FAST)
    assert "done: step 6" in result.stdout
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["family"] == "cgan" and cfg["config"]["backbone"] == "mlp"
    assert len(cfg["data"]["fingerprint"]) == 64 and cfg["data"]["num_classes"] == 10
    assert {"gansrv", "torch", "python"} <= set(cfg["versions"])
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-000003.png", "step-000006.png"]
    assert [r["step"] for r in metrics_rows(out)] == [2, 4, 6]
    assert_loss_plot(out)
    ckpt = out / "checkpoints" / (out / "checkpoints" / "latest").read_text().strip()
    assert ckpt.name == "step-00000006"
    weights = load_file(str(ckpt / "weights.safetensors"))
    assert any(k.startswith("G.") for k in weights) and any(k.startswith("D.") for k in weights)
    state = torch.load(ckpt / "state.pt", weights_only=True)
    assert state["step"] == 6 and set(state["optimizers"]) == {"G", "D"}


def _grid_rows(path: Path) -> tuple[int, list[bool]]:
    """(rows of tiles, whether each row has a label drawn left of it) of a sample grid: 56 px
    cells (28 px digits doubled) with 2 px gaps, under a 22 px title band, 8 to a row."""
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(path).convert("L"))
    cell, pad, top, cols = 56, 2, 22, 8
    rows, rest = divmod(img.shape[0] - top - pad, cell + pad)
    assert rest == 0, img.shape
    margin = img.shape[1] - cols * (cell + pad) - pad
    labelled = [bool((img[top + pad + r * (cell + pad):top + (r + 1) * (cell + pad), :margin] < 128)
                     .any()) for r in range(rows)]
    return rows, labelled


def test_sample_grid_has_one_labelled_row_per_class(tmp_path):
    out = tmp_path / "run"
    run("train", "cgan", "--steps", 1, "--out", out, *FAST)
    assert _grid_rows(out / "samples" / "step-000001.png") == (10, [True] * 10)
    noise = tmp_path / "noise"
    run("train", "gan", "--steps", 1, "--out", noise, *FAST)
    assert _grid_rows(noise / "samples" / "step-000001.png") == (8, [False] * 8)  # 8 x 8, no labels


@pytest.mark.parametrize("family,extra", [("cgan", ()), ("dcgan", ("--g-steps", "2"))])
def test_resume_repeats_an_uninterrupted_run_exactly(tmp_path, family, extra):
    common = ("--log-every", "1", "--checkpoint-every", "5", "--sample-every", "0", *FAST, *extra)
    full, part = train_and_resume(family, tmp_path, 10, *common)
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["step"] for r in b] == list(range(1, 11))
    for ra, rb in zip(a, b):
        for key in ("loss_d", "loss_g", "d_real", "d_fake"):
            assert ra[key] == rb[key], (ra["step"], key, ra[key], rb[key])


def test_rows_logged_after_the_last_checkpoint_of_a_killed_run_are_logged_once(tmp_path):
    """What a kill between checkpoints leaves (rows up to step 8, checkpoint at step 5, as a
    SIGKILL before the step-8 checkpoint would), resumed: every step logged once, as straight."""
    common = ("--log-every", "1", "--checkpoint-every", "5", "--sample-every", "0", *FAST)
    full, part = tmp_path / "full", tmp_path / "part"
    run("train", "gan", "--steps", 10, "--out", full, *common)
    run("train", "gan", "--steps", 8, "--out", part, *common, "--keep-checkpoints", "3")
    ckpts = part / "checkpoints"
    shutil.rmtree(ckpts / "step-00000008")
    (ckpts / "latest").write_text("step-00000005\n")
    assert [r["step"] for r in metrics_rows(part)] == list(range(1, 9))
    run("train", "gan", "--resume", part, "--steps", 10, "--no-progress")
    assert [r["step"] for r in metrics_rows(part)] == list(range(1, 11))
    assert [r["loss_d"] for r in metrics_rows(part)] == [r["loss_d"] for r in metrics_rows(full)]


def test_resume_refuses_other_family_and_finished_runs(tmp_path):
    out = tmp_path / "run"
    run("train", "gan", "--steps", 2, "--out", out, *FAST)
    assert "gan run" in one_line_error(run("train", "dcgan", "--resume", out, expect=None))
    assert "already at step 2" in one_line_error(run("train", "gan", "--resume", out, expect=None))
    assert "not empty" in one_line_error(run("train", "gan", "--steps", 2, "--out", out, expect=None))


class _DivergingGAN(GAN):
    """The real gan family, except that its loss turns to NaN at step 4 (as with a too-large lr)."""

    def train_step(self, batch, ctx):
        losses = super().train_step(batch, ctx)
        return {**losses, "loss_g": float("nan")} if ctx.step == 3 else losses


def test_nan_loss_stops_with_last_good_checkpoint(tmp_path):
    fam = _DivergingGAN()
    opts = TrainOptions(data=("digits",), limit=128, steps=10, batch_size=32, out=str(tmp_path / "r"),
                        checkpoint_every=2, sample_every=0, progress=False)
    with pytest.raises(UserError) as info:
        train(fam, fam.Config(), opts, log=lambda m: None)
    assert "loss_g became nan at step 4" in str(info.value) and "step-00000002" in str(info.value)
    assert info.value.exit_code == 1
    assert (tmp_path / "r" / "checkpoints" / "latest").read_text().strip() == "step-00000002"


def _interrupt(argv: list[str], past: Path, step: int) -> subprocess.CompletedProcess:
    """Run `gansrv ARGV` and send it SIGINT once ``past``'s metrics log a step beyond ``step``."""
    gansrv = Path(sys.executable).with_name("gansrv")
    proc = subprocess.Popen([str(gansrv), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        rows = read_metrics(past / "metrics.jsonl")  # skips a line caught half-written
        if rows and rows[-1]["step"] > step:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path):
    out = tmp_path / "run"
    res = _interrupt(["train", "gan", "--steps", "100000", "--out", str(out), "--log-every", "1",
                      "--sample-every", "0", *FAST], out, 0)
    assert res.returncode == 130, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "resume with" in res.stderr
    step = json.loads((out / "config.json").read_text())["train"]["total_steps"]
    assert step == 100000
    latest = (out / "checkpoints" / "latest").read_text().strip()
    stopped_at = int(latest.split("-")[1])
    assert stopped_at >= 1
    run("train", "gan", "--resume", out, "--steps", stopped_at + 2, "--no-progress")
    assert metrics_rows(out)[-1]["step"] == stopped_at + 2


def test_interrupted_extension_resumes_with_the_printed_command_to_the_same_weights(tmp_path):
    """--resume DIR --steps N, Ctrl-C, then the command the run printed: N steps, as if straight."""
    common = ("--log-every", "1", "--sample-every", "0", "--checkpoint-every", "50", *FAST)
    full, part = tmp_path / "full", tmp_path / "part"
    run("train", "gan", "--steps", 300, "--out", full, *common)
    run("train", "gan", "--steps", 2, "--out", part, *common)
    res = _interrupt(["train", "gan", "--resume", str(part), "--steps", "300", "--no-progress"],
                     part, 3)
    assert res.returncode == 130, "the run ended before the interrupt: nothing was tested"
    printed = res.stderr.strip().splitlines()[-1].split("resume with ")[1].strip("'").split()
    assert printed == ["gansrv", "train", "gan", "--resume", str(part)]
    run(*printed[1:], "--no-progress")
    assert json.loads((part / "config.json").read_text())["train"]["total_steps"] == 300
    a, b = load_file(str(_latest(full) / "weights.safetensors")), load_file(
        str(_latest(part) / "weights.safetensors"))
    assert _latest(part).name == "step-00000300"
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["step"] for r in metrics_rows(part)] == list(range(1, 301))  # no row twice, none lost
    assert [r["loss_g"] for r in metrics_rows(part)] == [r["loss_g"] for r in metrics_rows(full)]


def _latest(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / (run_dir / "checkpoints" / "latest").read_text().strip()


def test_only_the_given_limits_apply_and_resume_keeps_them(tmp_path):
    """--max-seconds alone sets no step limit (no hidden default length); a --max-seconds on resume
    is a budget for that invocation and keeps the run's step total; none given: the default."""
    timed, steps = tmp_path / "timed", tmp_path / "steps"
    result = run("train", "gan", "--max-seconds", 0.3, "--out", timed, *FAST)
    assert "time budget" in result.stdout
    plan = json.loads((timed / "config.json").read_text())["train"]
    assert (plan["total_steps"], plan["total_seconds"]) == (None, 0.3)
    assert "time budget" in one_line_error(run("train", "gan", "--resume", timed, expect=None))
    run("train", "gan", "--steps", 3, "--out", steps, *FAST)
    err = one_line_error(run("train", "gan", "--resume", steps, "--max-seconds", 60, expect=None))
    assert "already at step 3 of 3" in err
    run("train", "gan", "--resume", steps, "--epochs", 1, "--steps", 7, "--no-progress")
    assert _latest(steps).name == "step-00000007"  # whichever comes first: 7 steps < 1 epoch (8)
    run("train", "gan", "--resume", steps, "--epochs", 1, "--no-progress")  # the run's batch size
    assert _latest(steps).name == "step-00000008"
    from gansrv.train.options import DEFAULT_STEPS

    assert f"with none, {DEFAULT_STEPS} steps" in " ".join(run("train", "gan", "--help").stdout.split())


def test_config_file_with_cli_override(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('steps = 3\nlr = 0.001\ng-hidden = "32,64"\nlimit = 64\nbatch_size = 16\n'
                   'progress = false\n')
    out = tmp_path / "run"
    run("train", "gan", "--config", cfg, "--steps", 2, "--out", out)
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["total_steps"] == 2 and saved["config"]["lr"] == 0.001
    assert saved["config"]["g_hidden"] == "32,64" and saved["train"]["batch_size"] == 16
    yml = tmp_path / "c.yaml"
    yml.write_text("steps: 1\nlatent_dim: 8\nlimit: 64\nprogress: false\n")
    run("train", "gan", "--config", yml, "--out", tmp_path / "y")
    assert json.loads((tmp_path / "y" / "config.json").read_text())["config"]["latent_dim"] == 8


@pytest.mark.parametrize(
    "text,suffix,needle",
    [("nonsense = 1\n", ".toml", "unknown setting"), ("steps = [\n", ".toml", "invalid TOML"),
     ("a: [1\n", ".yaml", "invalid YAML"), ("steps=1", ".ini", "must end in")],
)
def test_bad_config_files(tmp_path, text, suffix, needle):
    cfg = tmp_path / f"c{suffix}"
    cfg.write_text(text)
    result = run("train", "gan", "--config", cfg, "--out", tmp_path / "r", expect=None)
    assert needle in one_line_error(result)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args,needle", [
    (("--batch-size", "0"), "--batch-size"), (("--steps", "-3"), "--steps"),
    (("--max-seconds", "0"), "--max-seconds"), (("--g-hidden", "a,b"), "comma-separated"),
])
def test_bad_training_options(tmp_path, args, needle):
    result = run("train", "gan", *FAST, *args, "--out", tmp_path / "r", expect=None)
    assert needle in one_line_error(result)
    assert not (tmp_path / "r").exists()


def test_train_help_lists_every_hyperparameter_with_default():
    from gansrv.family import config_fields
    from gansrv_plugins.cgan import Config

    text = run("train", "cgan", "--help").stdout
    for f in config_fields(Config):
        assert "--" + f.name.replace("_", "-") in text
    flat = " ".join(text.split())  # click wraps long help lines
    assert "[default: input]" in flat and "Training options:" in flat


def test_cuda_request_without_gpu_is_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = run("train", "gan", "--device", "cuda", "--steps", 1, "--out", tmp_path / "r", *FAST,
                 expect=None)
    assert "CUDA" in one_line_error(result)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args,needle", [
    (("--d-steps", "0"), "--d-steps"), (("--lr", "-1"), "--lr"), (("--latent-dim", "0"), "--latent-dim"),
])
def test_hyperparameter_bounds_from_flags(tmp_path, args, needle):
    result = run("train", "gan", *FAST, *args, "--steps", 1, "--out", tmp_path / "r", expect=None)
    assert needle in one_line_error(result)
    assert not (tmp_path / "r").exists()


def test_hyperparameter_bounds_from_config_file_and_python(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("g_steps = 0\n")
    result = run("train", "gan", "--config", cfg, "--out", tmp_path / "r", expect=None)
    assert "--g-steps" in one_line_error(result)
    fam = GAN()
    opts = TrainOptions(steps=1, out=str(tmp_path / "p"), progress=False)
    with pytest.raises(UserError, match="--d-steps must be >= 1"):
        train(fam, fam.Config(d_steps=0), opts, log=lambda m: None)


def test_metrics_rate_is_the_rows_average(tmp_path):
    out = tmp_path / "run"
    run("train", "gan", "--steps", 40, "--log-every", 20, "--out", out, *FAST)
    rows = metrics_rows(out)
    assert all(r["it_s"] > 0 for r in rows)
    # "time" is rounded to the millisecond; over 20 steps that is well inside 5 %.
    assert rows[1]["it_s"] == pytest.approx(20 / (rows[1]["time"] - rows[0]["time"]), rel=0.05)
