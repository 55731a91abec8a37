"""``gansrv generate --filter --format webdataset|parquet`` through the real CLI, on the session's
smoke acgan (its exported classifier and discriminator), read back with the real ``webdataset``
package, pyarrow and Hugging Face's ``parquet`` builder. Every kept sample is judged again by the
classifier on its decoded PNG; resumes, batch sizes and ``--shard K/N`` change no byte.

The smoke classifier is barely trained, so the confidence asked for is taken from the model itself
(the smallest per-class 75th percentile of the probability of the class asked for, over plain
samples): about a quarter of the weakest class's candidates pass, so the search has to reject.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gansrv.generate.filtering import ATTEMPTS
from gansrv.generate.plan import MAX_SHARDED_IMAGES
from gansrv.generate.shards import KEPT_KEY_DIGITS
from gansrv.runtime import Classifier, Generator
from tests.conftest import generate, one_line_error
from tests.test_shard_formats import everything, hf_rows

CLASSES = [0, 1, 2]
EXT = {"webdataset": "tar", "parquet": "parquet"}


@pytest.fixture(scope="module")
def acgan(exports) -> dict:
    """The smoke acgan, its classifier and the --min-confidence that filters it (see the top)."""
    run = exports("acgan")
    gen, clf = Generator.from_file(run.generator), Classifier.from_file(run.classifier)
    labels = np.repeat(CLASSES, 40)
    probs = clf.predict(gen.generate(len(labels), seed=11, labels=labels)).probs[
        np.arange(len(labels)), labels]
    p = float(min(np.percentile(probs[labels == c], 75) for c in CLASSES))
    return {"model": run.generator, "clf": run.classifier, "gen": gen, "reader": clf,
            "args": ("--per-class", "4", "--classes", ",".join(map(str, CLASSES)), "--filter",
                     f"classifier={run.classifier}", "--min-confidence", f"{p:.6f}"),
            "p": float(f"{p:.6f}")}


def samples(out: Path, fmt: str) -> list[dict]:
    """Every sample in file order: key, its recorded fields and its pixels (H, W)."""
    if fmt == "webdataset":
        import webdataset as wds

        got = wds.WebDataset([str(p) for p in sorted(out.glob("*.tar"))], shardshuffle=False)
        return [{"key": s["__key__"], **json.loads(s["json"]), "cls": int(s["cls"]),
                 "pixels": np.asarray(Image.open(io.BytesIO(s["png"])))} for s in got]
    import pyarrow.parquet as pq

    rows = []
    for path in sorted(out.glob("*.parquet")):
        for r in pq.read_table(str(path)).to_pylist():
            image = r.pop("image")
            rows.append({"key": image["path"].removesuffix(".png"), **r,
                         "pixels": np.asarray(Image.open(io.BytesIO(image["bytes"])))})
    return rows


def test_kept_key_width_covers_the_largest_plan() -> None:
    assert KEPT_KEY_DIGITS == len(str(MAX_SHARDED_IMAGES * ATTEMPTS - 1)) == 12


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_filtered_shards_pass_the_filter_and_reproduce(acgan, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / fmt
    result = generate(acgan["model"], out, *acgan["args"], "--format", fmt, "--shard-size", "5",
                      "--batch-size", "4")
    assert "12 images in 3 shard file(s) written" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        *(f"data-00000{j}.{EXT[fmt]}" for j in range(3)), "gansrv-dataset.json"]
    rows = samples(out, fmt)
    names = acgan["gen"].info.class_names
    assert [r["slot"] for r in rows] == list(range(12))  # file j: slots 5j..5j+4, in slot order
    assert [r["label"] for r in rows] == np.repeat(CLASSES, 4).tolist()
    assert [r["key"] for r in rows] == [f"{names[r['label']]}/{r['index']:012d}" for r in rows]
    assert all(r["index"] // ATTEMPTS == r["slot"] and r["class_name"] == names[r["label"]]
               for r in rows)
    pixels = np.stack([r["pixels"][..., None] for r in rows])
    labels = np.array([r["label"] for r in rows])
    probs = acgan["reader"].predict(pixels).probs[np.arange(12), labels]
    assert probs.min() >= acgan["p"]
    for r in rows:  # the seed and the kept index give every sample back
        again = acgan["gen"].generate(1, seed=0, labels=[r["label"]], start=r["index"])
        assert np.array_equal(again[0, ..., 0], r["pixels"])
    manifest = json.loads((out / "gansrv-dataset.json").read_text())
    assert manifest["format"] == fmt and manifest["shard_size"] == 5
    assert manifest["filter"]["kind"] == "classifier" and manifest["filter"]["attempts_per_image"] == 1000
    res = manifest["filter_result"]
    assert res["kept"] == 12 and res["candidates"] == sum(r["index"] % ATTEMPTS + 1 for r in rows)
    assert res["candidates"] > 12 and res["acceptance_rate"] == round(12 / res["candidates"], 6)
    if fmt == "parquet":  # Hugging Face's builder: typed columns, the same samples
        hf = hf_rows("parquet", out, tmp_path)
        assert hf["features"]["image"] == "Image" and hf["features"]["label"] == "ClassLabel"
        assert [(r["slot"], r["index"], r["label_name"]) for r in hf["rows"]] == \
            [(r["slot"], r["index"], r["class_name"]) for r in rows]
        assert all(np.array_equal(np.asarray(h["pixels"]), r["pixels"]) for h, r in zip(hf["rows"], rows))


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_resume_batch_size_workers_and_shards_change_no_byte(acgan, fmt: str, tmp_path: Path) -> None:
    common = (*acgan["args"], "--format", fmt, "--shard-size", "3")
    generate(acgan["model"], tmp_path / "whole", *common, "--batch-size", "64")
    whole = everything(tmp_path / "whole")
    assert len(whole) == 4 + 1
    # a killed run: one file gone, one cut short under its final name, a temporary left behind
    out = tmp_path / "resumed"
    shutil.copytree(tmp_path / "whole", out)
    (out / f"data-000001.{EXT[fmt]}").unlink()
    cut = out / f"data-000002.{EXT[fmt]}"
    cut.write_bytes(cut.read_bytes()[:700])
    (out / f".data-000001.{EXT[fmt]}.1-2.tmp").write_bytes(b"half")
    result = generate(acgan["model"], out, *common, "--batch-size", "5", "--workers", "3")
    assert "6 images in 2 shard file(s) written, 2 file(s) (6 images) already there" in result.output
    assert everything(out) == whole  # the manifest's filter_result too: read back from the files
    assert "0 images in 0 shard file(s) written" in generate(acgan["model"], out, *common).output
    assert everything(out) == whole
    # two machines, other batch sizes: the union is the whole run's files, the tallies add up
    union: dict[str, bytes] = {}
    tallies = []
    for k in (1, 2):
        part = tmp_path / f"shard{k}"
        generate(acgan["model"], part, *common, "--shard", f"{k}/2", "--batch-size", str(2 + k))
        files = everything(part)
        manifest = json.loads(files.pop("gansrv-dataset.json"))
        tallies.append(json.loads(files.pop(f"filter-shard-{k}-of-2.json")))
        assert manifest == {k: v for k, v in json.loads(whole["gansrv-dataset.json"]).items()
                            if k != "filter_result"}
        assert not set(files) & set(union)
        union.update(files)
    assert union == {k: v for k, v in whole.items() if k != "gansrv-dataset.json"}
    res = json.loads(whole["gansrv-dataset.json"])["filter_result"]
    assert sum(t["kept"] for t in tallies) == res["kept"] == 12
    assert sum(t["candidates"] for t in tallies) == res["candidates"]


def test_discriminator_rejection_sampling_into_webdataset(exports, tmp_path: Path) -> None:
    model = exports("acgan").generator
    common = ("--n", "20", "--filter", "discriminator", "--burn-in", "100", "--format", "webdataset",
              "--shard-size", "8")
    generate(model, tmp_path / "a", *common, "--batch-size", "16")
    generate(model, tmp_path / "b", *common, "--batch-size", "3")
    assert everything(tmp_path / "a") == everything(tmp_path / "b")
    rows = samples(tmp_path / "a", "webdataset")
    assert [r["slot"] for r in rows] == list(range(20))
    assert [r["cls"] for r in rows] == [i % 10 for i in range(20)]
    res = json.loads((tmp_path / "a" / "gansrv-dataset.json").read_text())["filter_result"]
    assert res["kept"] == 20 and res["candidates"] == sum(r["index"] % ATTEMPTS + 1 for r in rows)
    assert {"max_logit", "gamma"} <= set(res)


@pytest.mark.parametrize("case", ["npz", "ray", "sweep", "nothing"])
def test_bad_filtered_shard_runs_are_one_line_errors(acgan, case: str, tmp_path: Path) -> None:
    extra = {"npz": ("--format", "npz"), "ray": ("--format", "webdataset", "--engine", "ray"),
             "sweep": ("--format", "parquet", "--sweep", "1=-1:1:3"),
             "nothing": ("--format", "webdataset")}[case]
    args = list(acgan["args"])
    if case == "nothing":
        args[-1] = "1.0"  # --min-confidence 1.0: no sample of the smoke model is that sure
    out = tmp_path / "out"
    line = one_line_error(generate(acgan["model"], out, *args, *extra, expect=2))
    expected = {"npz": "not --format npz", "ray": "leave out --engine ray", "sweep": "--sweep",
                "nothing": "accepts almost nothing"}[case]
    assert expected in line
    if case != "nothing":
        assert not out.exists()
    else:  # stopped during the first file's search: no shard file, nothing temporary
        assert sorted(p.name for p in out.iterdir()) == ["gansrv-dataset.json"]
