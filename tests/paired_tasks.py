"""A paired image -> image task with enough data to learn, derived from MNIST: edge map -> digit.

The edge map of a digit is its binarised stroke minus the stroke eroded by a 3x3 cross: an outline
that keeps the shape but not the stroke's thickness or grey levels, which the model must fill in.
Written as ``A/`` (edges) and ``B/`` (digits) folders of PNGs with matching names, the layout that
``gansrv train pix2pix --data DIR`` reads.
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


def l1_psnr(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Mean absolute error on a 0..1 scale, and PSNR in dB of the mean squared error (peak 1)."""
    p, t = pred.astype(np.float64) / 255, truth.astype(np.float64) / 255
    mse = float(np.mean((p - t) ** 2))
    return float(np.mean(np.abs(p - t))), float(10 * np.log10(1 / max(mse, 1e-12)))
