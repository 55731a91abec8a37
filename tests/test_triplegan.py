"""triplegan through the real CLI and onnxruntime: a few-label run on MNIST exports a generator, a
classifier that `gansrv classify` runs and that matches torch's averaged C, a pair discriminator;
`gansrv eval` scores the classifier's held-out accuracy; `--players classifier` trains C alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gansrv.data import load_dataset
from gansrv.generate.writer import encode_png
from gansrv.runtime import Classifier, read_info
from gansrv.train.load import load_run
from tests.conftest import generate, one_line_error, run

TRAIN, HELD_OUT = 8000, 2000
SMALL = ("--g-width", "16", "--d-width", "16", "--c-width", "16")
# 80 steps (60 of C pre-training, 20 of the game) from 100 labels: the averaged C measured 45.7 %
# on the held-out 2,000 (CPU, seed 0, OMP_NUM_THREADS=1, 2026-12-01; chance is 10 %); the bar
# leaves room for thread-order noise.
STEPS, MIN_ACCURACY = 80, 0.30


@pytest.fixture(scope="module")
def few_labels(tmp_path_factory, mnist_dir):
    """triplegan on MNIST's first 8,000 images with 10 labels per class, exported: (run, stem)."""
    root = tmp_path_factory.mktemp("triplegan")
    run("train", "triplegan", "--data", mnist_dir, "--limit", TRAIN, "--labels-per-class", "10",
        "--steps", STEPS, "--c-pretrain", "60", "--warmup", "70", *SMALL, "--no-progress",
        "--out", root / "run", "--sample-every", "0", "--checkpoint-every", "1000")
    run("export", root / "run", "-o", root / "m.onnx", "--with-discriminator")
    return root / "run", root / "m"


@pytest.fixture(scope="module")
def held_out(mnist_dir):
    ds = load_dataset([str(mnist_dir)])
    return ds.images[TRAIN:TRAIN + HELD_OUT].transpose(0, 2, 3, 1), ds.labels[TRAIN:TRAIN + HELD_OUT]


def _path(stem, graph=""):
    return stem.with_name(f"{stem.name}{'.' + graph if graph else ''}.onnx")


def test_three_graphs_carry_the_labelled_count_and_seed(few_labels):
    run_dir, stem = few_labels
    gen, clf, disc = (read_info(_path(stem, g)) for g in ("", "classifier", "discriminator"))
    assert (gen.kind, gen.input_names()) == ("conditional", ["z", "label"])
    assert (clf.kind, clf.input_names(), [t.name for t in clf.outputs]) == (
        "classifier", ["image"], ["logits", "probs"])
    assert json.loads(clf.extra["input_range"]) == [-1.0, 1.0]
    assert disc.input_names() == ["image", "label"] and [t.name for t in disc.outputs] == ["logit"]
    for info in (gen, clf, disc):
        assert info.extra["labelled"] == "100" and info.extra["label_seed"] == "0"
        assert 0 <= info.parity_max_abs_error <= 1e-4
    shown = run("info", _path(stem, "classifier")).stdout
    assert "100 known (label seed 0)" in shown


def test_exported_classifier_is_the_averaged_c(few_labels, held_out):
    run_dir, stem = few_labels
    images = held_out[0][:300]
    onnx_probs = Classifier.from_file(_path(stem, "classifier"), provider="cpu").predict(images).probs
    loaded = load_run(run_dir)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1)
    with torch.no_grad():
        avg = torch.softmax(loaded.modules["C_avg"](x), 1).numpy()
        live = torch.softmax(loaded.modules["C"](x), 1).numpy()
    assert np.abs(onnx_probs - avg).max() < 1e-4
    assert np.abs(onnx_probs - live).max() > 1e-3  # the average, not C's last weights


def test_eval_scores_the_classifier_on_held_out_images(few_labels, held_out, mnist_dir, tmp_path):
    _, stem = few_labels
    model = _path(stem, "classifier")
    out = tmp_path / "acc.json"
    result = run("eval", model, "--data", mnist_dir, "--train-limit", TRAIN, "--json", out)
    figures = json.loads(out.read_text())
    images, labels = held_out
    direct = float((Classifier.from_file(model, provider="cpu").predict(images).labels == labels).mean())
    assert figures["held_out_accuracy"] == pytest.approx(direct)
    assert figures["held_out_images"] == HELD_OUT and figures["labelled"] == 100
    assert figures["held_out_accuracy"] >= MIN_ACCURACY
    assert f"held-out accuracy {direct:.4f}" in result.stdout
    assert len(figures["per_class_accuracy"]) == 10
    bad = run("eval", model, "--data", mnist_dir, "--train-limit", TRAIN, "--metrics", "fid",
              expect=None)
    assert "classifier graph" in one_line_error(bad)


def test_classify_labels_the_unlabelled_images_and_generate_makes_a_labelled_set(
        few_labels, held_out, tmp_path):
    """The README's story: classify the images without labels, generate a labelled dataset."""
    _, stem = few_labels
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    images = held_out[0][:30]
    for i, image in enumerate(images):
        (folder / f"{i:03d}.png").write_bytes(encode_png(image))
    result = run("classify", _path(stem, "classifier"), folder, "--json", tmp_path / "p.json")
    assert len(result.stdout.splitlines()) == 30
    preds = [p["label"] for p in json.loads((tmp_path / "p.json").read_text())["predictions"]]
    direct = Classifier.from_file(_path(stem, "classifier"), provider="cpu").predict(images)
    assert preds == direct.labels.tolist()
    generate(_path(stem), tmp_path / "gen", "--per-class", "3", "--seed", "1")
    classes = sorted(p.name for p in (tmp_path / "gen").iterdir() if p.is_dir())
    assert classes == [str(k) for k in range(10)]
    assert all(len(list((tmp_path / "gen" / c).glob("*.png"))) == 3 for c in classes)


def test_classifier_players_train_c_alone(tmp_path):
    common = ("--data", "digits", "--limit", "200", "--batch-size", "16", "--players", "classifier",
              "--no-progress", "--sample-every", "0", "--labels-per-class", "3",
              "--g-width", "8", "--d-width", "8", "--c-width", "8")
    for steps in (2, 4):
        run("train", "triplegan", "--steps", steps, "--out", tmp_path / f"r{steps}", *common)
    a = load_file(str(tmp_path / "r2" / "checkpoints" / "step-00000002" / "weights.safetensors"))
    b = load_file(str(tmp_path / "r4" / "checkpoints" / "step-00000004" / "weights.safetensors"))
    untouched = [k for k in a if k.startswith(("G.", "D."))]
    assert untouched and all(torch.equal(a[k], b[k]) for k in untouched)
    assert not all(torch.equal(a[k], b[k]) for k in a if k.startswith("C."))


def test_pseudo_weight_ramps_in_and_c_has_its_own_betas(tmp_path):
    """G's pairs join C's loss at --warmup and reach --pseudo-weight after --pseudo-ramp steps;
    --c-beta1 changes C's Adam only (G and D keep --beta1)."""
    out = tmp_path / "run"
    run("train", "triplegan", "--data", "digits", "--limit", "200", "--batch-size", "16",
        "--labels-per-class", "3", "--g-width", "8", "--d-width", "8", "--c-width", "8",
        "--c-pretrain", "1", "--warmup", "2", "--pseudo-ramp", "4", "--pseudo-weight", "0.4",
        "--c-beta1", "0.9", "--steps", "7", "--log-every", "1", "--no-progress",
        "--sample-every", "0", "--out", out)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    weights = [round(r.get("pseudo_weight", 0.0), 6) for r in rows]
    assert weights == [0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.4]
    state = torch.load(out / "checkpoints" / "step-00000007" / "state.pt", weights_only=True)
    betas = {k: tuple(v["param_groups"][0]["betas"]) for k, v in state["optimizers"].items()}
    assert betas == {"G": (0.5, 0.999), "D": (0.5, 0.999), "C": (0.9, 0.999)}


def test_real_pseudo_moves_d_and_old_runs_load_without_it(tmp_path):
    """--real-pseudo gives D's real side a second, C-labelled unlabelled batch: D ends elsewhere
    than with 0 from the same seed; a config.json saved before the option loads with it off."""
    common = ("--data", "digits", "--limit", "200", "--batch-size", "16", "--labels-per-class", "3",
              "--g-width", "8", "--d-width", "8", "--c-width", "8", "--c-pretrain", "1",
              "--steps", "3", "--no-progress", "--sample-every", "0")
    for share in ("0", "0.9"):
        run("train", "triplegan", "--real-pseudo", share, "--out", tmp_path / share, *common)
    path = "checkpoints/step-00000003/weights.safetensors"
    a, b = (load_file(str(tmp_path / s / path)) for s in ("0", "0.9"))
    assert not all(torch.equal(a[k], b[k]) for k in a if k.startswith("D."))
    family = load_run(tmp_path / "0").family
    old = family.saved_config({})
    assert old.real_pseudo == 0.0 and old.pseudo_ramp == 0 and old.real_confidence == 0.0
    assert family.Config().real_pseudo == 0.9 and family.Config().real_confidence == 0.9


def test_real_confidence_keeps_only_the_pairs_c_is_sure_of():
    """D's real side with --real-confidence: unlabelled images C labels below the bar drop out of
    the mean; a bar above every confidence leaves the labelled pairs' share alone; 0 keeps all."""
    from types import SimpleNamespace

    import torch.nn.functional as F

    from gansrv_plugins.triplegan.step import real_loss

    torch.manual_seed(0)
    xr = torch.randn(8, 1, 4, 4)
    logits = torch.randn(8, 3) * torch.arange(1, 9).float()[:, None]  # confidences spread out
    conf = torch.softmax(logits, 1).max(1).values
    C = lambda x: logits  # noqa: E731 - C's logits for xr, fixed so the confidences are known
    D = lambda x, y: (x.flatten(1).sum(1) + y.argmax(1)).float()  # noqa: E731
    real = torch.tensor([0.5, -0.5])

    def loss(bar: float) -> float:
        config = SimpleNamespace(real_pseudo=0.9, real_confidence=bar)
        ctx = SimpleNamespace(config=config, modules={"C": C}, num_classes=3,
                              next_batch=lambda: (xr, None))
        return real_loss(ctx, D, real).item()

    on_r = D(xr, torch.eye(3)[logits.argmax(1)])
    per = F.binary_cross_entropy_with_logits(on_r, torch.ones_like(on_r), reduction="none")
    labelled = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)).item()
    bar = conf.median().item()
    assert loss(0.0) == pytest.approx(0.1 * labelled + 0.9 * per.mean().item(), rel=1e-6)
    assert loss(bar) == pytest.approx(0.1 * labelled + 0.9 * per[conf >= bar].mean().item(), rel=1e-6)
    assert loss(conf.max().item() + 1e-6) == pytest.approx(0.1 * labelled, rel=1e-6)
