"""``.npz`` archives with ``images`` (and optionally ``labels``, ``class_names``); never unpickled."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from gansrv.data.dataset import MAX_DATASET_BYTES, Dataset
from gansrv.errors import UserError


def _to_nchw(images: np.ndarray, path: Path) -> np.ndarray:
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        return images.transpose(0, 3, 1, 2)
    if images.ndim == 4 and images.shape[1] in (1, 3):
        return images
    raise UserError(f"{path}: 'images' has shape {images.shape}; expected (N, H, W), "
                    f"(N, H, W, C) or (N, C, H, W) with C in 1 or 3")


def _to_uint8(images: np.ndarray, path: Path) -> np.ndarray:
    if images.size == 0:
        raise UserError(f"{path}: 'images' holds no pixels (shape {images.shape})")
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind not in "fiu":
        raise UserError(f"{path}: 'images' has dtype {images.dtype}; expected uint8 or float")
    images = images.astype(np.float64)
    if not np.isfinite(images).all():
        raise UserError(f"{path}: 'images' contains NaN or infinite values")
    lo, hi = float(images.min()), float(images.max())
    if lo >= 0 and hi <= 1:
        images = images * 255
    elif lo >= -1 and hi <= 1:
        images = (images + 1) * 127.5
    elif lo < 0 or hi > 255:
        raise UserError(f"{path}: pixel values span [{lo}, {hi}]; expected [0, 1], [-1, 1] "
                        f"or [0, 255]")
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def load_npz(path: Path) -> Dataset:
    try:
        with zipfile.ZipFile(path) as zf:
            inflated = sum(info.file_size for info in zf.infolist())
        if inflated > MAX_DATASET_BYTES:
            raise UserError(f"{path}: inflates to {inflated} bytes, over the limit; refusing")
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive.files:
                raise UserError(f"{path}: no 'images' array (found: {', '.join(archive.files)})")
            images = archive["images"]
            labels = archive["labels"] if "labels" in archive.files else None
            names = archive["class_names"] if "class_names" in archive.files else None
    except UserError:
        raise
    # zipfile reports a corrupt archive in many ways (a flipped byte can read as an unknown
    # compression method, a newer zip version or encryption); all mean: not a readable .npz.
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
            zlib.error, struct.error) as exc:
        raise UserError(f"{path}: not a readable .npz archive ({exc})") from None
    images = _to_uint8(_to_nchw(images, path), path)
    if labels is not None:
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise UserError(f"{path}: 'labels' must be a 1-D integer array, got "
                            f"{labels.dtype} {labels.shape}")
        labels = labels.astype(np.int64)
    class_names = [str(n) for n in names] if names is not None else []
    return Dataset(np.ascontiguousarray(images), labels, class_names, str(path))
