"""The low-data augmentation protocol of `gansrv eval` (--real-limit, --mix): an equal step budget
for the real-only baseline, the share of generated images per batch, and its bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gansrv.data import Dataset, load_dataset
from gansrv.metrics import classifier
from gansrv.metrics.evaluate import Options, low_data_gain
from gansrv.metrics.recipe import Recipe
from gansrv.metrics.split import Split
from tests.conftest import EVAL_FAST as FAST
from tests.conftest import MNIST, QUIET, one_line_error, run


@pytest.fixture(scope="module")
def digits():
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    ds = load_dataset([str(MNIST)])

    def part(lo: int, hi: int) -> Dataset:
        return Dataset(ds.images[lo:hi], ds.labels[lo:hi], ds.class_names, f"mnist[{lo}:{hi}]")

    return Split(part(0, 1000), part(9000, 9600)), part(2000, 3000)


def test_mix_zero_trains_on_real_images_only_for_the_same_steps(digits):
    split, pool = digits
    real = (split.train.images[:64], split.train.labels[:64])
    recipe = Recipe(epochs=1)
    a = classifier.train_mixed(real, None, 0.0, 5, 10, recipe)
    b = classifier.train_mixed(real, (pool.images, pool.labels), 0.0, 5, 10, recipe)
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(p, q)


def test_real_images_as_the_generated_set_give_a_gain(digits):
    """Perfect 'generated' images (1,000 unseen real digits) must beat 50 real ones alone at the
    same step budget: the protocol measures what extra data is worth, not extra updates."""
    split, pool = digits
    opts = Options(recipe=Recipe(epochs=5), real_limit=50, mix=0.5)
    figures = low_data_gain(split, pool.images, pool.labels, opts, QUIET)
    assert figures["aug_real_images"] == 50 and figures["aug_mix"] == 0.5
    assert figures["aug_steps"] == 5 * -(-(50 + 1000) // 64)
    assert figures["aug_gain"] > 0.05, figures
    assert figures["aug_gain"] == figures["aug_accuracy"] - figures["aug_real_accuracy"]
    concatenated = low_data_gain(split, pool.images, pool.labels,
                                 Options(recipe=Recipe(epochs=5), real_limit=50), QUIET)
    assert concatenated["aug_mix"] == pytest.approx(1000 / 1050)
    assert np.isclose(concatenated["aug_real_accuracy"], figures["aug_real_accuracy"])


def test_eval_cli_reports_the_low_data_figures(exports, evaluator_cache, tmp_path):
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    model = exports("cgan").generator
    result = run("eval", model, "--data", MNIST, "--train-limit", "1000", *FAST, "--metrics", "aug",
                 "--real-limit", "100", "--mix", "0.25", "--json", tmp_path / "f.json")
    figures = json.loads((tmp_path / "f.json").read_text())
    assert figures["aug_real_images"] == 100 and figures["aug_mix"] == 0.25
    assert "aug gain" in result.stdout
    assert f"{figures['aug_real_accuracy']:.4f}" in result.stdout  # the reference: real alone
    for args, expected in [(("--real-limit", "5000"), "more than the 1000"),
                           (("--mix", "1.5"), "--mix"),
                           (("--real-limit", "10", "--metrics", "fid"), "add aug")]:
        line = one_line_error(run("eval", model, "--data", MNIST, "--train-limit", "1000", *FAST,
                                  *args, expect=None))
        assert expected in line, line
