"""stargan end to end through the real CLI and onnxruntime: a folder of domains (one subfolder each),
exact resume, the domain grid, the export (image + label -> translated, any multiple of 4, domains as
class names, the domain head as a classifier graph), Translator.translate(to=...), ``gansrv info``,
``gansrv classify`` and ``gansrv translate --to DOMAIN | all`` with resume, shards and errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gansrv.errors import UserError
from gansrv.runtime import Classifier, Translator, load, read_info
from gansrv.train import pictures
from gansrv.train.load import load_run
from tests.conftest import assert_same_weights, one_line_error, run, train_and_resume

DOMAINS = ("dark", "inverted", "plain")  # folder names, so class indices 0, 1, 2
SMALL = ("--image-size", "16", "--g-width", "4", "--d-width", "4", "--blocks", "1",
         "--n-critic", "2", "--batch-size", "4", "--no-progress")


@dataclass
class Exported:
    run_dir: Path
    generator: Path
    classifier: Path


def write_domains(root: Path, per_domain: int = 4, side: int = 20, channels: int = 1) -> Path:
    rng = np.random.default_rng(0)
    shape = (side, side) if channels == 1 else (side, side, channels)
    for name in DOMAINS:
        (root / name).mkdir(parents=True)
        for i in range(per_domain):
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> Path:
    return write_domains(tmp_path_factory.mktemp("domains"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory, domains) -> Exported:
    root = tmp_path_factory.mktemp("stargan")
    run("train", "stargan", "--data", domains, "--steps", "3", "--out", root / "run", *SMALL)
    run("export", root / "run", "-o", root / "m.onnx")
    return Exported(root / "run", root / "m.onnx", root / "m.classifier.onnx")


def test_training_resumes_exactly(domains, tmp_path):
    full, part = train_and_resume("stargan", tmp_path, 4, "--data", domains, *SMALL)
    assert_same_weights(full, part, ("G", "D"))
    rows = [json.loads(line) for line in (part / "metrics.jsonl").read_text().splitlines()]
    assert {"d_adv", "d_cls", "gp", "d_acc", "g_adv", "g_cls", "g_rec"} <= set(rows[-1])


def test_grid_rows_show_each_input_translated_to_every_domain(exported):
    grid = Image.open(exported.run_dir / "samples" / "step-000003.png")
    cell = 16 * 4 + 2  # 16 px upscaled to MIN_CELL's multiple, plus the 2 px gap
    margin = 8 + max(map(len, DOMAINS)) * 7
    assert grid.size == (margin + (1 + len(DOMAINS)) * cell + 2, 22 + 8 * cell + 2)  # 8 rows


def test_domain_rows_take_the_domains_in_turn():
    labels = np.array([2, 0, 0, 1, 2, 0])
    assert pictures.domain_rows(labels, 3, 6).tolist() == [1, 3, 0, 2, 4, 5]
    assert pictures.domain_rows(labels, 3, 8).tolist() == [1, 3, 0, 2, 4, 5]  # all there are
    assert pictures.domain_rows(labels, 3, 4).tolist() == [1, 3, 0, 2]
    cells = pictures.domain_grid_cells(np.array([[10], [20]]), np.arange(6)[:, None], 3)
    assert cells[:, 0].tolist() == [10, 0, 1, 2, 20, 3, 4, 5]


def test_export_takes_image_and_target_domain_at_any_multiple_of_4(exported):
    info = read_info(exported.generator)
    assert info.family == "stargan" and info.kind == "image"
    assert info.input_names() == ["image", "label"] and info.outputs[0].name == "translated"
    assert info.class_names == list(DOMAINS) and info.num_classes == 3
    assert info.size_multiple == 4 and "multiples of 4" in info.extra["size_rule"]
    assert "target domain" in info.inputs[1].meaning
    head = read_info(exported.classifier)
    assert head.kind == "classifier" and head.class_names == list(DOMAINS)
    assert info.parity_max_abs_error < 1e-4 and head.parity_max_abs_error < 1e-4


def torch_translation(G: torch.nn.Module, images: np.ndarray, k: int) -> np.ndarray:
    """What the torch G makes of uint8 NHWC ``images`` for domain ``k``, as uint8 NHWC."""
    x = torch.from_numpy(images.transpose(0, 3, 1, 2)).float() / 127.5 - 1
    with torch.no_grad():
        out = G(x, torch.full((len(images),), k)).numpy()
    return np.clip(np.rint((out + 1) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def test_translator_matches_torch_for_every_domain_and_size(exported):
    G = load_run(exported.run_dir).modules["G"].eval()
    translator = Translator.from_file(exported.generator, "cpu")
    assert translator.domains == list(DOMAINS)
    rng = np.random.default_rng(1)
    for h, w in ((16, 16), (12, 24)):
        images = rng.integers(0, 256, (3, h, w, 1), dtype=np.uint8)
        for k, name in enumerate(DOMAINS):
            want = torch_translation(G, images, k)
            for to in (name, k):
                got = translator.translate(images, to=to)
                assert np.abs(got.astype(int) - want).max() <= 1, (h, w, to)


def test_translator_refuses_unknown_or_missing_domains(exported, translator_model):
    translator = Translator.from_file(exported.generator, "cpu")
    images = np.zeros((1, 16, 16, 1), dtype=np.uint8)
    for to, message in ((None, "choose one with --to DOMAIN"), ("zebra", "unknown domain"),
                        (3, "out of range"), (-1, "out of range")):
        with pytest.raises(UserError, match=message):
            translator.translate(images, to=to)
    one_way = Translator.from_file(translator_model, "cpu")
    assert one_way.domains == []
    with pytest.raises(UserError, match="translates one way only"):
        one_way.translate(np.zeros((1, 8, 8, 3), dtype=np.uint8), to="plain")


def test_info_lists_the_domains_and_classify_runs_the_domain_head(exported, domains):
    shown = run("info", exported.generator).stdout
    assert "domains" in shown and "dark, inverted, plain" in shown
    D = load_run(exported.run_dir).modules["D"].eval()
    img = np.array(Image.open(domains / "plain" / "0.png").resize((16, 16), Image.Resampling.LANCZOS))
    with torch.no_grad():
        x = torch.from_numpy(img).float()[None, None] / 127.5 - 1
        want = torch.softmax(D.class_logits(x), 1)[0].numpy()
    got = Classifier.from_file(exported.classifier, "cpu").predict(img).probs[0]
    assert np.abs(got - want).max() < 1e-4
    out = run("classify", exported.classifier, domains / "plain").stdout
    assert len([line for line in out.splitlines() if line.count("\t") == 2]) == 4
    assert all(line.split("\t")[1] in DOMAINS for line in out.splitlines() if "\t" in line)


def test_translate_to_one_domain_and_to_all_resumes_and_shards(exported, domains, tmp_path):
    src = domains / "plain"
    one = run("translate", exported.generator, src, "-o", tmp_path / "one", "--to", "inverted",
              "--no-progress")
    assert "4 images translated" in one.stdout
    assert sorted(p.name for p in (tmp_path / "one").glob("*.png")) == [f"{i}.png" for i in range(4)]
    out = tmp_path / "all"
    first = run("translate", exported.generator, src, "-o", out, "--to", "all", "--no-progress")
    assert "12 images translated, 0 already there" in first.stdout
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert written == sorted(f"{d}/{i}.png" for d in DOMAINS for i in range(4))
    # the inverted/ folder holds what --to inverted wrote, and the runtime's pixels
    for i in range(4):
        a, b = (np.asarray(Image.open(p / f"{i}.png")) for p in (out / "inverted", tmp_path / "one"))
        assert np.array_equal(a, b)
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert {r["domain"] for r in rows} == set(DOMAINS) and len(rows) == 12
    assert json.loads((out / "gansrv-translate.json").read_text())["to"] == "all"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "dark" / "2.png").unlink()
    (out / "plain" / ".1.png.99.tmp").write_bytes(b"half")  # what a kill mid-write leaves
    again = run("translate", exported.generator, src, "-o", out, "--to", "all", "--no-progress")
    assert "1 images translated, 11 already there" in again.stdout
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    shards = tmp_path / "shards"
    for k in (1, 2):
        run("translate", exported.generator, src, "-o", shards, "--to", "all", "--shard", f"{k}/2",
            "--no-progress")
    pngs = {str(p.relative_to(shards)): p.read_bytes() for p in shards.rglob("*.png")}
    assert pngs == {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*.png")}


def test_translate_domain_errors_are_one_line_and_write_nothing(exported, domains, tmp_path,
                                                                translator_model):
    src, out = domains / "plain" / "0.png", tmp_path / "out"
    res = run("translate", exported.generator, src, "-o", out, expect=None)
    assert "choose one with --to DOMAIN (one of dark, inverted, plain, or all)" in one_line_error(res)
    res = run("translate", exported.generator, src, "-o", out, "--to", "zebra", expect=None)
    assert "unknown domain" in one_line_error(res)
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(rgb)
    for to in ("plain", "all"):
        res = run("translate", translator_model, rgb, "-o", out, "--to", to, expect=None)
        assert "translates one way only" in one_line_error(res)
    assert not out.exists()


def test_rgb_domains_and_bad_configs(tmp_path):
    data = write_domains(tmp_path / "rgb", per_domain=2, channels=3)
    run("train", "stargan", "--data", data, "--steps", "1", "--out", tmp_path / "run", *SMALL,
        "--lambda-id", "1")
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["g_id"] > 0  # the optional identity term is trained and logged
    run("export", tmp_path / "run", "-o", tmp_path / "rgb.onnx")
    out = Translator.from_file(tmp_path / "rgb.onnx", "cpu").translate(
        np.zeros((2, 8, 12, 3), dtype=np.uint8), to="dark")
    assert out.shape == (2, 8, 12, 3)
    bad = run("train", "stargan", "--data", data, "--steps", "1", "--out", tmp_path / "b",
              *SMALL, "--image-size", "18", expect=None)
    assert "multiple of 4" in one_line_error(bad)
    one = tmp_path / "one"
    (one / "only").mkdir(parents=True)
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(one / "only" / "a.png")
    res = run("train", "stargan", "--data", one, "--steps", "1", "--out", tmp_path / "c", *SMALL,
              expect=None)
    assert "needs at least 2 classes" in one_line_error(res)  # the engine says so first


def test_domain_norm_resumes_exactly_and_exports_per_domain_norms(domains, tmp_path):
    """--domain-norm: G's norms look up the target domain's scale and shift; resume stays exact and
    the export (a Gather per norm) matches torch for every domain."""
    full, part = train_and_resume("stargan", tmp_path, 4, "--data", domains, *SMALL, "--domain-norm")
    assert_same_weights(full, part, ("G", "D"))
    G = load_run(full).modules["G"].eval()
    scale = G.state_dict()["net.1.scale.weight"]
    assert scale.shape == (len(DOMAINS), 4) and not torch.equal(scale[0], scale[1])  # trained apart
    run("export", full, "-o", tmp_path / "dn.onnx")
    translator = Translator.from_file(tmp_path / "dn.onnx", "cpu")
    images = np.random.default_rng(2).integers(0, 256, (2, 12, 20, 1), dtype=np.uint8)
    for k in range(len(DOMAINS)):
        want = torch_translation(G, images, k)
        assert np.abs(translator.translate(images, to=k).astype(int) - want).max() <= 1


def test_domain_critic_judges_each_fake_by_its_target_domains_branch(domains, tmp_path):
    """--domain-critic: D's realness head has one branch per domain, the step reads each image's own
    branch (a known answer on a hand-made map), resume stays exact and the discriminator export
    carries all K branches."""
    from gansrv_plugins.stargan.models import branch

    src = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    picked = branch(src, torch.tensor([2, 0]))
    assert torch.equal(picked[0, 0], src[0, 2]) and torch.equal(picked[1, 0], src[1, 0])
    one = src[:, :1]
    assert branch(one, torch.tensor([2, 0])) is one  # one branch: used as it is
    full, part = train_and_resume("stargan", tmp_path, 4, "--data", domains, *SMALL,
                                  "--domain-critic")
    assert_same_weights(full, part, ("G", "D"))
    D = load_run(full).modules["D"]
    assert D.src.out_channels == len(DOMAINS)
    run("export", full, "-o", tmp_path / "dc.onnx", "--with-discriminator")
    model = load(tmp_path / "dc.discriminator.onnx", "cpu")
    images = np.random.default_rng(3).uniform(-1, 1, (3, 1, 16, 16)).astype(np.float32)
    patch, _ = model.session.run(None, {"image": images})
    with torch.no_grad():
        want, _ = D(torch.from_numpy(images))
    assert patch.shape[1] == len(DOMAINS) and np.abs(patch - want.numpy()).max() <= 1e-4
