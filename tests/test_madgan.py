"""madgan: k generators on one trunk, a (k+1)-way D; one exported graph whose ``label`` picks the
generator, through the real CLI, onnxruntime, generate, eval and the demo."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from gansrv.runtime import Generator, noise, read_info
from gansrv.train.load import load_run
from tests.conftest import MNIST, metrics_rows, one_line_error, run, train_and_resume

FAST = ("--data", "digits", "--limit", "256", "--batch-size", "15", "--no-progress", "--log-every", "1",
        "--sample-every", "0", "--g-width", "8", "--d-width", "8", "--generators", "3")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("madgan")
    run("train", "madgan", *FAST, "--steps", "3", "--out", root / "run")
    run("export", root / "run", "--onnx", "-o", root / "mad.onnx", "--with-discriminator")
    return root


@pytest.fixture(scope="module")
def gen(smoke) -> Generator:
    return Generator.from_file(smoke / "mad.onnx", provider="cpu")


def test_resume_repeats_an_uninterrupted_run_exactly(tmp_path):
    full, part = train_and_resume("madgan", tmp_path, 4, *FAST, "--checkpoint-every", "2")
    a, b = metrics_rows(full), metrics_rows(part)
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    assert [(r["loss_d"], r["loss_g"], r["d_source_acc"]) for r in a] == \
        [(r["loss_d"], r["loss_g"], r["d_source_acc"]) for r in b]
    ma, mb = load_run(full).modules, load_run(part).modules
    for k in ("G", "D"):
        pairs = zip(ma[k].state_dict().values(), mb[k].state_dict().values())
        assert all(torch.equal(x, y) for x, y in pairs)


def test_generators_share_all_but_their_last_layer(smoke):
    G = load_run(smoke / "run").modules["G"]
    assert G.k == 3 and len(G.heads) == 3
    assert not torch.equal(G.heads[0].weight, G.heads[1].weight)
    D = load_run(smoke / "run").modules["D"]
    assert D(torch.zeros(2, 1, 28, 28)).shape == (2, 4)  # generator 0, 1, 2 or real


def test_one_graph_selects_each_generator_exactly_like_torch(smoke, gen):
    """z and label = which generator; the label's head, computed alone in torch, is what ORT gives."""
    info = gen.info
    assert (info.kind, info.input_names(), info.class_names) == (
        "code", ["z", "label"], ["generator-0", "generator-1", "generator-2"])
    assert gen.code_spec is None and gen.code_model and gen.conditional
    G = load_run(smoke / "run").modules["G"].eval()
    z = noise(7, np.arange(6), info.latent_dim)
    with torch.no_grad():
        h = G.trunk(torch.from_numpy(z)[:, :, None, None])
        alone = [torch.tanh(head(h)).numpy() for head in G.heads]
    for j in range(3):
        (got,) = gen.model.session.run(["image"], {"z": z, "label": np.full(6, j, dtype=np.int64)})
        assert np.abs(got - alone[j]).max() < 1e-5
    mixed = gen.generate(6, seed=7)  # balanced: image i from generator i mod 3, the uniform mixture
    for i in range(6):
        assert np.array_equal(mixed[i], gen.generate(1, seed=7, start=i, labels=i % 3)[0])
    d = read_info(smoke / "mad.discriminator.onnx")  # reads like any family's D: a logit first
    assert [t.name for t in d.outputs] == ["logit", "source_logits"]


def test_generate_classes_picks_one_generator(smoke, gen, tmp_path):
    run("generate", smoke / "mad.onnx", "--out", tmp_path / "g2", "--classes", "generator-2", "--n", "4",
        "--seed", "3", "--provider", "cpu")
    rows = [json.loads(x) for x in (tmp_path / "g2" / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and {r["label"] for r in rows} == {2}
    for r in rows:
        assert r["file_name"].startswith("generator-2/")
    first = sorted(rows, key=lambda r: r["file_name"])[0]
    img = np.asarray(Image.open(tmp_path / "g2" / first["file_name"]))
    assert img.shape == (28, 28)
    result = run("generate", smoke / "mad.onnx", "--out", tmp_path / "bad", "--classes", "generator-3",
                 "--n", "2", expect=None)
    assert "generator-3" in one_line_error(result, result.exit_code)
    result = run("generate", smoke / "mad.onnx", "--out", tmp_path / "bad2", "--codes", "0.5",
                 "--n", "2", expect=None)
    assert "continuous codes" in one_line_error(result, result.exit_code)


@pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")
def test_demo_offers_the_generator_choice(smoke, gen):
    from gansrv.demo import actions
    from gansrv.demo.models import Limits, load_models

    models, _ = load_models([smoke / "mad.onnx"], provider="cpu")
    m = models["mad"]
    assert m.generator is not None and m.categorical_only and m.code_dim == 0
    assert "class" in m.controls and "batch" in m.controls and "codes" not in m.controls
    got = actions.generate(m, Limits(max_images=8), 5, 4, 0, "generator-1")
    want = gen.generate(4, seed=5, labels=1)[..., 0]
    assert np.array_equal(np.stack(got), want)
    each = actions.one_of_each(m, 5)
    assert [name for _, name in each] == ["generator-0", "generator-1", "generator-2"]


def test_eval_reports_generator_index_against_digit_class(tmp_path):
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    run("train", "madgan", "--data", MNIST, "--limit", "1000", "--steps", "20", "--batch-size", "30",
        "--g-width", "8", "--d-width", "8", "--generators", "3", "--no-progress", "--sample-every", "0",
        "--out", tmp_path / "run")
    run("export", tmp_path / "run", "-o", tmp_path / "mad.onnx")
    old = os.environ.get("GANSRV_CACHE")
    os.environ["GANSRV_CACHE"] = str(tmp_path / "cache")
    try:
        result = run("eval", tmp_path / "mad.onnx", "--data", MNIST, "--train-limit", "1000",
                     "--classifier-epochs", "1", "--n", "300", "--test-limit", "200", "--metrics", "fid",
                     "--json", tmp_path / "f.json")
    finally:
        if old is None:
            del os.environ["GANSRV_CACHE"]
        else:
            os.environ["GANSRV_CACHE"] = old
    figures = json.loads((tmp_path / "f.json").read_text())
    assert 0 <= figures["code_nmi"] <= 1 and 1 / 10 <= figures["code_purity"] <= 1
    assert "code_purity_chance" in figures and "fid" in figures and "class_accuracy" not in figures
    assert "code purity" in result.stdout and "code NMI" in result.stdout
