"""Mode coverage: how many of a data set's modes a generator's samples reach, and how evenly.

Two synthetic tasks with known modes, both as images so that any noise family trains on them:

- **stacked MNIST** (the Unrolled-GAN/VEEGAN/MAD-GAN benchmark): three digits as the R, G, B channels,
  1,000 modes (digit triples); a sample's mode is the three digits an MNIST classifier reads;
- **blobs**: a 5 x 5 grid of Gaussian blobs, one per image (25 modes, the image version of the 2-D
  grid of Gaussians), scored by blob position: a sample whose brightest spot is off the grid, too
  faint or spread over several places belongs to no mode.

Figures: modes covered (at least one sample) and KL(sample modes || uniform). numpy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GRID = 5
BLOB_SIGMA = 2.0  # pixels; the cells are ~4.75 px apart at 28 px
MAX_OFFSET = 1.5  # a blob read further than this from every grid point is off the grid
MIN_PEAK = 128  # a blob fainter than half white is no blob
MAX_SPOT = 60  # pixels at or above half the peak: one blob lights ~20, a smear or two blobs more
MAX_SPREAD = 2 * BLOB_SIGMA * np.sqrt(2 * np.log(2))  # px: twice a blob's half-maximum radius


def coverage(modes: np.ndarray, total: int) -> dict[str, float]:
    """``modes_covered`` (values in [0, total) with a sample), ``kl`` (KL of the samples' mode
    histogram from uniform over ``total``, in nats, over the samples that have a mode) and
    ``off_mode`` (share of samples without one, mode -1)."""
    valid = modes[(modes >= 0) & (modes < total)]
    counts = np.bincount(valid, minlength=total).astype(np.float64)
    p = counts / max(1, counts.sum())
    nz = p > 0
    return {"modes_covered": int(nz.sum()), "modes_total": total,
            "kl": float(np.sum(p[nz] * np.log(p[nz] * total))),
            "off_mode": float(1 - len(valid) / max(1, len(modes)))}


def blob_centers(size: int = 28, grid: int = GRID) -> np.ndarray:
    """(grid * grid, 2) (row, column) centres, evenly spaced with a 4-pixel margin; mode = r * grid + c."""
    ticks = np.linspace(4, size - 5, grid)
    return np.array([(r, c) for r in ticks for c in ticks], dtype=np.float64)


def render_blobs(n: int, seed: int, size: int = 28, grid: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """n uint8 images (n, 1, size, size), each one blob at a uniformly drawn grid point (jittered by
    0.3 px), and their modes (n,)."""
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, grid * grid, n)
    centres = blob_centers(size, grid)[modes] + rng.normal(0, 0.3, (n, 2))
    yy, xx = np.mgrid[0:size, 0:size]
    d2 = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
    images = np.rint(255 * np.exp(-d2 / (2 * BLOB_SIGMA**2))).astype(np.uint8)
    return images[:, None], modes


def read_blobs(images: np.ndarray, grid: int = GRID) -> np.ndarray:
    """The grid point of each image's blob (its bright pixels' weighted centre), or -1."""
    x = images.reshape(len(images), *images.shape[-2:]).astype(np.float64)
    size = x.shape[-1]
    centres = blob_centers(size, grid)
    yy, xx = np.mgrid[0:size, 0:size]
    out = np.full(len(x), -1, dtype=np.int64)
    for i, img in enumerate(x):
        peak = img.max()
        spot = img >= peak / 2
        if peak < MIN_PEAK or spot.sum() > MAX_SPOT:
            continue
        w = img * spot
        at = np.array([(w * yy).sum(), (w * xx).sum()]) / w.sum()
        spread = np.hypot(yy[spot] - at[0], xx[spot] - at[1]).max()  # two blobs: far from their mean
        dist = np.hypot(*(centres - at).T)
        if dist.min() <= MAX_OFFSET and spread <= MAX_SPREAD:
            out[i] = int(dist.argmin())
    return out


def stack_digits(images: np.ndarray, labels: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n stacked images (n, 3, H, W) from grey (N, 1, H, W) ones: three independently drawn digits
    as the channels; modes (n,) = 100 * first + 10 * second + third digit."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(images), (n, 3))
    stacked = np.concatenate([images[pick[:, c]] for c in range(3)], axis=1)
    modes = labels[pick[:, 0]] * 100 + labels[pick[:, 1]] * 10 + labels[pick[:, 2]]
    return np.ascontiguousarray(stacked), modes.astype(np.int64)


def read_stacked(images: np.ndarray, predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The mode of each stacked image (n, 3, H, W): the digit ``predict`` reads in each channel
    (it takes uint8 (n, 1, H, W), returns labels), as 100 * R + 10 * G + B."""
    digits = [predict(np.ascontiguousarray(images[:, c:c + 1])) for c in range(3)]
    return (digits[0] * 100 + digits[1] * 10 + digits[2]).astype(np.int64)
