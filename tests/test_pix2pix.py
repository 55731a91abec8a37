"""pix2pix end to end: paired MNIST edges -> digits, training resume, export with dynamic height and
width, the torch-free Translator, ``gansrv translate``, and full-size (256 px) facades pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from gansrv.errors import UserError
from gansrv.runtime import Generator, Translator, read_info
from gansrv.train.load import load_run
from tests.conftest import assert_same_weights, one_line_error, run
from tests.paired_tasks import edge_maps, mnist_digits, write_pair_folders
from tests.torch_free import run_torch_free

SMALL = ("--image-size", "20", "--crop-size", "16", "--ngf", "8", "--ndf", "8", "--patch", "16",
         "--batch-size", "16", "--no-progress")


@dataclass
class Exported:
    run_dir: Path
    generator: Path
    discriminator: Path
    stdout: str


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, mnist_dir) -> Path:
    return write_pair_folders(tmp_path_factory.mktemp("pairs"), mnist_digits(mnist_dir, 0, 64))


@pytest.fixture(scope="module")
def exported(tmp_path_factory, pairs) -> Exported:
    root = tmp_path_factory.mktemp("pix2pix")
    run_dir = root / "run"
    run("train", "pix2pix", "--data", pairs, "--steps", "3", "--out", run_dir, *SMALL)
    out = root / "m.onnx"
    result = run("export", run_dir, "-o", out, "--with-discriminator")
    return Exported(run_dir, out, root / "m.discriminator.onnx", result.stdout)


def test_training_resumes_exactly_crops_and_flips_included(exported, pairs, tmp_path):
    split = tmp_path / "split"
    run("train", "pix2pix", "--data", pairs, "--steps", "1", "--out", split, *SMALL)
    run("train", "pix2pix", "--resume", split, "--steps", "3", "--no-progress")
    assert_same_weights(exported.run_dir, split, ("G", "D"))  # against 3 steps straight
    rows = [json.loads(line) for line in (split / "metrics.jsonl").read_text().splitlines()]
    assert {"d_loss", "g_gan", "g_l1"} <= set(rows[-1])
    grid = Image.open(split / "samples" / "step-000003.png")
    assert grid.size[0] > grid.size[1]  # one column per pair, rows: inputs, outputs, targets


def test_export_describes_an_image_graph_with_a_size_rule(exported):
    info = read_info(exported.generator)
    assert (info.family, info.kind, info.graph) == ("pix2pix", "image", "generator")
    assert info.input_names() == ["image"] and [t.name for t in info.outputs] == ["translated"]
    assert info.inputs[0].shape == ["batch", 1, "height", "width"]
    assert info.image_shape == (1, 16, 16) and info.size_multiple == 16  # 4 levels at 16 px
    assert json.loads(info.extra["parity_sizes"]) == [[16, 16], [32, 48]]
    assert 0 <= info.parity_max_abs_error <= 1e-4 and info.output_range == (-1.0, 1.0)
    proto = onnx.load(str(exported.generator))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[2].dim_param and dims[3].dim_param
    assert not {n.op_type for n in proto.graph.node} & {"Dropout", "RandomUniformLike"}
    G = load_run(exported.run_dir).modules["G"]
    assert any(isinstance(m, torch.nn.Dropout) for m in G.modules())  # dropout: train mode only
    disc = read_info(exported.discriminator)
    assert disc.input_names() == ["image", "target"] and disc.outputs[0].name == "patch_logits"
    assert disc.outputs[0].shape[1:] == [1, 6, 6]  # 16 px, 16 px patches: 6x6 of them
    assert "generator: " in exported.stdout and "discriminator: " in exported.stdout
    assert "any H and W that are multiples of 16" in run("info", exported.generator).stdout


def test_translator_matches_torch_at_two_sizes(exported):
    G = load_run(exported.run_dir).modules["G"]
    tr = Translator.from_file(exported.generator, provider="cpu")
    rng = np.random.default_rng(0)
    for n, h, w in ((3, 16, 16), (2, 32, 48)):
        images = rng.integers(0, 256, (n, h, w, 1), dtype=np.uint8)
        got = tr.translate(images, batch_size=2)
        with torch.no_grad():
            x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1)
            want = np.clip(np.rint((G(x).numpy() + 1) * 127.5), 0, 255).transpose(0, 2, 3, 1)
        assert got.shape == (n, h, w, 1) and got.dtype == np.uint8
        assert np.abs(got.astype(int) - want).max() <= 1
    rgb = np.repeat(images, 3, axis=3)
    assert np.array_equal(tr.translate(rgb[0]), tr.translate(images[0]))  # RGB -> grey, one image


def test_translator_refuses_other_sizes_and_graphs(exported):
    tr = Translator.from_file(exported.generator, provider="cpu")
    with pytest.raises(UserError, match="multiples of 16"):
        tr.translate(np.zeros((1, 20, 16, 1), dtype=np.uint8))
    assert tr.fit(20, 50) == (16, 48) and tr.fit(5, 5) == (16, 16)
    with pytest.raises(UserError, match="translate needs the generator"):
        Translator.from_file(exported.discriminator, provider="cpu")
    with pytest.raises(UserError, match="an image -> image model"):
        Generator.from_file(exported.generator, provider="cpu")


def _inputs(folder: Path, mnist: Path) -> Path:
    folder.mkdir()
    edges = edge_maps(mnist_digits(mnist, 8000, 5, size=16 + 12)[:, 6:22, 6:22])  # held-out digits
    for i, img in enumerate(edges):
        Image.fromarray(img).save(folder / f"edge{i}.png")
    Image.fromarray(np.zeros((32, 48, 3), dtype=np.uint8)).save(folder / "wide.png")  # RGB
    return folder


def test_translate_writes_resumes_and_guards_its_folder(exported, mnist, tmp_path):
    inputs, out = _inputs(tmp_path / "in", mnist), tmp_path / "out"
    first = run("translate", exported.generator, inputs, "--out", out, "--batch-size", "2",
                "--no-progress")
    assert "6 images translated, 0 already there" in first.stdout
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == [*(f"edge{i}.png" for i in range(5)), "wide.png"]
    assert Image.open(out / "wide.png").size == (48, 32)
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert [r["file_name"] for r in rows] == names and rows[0]["source"].endswith("edge0.png")
    manifest = json.loads((out / "gansrv-translate.json").read_text())
    assert manifest["tool"] == "gansrv translate" and len(manifest["inputs"]) == 6
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "edge3.png").unlink()
    (out / ".edge4.png.123.tmp").write_bytes(b"half")  # what a kill mid-write leaves
    again = run("translate", exported.generator, inputs, "--out", out, "--no-progress")
    assert "1 images translated, 5 already there" in again.stdout
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    other = run("translate", exported.generator, inputs, "--out", out, "--resize", expect=None)
    assert "another dataset" in one_line_error(other)
    run("translate", exported.generator, inputs, "--out", out, "--resize", "--overwrite",
        "--no-progress")


def test_translate_bad_inputs_are_one_line_and_write_nothing(exported, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((20, 16), dtype=np.uint8)).save(folder / "b.png")
    out = tmp_path / "out"
    res = run("translate", exported.generator, folder, "--out", out, expect=None)
    assert "b.png: 16x20 pixels" in one_line_error(res) and not out.exists()
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(tmp_path / "a.jpg")
    res = run("translate", exported.generator, folder / "a.png", tmp_path / "a.jpg", "--out", out,
              expect=None)
    assert "would both be written as a.png" in one_line_error(res) and not out.exists()
    (tmp_path / "c.png").write_bytes(b"no image")
    res = run("translate", exported.generator, tmp_path / "c.png", "--out", out, expect=None)
    assert "c.png: unreadable image" in one_line_error(res) and not out.exists()
    res = run("translate", exported.discriminator, folder / "a.png", "--out", out, expect=None)
    assert "translate needs the generator" in one_line_error(res) and not out.exists()


def test_translator_never_imports_torch(exported):
    code = (
        "import sys\nimport numpy as np\n"
        "from gansrv.runtime import Translator\n"
        f"t = Translator.from_file({str(exported.generator)!r})\n"
        "y = t.translate(np.zeros((3, 32, 16, 1), dtype=np.uint8))\n"
        "assert y.shape == (3, 32, 16, 1), y.shape\n"
        "print('ok')\n")
    assert run_torch_free(code).stdout == "ok\n"


def test_full_size_facades_pairs_train_export_and_translate(facades, tmp_path):  # noqa: F811
    run_dir, model = tmp_path / "run", tmp_path / "facades.onnx"
    run("train", "pix2pix", "--data", facades / "train", "--direction", "BtoA", "--steps", "1",
        "--ngf", "2", "--ndf", "2", "--batch-size", "2", "--no-progress", "--out", run_dir)
    assert json.loads((run_dir / "config.json").read_text())["data"]["size"] == 256
    run("export", run_dir, "-o", model)
    info = read_info(model)
    assert info.image_shape == (3, 256, 256) and info.size_multiple == 256  # 8 levels: 1x1 bottleneck
    labels = tmp_path / "labels"
    labels.mkdir()
    Image.open(facades / "test" / "3.jpg").crop((256, 0, 512, 256)).save(labels / "3.png")
    run("translate", model, labels, "--out", tmp_path / "out", "--no-progress")
    out = np.asarray(Image.open(tmp_path / "out" / "3.png"))
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8


def test_colour_jitter_reaches_the_training_inputs(pairs, tmp_path):
    plain, jittered = tmp_path / "plain", tmp_path / "jittered"
    run("train", "pix2pix", "--data", pairs, "--steps", "1", "--out", plain, *SMALL)
    run("train", "pix2pix", "--data", pairs, "--steps", "1", "--out", jittered, "--jitter", "0.5",
        *SMALL)
    assert json.loads((jittered / "config.json").read_text())["config"]["jitter"] == 0.5
    a, b = load_run(plain).modules["G"], load_run(jittered).modules["G"]
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("family", ["pix2pix", "cyclegan"])
def test_image_families_show_no_named_default_data(family):
    """A named dataset cannot feed an image -> image family: --help shows no `digits` default, and
    a new run without --data is a usage error naming the layout it needs."""
    assert "default: digits" not in run("train", family, "--help").output
    line = one_line_error(run("train", family, "--steps", "1", expect=2))
    assert "needs --data" in line and ("trainA/" in line) == (family == "cyclegan")
