"""`gansrv eval`: the figures mean what they claim, and bad input is one line.

The metric tests score real MNIST images (perturbed on purpose) with a small evaluator trained for
three epochs on 1,000 images: enough for the directions to be unmistakable, cheap enough for seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gansrv.data import Dataset, load_dataset
from gansrv.metrics import distances
from gansrv.metrics.evaluate import Options, run_metrics
from gansrv.metrics.evaluator import get_evaluator
from gansrv.metrics.recipe import Recipe
from gansrv.metrics.split import Split
from gansrv.runtime import read_info
from tests.conftest import EVAL_FAST, MNIST, QUIET, one_line_error, run

FAST = EVAL_FAST


@pytest.fixture(scope="module")
def cache(evaluator_cache: Path) -> Path:
    return evaluator_cache


@pytest.fixture(scope="module")
def bench(cache):
    """(split, evaluator, pool, opts): the evaluator learns from images 0-999, metrics use the
    held-out 9000-9999, and the 'generated' sets are drawn from images 1000-4999 (seen by neither)."""
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    ds = load_dataset([str(MNIST)])

    def part(lo: int, hi: int) -> Dataset:
        return Dataset(ds.images[lo:hi], ds.labels[lo:hi], ds.class_names, f"mnist[{lo}:{hi}]")

    split = Split(part(0, 1000), part(9000, 10000))
    opts = Options(n=1000, recipe=Recipe(epochs=3))
    return split, get_evaluator(split.train, opts.recipe, QUIET), part(1000, 5000), opts


def _scores(ev, split: Split, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    _, real = ev.run(split.test.images)
    pred, feat = ev.run(images)
    p, r = distances.precision_recall(real, feat)
    return {"fid": distances.frechet_distance(real, feat),
            "kid": distances.kernel_inception_distance(real, feat, subsets=20)[0],
            "precision": p, "recall": r, "class_accuracy": float(np.mean(pred == labels))}


def _noisy(images: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, images.shape)
    return np.clip(images + noise, 0, 255).astype(np.uint8)


def test_a_set_against_itself_scores_perfectly(bench):
    split, ev, _, _ = bench
    _, feat = ev.run(split.test.images)
    assert distances.frechet_distance(feat, feat) < 1e-6
    assert distances.precision_recall(feat, feat) == (1.0, 1.0)
    # KID is unbiased for independent samples, so compare two random halves of the held-out set:
    # zero within the estimate's own spread. (The same set twice gives a small negative value.)
    order = np.random.default_rng(0).permutation(len(feat))
    kid, kid_std = distances.kernel_inception_distance(feat[order[:500]], feat[order[500:]],
                                                       subsets=20, subset_size=400)
    assert abs(kid) < 3 * kid_std, (kid, kid_std)


def test_fid_of_shifted_gaussians_is_the_squared_mean_shift():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20000, 4)), rng.standard_normal((20000, 4)) + [3.0, 0, 0, 0]
    assert distances.frechet_distance(a, b) == pytest.approx(9.0, rel=0.02)


def test_more_noise_makes_every_metric_worse(bench):
    split, ev, pool, _ = bench
    x, y = pool.images[:1000], pool.labels[:1000]
    s = [_scores(ev, split, _noisy(x, sigma) if sigma else x, y) for sigma in (0, 50, 100)]
    for key in ("fid", "kid"):
        assert s[0][key] < s[1][key] < s[2][key], (key, s)
    for key in ("precision", "recall", "class_accuracy"):
        assert s[0][key] > s[1][key] > s[2][key], (key, s)


def test_dropping_classes_worsens_distance_and_recall_not_fidelity(bench):
    """FID, KID and recall see the missing classes; precision and class accuracy measure whether
    each sample is realistic and correct, which the remaining samples still are (by design)."""
    split, ev, pool, _ = bench
    s = []
    for k in (10, 7, 4):
        keep = np.flatnonzero(pool.labels < k)[:1000]
        s.append(_scores(ev, split, pool.images[keep], pool.labels[keep]))
    for key in ("fid", "kid"):
        assert s[0][key] < s[1][key] < s[2][key], (key, s)
    assert s[0]["recall"] > s[1]["recall"] > s[2]["recall"], s
    for key in ("precision", "class_accuracy"):
        assert min(r[key] for r in s) > s[0][key] - 0.05, (key, s)


def test_cas_on_real_images_matches_the_ceiling_and_drops_with_damage(bench):
    split, ev, pool, opts = bench
    x, y = pool.images[:1000], pool.labels[:1000]
    real = run_metrics(ev, split, x, y, ["cas"], opts, QUIET)
    assert real["cas_ceiling_images"] == 1000
    assert abs(real["cas"] - real["cas_ceiling"]) <= 0.03, real  # other real images, same protocol
    keep = np.flatnonzero(pool.labels < 4)[:1000]
    dropped = run_metrics(ev, split, pool.images[keep], pool.labels[keep], ["cas"], opts, QUIET)
    noisy = run_metrics(ev, split, _noisy(x, 100), y, ["cas"], opts, QUIET)
    assert dropped["cas"] < real["cas"] - 0.2 and noisy["cas"] < real["cas"] - 0.02, (real, dropped, noisy)


# -- the command ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cgan_eval(exports, cache, tmp_path_factory):  # noqa: F811
    """One full `gansrv eval --record` of the exported cgan (a copy: the session's file stays)."""
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    mnist = MNIST
    tmp = tmp_path_factory.mktemp("eval")
    model = tmp / "cgan.onnx"
    model.write_bytes(exports("cgan").generator.read_bytes())
    model.chmod(0o644)
    result = run("eval", model, "--data", mnist, "--train-limit", "1000", *FAST,
                 "--json", tmp / "figures.json", "--record")
    return model, result, json.loads((tmp / "figures.json").read_text())


def test_eval_prints_writes_and_records_every_figure(cgan_eval):
    model, result, figures = cgan_eval
    for key in ("fid", "real_fid", "kid", "precision", "recall", "class_accuracy", "cas",
                "cas_ceiling", "aug_gain", "evaluator_accuracy"):
        assert isinstance(figures[key], float), key
    assert figures["n"] == 200 and figures["held_out_images"] == 400 and figures["train_images"] == 1000
    for label in ("FID", "KID", "precision", "recall", "class-acc", "CAS", "aug gain"):
        assert f"\n{label} " in result.stdout, label
    assert model.stat().st_mode & 0o777 == 0o644  # rewritten in place, permissions kept
    recorded = json.loads(read_info(model).extra["metrics"])
    assert recorded["fid"] == figures["fid"] and recorded["cas"] == figures["cas"]
    info = run("info", model).stdout
    assert f"FID {figures['fid']:.3g}" in info and "CAS ceiling" in info


def test_eval_is_deterministic_and_needs_no_torch_with_a_cached_evaluator(cgan_eval, cache, mnist,
                                                                          tmp_path):
    """A fresh interpreter (cached evaluator from the fixture's run) reproduces the fixture's FID
    and class accuracy without ever importing torch."""
    model, _, figures = cgan_eval
    code = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from gansrv.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['eval', {str(model)!r}, '--data', {str(mnist)!r}, "
        f"'--train-limit', '1000', *{FAST!r}, '--metrics', 'fid,class-acc',"
        f" '--json', {str(tmp_path / 'f.json')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "GANSRV_CACHE": str(cache)}, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("NO-TORCH"), proc.stdout
    again = json.loads((tmp_path / "f.json").read_text())
    assert again["fid"] == figures["fid"] and again["class_accuracy"] == figures["class_accuracy"]


def test_unconditional_model_skips_class_metrics_and_says_why(exports, cache, mnist, tmp_path):  # noqa: F811
    model = exports("dcgan").generator
    result = run("eval", model, "--data", mnist, "--train-limit", "1000", *FAST,
                 "--json", tmp_path / "f.json")
    assert "class-acc, cas, aug skipped: dcgan is unconditional" in result.stderr
    figures = json.loads((tmp_path / "f.json").read_text())
    assert "fid" in figures and "class_accuracy" not in figures and "cas" not in figures
    line = one_line_error(run("eval", model, "--data", mnist, "--train-limit", "1000", *FAST,
                              "--metrics", "class-acc,cas", expect=None))
    assert "unconditional" in line and "nothing left" in line


@pytest.mark.parametrize("args, expected", [
    ((), "no held-out split"),
    (("--train-limit", "10000"), "leaves no held-out images"),
    (("--train-limit", "1000", "--metrics", "fid,bogus"), "unknown bogus"),
    (("--train-limit", "1000", "--n", "0"), "--n"),
])
def test_bad_input_is_one_line(exports, mnist, args, expected):  # noqa: F811
    line = one_line_error(run("eval", exports("cgan").generator, "--data", mnist, *args, expect=None))
    assert expected in line, line


def test_mismatched_image_size_is_one_line_and_names_the_fix(exports, tmp_path):  # noqa: F811
    model = exports("cgan").generator
    before = model.read_bytes()
    line = one_line_error(run("eval", model, "--data", "digits", "--train-limit", "1000", "--record",
                              "--json", tmp_path / "f.json", expect=None))
    assert "1x28x28" in line and "1x8x8" in line and "--resize" in line, line
    assert model.read_bytes() == before and not (tmp_path / "f.json").exists()


def test_test_data_names_the_same_held_out_split_another_way(cgan_eval, tmp_path):
    """--test-data with the images --train-limit would hold out gives the very same figures."""
    model, _, figures = cgan_eval
    ds = load_dataset([str(MNIST)])
    np.savez(tmp_path / "held.npz", images=ds.images[1000:1400, 0], labels=ds.labels[1000:1400])
    run("eval", model, "--data", MNIST, "--train-limit", "1000", "--test-data", tmp_path / "held.npz",
        "--classifier-epochs", "1", "--n", "200", "--metrics", "fid,pr", "--json", tmp_path / "f.json")
    again = json.loads((tmp_path / "f.json").read_text())
    assert again["held_out_images"] == 400
    assert (again["fid"], again["precision"]) == (figures["fid"], figures["precision"])


def test_classifier_weights_do_not_depend_on_the_callers_thread_count() -> None:
    """The recipe fixes torch's thread count while training (float sums are split by thread), so a
    2-core and a 1-core process build the same evaluator; the caller's count is restored."""
    import torch

    from gansrv.metrics import classifier

    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    ds = load_dataset([str(MNIST)])
    images, labels = ds.images[:256], ds.labels[:256]
    recipe = Recipe(epochs=1, batch_size=32)
    saved = torch.get_num_threads()
    weights = []
    try:
        for threads in (2, 1):
            torch.set_num_threads(threads)
            model = classifier.train(images, labels, 10, recipe)
            assert torch.get_num_threads() == threads
            weights.append({k: v.clone() for k, v in model.state_dict().items()})
    finally:
        torch.set_num_threads(saved)
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
