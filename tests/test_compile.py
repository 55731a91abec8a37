"""``gansrv train --compile`` / ``--channels-last``: same checkpoint keys, and exact resume.

Each run is its own process (as a user runs it): Dynamo's cache lives per process and falls back
to eager after a number of recompiles, so in-process runs would not test what a user gets. A
compile costs about a minute on the 2-core machine, hence ``slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.conftest import run

COMMON = ("--data", "digits", "--limit", "256", "--batch-size", "32", "--no-progress",
          "--log-every", "1", "--checkpoint-every", "3", "--sample-every", "0",
          "--g-width", "16", "--d-width", "16")


def train(*args: object) -> None:
    done = subprocess.run([sys.executable, "-m", "gansrv", "train", *map(str, args)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]


def rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def weights(run_dir: Path, step: int) -> dict:
    return load_file(run_dir / "checkpoints" / f"step-{step:08d}" / "weights.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize("family", ["cgan", "dcgan"])
def test_compiled_resume_repeats_a_compiled_run_exactly(tmp_path, family):
    full, part = tmp_path / "full", tmp_path / "part"
    train(family, "--steps", 6, "--out", full, "--compile", *COMMON)
    train(family, "--steps", 3, "--out", part, "--compile", *COMMON)
    train(family, "--resume", part, "--steps", 6, "--no-progress", "--compile")
    a, b = rows(full), rows(part)
    assert [r["step"] for r in b] == list(range(1, 7))
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k.startswith("loss")} == \
               {k: v for k, v in rb.items() if k.startswith("loss")}, ra["step"]
    wa, wb = weights(full, 6), weights(part, 6)
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)


def test_compile_and_channels_last_keep_checkpoint_keys(tmp_path):
    plain, laid = tmp_path / "plain", tmp_path / "laid"
    run("train", "dcgan", "--steps", 2, "--out", plain, *COMMON)
    run("train", "dcgan", "--steps", 2, "--out", laid, "--channels-last", *COMMON)
    assert weights(plain, 2).keys() == weights(laid, 2).keys()
    saved = json.loads((laid / "config.json").read_text())["train"]
    assert saved["channels_last"] is True and saved["compile"] is False


@pytest.mark.parametrize("family", ["cgan", "dcgan"])
def test_channels_last_resume_repeats_a_channels_last_run_exactly(tmp_path, family):
    full, part = tmp_path / "full", tmp_path / "part"
    run("train", family, "--steps", 6, "--out", full, "--channels-last", *COMMON)
    run("train", family, "--steps", 3, "--out", part, "--channels-last", *COMMON)
    run("train", family, "--resume", part, "--steps", 6, "--no-progress", "--channels-last")
    wa, wb = weights(full, 6), weights(part, 6)
    assert [r["loss_g"] for r in rows(full)] == [r["loss_g"] for r in rows(part)]
    assert all((wa[k] == wb[k]).all() for k in wa)


def test_gradient_penalty_critics_stay_eager_under_compile():
    """A gradient penalty differentiates the critic twice, which torch.compile cannot: those roles
    are left uncompiled (and the log says so), the others compiled."""
    from torch import nn

    from gansrv.plugins import registry
    from gansrv.train.compile import apply

    fams = registry().families
    for name in ("wgan-gp", "progan", "stargan"):
        fam = fams[name]
        assert fam.double_backward(fam.Config()) == {"D"}, name
    for name in ("dcgan", "cgan", "wgan"):
        assert fams[name].double_backward(fams[name].Config()) == set(), name
    said: list[str] = []
    modules = {"G": nn.Linear(2, 2), "D": nn.Linear(2, 1)}
    apply(modules, True, False, {"D"}, said.append)
    assert modules["G"]._compiled_call_impl is not None and modules["D"]._compiled_call_impl is None
    assert said == ["--compile: D stays eager (its gradient penalty differentiates it twice, which "
                    "torch.compile cannot)"]


@pytest.mark.slow
def test_wgan_gp_trains_with_compile(tmp_path):
    train("wgan-gp", "--steps", 3, "--out", tmp_path / "run", "--compile", *COMMON)
    assert [r["step"] for r in rows(tmp_path / "run")] == [1, 2, 3]
