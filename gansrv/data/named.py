"""Named datasets: ``digits`` ships inside scikit-learn (the offline default); the MNIST family is
downloaded once into a cache folder and verified against its published MD5 checksums.

Offline, the error names each URL and the folder to place the files in by hand.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gansrv import atomic
from gansrv.data.dataset import Dataset
from gansrv.data.idx import load_idx
from gansrv.errors import UserError

DOWNLOAD_TIMEOUT_S = 30


@dataclass(frozen=True)
class Remote:
    base_urls: tuple[str, ...]
    md5: dict[str, str]
    class_names: tuple[str, ...]


REMOTES: dict[str, Remote] = {
    "mnist": Remote(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",),
        {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
         "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
         "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
         "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
        tuple(str(i) for i in range(10)),
    ),
    "fashion-mnist": Remote(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
         "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
         "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
    ),
    "kmnist": Remote(
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        {"train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
         "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
         "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
         "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134"},
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    ),
}

DESCRIPTIONS = {
    "digits": "scikit-learn's 8x8 handwritten digits (1,797 images, ships offline)",
    "mnist": "MNIST handwritten digits (downloaded, MD5-checked); 'mnist:test' for the test split",
    "fashion-mnist": "Fashion-MNIST clothing (downloaded, MD5-checked)",
    "kmnist": "Kuzushiji-MNIST cursive Japanese (downloaded, MD5-checked)",
}


def cache_dir() -> Path:
    root = os.environ.get("GANSRV_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gansrv")
    return Path(root) / "datasets"


def load_digits() -> Dataset:
    """The embedded default: 1,797 8x8 digits, values 0-16 scaled to 0-255."""
    table = _digits_table()
    images = np.clip(np.rint(table[:, :-1].reshape(-1, 8, 8) * (255.0 / 16.0)), 0, 255)
    labels = table[:, -1].astype(np.int64)
    return Dataset(images.astype(np.uint8)[:, None], labels, [str(i) for i in range(10)],
                   source="digits")


def _digits_table() -> np.ndarray:
    """scikit-learn's digits.csv.gz (64 pixels then the label per row), read as its load_digits
    reads it, but without importing sklearn.datasets: that import took 1.7 s of every training
    process (torch 2.13 machine, 2 cores), a second of each test that starts one."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is None or not path.is_file():  # another layout: let scikit-learn find its file
        from sklearn.datasets import load_digits as sk_digits

        bunch = sk_digits()
        return np.column_stack([bunch.data, bunch.target])
    with gzip.open(path, "rt") as fh:
        return np.loadtxt(fh, delimiter=",")


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(name: str, remote: Remote, filename: str, folder: Path) -> Path:
    path = folder / filename
    want = remote.md5[filename]
    if path.exists():
        if _md5(path) == want:
            return path
        raise UserError(f"{path}: checksum mismatch (MD5 {_md5(path)}, expected {want}); "
                        f"delete it and retry")
    url = remote.base_urls[0] + filename
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            data = resp.read(200 * 1024 * 1024)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"cannot download {name} ({reason}): fetch {url} (and the other files: "
                        f"{', '.join(remote.md5)}) by hand and place them in {folder}") from None
    got = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if got != want:
        raise UserError(f"{url}: downloaded file fails its checksum (MD5 {got}, expected {want})")
    atomic.write_bytes(path, data)
    return path


def load_remote(name: str, split: str) -> Dataset:
    remote = REMOTES[name]
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise UserError(f"unknown split {split!r} for {name} (use train or test)")
    folder = cache_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    imgs = _fetch(name, remote, f"{prefix}-images-idx3-ubyte.gz", folder)
    labels = _fetch(name, remote, f"{prefix}-labels-idx1-ubyte.gz", folder)
    ds = load_idx(imgs, labels)
    return Dataset(ds.images, ds.labels, list(remote.class_names), source=f"{name}:{split}")


def load_named(name: str, split: str) -> Dataset:
    if name == "digits":
        if split != "train":
            raise UserError("digits has a single split; use --limit and your own hold-out")
        return load_digits()
    return load_remote(name, split)


NAMES = ("digits", *REMOTES)
