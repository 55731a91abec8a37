"""gansrv generate: layout, metadata, determinism, resume, shards, bad inputs, npz, no torch."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO, generate, one_line_error
from tests.hf_offline import run_loader


def files(root: Path, pattern: str = "*/*.png") -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.glob(pattern))}


def everything(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cgan(exports) -> Path:  # noqa: F811
    return exports("cgan").generator


@pytest.fixture(scope="module")
def gan(exports) -> Path:  # noqa: F811
    return exports("gan").generator


def test_layout_metadata_and_torchvision_style_labels(cgan: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    generate(cgan, out, "--n", "25", "--seed", "3")
    pngs = files(out)
    assert len(pngs) == 25
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert sorted(r["index"] for r in rows) == list(range(25))
    for r in rows:
        assert (out / r["file_name"]).is_file()
        assert r["label"] == r["index"] % 10 and r["file_name"] == f"{r['class_name']}/{r['index']:06d}.png"
        assert r["seed"] == 3 and r["model"] == cgan.name
    # torchvision's ImageFolder: classes = sorted sub-folders, label = position in that list
    classes = sorted(d.name for d in out.iterdir() if d.is_dir())
    by_file = {r["file_name"]: r["label"] for r in rows}
    for name in pngs:
        folder = name.split("/")[0]
        img = Image.open(out / name)
        assert img.mode == "L" and img.size == (28, 28)
        assert classes.index(folder) == by_file[name]
    manifest = json.loads((out / "gansrv-dataset.json").read_text())
    assert manifest["seed"] == 3 and len(manifest["model_sha256"]) == 64


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_encoder_round_trips_through_pillow(channels: int) -> None:
    """gansrv writes PNGs with zlib itself (faster than Pillow); Pillow must read the same pixels."""
    from gansrv.generate.writer import encode_png

    rng = np.random.default_rng(channels)
    for shape in [(28, 28), (1, 1), (64, 31), (3, 200)]:
        image = rng.integers(0, 256, (*shape, channels), dtype=np.uint8)
        data = encode_png(image)
        assert data == encode_png(image.copy())  # the bytes depend on the pixels only
        decoded = np.asarray(Image.open(io.BytesIO(data)))
        assert np.array_equal(decoded.reshape(image.shape), image)
        assert Image.open(io.BytesIO(data)).mode == {1: "L", 3: "RGB", 4: "RGBA"}[channels]


def test_pngs_get_umask_permissions(cgan: Path, tmp_path: Path) -> None:
    """Temporary files must not leave datasets readable by their owner only (as mkstemp's 0600)."""
    generate(cgan, tmp_path / "ds", "--n", "2")
    umask = os.umask(0)
    os.umask(umask)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "ds").rglob("*.png")}
    assert modes == {0o666 & ~umask}


def test_batch_size_and_workers_do_not_change_bytes(cgan: Path, tmp_path: Path) -> None:
    generate(cgan, tmp_path / "a", "--n", "12", "--batch-size", "1", "--workers", "1")
    generate(cgan, tmp_path / "b", "--n", "12", "--batch-size", "64", "--workers", "5")
    assert everything(tmp_path / "a") == everything(tmp_path / "b")


def test_resume_is_byte_identical(cgan: Path, tmp_path: Path) -> None:
    fresh, resumed = tmp_path / "fresh", tmp_path / "resumed"
    generate(cgan, fresh, "--n", "20")
    generate(cgan, resumed, "--n", "20")
    for p in sorted(resumed.glob("*/*.png"))[::3]:
        p.unlink()
    (resumed / "3" / ".000013.png.abc.tmp").write_bytes(b"half")  # a killed run's temp file
    meta = resumed / "metadata.jsonl"
    meta.write_bytes(meta.read_bytes()[:100])
    result = generate(cgan, resumed, "--n", "20")
    assert "7 images written, 13 already there" in result.stdout
    assert everything(resumed) == everything(fresh)


def test_resume_after_power_loss_regenerates_empty_and_cut_pngs(cgan: Path, tmp_path: Path) -> None:
    """PNGs are renamed into place without a per-file fsync; a power loss can leave them empty or cut."""
    fresh, resumed = tmp_path / "fresh", tmp_path / "resumed"
    generate(cgan, fresh, "--n", "10")
    generate(cgan, resumed, "--n", "10")
    pngs = sorted(resumed.glob("*/*.png"))
    pngs[0].write_bytes(b"")
    pngs[1].write_bytes(pngs[1].read_bytes()[:-5])
    result = generate(cgan, resumed, "--n", "10")
    assert "2 images written, 8 already there" in result.stdout
    assert everything(resumed) == everything(fresh)


def test_shards_union_to_the_single_run(cgan: Path, tmp_path: Path) -> None:
    generate(cgan, tmp_path / "all", "--n", "17")
    union: dict[str, bytes] = {}
    meta = []
    for k in (1, 2, 3):
        d = tmp_path / f"s{k}"
        generate(cgan, d, "--n", "17", "--shard", f"{k}/3", "--batch-size", "4")
        part = files(d)
        assert all(int(name[-10:-4]) % 3 == k - 1 for name in part)
        assert not set(part) & set(union)
        union.update(part)
        meta += (d / f"metadata-shard-{k}-of-3.jsonl").read_text().splitlines(keepends=True)
    assert union == files(tmp_path / "all")
    # documented merge: cat the shard metadata files and sort the lines
    assert "".join(sorted(meta)) == (tmp_path / "all" / "metadata.jsonl").read_text()
    # shards write the same manifest, so shard 2 may be run into shard 1's folder
    generate(cgan, tmp_path / "s1", "--n", "17", "--shard", "2/3")


def test_classes_and_per_class(cgan: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    generate(cgan, out, "--per-class", "3", "--classes", "7,2")
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert sorted((r["index"], r["label"]) for r in rows) == [(0, 7), (1, 7), (2, 7), (3, 2), (4, 2), (5, 2)]
    assert sorted(d.name for d in out.iterdir() if d.is_dir()) == ["2", "7"]
    out2 = tmp_path / "ds2"
    generate(cgan, out2, "--n", "5", "--classes", "1,4")
    rows2 = [json.loads(x) for x in (out2 / "metadata.jsonl").read_text().splitlines()]
    assert [r["label"] for r in sorted(rows2, key=lambda r: r["index"])] == [1, 4, 1, 4, 1]


def test_unconditional_layout(gan: Path, tmp_path: Path) -> None:
    out = tmp_path / "u"
    generate(gan, out, "--n", "4")
    assert sorted(files(out)) == [f"images/{i:06d}.png" for i in range(4)]
    row = json.loads((out / "metadata.jsonl").read_text().splitlines()[0])
    assert set(row) == {"file_name", "index", "seed", "model", "synthetic"}
    one_line_error(generate(gan, tmp_path / "v", "--per-class", "2", expect=None))
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("args", [["--n", "0"], ["--n", "3", "--classes", "cat"],
                                  ["--n", "3", "--shard", "4/3"], ["--n", "3", "--shard", "x"],
                                  ["--n", "3", "--shard", "0/3"],
                                  ["--n", "1000001"], ["--n", "3", "--batch-size", "0"],
                                  ["--n", "3", "--workers", "0"], ["--n", "3", "--workers", "65"],
                                  ["--per-class", "0"], ["--n", "3", "--per-class", "2"], [],
                                  ["--n", "3", "--compression", "10"],
                                  ["--n", "3", "--compression", "-1"]])
def test_bad_inputs_write_nothing(cgan: Path, tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "ds"
    one_line_error(generate(cgan, out, *args, expect=None))
    assert not out.exists()


def test_refuses_foreign_or_other_dataset_without_overwrite(cgan: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    one_line_error(generate(cgan, out, "--n", "3", expect=None))
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    other = tmp_path / "other"
    generate(cgan, other, "--n", "3", "--seed", "1")
    before = everything(other)
    one_line_error(generate(cgan, other, "--n", "3", "--seed", "2", expect=None))
    assert everything(other) == before
    generate(cgan, other, "--n", "2", "--seed", "2", "--overwrite")
    fresh = tmp_path / "fresh"
    generate(cgan, fresh, "--n", "2", "--seed", "2")
    assert everything(other) == everything(fresh)


def test_batch_encoder_gives_the_single_image_bytes() -> None:
    from gansrv.generate.writer import encode_png, encode_pngs

    images = np.random.default_rng(0).integers(0, 256, (5, 7, 9, 3), dtype=np.uint8)
    for level in (0, 1, 6, 9):
        assert encode_pngs(images, level) == [encode_png(im, level=level) for im in images]


def test_compression_levels_keep_pixels_and_are_separate_datasets(cgan: Path, tmp_path: Path) -> None:
    """Level 0 stores, 6 and 9 compress: other bytes, the same pixels; a dataset written at
    one level is not resumed at another (the manifest differs), while the default level's manifest
    stays what it was before the option existed."""
    for level in ("0", "6", "9"):
        generate(cgan, tmp_path / level, "--n", "20", "--compression", level)
    sizes = {z: sum(len(b) for b in files(tmp_path / z).values()) for z in ("0", "6", "9")}
    assert sizes["0"] > 2 * max(sizes["6"], sizes["9"])
    pixels = {z: [np.asarray(Image.open(tmp_path / z / n)) for n in files(tmp_path / z)] for z in ("0", "9")}
    assert all(np.array_equal(a, b) for a, b in zip(pixels["0"], pixels["9"]))
    manifests = {z: json.loads((tmp_path / z / "gansrv-dataset.json").read_text()) for z in ("0", "6")}
    assert manifests["0"]["png_compression"] == 0 and "png_compression" not in manifests["6"]
    before = everything(tmp_path / "6")
    one_line_error(generate(cgan, tmp_path / "6", "--n", "20", "--compression", "0", expect=None))
    assert everything(tmp_path / "6") == before


def test_npz(cgan: Path, tmp_path: Path) -> None:
    generate(cgan, tmp_path / "png", "--n", "6")
    generate(cgan, tmp_path / "npz", "--n", "6", "--format", "npz")
    with np.load(tmp_path / "npz" / "data.npz") as data:
        assert data["images"].shape == (6, 28, 28, 1) and data["images"].dtype == np.uint8
        assert data["labels"].tolist() == [0, 1, 2, 3, 4, 5] and data["indices"].tolist() == list(range(6))
        assert len(data["class_names"]) == 10
        assert data["synthetic"].dtype == np.bool_ and data["synthetic"].tolist() == [True] * 6
        first = data["images"][0, :, :, 0]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "png" / "0" / "000000.png")), first)


def test_generate_does_not_import_torch(cgan: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from gansrv.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['generate', {str(cgan)!r}, '--n', '3', '--no-progress', "
        f"'--out', {str(tmp_path / 'ds')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(files(tmp_path / "ds")) == 3


def test_hugging_face_imagefolder_loads_the_dataset_as_is(cgan: Path, tmp_path: Path) -> None:
    """The real `datasets` loader, offline, reads images and our metadata columns (label included)."""
    out = tmp_path / "ds"
    generate(cgan, out, "--per-class", "2", "--classes", "3,8", "--seed", "5")
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "from datasets import load_dataset\n"
        "ds = load_dataset('imagefolder', data_dir=sys.argv[1], split='train')\n"
        "rows = [{k: v for k, v in r.items() if k != 'image'} | "
        "{'pixels': np.asarray(r['image']).ravel().tolist()} for r in ds]\n"
        "print(json.dumps(rows))\n")
    rows = sorted(run_loader(code, out, tmp_path), key=lambda r: r["index"])
    assert [(r["index"], r["label"], r["class_name"]) for r in rows] == [
        (0, 3, "3"), (1, 3, "3"), (2, 8, "8"), (3, 8, "8")]
    for r in rows:
        png = out / r["class_name"] / f"{r['index']:06d}.png"
        assert r["pixels"] == np.asarray(Image.open(png)).ravel().tolist() and r["seed"] == 5
