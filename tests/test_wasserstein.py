"""wgan, wgan-gp, sngan: the critic estimate on real data, clipping, the gradient penalty's graph,
spectral norm folded away on export, and the class-conditional variant end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from gansrv.data import load_dataset
from gansrv.nn.wasserstein import gradient_penalty, interpolates
from gansrv.runtime import read_info
from gansrv.train.load import load_run
from tests.conftest import MNIST, assert_loss_plot, one_line_error, run, train_and_resume

SMALL = ("--g-width", "8", "--d-width", "8")
STEPS = 12


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """trained(family) -> run dir of a short MNIST run (first 512 images), trained once."""
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    cache: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in cache:
            out = tmp_path_factory.mktemp(family) / "run"
            run("train", family, "--data", MNIST, "--limit", "512", "--batch-size", "32", "--steps",
                STEPS, "--log-every", "1", "--sample-every", "0", "--no-progress", "--out", out, *SMALL)
            cache[family] = out
        return cache[family]

    return get


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("family", ["wgan", "wgan-gp", "sngan"])
def test_critic_estimate_grows_on_real_data_and_holds_on_held_out_images(trained, family):
    """From an untrained critic (estimate ~ 0) the critic learns to tell MNIST from G's samples: the
    logged estimate mean(f(real)) - mean(f(fake)) rises, and the final critic still ranks the 2,000
    held-out test images above fresh fakes (it measured the data, not the batches it saw)."""
    run_dir = trained(family)
    rows = metrics(run_dir)
    w = [r["wasserstein"] for r in rows]
    assert len(w) == STEPS
    assert_loss_plot(run_dir)  # the estimate is drawn, with every other logged quantity
    # step 1 is left out: wgan's first critic update still runs on the unclipped N(0, 0.02) init
    assert w[-1] > 0 and np.mean(w[-3:]) > np.mean(w[1:4]), w
    loaded = load_run(run_dir)
    held_out = load_dataset([str(MNIST)]).images[-2000:]
    x = torch.from_numpy(held_out[:256]).float().div(127.5).sub(1.0)
    with torch.no_grad():
        z = torch.randn(256, loaded.config.latent_dim, generator=torch.Generator().manual_seed(0))
        fake = loaded.modules["G"](z)
        gap = (loaded.modules["D"](x).mean() - loaded.modules["D"](fake).mean()).item()
    assert gap > 0, gap


def test_gp_run_logs_penalty_and_gradient_norms(trained):
    rows = metrics(trained("wgan-gp"))
    assert {"loss_d", "loss_g", "wasserstein", "gp", "grad_norm", "grad_norm_std"} <= set(rows[-1])
    assert all(r["gp"] >= 0 and r["grad_norm"] > 0 for r in rows)
    assert "gp" not in metrics(trained("wgan"))[-1]


def test_clipping_bounds_every_critic_weight(trained):
    """N(0, 0.02) init puts weights beyond c = 0.01: after training each critic parameter is within
    [-c, c] and some sit on the bound, while G (never clipped) keeps larger ones."""
    loaded = load_run(trained("wgan"))
    c = loaded.config.clip
    critic = torch.cat([p.detach().abs().flatten() for p in loaded.modules["D"].parameters()])
    assert critic.max().item() <= c and torch.isclose(critic.max(), torch.tensor(c))
    assert max(p.abs().max().item() for p in loaded.modules["G"].parameters()) > c


def test_gradient_penalty_is_taken_on_interpolates_with_create_graph():
    """With a linear critic f(x) = w.x, grad_x f = w everywhere, so GP = (||w|| - 1)^2 and
    dGP/dw = 2 (||w|| - 1) w / ||w||: non-zero only if the penalty's graph reaches w."""
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(5, 1, 4, 4, generator=gen), torch.randn(5, 1, 4, 4, generator=gen)
    eps = torch.rand(5, generator=gen)
    w = (torch.randn(16, generator=gen) * 0.5).requires_grad_(True)
    seen = []

    def critic(x):
        seen.append(x.detach())
        return x.flatten(1) @ w

    gp, norms = gradient_penalty(critic, real, fake, eps)
    assert torch.allclose(seen[0], real + eps.view(-1, 1, 1, 1) * (fake - real))
    assert torch.allclose(seen[0], interpolates(real, fake, eps))
    assert torch.allclose(norms, w.norm().expand(5))
    assert torch.isclose(gp, (w.norm() - 1) ** 2)
    (grad,) = torch.autograd.grad(gp, w)
    want = 2 * (w.norm() - 1) * w / w.norm()
    assert grad.abs().max() > 0 and torch.allclose(grad, want.detach(), atol=1e-6)


def test_sngan_export_folds_spectral_norm(exports):  # noqa: F811
    """The ONNX critic holds plain weights equal to torch's W / sigma(W) and no power iteration."""
    ex = exports("sngan")
    proto = onnx.load(str(ex.discriminator))
    names = [i.name for i in proto.graph.initializer]
    assert not [n for n in names if "parametrizations" in n or n.endswith(("original", "_u", "_v"))]
    assert not {n.op_type for n in proto.graph.node} & {"ReduceL2", "Div", "Sqrt", "MatMul"}
    D = load_run(ex.run_dir).modules["D"]
    assert torch.nn.utils.parametrize.is_parametrized(D.body[0])  # the run's module is untouched
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    with torch.no_grad():
        assert np.allclose(weights["body.0.weight"], D.body[0].weight.numpy(), atol=1e-7)
    assert read_info(ex.discriminator).parity_max_abs_error <= 1e-4
    assert read_info(ex.generator).parity_max_abs_error <= 1e-4


def test_conditional_variant_exports_a_label_input_and_generates_per_class(tmp_path):
    run_dir = tmp_path / "run"
    run("train", "wgan-gp", "--conditional", "--data", "digits", "--limit", "256", "--steps", "2",
        "--batch-size", "32", "--no-progress", "--out", run_dir, *SMALL)
    model = tmp_path / "cwgan.onnx"
    run("export", run_dir, "-o", model)
    info = read_info(model)
    assert (info.kind, info.input_names(), info.num_classes) == ("conditional", ["z", "label"], 10)
    out = tmp_path / "ds"
    run("generate", model, "--per-class", "2", "--classes", "3,8", "--out", out, "--no-progress")
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert sorted((r["label"], r["file_name"].split("/")[0]) for r in rows) == \
        [(3, "3"), (3, "3"), (8, "8"), (8, "8")]


def test_conditional_on_unlabelled_data_is_one_line(tmp_path):
    data = tmp_path / "plain.npz"
    np.savez(data, images=np.zeros((8, 28, 28), np.uint8))
    result = run("train", "sngan", "--conditional", "--data", data, "--steps", "1",
                 "--out", tmp_path / "run", expect=None)
    assert "needs labelled data" in one_line_error(result)
    assert not (tmp_path / "run").exists()


def test_resume_with_a_spectral_norm_critic_repeats_the_run(tmp_path):
    """The power iteration's u and v are buffers in the checkpoint: a resumed run equals a straight one."""
    common = ("--log-every", "1", "--checkpoint-every", "3", "--sample-every", "0", "--data", "digits",
              "--limit", "256", "--batch-size", "32", "--no-progress", "--conditional", *SMALL)
    full, part = train_and_resume("sngan", tmp_path, 6, *common)
    keys = ("loss_d", "loss_g", "wasserstein")
    assert [[r[k] for k in keys] for r in metrics(full)] == [[r[k] for k in keys] for r in metrics(part)]
