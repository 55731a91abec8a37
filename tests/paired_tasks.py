"""Image -> image tasks with enough data to learn, derived from MNIST, whose right answers are known.

Paired: edge map -> digit. The edge map of a digit is its binarised stroke minus the stroke eroded
by a 3x3 cross: an outline that keeps the shape but not the stroke's thickness or grey levels, which
the model must fill in. Written as ``A/`` (edges) and ``B/`` (digits) folders of PNGs with matching
names, the layout that ``gansrv train pix2pix --data DIR`` reads.

Unpaired: digit <-> thick digit. Domain B is :func:`thicken` applied to *other* digits than those
of domain A (``trainA/``, ``trainB/``, the layout of ``gansrv train cyclegan``), so no pair is ever
shown; on held-out digits the right translation is still known (the digit's own thick version).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from gansrv.data.idx import find_idx_pair, load_idx


def edge_maps(digits: np.ndarray, threshold: int = 127) -> np.ndarray:
    """uint8 (N, H, W) digits -> uint8 (N, H, W) outlines (255 on the edge, 0 elsewhere)."""
    ink = digits > threshold
    pad = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    eroded = ink & pad[:, :-2, 1:-1] & pad[:, 2:, 1:-1] & pad[:, 1:-1, :-2] & pad[:, 1:-1, 2:]
    return ((ink & ~eroded) * 255).astype(np.uint8)


def mnist_digits(mnist: Path, start: int, count: int, size: int = 32) -> np.ndarray:
    """uint8 (count, size, size) MNIST test-split images start.., padded from 28 px at the centre."""
    images = load_idx(*find_idx_pair(mnist)).images[start:start + count, 0]
    pad = (size - images.shape[1]) // 2
    return np.pad(images, ((0, 0), (pad, size - 28 - pad), (pad, size - 28 - pad)))


def write_pair_folders(root: Path, digits: np.ndarray) -> Path:
    """root/A/NNNNN.png (edge maps) and root/B/NNNNN.png (digits); returns root."""
    for side, images in (("A", edge_maps(digits)), ("B", digits)):
        (root / side).mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            Image.fromarray(img).save(root / side / f"{i:05d}.png")
    return root


def thicken(digits: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) -> the grey-level dilation by a 3x3 square (each pixel the max of its 3x3
    neighbourhood): strokes about 2 px thicker, same grey levels, same digit."""
    pad = np.pad(digits, ((0, 0), (1, 1), (1, 1)))
    h, w = digits.shape[1:]
    return np.max([pad[:, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=0)


def write_unpaired_folders(root: Path, domain_a: np.ndarray, domain_b: np.ndarray) -> Path:
    """root/trainA/NNNNN.png and root/trainB/NNNNN.png from two uint8 (N, H, W) stacks; returns root."""
    for side, images in (("trainA", domain_a), ("trainB", domain_b)):
        (root / side).mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            Image.fromarray(img).save(root / side / f"{i:05d}.png")
    return root
