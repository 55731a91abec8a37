"""cyclegan: unpaired trainA/ + trainB/ data, exact resume (image pools included), both generators
exported with dynamic height and width and run through the torch-free Translator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gansrv.data.paired import load_unpaired
from gansrv.runtime import Translator, read_info
from gansrv.train.load import load_run
from tests.conftest import SHARED_DATA, assert_same_weights, one_line_error, run

HORSES = SHARED_DATA / "horse2zebra-mini"
SMALL = ("--image-size", "32", "--ngf", "4", "--ndf", "4", "--blocks", "1", "--pool-size", "3",
         "--batch-size", "2", "--no-progress")


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> Path:
    """trainA: 3 grey-ish RGB images, trainB: 2 (unequal counts on purpose)."""
    root = tmp_path_factory.mktemp("unpaired")
    rng = np.random.default_rng(0)
    for side, n in (("trainA", 3), ("trainB", 2)):
        (root / side).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(
                root / side / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory, domains) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cyclegan")
    run("train", "cyclegan", "--data", domains, "--steps", "3", "--out", root / "run", *SMALL)
    run("export", root / "run", "-o", root / "m.onnx")
    return root / "run", root / "m.onnx"


def test_unpaired_domains_repeat_the_shorter_one(domains):
    ds = load_unpaired([str(domains)], 32)
    assert ds.images.shape == ds.targets.shape == (3, 3, 32, 32)
    assert np.array_equal(ds.targets[2], ds.targets[0])  # B (2 images) repeated to A's 3


def test_horse2zebra_sample_loads_at_full_size():
    if not (HORSES / "trainA").is_dir():
        pytest.skip(f"shared horse2zebra data not found at {HORSES}")
    ds = load_unpaired([str(HORSES)], None)
    assert ds.images.shape == ds.targets.shape == (2, 3, 256, 256)


def test_missing_domain_is_one_line(tmp_path):
    (tmp_path / "trainA").mkdir()
    Image.fromarray(np.zeros((32, 32), dtype=np.uint8)).save(tmp_path / "trainA" / "a.png")
    res = run("train", "cyclegan", "--data", tmp_path, *SMALL, "--out", tmp_path / "run",
              expect=None)
    assert "no trainB/ subfolder" in one_line_error(res) and not (tmp_path / "run").exists()


def test_resume_repeats_the_run_pools_included(trained, domains, tmp_path):
    split = tmp_path / "split"
    run("train", "cyclegan", "--data", domains, "--steps", "1", "--out", split, *SMALL)
    run("train", "cyclegan", "--resume", split, "--steps", "3", "--no-progress")
    assert_same_weights(trained[0], split, ("G_AB", "G_BA", "D_A", "D_B"))
    row = json.loads((split / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"d_a", "d_b", "g_gan", "cycle", "identity"} <= set(row)


def test_both_directions_export_and_translate_at_two_sizes(trained):
    run_dir, model = trained
    modules = load_run(run_dir).modules
    rng = np.random.default_rng(1)
    for path, role, direction in ((model, "G_AB", "AtoB"),
                                  (model.with_name("m.generator_ba.onnx"), "G_BA", "BtoA")):
        info = read_info(path)
        assert info.kind == "image" and info.size_multiple == 8
        assert info.extra["direction"] == direction
        assert json.loads(info.extra["parity_sizes"]) == [[32, 32], [40, 48]]
        tr = Translator.from_file(path, provider="cpu")
        for h, w in ((32, 32), (40, 48)):
            images = rng.integers(0, 256, (2, h, w, 3), dtype=np.uint8)
            with torch.no_grad():
                x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1)
                want = np.clip(np.rint((modules[role](x).numpy() + 1) * 127.5), 0, 255)
            assert np.abs(tr.translate(images).astype(int) - want.transpose(0, 2, 3, 1)).max() <= 1
