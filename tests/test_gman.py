"""gman: N discriminators, the softmax mix of their losses, GMAN*'s learnt lambda, and the
minimax/non-saturating G objective (dcgan's too), through the real CLI, checkpoints and ONNX."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gansrv.nn.losses import g_loss_minimax, g_loss_nonsaturating
from gansrv.runtime import Generator, noise
from gansrv.train.load import load_run
from gansrv_plugins.gman.step import mix
from tests.conftest import metrics_rows, one_line_error, run, train_and_resume

FAST = ("--data", "digits", "--limit", "256", "--batch-size", "16", "--no-progress", "--log-every", "1",
        "--sample-every", "0", "--g-width", "8", "--d-width", "8")


def same_weights(a, b) -> bool:
    ma, mb = load_run(a).modules, load_run(b).modules
    assert sorted(ma) == sorted(mb)
    return all(torch.equal(x, y) for k in ma
               for x, y in zip(ma[k].state_dict().values(), mb[k].state_dict().values()))


def test_mix_is_the_mean_at_zero_and_tends_to_the_max():
    losses = torch.tensor([0.2, 1.0, 0.5])
    assert mix(losses, 0.0)[0].item() == pytest.approx(losses.mean().item())
    assert mix(losses, 200.0)[0].item() == pytest.approx(1.0, abs=1e-6)
    soft, weights = mix(losses, 2.0)
    assert losses.mean() < soft < losses.max() and weights.argmax() == 1


def test_g_objectives_are_the_two_losses_of_goodfellow():
    logits = torch.tensor([-3.0, 0.0, 2.0])
    d = torch.sigmoid(logits)
    assert g_loss_minimax(logits).item() == pytest.approx(torch.log(1 - d).mean().item(), abs=1e-6)
    assert g_loss_nonsaturating(logits).item() == pytest.approx(-torch.log(d).mean().item(), abs=1e-6)


def test_n_discriminators_own_dropout_and_optimizers_and_resume_exactly(tmp_path):
    common = (*FAST, "--discriminators", "3", "--dropout-low", "0.4", "--dropout-high", "0.6",
              "--checkpoint-every", "2")
    full, part = train_and_resume("gman", tmp_path, 4, *common)
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    assert [(r["loss_d"], r["loss_g"]) for r in a] == [(r["loss_d"], r["loss_g"]) for r in b]
    assert same_weights(full, part)
    loaded = load_run(full)
    assert sorted(loaded.modules) == ["D0", "D1", "D2", "G"]
    assert [loaded.modules[f"D{i}"].drop.p for i in range(3)] == pytest.approx([0.4, 0.5, 0.6])
    w0, w1 = (loaded.modules[f"D{i}"].body[0].weight for i in (0, 1))
    assert not torch.equal(w0, w1)  # different initialisations (and data)
    assert loaded.config.g_objective == "minimax" and all(r["lambda"] == 0.0 for r in a)
    assert all(r["w_max"] == pytest.approx(1 / 3) for r in a)  # lambda 0: the mean


def test_learnt_lambda_moves_is_saved_and_resumes_exactly(tmp_path):
    common = (*FAST, "--discriminators", "2", "--learn-lambda", "--lam", "2", "--checkpoint-every", "2",
              "--g-objective", "nonsaturating")
    full, part = train_and_resume("gman", tmp_path, 4, *common)
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["lambda"] for r in a] == [r["lambda"] for r in b]
    assert a[0]["lambda"] != a[-1]["lambda"] and a[0]["lambda"] == pytest.approx(2.0, rel=1e-2)
    assert same_weights(full, part)
    assert load_run(full).modules["L"]().item() == pytest.approx(a[-1]["lambda"], rel=1e-2)


def test_export_matches_torch_through_onnxruntime(tmp_path):
    run("train", "gman", *FAST, "--steps", "2", "--discriminators", "2", "--out", tmp_path / "r")
    run("export", tmp_path / "r", "--onnx", "-o", tmp_path / "g.onnx", "--with-discriminator")
    gen = Generator.from_file(tmp_path / "g.onnx", provider="cpu")
    assert gen.info.family == "gman" and gen.info.kind == "noise" and not gen.conditional
    G = load_run(tmp_path / "r").modules["G"].eval()
    z = noise(3, np.arange(5), gen.info.latent_dim)
    with torch.no_grad():
        want = G(torch.from_numpy(z)).numpy()
    (got,) = gen.model.session.run(["image"], {"z": z})
    assert np.abs(got - want).max() < 1e-5
    assert (tmp_path / "g.discriminator.onnx").is_file()


def test_dcgan_minimax_switch_and_older_runs_load_non_saturating(tmp_path):
    for objective in ("minimax", "nonsaturating"):
        run("train", "dcgan", *FAST, "--steps", "2", "--g-objective", objective,
            "--out", tmp_path / objective)
    a, b = metrics_rows(tmp_path / "minimax"), metrics_rows(tmp_path / "nonsaturating")
    assert a[0]["loss_d"] == b[0]["loss_d"]  # same D step, then G's losses differ
    assert a[0]["loss_g"] < 0 < b[0]["loss_g"]  # log(1 - D) <= 0 <= -log D
    cfg = tmp_path / "nonsaturating" / "config.json"
    saved = json.loads(cfg.read_text())
    del saved["config"]["g_objective"]  # a run saved before the option
    cfg.write_text(json.dumps(saved))
    assert load_run(tmp_path / "nonsaturating").config.g_objective == "nonsaturating"
    run("train", "dcgan", "--resume", tmp_path / "nonsaturating", "--steps", "3", "--no-progress")


@pytest.mark.parametrize("args,needle", [
    (("--dropout-low", "0.6", "--dropout-high", "0.5"), "--dropout-high"),
    (("--g-objective", "wasserstein"), "--g-objective"),
    (("--discriminators", "0"), "--discriminators"),
])
def test_bad_options_are_one_line(tmp_path, args, needle):
    result = run("train", "gman", *FAST, "--steps", "1", "--out", tmp_path / "r", *args, expect=None)
    assert needle in one_line_error(result, result.exit_code)
    assert not (tmp_path / "r" / "checkpoints").exists()
