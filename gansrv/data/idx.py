"""IDX files (the MNIST family's format), raw or gzip, read with every header checked.

Format: two zero bytes, a type code, the number of dimensions, then each dimension as a big-endian
uint32, then the data. Only unsigned bytes (0x08) are meaningful for images and labels here.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from gansrv.data.dataset import MAX_DATASET_BYTES, Dataset, check_size
from gansrv.errors import UserError

_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes_bounded(path: Path, limit: int = MAX_DATASET_BYTES + 1024) -> bytes:
    """Read a file, gunzipping it if needed, refusing to inflate past `limit` bytes."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    out = bytearray()
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = raw
        while data:
            out += decomp.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise UserError(f"{path}: decompresses to more than {limit} bytes; refusing")
            data = decomp.unconsumed_tail
        if not decomp.eof:
            raise UserError(f"{path}: truncated gzip file")
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise UserError(f"{path}: corrupt gzip data ({exc})") from None
    return bytes(out)


def read_idx(path: Path) -> np.ndarray:
    data = read_bytes_bounded(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise UserError(f"{path}: not an IDX file (bad magic number)")
    if data[2] != 0x08:
        raise UserError(f"{path}: IDX type 0x{data[2]:02x} is not unsigned bytes (0x08)")
    ndim = data[3]
    if ndim not in (1, 3):
        raise UserError(f"{path}: IDX file has {ndim} dimensions; expected 1 (labels) or 3 (images)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    check_size(str(path), dims)
    expected = int(np.prod(dims, dtype=np.int64))
    body = len(data) - header
    if body != expected:
        what = "truncated" if body < expected else "has trailing bytes"
        raise UserError(f"{path}: IDX file {what}: header says {dims}, "
                        f"{expected} bytes expected, {body} found")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def find_idx_pair(folder: Path) -> tuple[Path, Path]:
    """Pick the images/labels files in a folder, preferring the training split."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and "-idx" in p.name)
    images = [p for p in files if "idx3" in p.name]
    labels = [p for p in files if "idx1" in p.name]
    if not images:
        raise UserError(f"{folder}: no IDX image file (*-idx3-ubyte[.gz]) found")
    if len(images) > 1:
        train = [p for p in images if p.name.startswith("train")]
        if len(train) != 1:
            raise UserError(f"{folder}: several IDX image files; pass the images and labels files "
                            f"explicitly (--data IMAGES --data LABELS)")
        images = train
    prefix = images[0].name.split("-")[0]
    match = [p for p in labels if p.name.split("-")[0] == prefix]
    if len(match) != 1:
        raise UserError(f"{folder}: no single labels file matching {images[0].name}")
    return images[0], match[0]


def load_idx(images_path: Path, labels_path: Path | None) -> Dataset:
    images = read_idx(images_path)
    if images.ndim != 3:
        raise UserError(f"{images_path}: expected an IDX image file (3 dimensions)")
    labels = None
    if labels_path is not None:
        labels = read_idx(labels_path)
        if labels.ndim != 1:
            raise UserError(f"{labels_path}: expected an IDX label file (1 dimension)")
        if len(labels) != len(images):
            raise UserError(f"{images_path.name} holds {len(images)} images but "
                            f"{labels_path.name} holds {len(labels)} labels")
        labels = labels.astype(np.int64)
    return Dataset(images[:, None, :, :].copy(), labels, [], source=str(images_path))
