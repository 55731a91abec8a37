"""``gansrv generate --filter``: classifier confidence and discriminator rejection sampling, through
the real CLI and real onnxruntime (an acgan trained for 300 steps on the digits, so its classifier
and discriminator have something to say)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from gansrv.runtime import Classifier, Generator
from tests.conftest import generate, one_line_error, run
from tests.torch_free import run_torch_free

CLASSES = "0,2,3,8"  # the classes this short run draws well enough for P = 0.5 (class 1: never)


@pytest.fixture(scope="module")
def acgan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("filter")
    run("train", "acgan", "--data", "digits", "--steps", "300", "--limit", "512", "--batch-size", "32",
        "--g-width", "8", "--d-width", "8", "--no-progress", "--out", root / "run")
    run("export", root / "run", "-o", root / "ac.onnx", "--with-discriminator")
    return root / "ac.onnx"


def _clf(model: Path) -> Path:
    return model.with_name(f"{model.stem}.classifier.onnx")


def _rows(out: Path, name: str = "metadata.jsonl") -> list[dict]:
    return [json.loads(line) for line in (out / name).read_text().splitlines()]


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _pixels(out: Path, rows: list[dict]) -> np.ndarray:
    return np.stack([np.asarray(Image.open(out / r["file_name"]))[..., None] for r in rows])


def test_classifier_filter_keeps_exact_counts_and_raises_accuracy(acgan: Path, tmp_path: Path) -> None:
    clf = Classifier.from_file(_clf(acgan))
    out = tmp_path / "kept"
    generate(acgan, out, "--per-class", "12", "--classes", CLASSES, "--filter",
             f"classifier={_clf(acgan)}", "--min-confidence", "0.5", "--batch-size", "16")
    rows = _rows(out)
    assert {c: sum(r["class_name"] == c for r in rows) for c in CLASSES.split(",")} == \
        dict.fromkeys(CLASSES.split(","), 12)
    assert sorted(r["slot"] for r in rows) == list(range(48))
    labels = np.array([r["label"] for r in rows])
    images = _pixels(out, rows)
    probs = clf.predict(images).probs[np.arange(len(rows)), labels]
    assert probs.min() >= 0.5
    # the same classes unfiltered: the classifier reads far fewer of them as asked
    gen = Generator.from_file(acgan)
    plain = gen.generate(480, seed=0, labels=np.repeat([0, 2, 3, 8], 120))
    plain_acc = float((clf.predict(plain).labels == np.repeat([0, 2, 3, 8], 120)).mean())
    assert (clf.predict(images).labels == labels).mean() == 1.0 > plain_acc + 0.2
    # the seed and the recorded index reproduce every kept sample
    for r in rows[:5]:
        again = gen.generate(1, seed=0, labels=[r["label"]], start=r["index"])
        assert np.array_equal(again[0], np.asarray(Image.open(out / r["file_name"]))[..., None])
    manifest = json.loads((out / "gansrv-dataset.json").read_text())
    assert manifest["filter"]["kind"] == "classifier" and manifest["filter"]["min_confidence"] == 0.5
    res = manifest["filter_result"]
    assert res["kept"] == 48 and res["candidates"] == sum(r["index"] % 1000 + 1 for r in rows)
    assert 0 < res["acceptance_rate"] < 1 and res["acceptance_rate"] == round(48 / res["candidates"], 6)


def test_resume_batch_size_and_shards_give_the_same_dataset(acgan: Path, tmp_path: Path) -> None:
    args = ("--per-class", "6", "--classes", CLASSES, "--filter", f"classifier={_clf(acgan)}",
            "--min-confidence", "0.5")
    generate(acgan, tmp_path / "straight", *args, "--batch-size", "64")
    straight = _files(tmp_path / "straight")
    # an interrupted run: some PNGs and the metadata missing, a temporary file left behind
    shutil.copytree(tmp_path / "straight", tmp_path / "resumed")
    pngs = sorted((tmp_path / "resumed").rglob("*.png"))
    for p in pngs[::3]:
        p.unlink()
    (tmp_path / "resumed" / "metadata.jsonl").unlink()
    (pngs[1].parent / f".{pngs[1].name}.x.tmp").write_bytes(b"half")
    result = generate(acgan, tmp_path / "resumed", *args, "--batch-size", "5")
    assert f"{len(pngs[::3])} images written" in result.stdout
    assert _files(tmp_path / "resumed") == straight
    # two shards into one folder: the same images and metadata rows as the single run
    for k in (1, 2):
        generate(acgan, tmp_path / "sharded", *args, "--shard", f"{k}/2", "--batch-size", "7")
    shards = _files(tmp_path / "sharded")
    assert {k: v for k, v in shards.items() if k.endswith(".png")} == \
        {k: v for k, v in straight.items() if k.endswith(".png")}
    rows = sorted(_rows(tmp_path / "sharded", "metadata-shard-1-of-2.jsonl")
                  + _rows(tmp_path / "sharded", "metadata-shard-2-of-2.jsonl"), key=json.dumps)
    assert rows == sorted(_rows(tmp_path / "straight"), key=json.dumps)
    counts = [json.loads((tmp_path / "sharded" / f"filter-shard-{k}-of-2.json").read_text())
              for k in (1, 2)]
    assert sum(c["kept"] for c in counts) == 24


def test_discriminator_rejection_sampling(acgan: Path, tmp_path: Path) -> None:
    from gansrv.generate.readers import open_discriminator

    generate(acgan, tmp_path / "a", "--n", "40", "--filter", "discriminator", "--burn-in", "200")
    generate(acgan, tmp_path / "b", "--n", "40", "--filter", "discriminator", "--burn-in", "200",
             "--batch-size", "9")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    rows = _rows(tmp_path / "a")
    assert len(rows) == 40 and [sum(r["label"] == c for r in rows) for c in range(10)] == [4] * 10
    manifest = json.loads((tmp_path / "a" / "gansrv-dataset.json").read_text())
    assert manifest["filter"]["burn_in"] == 200 and manifest["filter"]["kind"] == "discriminator"
    res = manifest["filter_result"]
    assert 0 < res["acceptance_rate"] < 1 and {"max_logit", "gamma"} <= set(res)
    # kept samples score higher with D than the samples the plain generator draws
    disc = open_discriminator(acgan.with_name("ac.discriminator.onnx"))
    gen = Generator.from_file(acgan)

    def logit(images: np.ndarray) -> float:
        x = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
        return float(disc.session.run(["logit"], {"image": x})[0].mean())

    assert logit(_pixels(tmp_path / "a", rows)) > logit(gen.generate(200, seed=0))
    # a larger burn-in is another dataset: refused without --overwrite
    again = generate(acgan, tmp_path / "a", "--n", "40", "--filter", "discriminator", expect=2)
    assert "another dataset" in one_line_error(again)


def _relabelled(clf: Path, dest: Path) -> Path:
    """The classifier graph with other class names: a real graph whose classes do not match."""
    proto = onnx.load(str(clf))
    for p in proto.metadata_props:
        if p.key == "gansrv.class_names":
            p.value = json.dumps([f"c{i}" for i in range(10)])
    onnx.save(proto, str(dest))
    return dest


@pytest.mark.parametrize("case", ["missing", "p-high", "p-zero", "classes", "unknown", "no-disc",
                                  "nothing", "npz", "unconditional"])
def test_bad_filters_are_one_line_errors(case: str, acgan: Path, tmp_path: Path, exports) -> None:
    model, clf = acgan, f"classifier={_clf(acgan)}"
    extra: tuple[str, ...] = ("--filter", clf, "--min-confidence", "0.5")
    if case == "missing":
        extra = ("--filter", f"classifier={tmp_path / 'none.onnx'}")
    elif case in ("p-high", "p-zero"):
        extra = ("--filter", clf, "--min-confidence", "1.5" if case == "p-high" else "0")
    elif case == "classes":
        extra = ("--filter", f"classifier={_relabelled(_clf(acgan), tmp_path / 'other.onnx')}")
    elif case == "unknown":
        extra = ("--filter", "sharpness")
    elif case == "no-disc":
        model = tmp_path / "alone.onnx"
        shutil.copy(acgan, model)
        extra = ("--filter", "discriminator")
    elif case == "nothing":
        extra = ("--filter", clf, "--min-confidence", "1.0")
    elif case == "npz":
        extra = ("--filter", clf, "--format", "npz")
    elif case == "unconditional":
        model = exports("dcgan").generator
    out = tmp_path / "out"
    line = one_line_error(generate(model, out, "--n", "20", *extra, expect=2))
    expected = {"missing": "not found", "p-high": "(0, 1]", "p-zero": "(0, 1]",
                "classes": "does not know the model's classes", "unknown": "unknown filter",
                "no-disc": "--with-discriminator", "nothing": "accepts almost nothing",
                "npz": "imagefolder", "unconditional": "not class-conditional"}[case]
    assert expected in line
    if case != "nothing":
        assert not out.exists()
    else:  # stopped: only whole files, nothing temporary, no metadata claiming a finished set
        assert not list(out.rglob("*.tmp")) and not (out / "metadata.jsonl").exists()


def test_discriminator_of_another_run_is_refused(acgan: Path, tmp_path: Path, exports) -> None:
    line = one_line_error(generate(exports("dcgan").generator, tmp_path / "o", "--n", "8", "--filter",
                                   f"discriminator={acgan.with_name('ac.discriminator.onnx')}",
                                   expect=2))
    assert "export both from one run" in line


EVAL = ("--data", "digits", "--resize", "--train-limit", "1200", "--classifier-epochs", "1",
        "--n", "200", "--metrics", "fid,class-acc")


def test_eval_filter_raises_class_accuracy_and_the_evaluator_filters_too(
        acgan: Path, tmp_path: Path, evaluator_cache: Path) -> None:
    run("eval", acgan, *EVAL, "--json", tmp_path / "plain.json")
    result = run("eval", acgan, *EVAL, "--json", tmp_path / "kept.json", "--filter",
                 f"classifier={_clf(acgan)}", "--min-confidence", "0.25")
    plain, kept = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("plain", "kept"))
    assert "filter" not in plain and kept["filter"]["kind"] == "classifier"
    assert kept["n"] == 200 and kept["filter_result"]["kept"] == 200
    assert kept["class_accuracy"] > plain["class_accuracy"]
    assert "filter classifier (ac.classifier.onnx): kept 200 of" in result.stdout
    # the evaluator eval cached is a classifier for --filter as well (its classes by name)
    (evaluator,) = (evaluator_cache / "evaluators").glob("*.onnx")
    out = tmp_path / "by-evaluator"
    generate(acgan, out, "--per-class", "5", "--classes", "0,1,5,9", "--filter",
             f"classifier={evaluator}", "--min-confidence", "0.1")
    from gansrv.generate.readers import open_reader

    rows = _rows(out)
    probs = open_reader(evaluator).probs(_pixels(out, rows))
    assert len(rows) == 20 and probs[np.arange(20), [r["label"] for r in rows]].min() >= 0.1
    line = one_line_error(run("eval", _clf(acgan), *EVAL[:5], "--filter", "discriminator", expect=2))
    assert "classifier graph" in line


def test_filtered_generate_never_imports_torch(acgan: Path, tmp_path: Path) -> None:


    argv = ["generate", str(acgan), "--n", "10", "--no-progress", "--out", str(tmp_path / "d"),
            "--filter", "discriminator", "--burn-in", "100"]
    argv2 = ["generate", str(acgan), "--per-class", "2", "--classes", CLASSES, "--no-progress",
             "--out", str(tmp_path / "c"), "--filter", f"classifier={_clf(acgan)}",
             "--min-confidence", "0.5"]
    code = ("import sys\nfrom click.testing import CliRunner\nfrom gansrv.cli import cli\n"
            f"for argv in ({argv!r}, {argv2!r}):\n"
            "    r = CliRunner().invoke(cli, argv)\n"
            "    assert r.exit_code == 0, r.output\n")
    run_torch_free(code)
