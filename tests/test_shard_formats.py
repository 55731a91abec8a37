"""``gansrv generate --format webdataset / parquet`` through the real CLI and a real (tiny) ONNX
generator, read back with the real loaders: the ``webdataset`` package, and Hugging Face's
``webdataset`` and ``parquet`` builders (offline, in a subprocess). Every sample's label, class
name, seed, index and pixels are checked against the runtime's own output for that (seed, index);
``--shard K/N`` unions, resumes and killed runs' leftovers change no byte.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gansrv.generate.shards import MAX_SHARD_SIZE
from gansrv.runtime.generator import Generator
from tests.conftest import generate as run_generate
from tests.hf_offline import run_loader
from tests.test_writer_datasets import NAMES, tiny_generator

SEED = 7


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    paths = {kind: root / f"{kind}.onnx" for kind in ("conditional", "noise", "code")}
    for kind, path in paths.items():
        tiny_generator(path, kind)
    return paths


def generate(model: Path, out: Path, *args: object, expect: int | None = 0):
    """`gansrv generate` with one in-process session unless the test asks for --workers: model
    processes cost a start each, and one test below compares them with this path."""
    workers = () if "--workers" in args else ("--workers", "1")
    return run_generate(model, out, *args, *workers, expect=expect)


def everything(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def expected(model: Path, n: int) -> np.ndarray:
    """The runtime's own images 0..n-1 (balanced labels: image i is class i mod 3), as (n, H, W)."""
    return Generator.from_file(model, "cpu").generate(n, seed=SEED)[..., 0]


def hf_rows(builder: str, folder: Path, tmp_path: Path) -> list[dict]:
    """Hugging Face's ``builder`` on the shard files of ``folder``, offline; rows as JSON, pixels and
    the feature types included."""
    ext = "tar" if builder == "webdataset" else "parquet"
    code = (
        "import json, sys, glob\n"
        "import numpy as np\n"
        "from datasets import load_dataset\n"
        f"files = sorted(glob.glob(sys.argv[1] + '/data-*.{ext}'))\n"
        f"ds = load_dataset('{builder}', data_files=files, split='train')\n"
        "img = 'png' if 'png' in ds.features else 'image'\n"
        "rows = []\n"
        "for r in ds:\n"
        "    row = {k: v for k, v in r.items() if k != img}\n"
        "    row['pixels'] = np.asarray(r[img]).tolist()\n"
        "    if 'label' in ds.features and hasattr(ds.features['label'], 'int2str'):\n"
        "        row['label_name'] = ds.features['label'].int2str(r['label'])\n"
        "    rows.append(row)\n"
        "print(json.dumps({'features': {k: type(v).__name__ for k, v in ds.features.items()}, "
        "'rows': rows}))\n")
    return run_loader(code, folder, tmp_path)


def test_webdataset_shards_read_by_the_webdataset_package_and_hugging_face(tiny, tmp_path: Path) -> None:
    import webdataset as wds

    out = tmp_path / "wds"
    result = generate(tiny["conditional"], out, "--n", "25", "--format", "webdataset", "--shard-size", "10",
                      "--seed", str(SEED), "--batch-size", "4")
    assert "25 images in 3 shard file(s) written" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "data-000000.tar", "data-000001.tar", "data-000002.tar", "gansrv-dataset.json"]
    want = expected(tiny["conditional"], 25)
    samples = list(wds.WebDataset([str(p) for p in sorted(out.glob("*.tar"))], shardshuffle=False))
    assert [s["__key__"] for s in samples] == [f"{NAMES[i % 3]}/{i:09d}" for i in range(25)]
    for i, s in enumerate(samples):
        meta = json.loads(s["json"])
        assert meta == {"index": i, "label": i % 3, "class_name": NAMES[i % 3], "seed": SEED,
                        "model": "conditional.onnx", "synthetic": True}
        assert int(s["cls"]) == i % 3
        assert np.array_equal(pixels(s["png"]), want[i])
    hf = hf_rows("webdataset", out, tmp_path)
    assert hf["features"]["png"] == "Image"
    rows = sorted(hf["rows"], key=lambda r: r["json"]["index"])
    assert [r["__key__"] for r in rows] == [f"{NAMES[i % 3]}/{i:09d}" for i in range(25)]
    for i, r in enumerate(rows):
        assert r["json"]["label"] == i % 3 and r["json"]["class_name"] == NAMES[i % 3]
        assert r["json"]["seed"] == SEED and int(r["cls"]) == i % 3
        assert np.array_equal(np.asarray(r["pixels"]), want[i])


def test_parquet_shards_carry_image_and_classlabel_features(tiny, tmp_path: Path) -> None:
    out = tmp_path / "pq"
    generate(tiny["conditional"], out, "--n", "23", "--format", "parquet", "--shard-size", "8",
             "--seed", str(SEED))
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"data-00000{j}.parquet" for j in range(3)]
    hf = hf_rows("parquet", out, tmp_path)
    assert hf["features"]["image"] == "Image" and hf["features"]["label"] == "ClassLabel"
    want = expected(tiny["conditional"], 23)
    rows = hf["rows"]
    assert [r["index"] for r in rows] == list(range(23))
    for i, r in enumerate(rows):
        assert r["label"] == i % 3 and r["label_name"] == r["class_name"] == NAMES[i % 3]
        assert r["seed"] == SEED and r["synthetic"] is True
        assert np.array_equal(np.asarray(r["pixels"]), want[i])


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_the_union_of_shard_runs_is_the_single_run_file_for_file(tiny, tmp_path: Path, fmt: str) -> None:
    common = ("--n", "50", "--format", fmt, "--shard-size", "7", "--seed", str(SEED))
    generate(tiny["conditional"], tmp_path / "whole", *common, "--batch-size", "5", "--workers", "1")
    whole = everything(tmp_path / "whole")  # one session in this process
    assert len(whole) == 8 + 1  # 50 images in files of 7, and the manifest
    result = generate(tiny["conditional"], tmp_path / "procs", *common, "--workers", "3")
    assert "50 images in 8 shard file(s) written" in result.output  # three model processes
    assert everything(tmp_path / "procs") == whole
    for n in (2, 3):
        for k in range(1, n + 1):  # every machine its own folder, other batch sizes
            generate(tiny["conditional"], tmp_path / f"{n}" / f"{k}", *common, "--shard", f"{k}/{n}",
                     "--batch-size", str(3 + k))
        union: dict[str, bytes] = {}
        for k in range(1, n + 1):
            part = everything(tmp_path / f"{n}" / f"{k}")
            assert part.pop("gansrv-dataset.json") == whole["gansrv-dataset.json"]
            assert not set(part) & set(union)  # a file is written by one shard only
            union.update(part)
        assert union == {k: v for k, v in whole.items() if k != "gansrv-dataset.json"}


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_a_rerun_skips_complete_shards_and_rewrites_partial_ones(tiny, tmp_path: Path, fmt: str) -> None:
    ext = "tar" if fmt == "webdataset" else "parquet"
    common = ("--n", "30", "--format", fmt, "--shard-size", "10", "--seed", str(SEED))
    generate(tiny["noise"], tmp_path / "full", *common)
    out = tmp_path / "resumed"
    generate(tiny["noise"], out, *common)
    (out / f"data-000001.{ext}").unlink()
    partial = out / f".data-000001.{ext}.123-456.tmp"  # what a kill mid-shard leaves
    partial.write_bytes((tmp_path / "full" / f"data-000001.{ext}").read_bytes()[:100])
    result = generate(tiny["noise"], out, *common)
    assert "10 images in 1 shard file(s) written, 2 file(s) (20 images) already there" in result.output
    assert everything(out) == everything(tmp_path / "full")
    result = generate(tiny["noise"], out, *common)
    assert "0 images in 0 shard file(s) written, 3 file(s) (30 images) already there" in result.output


def test_unconditional_and_code_models_write_their_fields(tiny, tmp_path: Path) -> None:
    import webdataset as wds

    generate(tiny["noise"], tmp_path / "noise", "--n", "4", "--format", "webdataset", "--seed", str(SEED))
    samples = list(wds.WebDataset(str(tmp_path / "noise" / "data-000000.tar"), shardshuffle=False))
    assert [s["__key__"] for s in samples] == [f"images/{i:09d}" for i in range(4)]
    assert all("cls" not in s and "label" not in json.loads(s["json"]) for s in samples)
    want = expected(tiny["noise"], 4)
    assert all(np.array_equal(pixels(s["png"]), want[i]) for i, s in enumerate(samples))
    generate(tiny["code"], tmp_path / "code", "--n", "2", "--format", "webdataset", "--seed", str(SEED),
             "--sweep", "1=-1:1:3")
    samples = list(wds.WebDataset(str(tmp_path / "code" / "data-000000.tar"), shardshuffle=False))
    rows = [json.loads(s["json"]) for s in samples]
    assert [r["sweep_row"] for r in rows] == [0, 0, 0, 1, 1, 1]
    assert [r["codes"][0] for r in rows[:3]] == [-1.0, 0.0, 1.0]


@pytest.mark.parametrize("args, message", [
    (("--format", "tfrecord"), "Invalid value for '--format'"),
    (("--format", "webdataset", "--shard-size", "0"), "--shard-size must be between 1 and"),
    (("--format", "parquet", "--shard-size", str(MAX_SHARD_SIZE + 1)), "--shard-size must be between 1 and"),
    (("--format", "imagefolder", "--n", str(10**6 + 1)), "--n must be between 1 and 1,000,000"),
    (("--format", "webdataset", "--n", str(10**9 + 1)), "--n must be between 1 and 1,000,000,000"),
])
def test_bad_shard_options_are_one_error_line_and_write_nothing(tiny, tmp_path: Path, args, message) -> None:
    out = tmp_path / "never"
    argv = ["--n", "5", *args] if "--n" not in args else list(args)
    result = generate(tiny["conditional"], out, *argv, expect=2)
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert not out.exists()
