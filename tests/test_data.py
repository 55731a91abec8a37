"""--data in every form it takes, and every bad input ending in one line with exit code 2."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gansrv.data import load_dataset
from gansrv.errors import UserError

from .conftest import SHARED_DATA, one_line_error, run


def test_idx_folder_loads_shared_mnist_with_limit(mnist):
    ds = load_dataset([str(mnist)], limit=8000)
    assert ds.images.shape == (8000, 1, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.shape == (8000,) and set(ds.labels.tolist()) == set(range(10))
    assert ds.class_names == [str(i) for i in range(10)]


def test_idx_pair_gz_and_raw_give_the_same_data(mnist, tmp_path):
    gz_imgs, gz_labels = mnist / "t10k-images-idx3-ubyte.gz", mnist / "t10k-labels-idx1-ubyte.gz"
    raw_imgs, raw_labels = tmp_path / "imgs-idx3-ubyte", tmp_path / "labels-idx1-ubyte"
    raw_imgs.write_bytes(gzip.decompress(gz_imgs.read_bytes()))
    raw_labels.write_bytes(gzip.decompress(gz_labels.read_bytes()))
    a = load_dataset([str(gz_imgs), str(gz_labels)], limit=500)
    b = load_dataset([str(raw_imgs), str(raw_labels)], limit=500)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert a.fingerprint() == b.fingerprint()


def _idx(dims: tuple[int, ...], body: bytes) -> bytes:
    header = bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + body


@pytest.mark.parametrize(
    "images,labels,needle",
    [
        (_idx((3, 2, 2), bytes(12))[:-1], _idx((3,), bytes(3)), "truncated"),
        (gzip.compress(_idx((3, 2, 2), bytes(12)))[:-6], _idx((3,), bytes(3)), "truncated gzip"),
        (b"\x1f\x8bnot really gzip", _idx((3,), bytes(3)), "corrupt gzip"),
        (b"\x08\x03\x00\x00garbage", _idx((3,), bytes(3)), "not an IDX file"),
        (_idx((3, 2, 2), bytes(12)), _idx((2,), bytes(2)), "3 images but"),
        (_idx((70000, 70000, 70000), b""), _idx((3,), bytes(3)), "limit"),
    ],
)
def test_bad_idx_files_fail_in_one_line(tmp_path, images, labels, needle):
    (tmp_path / "x-images-idx3-ubyte").write_bytes(images)
    (tmp_path / "x-labels-idx1-ubyte").write_bytes(labels)
    out = tmp_path / "run"
    result = run("train", "gan", "--data", tmp_path, "--steps", 1, "--out", out, expect=None)
    assert needle in one_line_error(result)
    assert not out.exists(), "nothing may be written for bad input"


def _write_class_folder(root: Path, per_class: int = 6, size: int = 20, mode: str = "L") -> None:
    rng = np.random.default_rng(0)
    for name in ("cat", "dog", "eel"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            shape = (size, size) if mode == "L" else (size, size, 3)
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(root / name / f"{i}.png")


def test_class_folder_is_labelled_and_resized(tmp_path):
    _write_class_folder(tmp_path / "data")
    ds = load_dataset([str(tmp_path / "data")], size=28)
    assert ds.images.shape == (18, 1, 28, 28)
    assert ds.class_names == ["cat", "dog", "eel"] and ds.labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6


def test_rgb_flat_folder_trains_dcgan_at_32px(tmp_path):
    data = SHARED_DATA / "horse2zebra-mini" / "trainA"
    if not data.is_dir():
        pytest.skip("shared horse2zebra-mini not found")
    ds = load_dataset([str(data)], size=32)
    assert ds.images.shape == (2, 3, 32, 32) and ds.labels is None
    out = tmp_path / "run"
    run("train", "dcgan", "--data", data, "--image-size", 32, "--steps", 2, "--batch-size", 2,
        "--out", out, "--no-progress")
    assert (out / "checkpoints" / "latest").is_file()


def test_conditional_family_refuses_unlabelled_data(tmp_path):
    data = tmp_path / "flat"
    data.mkdir()
    for i in range(4):
        Image.fromarray(np.full((8, 8), i * 40, np.uint8)).save(data / f"{i}.png")
    result = run("train", "cgan", "--data", data, "--steps", 1, "--out", tmp_path / "r", expect=None)
    assert "needs labelled data" in one_line_error(result)


@pytest.mark.parametrize("kind", ["empty", "unreadable", "sizes"])
def test_bad_image_folders(tmp_path, kind):
    data = tmp_path / "d"
    data.mkdir()
    if kind == "unreadable":
        (data / "a").mkdir()
        (data / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    elif kind == "sizes":
        (data / "a").mkdir()
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(data / "a" / "0.png")
        Image.fromarray(np.zeros((9, 8), np.uint8)).save(data / "a" / "1.png")
    from gansrv.data.folder import load_folder

    with pytest.raises(UserError) as info:
        load_folder(data, None)
    assert {"empty": "empty folder", "unreadable": "broken.png", "sizes": "differ in size"}[kind] in str(
        info.value)


def test_npz_forms_and_values(tmp_path):
    rng = np.random.default_rng(1)
    nhwc = rng.random((5, 12, 12, 3)).astype(np.float32)  # floats in [0, 1], channels last
    np.savez(tmp_path / "a.npz", images=nhwc, labels=np.array([0, 1, 0, 1, 2]),
             class_names=np.array(["x", "y", "z"]))
    ds = load_dataset([str(tmp_path / "a.npz")])
    assert ds.images.shape == (5, 3, 12, 12) and ds.class_names == ["x", "y", "z"]
    assert abs(int(ds.images[0, 0, 0, 0]) - round(float(nhwc[0, 0, 0, 0]) * 255)) <= 1


@pytest.mark.parametrize(
    "arrays,needle",
    [
        ({"images": np.full((2, 4, 4), np.nan)}, "NaN"),
        ({"pixels": np.zeros((2, 4, 4), np.uint8)}, "no 'images'"),
        ({"images": np.zeros((2, 4, 4), np.uint8), "labels": np.zeros(3, np.int64)}, "2 images but 3"),
        ({"images": np.zeros((2, 4), np.uint8)}, "has shape"),
        ({"images": np.array(["a", "b"])}, "dtype"),
    ],
)
def test_bad_npz(tmp_path, arrays, needle):
    np.savez(tmp_path / "bad.npz", **arrays)
    result = run("train", "gan", "--data", tmp_path / "bad.npz", "--steps", 1, "--out", tmp_path / "r",
                 expect=None)
    assert needle in one_line_error(result)


def test_npz_that_is_not_a_zip(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 truncated")
    result = run("train", "gan", "--data", tmp_path / "x.npz", "--steps", 1, expect=None)
    assert "x.npz" in one_line_error(result)


def test_digits_is_the_offline_default():
    ds = load_dataset(["digits"], size=28)
    assert ds.images.shape == (1797, 1, 28, 28) and ds.labels.max() == 9


def test_digits_are_scikit_learns_without_importing_it():
    """Read from scikit-learn's own file (faster start), the same arrays its loader returns."""
    from sklearn.datasets import load_digits as sk_digits

    from gansrv.data.named import load_digits

    ds, bunch = load_digits(), sk_digits()
    want = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)[:, None]
    assert ds.images.dtype == np.uint8 and np.array_equal(ds.images, want)
    assert ds.labels.dtype == np.int64 and np.array_equal(ds.labels, bunch.target)
    code = ("import sys; from gansrv.data.named import load_digits; load_digits(); "
            "assert 'sklearn.datasets' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_named_download_offline_names_url_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSRV_CACHE", str(tmp_path / "cache"))
    with pytest.raises(UserError) as info:
        load_dataset(["kmnist"])
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "cache" / "datasets" / "kmnist") in msg


def test_named_dataset_from_cache_is_checksummed(tmp_path, monkeypatch, mnist):
    """Files placed by hand in the cache folder are used after their MD5 check."""
    monkeypatch.setenv("GANSRV_CACHE", str(tmp_path))
    folder = tmp_path / "datasets" / "mnist"
    folder.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist / f, folder / f)
    ds = load_dataset(["mnist:test"], limit=10)
    assert ds.images.shape == (10, 1, 28, 28)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    with pytest.raises(UserError, match="checksum mismatch"):
        load_dataset(["mnist:test"])


def test_unknown_data_source():
    result = run("train", "gan", "--data", "no-such-thing", "--steps", 1, expect=None)
    assert "not a named dataset" in one_line_error(result)
