"""Paired image data for image -> image families: (input, target) pairs in one :class:`Dataset`.

Two layouts, as the pix2pix and CycleGAN tools write them:

* **AB images**: a folder of images that each hold A on the left half and B on the right half
  (pix2pix's ``facades/train/*.jpg``); ``direction`` picks which half is the input.
* **A/ and B/ folders**: ``root/A/x.png`` pairs with ``root/B/x.png`` (matched by file stem).

Unpaired domains (CycleGAN's ``trainA/`` and ``trainB/``) load through :func:`load_unpaired` into
the same shape: the shorter domain is repeated to the longer one's length, and the engine shuffles
the two together; losses of unpaired families never couple image i of A with image i of B.

Anything that cannot form a pair (an image without its partner, an unreadable file, halves or
partners of different sizes, an odd width) ends in one :class:`UserError` naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gansrv.data.dataset import Dataset, check_size
from gansrv.data.folder import MAX_FILES, images_in, open_image, square_image
from gansrv.errors import UserError

DIRECTIONS = ("AtoB", "BtoA")
UNPAIRED = "unpaired"


def load_pairs(sources: Sequence[str], direction: str, size: int | None = None,
               limit: int | None = None) -> Dataset:
    """``--data`` for a paired family: one folder (AB images, or A/ + B/) -> a paired Dataset.

    ``direction`` AtoB makes A the input (``images``) and B the target (``targets``); BtoA swaps.
    """
    if direction not in DIRECTIONS:
        raise UserError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if len(sources) != 1:
        raise UserError(f"paired data is one folder (AB images, or A/ and B/ subfolders), got "
                        f"{len(sources)} --data values")
    root = Path(sources[0])
    if not root.is_dir():
        raise UserError(f"--data {root}: paired data must be a folder of AB images or a folder "
                        f"with A/ and B/ subfolders")
    if (root / "A").is_dir() and (root / "B").is_dir():
        a, b = _load_ab_folders(root, size, limit)
    elif (root / "A").is_dir() or (root / "B").is_dir():
        missing = "B" if (root / "A").is_dir() else "A"
        raise UserError(f"{root}: has no {missing}/ subfolder to pair with")
    else:
        a, b = _load_side_by_side(root, size, limit)
    if direction == "BtoA":
        a, b = b, a
    return Dataset(a, None, [], str(root), targets=b)


def _stack(arrays: list[np.ndarray], source: str) -> np.ndarray:
    check_size(source, (len(arrays), *arrays[0].shape))
    return np.stack(arrays).astype(np.uint8)


def _as_chw(img, rgb: bool) -> np.ndarray:
    arr = np.asarray(img.convert("RGB" if rgb else "L"))
    return arr.transpose(2, 0, 1) if rgb else arr[None]


def _files(folder: Path, limit: int | None) -> list[Path]:
    files = images_in(folder)
    if len(files) > MAX_FILES:
        raise UserError(f"{folder}: {len(files)} images exceeds the {MAX_FILES} limit")
    return files[:limit] if limit is not None else files


def _load_side_by_side(root: Path, size: int | None, limit: int | None
                       ) -> tuple[np.ndarray, np.ndarray]:
    files = _files(root, limit)
    if not files:
        raise UserError(f"{root}: no AB images (and no A/ and B/ subfolders)")
    halves = []
    for path in files:
        img = open_image(path)
        w, h = img.size
        if w % 2 or w < 2:
            raise UserError(f"{path}: an AB image must hold two halves of equal width; it is "
                            f"{w}x{h} (odd width)")
        half = w // 2
        pair = [img.crop((0, 0, half, h)), img.crop((half, 0, w, h))]
        if size is not None:
            pair = [square_image(p, size) for p in pair]
        halves.append((path, pair))
    return _to_arrays(root, [(p, p, a, b) for p, (a, b) in halves])


def _load_ab_folders(root: Path, size: int | None, limit: int | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    a_files = {p.stem: p for p in images_in(root / "A")}
    b_files = {p.stem: p for p in images_in(root / "B")}
    for stems, other, side in ((a_files, b_files, "B"), (b_files, a_files, "A")):
        lonely = sorted(set(stems) - set(other))
        if lonely:
            raise UserError(f"{stems[lonely[0]]}: no partner in {root / side} (pairs are matched "
                            f"by file name; {len(lonely)} unmatched)")
    if not a_files:
        raise UserError(f"{root}: A/ and B/ hold no images")
    stems = sorted(a_files)
    if len(stems) > MAX_FILES:
        raise UserError(f"{root}: {len(stems)} pairs exceeds the {MAX_FILES} limit")
    stems = stems[:limit] if limit is not None else stems
    rows = []
    for stem in stems:
        pa, pb = a_files[stem], b_files[stem]
        ia, ib = open_image(pa), open_image(pb)
        if ia.size != ib.size:
            raise UserError(f"{pb}: {ib.size[0]}x{ib.size[1]} pixels, but its partner {pa} is "
                            f"{ia.size[0]}x{ia.size[1]}")
        if size is not None:
            ia, ib = square_image(ia, size), square_image(ib, size)
        rows.append((pa, pb, ia, ib))
    return _to_arrays(root, rows)


def _to_arrays(root: Path, rows: list) -> tuple[np.ndarray, np.ndarray]:
    """(path A, path B, image A, image B) rows -> two uint8 stacks; all pairs must share a size."""
    first = rows[0][2].size
    for pa, _pb, ia, _ib in rows:
        if ia.size != first:
            raise UserError(f"{pa}: {ia.size[0]}x{ia.size[1]} pixels, but {rows[0][0]} is "
                            f"{first[0]}x{first[1]}; pass an image size to resize them all")
    rgb_a = any(r[2].mode == "RGB" for r in rows)
    rgb_b = any(r[3].mode == "RGB" for r in rows)
    a = _stack([_as_chw(r[2], rgb_a) for r in rows], str(root))
    b = _stack([_as_chw(r[3], rgb_b) for r in rows], str(root))
    return a, b


def load_unpaired(sources: Sequence[str], size: int | None, limit: int | None = None) -> Dataset:
    """``root/trainA`` and ``root/trainB`` (each a flat folder of images) -> a Dataset whose
    ``images`` are domain A and ``targets`` domain B, both ``size`` x ``size``; ``limit`` caps each."""
    if len(sources) != 1:
        raise UserError(f"unpaired data is one folder with trainA/ and trainB/, got {len(sources)} "
                        f"--data values")
    root = Path(sources[0])
    domains = []
    for name in ("trainA", "trainB"):
        folder = root / name
        if not folder.is_dir():
            raise UserError(f"--data {root}: no {name}/ subfolder (unpaired data is a folder with "
                            f"trainA/ and trainB/)")
        files = _files(folder, limit)
        if not files:
            raise UserError(f"{folder}: no images")
        imgs = [(p, open_image(p, size)) for p in files]
        rows = [(p, p, img, img) for p, img in imgs]
        domains.append(_to_arrays(folder, rows)[0])
    a, b = domains
    n = max(len(a), len(b))
    return Dataset(a[np.arange(n) % len(a)], None, [], str(root), targets=b[np.arange(n) % len(b)])
