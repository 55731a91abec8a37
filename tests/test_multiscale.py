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
from tests.conftest import generate, metrics_rows, one_line_error, run, train_and_resume

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
