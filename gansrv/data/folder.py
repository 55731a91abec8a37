"""Image folders: ``root/<class>/*.png`` (labelled, classes sorted by name) or flat (unlabelled)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from gansrv.data.dataset import Dataset, check_size
from gansrv.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
MAX_IMAGE_PIXELS = 64 * 1024 * 1024  # per image: anything larger is treated as a decompression bomb
MAX_FILES = 2_000_000
MAX_INPUTS = 1_000_000  # input images of one classify/translate command


def images_in(folder: Path) -> list[Path]:
    """The image files directly inside ``folder`` (by suffix), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _open(path: Path, size: int | None):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise UserError(f"{path}: {w}x{h} pixels exceeds the {MAX_IMAGE_PIXELS} limit")
                img.load()
                mode = "L" if img.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB"
                img = img.convert(mode)
                if size is not None:
                    img = square_image(img, size)
                return img
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UserError(f"{path}: refused as a decompression bomb ({exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"{path}: unreadable image ({exc})") from None


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header alone: refuses unreadable files and oversized images before
    any pixel is decoded, so a batch command can check all its inputs before writing anything."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UserError(f"{path}: unreadable image ({exc})") from None
    if width * height > MAX_IMAGE_PIXELS:
        raise UserError(f"{path}: {width}x{height} pixels exceeds the {MAX_IMAGE_PIXELS} limit")
    return width, height


def open_image(path: Path, size: int | None = None):
    """One image as grey (L) or RGB, centre-cut and resized to ``size`` when given; unreadable files
    and decompression bombs are one UserError."""
    return _open(path, size)


def open_square(path: Path, size: int):
    """One image centre-cut to a square and resized to size x size, as training images are."""
    return _open(path, size)


def square_image(img, size: int):
    """A PIL image centre-cut to a square and resized to size x size (LANCZOS), as training sees it."""
    from PIL import Image

    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    return img.resize((size, size), Image.Resampling.LANCZOS) if side != size else img


def load_folder(root: Path, size: int | None) -> Dataset:
    """Read every image; all must share one size unless `size` resizes them on the way in."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        groups = [(d.name, images_in(d)) for d in subdirs]
        groups = [(n, files) for n, files in groups if files]
        if not groups:
            raise UserError(f"{root}: no images in any class subfolder")
    else:
        groups = [("", images_in(root))]
        if not groups[0][1]:
            raise UserError(f"{root}: empty folder (no images and no class subfolders)")
    total = sum(len(files) for _, files in groups)
    if total > MAX_FILES:
        raise UserError(f"{root}: {total} images exceeds the {MAX_FILES} limit")
    imgs, labels = [], []
    for label, (_, files) in enumerate(groups):
        for path in files:
            imgs.append(_open(path, size))
            labels.append(label)
    rgb = any(img.mode == "RGB" for img in imgs)
    first = imgs[0].size
    arrays = []
    for img, (path_label) in zip(imgs, labels):
        if img.size != first:
            raise UserError(f"{root}: images differ in size ({first} vs {img.size}, class "
                            f"{groups[path_label][0] or 'root'}); pass a family with image_size set")
        arr = np.asarray(img.convert("RGB" if rgb else "L"))
        arrays.append(arr.transpose(2, 0, 1) if rgb else arr[None])
    check_size(str(root), (len(arrays), *arrays[0].shape))
    images = np.stack(arrays).astype(np.uint8)
    if subdirs:
        return Dataset(images, np.array(labels, dtype=np.int64), [n for n, _ in groups], str(root))
    return Dataset(images, None, [], str(root))


def collect_inputs(inputs: tuple[Path, ...], recursive: bool = False, resolve: bool = False,
                   hint: str = "") -> list[Path]:
    """The image files a command was pointed at: files as given and the images inside folders
    (sorted; their sub-folders too with ``recursive``), each once, in order; with ``resolve`` a
    file named two ways counts once (translate writes one output per input). ``hint`` ends the
    "no images" error (e.g. the flag that would have found some)."""
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            walk = item.rglob("*") if recursive else item.iterdir()
            found += sorted(p for p in walk if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            found.append(item)
        else:
            raise UserError(f"{item}: no such file or folder")
        if len(found) > MAX_INPUTS:
            raise UserError(f"more than {MAX_INPUTS:,} input images")
    unique = list(dict.fromkeys(p.resolve() if resolve else p for p in found))
    if not unique:
        raise UserError(f"no images in {', '.join(map(str, inputs))}{hint}")
    return unique
