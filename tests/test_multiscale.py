"""Multi-scale families (lapgan, progan, stackgan): the pyramid and packed-noise mechanics, exact
resume through the real CLI, and one exported generator graph that the runtime and
``gansrv generate`` serve unchanged (the contract tests every family gets run on them too)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gansrv.nn.pyramid import ZLayout, ZPart, downsample, gaussian_pyramid, halvings, upsample
from gansrv.runtime import Generator, read_info
from tests.conftest import (
    EVAL_FAST,
    generate,
    metrics_rows,
    one_line_error,
    run,
    train_and_resume,
)

SMALL = ("--data", "digits", "--limit", "128", "--batch-size", "16", "--no-progress",
         "--log-every", "1", "--checkpoint-every", "3", "--sample-every", "0")
LAPGAN = ("--coarse-g-hidden", "32", "--coarse-d-hidden", "32", "--width", "8", "--kernels", "3,3")


def test_pyramid_levels_are_averages_and_upsampling_keeps_constants():
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    levels = gaussian_pyramid(x, 3)
    assert [t.shape[-1] for t in levels] == [7, 14, 28]
    assert torch.allclose(levels[1], x.unfold(2, 2, 2).unfold(3, 2, 2).mean((-1, -2)))
    assert torch.allclose(levels[0].mean(), x.mean(), atol=1e-6)
    flat = torch.full((1, 1, 4, 4), 0.3)
    assert torch.allclose(upsample(flat), torch.full((1, 1, 8, 8), 0.3))
    assert torch.allclose(downsample(upsample(flat)), flat)
    assert halvings(32) == [4, 8, 16, 32] and halvings(28) == [7, 14, 28]


def test_z_layout_splits_in_order_and_describes_itself():
    layout = ZLayout([ZPart("a", (3,)), ZPart("b", (1, 2, 2))])
    z = torch.arange(14.0).view(2, 7)
    parts = layout.split(z)
    assert parts["a"].tolist() == [[0, 1, 2], [7, 8, 9]]
    assert parts["b"].shape == (2, 1, 2, 2) and parts["b"][1].flatten().tolist() == [10, 11, 12, 13]
    assert json.loads(layout.to_json()) == [{"name": "a", "offset": 0, "size": 3, "shape": [3]},
                                            {"name": "b", "offset": 3, "size": 4, "shape": [1, 2, 2]}]


@pytest.mark.parametrize("extra", [(), ("--conditional",)])
def test_lapgan_resumes_exactly(tmp_path, extra):
    full, part = train_and_resume("lapgan", tmp_path, 6, *SMALL, *LAPGAN, *extra)
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["step"] for r in b] == list(range(1, 7))
    for ra, rb in zip(a, b):
        for key in ("loss_d0", "loss_g0", "loss_d1", "loss_g2", "d_fake2"):
            assert ra[key] == rb[key], (ra["step"], key)


def test_lapgan_exports_one_graph_with_its_z_layout_and_serves_it(tmp_path):
    out = tmp_path / "run"
    run("train", "lapgan", "--steps", 2, "--out", out, "--conditional", "--image-size", "32",
        *SMALL, *LAPGAN)
    model = tmp_path / "lap.onnx"
    run("export", out, "-o", model)
    info = read_info(model)
    layout = json.loads(info.extra["z_layout"])
    assert [(p["name"], p["shape"]) for p in layout] == [("level0", [100]), ("level1", [1, 16, 16]),
                                                         ("level2", [1, 32, 32])]
    assert info.latent_dim == 100 + 16 * 16 + 32 * 32 == layout[-1]["offset"] + layout[-1]["size"]
    assert json.loads(info.extra["pyramid_sides"]) == [8, 16, 32]
    assert info.input_names() == ["z", "label"] and info.image_shape == (1, 32, 32)
    g = Generator.from_file(model, provider="cpu")
    images = g.generate(6, seed=1, labels=[0, 1, 2, 3, 4, 5])
    assert images.shape == (6, 32, 32, 1)
    assert np.array_equal(images, g.generate(6, seed=1, labels=[0, 1, 2, 3, 4, 5]))
    generate(model, tmp_path / "ds", "--n", "10", "--seed", "0")
    assert len(list((tmp_path / "ds").glob("*/*.png"))) == 10


def test_lapgan_refuses_a_pyramid_the_size_cannot_make(tmp_path):
    result = run("train", "lapgan", "--steps", 1, "--out", tmp_path / "r", "--image-size", "28",
                 "--levels", "4", *SMALL, expect=None)
    assert "cannot be halved 3 times" in one_line_error(result)
    assert not (tmp_path / "r").exists()


# -- progan -----------------------------------------------------------------------------------

PROGAN = ("--width", "8", "--stable-images", "32", "--fade-images", "64")


def test_progan_schedule_counts_images_and_fades_each_new_level():
    from gansrv.nn.progressive import schedule

    at = [schedule(n, 3, fade_images=64, stable_images=32) for n in (0, 31, 32, 48, 95, 96, 127,
                                                                     128, 160, 10**6)]
    assert at == [(0, 1.0), (0, 1.0), (1, 0.0), (1, 0.25), (1, 63 / 64), (1, 1.0), (1, 1.0),
                  (2, 0.0), (2, 0.5), (2, 1.0)]


def test_minibatch_stddev_groups_and_the_single_image_form():
    from gansrv.nn.progressive import minibatch_stddev

    x = torch.randn(8, 3, 4, 4)
    y = minibatch_stddev(x, 4)
    assert y.shape == (8, 4, 4, 4) and torch.equal(y[:, :3], x)
    groups = x.reshape(4, 2, 3, 4, 4)  # image i is in group i mod 2 (the reference's layout)
    want = groups.std(0, correction=0).mean((1, 2, 3))
    assert torch.allclose(y[0, 3, 0, 0], want[0], atol=1e-5)
    assert torch.allclose(y[1, 3], want[1].expand(4, 4), atol=1e-5)
    alone = minibatch_stddev(x, 1)
    assert torch.allclose(alone[:, 3], torch.full((8, 4, 4), 1e-4))
    assert minibatch_stddev(torch.randn(7, 2, 2, 2), 4).shape == (7, 3, 2, 2)  # group 1 divides 7


def test_progan_resumes_exactly_mid_fade_across_an_optimizer_reset(tmp_path):
    # batch 16: steps 1-2 level 0, 3-6 fade in level 1, 7-8 stable, 9-10 fade in level 2; the
    # resumed half starts at step 6, inside the first fade, and crosses the reset at step 9
    full, part = train_and_resume("progan", tmp_path, 10, *SMALL, *PROGAN)
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["resolution"] for r in a] == [7, 7, 14, 14, 14, 14, 14, 14, 28, 28]
    assert [r["alpha"] for r in a][2:6] == [0.0, 0.25, 0.5, 0.75]
    assert [r["step"] for r in b] == list(range(1, 11))
    for ra, rb in zip(a, b):
        for key in ("loss_d", "loss_g", "gp", "alpha"):
            assert ra[key] == rb[key], (ra["step"], key)


def test_progan_exports_the_reached_position_and_a_batch_independent_judge(tmp_path):
    from gansrv.runtime.session import session

    out = tmp_path / "run"
    run("train", "progan", "--steps", 5, "--out", out, *SMALL, *PROGAN)  # 80 images: mid-fade
    model = tmp_path / "pro.onnx"
    run("export", out, "-o", model, "--with-discriminator")
    info = read_info(model)
    assert info.extra["progan_resolution"] == "14" and float(info.extra["progan_alpha"]) == 0.75
    assert info.extra["progan_images_seen"] == "80" and info.image_shape == (1, 28, 28)
    images = Generator.from_file(model, provider="cpu").generate(7, seed=0)
    assert images.shape == (7, 28, 28, 1)
    judge = session(model.with_name("pro.discriminator.onnx"), "cpu")
    x = np.random.default_rng(0).uniform(-1, 1, (7, 1, 28, 28)).astype(np.float32)
    together = judge.run(None, {"image": x})[0]
    alone = np.concatenate([judge.run(None, {"image": x[i:i + 1]})[0] for i in range(7)])
    assert np.allclose(together, alone, atol=1e-5)


# -- stackgan ---------------------------------------------------------------------------------

STACKGAN = ("--width", "8", "--embed-dim", "4", "--ca-dim", "4", "--res-blocks", "1")


@pytest.mark.parametrize("extra", [("--stage1-images", "48"), ("--schedule", "joint"),
                                   ("--schedule", "joint", "--projection")])
def test_stackgan_resumes_exactly(tmp_path, extra):
    # staged, batch 16: stage I for steps 1-3, stage II (stage I frozen) from step 4; the resumed
    # half starts at step 4, the first of stage II
    full, part = train_and_resume("stackgan", tmp_path, 6, *SMALL, *STACKGAN, *extra)
    a, b = metrics_rows(full), metrics_rows(part)
    if extra[0] == "--stage1-images":
        assert [r["stage"] for r in a] == [1, 1, 1, 2, 2, 2]
    else:
        assert all(r["stage"] == 2 and "loss_d1" in r for r in a)
    assert [r["step"] for r in b] == list(range(1, 7))
    for ra, rb in zip(a, b):
        for key in ("loss_d", "loss_g", "d_real"):
            assert ra[key] == rb[key], (ra["step"], key)


def test_stackgan_stage_one_is_frozen_in_stage_two(tmp_path):
    from gansrv.train.load import load_run

    out = tmp_path / "run"
    run("train", "stackgan", "--steps", 2, "--stage1-images", "32", "--out", out, *SMALL, *STACKGAN)
    before = {k: v.clone() for k, v in load_run(out).modules["G1"].state_dict().items()}
    run("train", "stackgan", "--resume", out, "--steps", 4, "--no-progress")
    after = load_run(out).modules["G1"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("stage", ["G1", "G2"])
def test_stackgan_ca_mean_carries_the_label_at_init(stage):
    # with the DCGAN N(0, 0.02) init on the embedding and fc, mu's spread between classes was
    # ~1e-3 of sigma and G ignored the label; the CA's own init must keep it of sigma's order
    from gansrv_plugins.stackgan import models as mm

    torch.manual_seed(0)
    ca = mm.ConditioningAugmentation(10, 32, 16)
    net = (mm.StageOne(100, ca, 16, 4, 2, 1, 32) if stage == "G1"
           else mm.StageTwo(ca, 16, 1, 32, 1))
    _, mu, logvar = net.ca(torch.arange(10), torch.zeros(10, 16))
    spread = mu.detach().std(0).mean()
    sigma = torch.exp(0.5 * logvar).detach().mean()
    assert spread >= 0.1 * sigma, (float(spread), float(sigma))


def test_stackgan_kl_is_per_dimension_and_older_runs_keep_the_sum(tmp_path):
    from gansrv.train.load import load_run
    from gansrv_plugins.stackgan.models import kl_loss

    mu, logvar = torch.randn(8, 16), torch.randn(8, 16)
    assert torch.allclose(kl_loss(mu, logvar) * 16, kl_loss(mu, logvar, per_dim=False))
    assert float(kl_loss(torch.zeros(4, 16), torch.zeros(4, 16))) == 0.0
    out = tmp_path / "run"
    run("train", "stackgan", "--steps", 1, "--out", out, *SMALL, *STACKGAN)
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["kl_per_dim"] is True
    saved["config"].pop("kl_per_dim")  # a run from before the option trained with the sum
    (out / "config.json").write_text(json.dumps(saved))
    assert load_run(out).config.kl_per_dim is False


@pytest.mark.parametrize("ca", [True, False])
def test_stackgan_exports_full_and_stage_one_graphs_with_ca_noise_as_input(tmp_path, ca):
    from gansrv.runtime.session import session

    out = tmp_path / "run"
    run("train", "stackgan", "--steps", 3, "--stage1-images", "32", "--out", out,
        *(() if ca else ("--no-ca",)), *SMALL, *STACKGAN)
    model = tmp_path / "stack.onnx"
    result = run("export", out, "-o", model)
    assert "stage1: " in result.stdout
    info = read_info(model)
    layout = {p["name"]: p for p in json.loads(info.extra["z_layout"])}
    assert list(layout) == ["z", "ca1", "ca2"] and info.latent_dim == 100 + 4 + 4
    assert info.input_names() == ["z", "label"]
    sess = session(model, "cpu")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3, info.latent_dim)).astype(np.float32)
    label = np.array([0, 1, 2], dtype=np.int64)
    other = z.copy()
    other[:, layout["ca2"]["offset"]:] = rng.standard_normal((3, 4))  # stage II's CA noise only
    a, b = (sess.run(None, {"z": v, "label": label})[0] for v in (z, other))
    assert np.array_equal(a, b) is (not ca)  # CA noise matters exactly when CA samples
    stage1 = tmp_path / "stack.stage1.onnx"
    images = Generator.from_file(stage1, provider="cpu").generate(4, seed=0, labels=[0, 1, 2, 3])
    assert images.shape == (4, 28, 28, 1)
    generate(stage1, tmp_path / "ds", "--n", "4")


def test_eval_scores_the_full_generator_and_the_stage_one_graph(tmp_path, mnist, evaluator_cache):
    out = tmp_path / "run"
    run("train", "stackgan", "--steps", 2, "--stage1-images", "16", "--out", out, *SMALL, *STACKGAN)
    model = tmp_path / "stack.onnx"
    run("export", out, "-o", model)
    for path in (model, tmp_path / "stack.stage1.onnx"):
        figures = tmp_path / f"{path.stem}.json"
        run("eval", path, "--data", mnist, "--train-limit", "1000", *EVAL_FAST, "--metrics",
            "fid,class-acc", "--json", figures)
        got = json.loads(figures.read_text())
        assert got["fid"] > 0 and 0 <= got["class_accuracy"] <= 1 and got["family"] == "stackgan"
