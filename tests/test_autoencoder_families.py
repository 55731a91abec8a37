"""ebgan and began: D pre-training, the k_t control and M on real data, exact resume with family
state, the energy scorer graph, and the class-conditional option through export and generate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gansrv.data import load_dataset
from gansrv.nn import energy as E
from gansrv.runtime import Generator, load
from gansrv.train.load import load_run
from tests.conftest import assert_loss_plot, metrics_rows, one_line_error, run, train_and_resume

SMALL = ("--g-width", "8", "--d-width", "8", "--code-dim", "8", "--no-progress")
WIDTH16 = ("--g-width", "16", "--d-width", "16", "--code-dim", "16", "--no-progress")


def _state(run_dir: Path) -> dict:
    ckpt = run_dir / "checkpoints" / (run_dir / "checkpoints" / "latest").read_text().strip()
    return torch.load(ckpt / "state.pt", weights_only=True)["family_state"]


# -- the shared maths ------------------------------------------------------------------------------

def test_k_update_is_clipped_to_the_unit_interval():
    assert E.began_k_update(0.999, real_loss=1.0, fake_loss=0.0, gamma=1.0, lambda_k=1.0) == 1.0
    assert E.began_k_update(0.001, real_loss=0.0, fake_loss=1.0, gamma=1.0, lambda_k=1.0) == 0.0
    assert E.began_k_update(0.5, real_loss=0.4, fake_loss=0.1, gamma=0.5, lambda_k=0.1) == \
        pytest.approx(0.5 + 0.1 * (0.2 - 0.1))
    assert E.convergence_measure(0.4, 0.1, 0.5) == pytest.approx(0.4 + 0.1)


def test_pulling_away_term_is_mean_squared_cosine_of_distinct_codes():
    same = torch.ones(4, 3)
    assert E.pulling_away(same).item() == pytest.approx(1.0)
    assert E.pulling_away(torch.eye(3) * 5).item() == pytest.approx(0.0)
    assert E.pulling_away(torch.ones(1, 3)).item() == 0.0


def test_margin_loss_ignores_fakes_beyond_the_margin():
    real, fake = torch.tensor([0.1, 0.3]), torch.tensor([0.2, 2.0])
    assert E.ebgan_d_loss(real, fake, margin=1.0).item() == pytest.approx(0.2 + 0.8 / 2)
    assert E.margin_hits(fake, 1.0) == 0.5


# -- real data through the CLI -----------------------------------------------------------------------

def test_pretraining_lowers_real_energy_and_the_scorer_flags_inverted_digits(tmp_path, mnist):
    out = tmp_path / "run"
    run("train", "ebgan", "--data", mnist, "--limit", "2000", "--batch-size", "32", "--steps", "1",
        "--pretrain-steps", "40", "--out", out, *WIDTH16)
    # Width 16, 40 steps of batch 32: the MSE falls to 0.37-0.53 of its start on seeds 0-2.
    curve = _state(out)["pretrain_energy"]
    assert len(curve) == 40
    assert curve[-5:].mean() < 0.7 * curve[:5].mean(), curve
    assert metrics_rows(out)[0]["energy_real"] < curve[0]

    scorer = tmp_path / "m.onnx"
    run("export", out, "-o", scorer, "--with-discriminator")
    model = load(scorer.with_name("m.discriminator.onnx"), "cpu")
    assert [t.name for t in model.info.outputs] == ["energy", "reconstruction"]
    held_out = load_dataset((str(mnist),)).images[-16:].astype(np.float32) / 127.5 - 1
    energy_real, recon = model.session.run(None, {"image": held_out})
    energy_inverted, _ = model.session.run(None, {"image": -held_out})  # white background: anomalous
    assert recon.shape == held_out.shape and energy_real.shape == (16,)
    assert energy_real.max() < energy_inverted.min()
    with torch.no_grad():
        want, _ = load_run(out).modules["D"](torch.from_numpy(held_out))
    assert np.abs(energy_real - want.numpy()).max() <= 1e-4


def test_began_k_follows_its_control_law_and_m_falls(tmp_path, mnist):
    """Every step's logged k_t is the last one moved by BEGAN eq. 4 from that step's own energies,
    k_t = clip(k_(t-1) + lambda_k (gamma L(x) - L(G(z))), 0, 1), from k0 = 0; the saved k_t is the
    last one; and M falls (60 steps: the mean M of the last 5 steps ended at 0.58-0.59 of the first
    5's on seeds 0-2, measured as --log-every 5 rows, as D learns to reconstruct the digits while
    L(G(z)) stays near gamma L(x))."""
    out = tmp_path / "run"
    run("train", "began", "--data", mnist, "--limit", "1024", "--batch-size", "32", "--steps", "60",
        "--log-every", "1", "--sample-every", "0", "--out", out, *WIDTH16)
    rows = metrics_rows(out)
    k = 0.0
    for r in rows:
        k = min(1.0, max(0.0, k + 1e-3 * (0.5 * r["energy_real"] - r["loss_g"])))  # defaults
        assert abs(r["k_t"] - k) < 1e-12, (r["step"], r["k_t"], k)
    assert 0.0 < rows[-1]["k_t"] < 1.0  # the law was not only the clamp
    first, last = np.mean([r["M"] for r in rows[:5]]), np.mean([r["M"] for r in rows[-5:]])
    assert last < 0.75 * first, [round(r["M"], 3) for r in rows]
    assert _state(out)["k_t"] == rows[-1]["k_t"]  # saved with the checkpoint
    assert_loss_plot(out)


@pytest.mark.parametrize("family,extra", [("began", ()), ("ebgan", ("--pretrain-steps", "3"))])
def test_resume_repeats_an_uninterrupted_run_exactly(tmp_path, family, extra):
    common = ("--data", "digits", "--limit", "256", "--batch-size", "16", "--log-every", "1",
              "--checkpoint-every", "5", "--sample-every", "0", *SMALL, *extra)
    full, part = train_and_resume(family, tmp_path, 10, *common)
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["step"] for r in b] == list(range(1, 11))
    keys = [k for k in a[0] if k not in ("time", "it_s")]
    for ra, rb in zip(a, b):
        assert {k: ra[k] for k in keys} == {k: rb[k] for k in keys}, ra["step"]


def test_conditional_option_exports_and_generates_labelled_images(tmp_path):
    out = tmp_path / "run"
    run("train", "began", "--conditional", "--data", "digits", "--limit", "256", "--batch-size", "16",
        "--steps", "2", "--out", out, *SMALL)
    model = tmp_path / "c.onnx"
    run("export", out, "-o", model, "--with-discriminator")
    gen = Generator.from_file(model, provider="cpu")
    assert gen.info.kind == "conditional" and gen.info.num_classes == 10 and gen.conditional
    assert gen.generate(4, seed=0, labels=3).shape == (4, 28, 28, 1)
    scorer = load(tmp_path / "c.discriminator.onnx", "cpu")
    assert scorer.info.input_names() == ["image", "label"] and scorer.info.kind == "conditional"
    data = tmp_path / "data"
    run("generate", model, "--per-class", "2", "--classes", "3,8", "--out", data, "--no-progress")
    assert sorted(p.name for p in (data / "3").iterdir()) == ["000000.png", "000001.png"]
    lines = [json.loads(s) for s in (data / "metadata.jsonl").read_text().splitlines()]
    assert [r["label"] for r in lines] == [3, 3, 8, 8]


def test_conditional_option_refuses_unlabelled_data(tmp_path):
    npz = tmp_path / "u.npz"
    np.savez(npz, images=np.zeros((8, 28, 28), np.uint8))
    result = run("train", "ebgan", "--conditional", "--data", npz, "--out", tmp_path / "r", *SMALL,
                 expect=None)
    assert "needs labelled data" in one_line_error(result)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("conditional", [False, True])
def test_networks_at_every_resolution(size, conditional):
    from types import SimpleNamespace

    from gansrv.kits.autoencoder import build_players

    cfg = SimpleNamespace(latent_dim=8, image_size=size, g_width=4, d_width=4, code_dim=8, embed_dim=4,
                          g_norm="batch", conditional=conditional)
    nets = build_players(cfg, channels=3, classes=5, energy_norm="l1")
    y = torch.tensor([0, 4]) if conditional else None
    images = nets["G"](torch.randn(2, 8), y)
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    energy, recon = nets["D"](images, y)
    assert energy.shape == (2,) and recon.shape == images.shape
    assert torch.allclose(energy, (images - recon).abs().mean((1, 2, 3)))
