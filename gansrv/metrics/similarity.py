"""Similarity of translated images to their known targets, with numpy only: L1, PSNR and SSIM.

Paired tasks (an image -> image model whose right answer is known, e.g. an edge map and its digit)
are scored with these on held-out pairs; they need no torch, so they run on a serving install.
"""

from __future__ import annotations

import numpy as np

SSIM_WINDOW = 11  # Wang et al. 2004, sec. III-C: an 11x11 circular-symmetric Gaussian, sigma 1.5
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _as_nhwc(images: np.ndarray) -> np.ndarray:
    """(H, W), (N, H, W) or (N, H, W, C) -> float64 (N, H, W, C)."""
    a = np.asarray(images, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4:
        raise ValueError(f"images must be (H, W), (N, H, W) or (N, H, W, C), got shape {a.shape}")
    return a


def l1_psnr(pred: np.ndarray, truth: np.ndarray, data_range: float = 255.0) -> tuple[float, float]:
    """Mean absolute error on a 0..1 scale, and PSNR in dB of the mean squared error (peak 1)."""
    p, t = _as_nhwc(pred) / data_range, _as_nhwc(truth) / data_range
    mse = float(np.mean((p - t) ** 2))
    return float(np.mean(np.abs(p - t))), float(10 * np.log10(1 / max(mse, 1e-12)))


def _gaussian_filter_valid(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of (N, H, W, C) along H and W."""
    from numpy.lib.stride_tricks import sliding_window_view

    k = len(kernel)
    a = np.tensordot(sliding_window_view(a, k, axis=1), kernel, axes=([4], [0]))
    return np.tensordot(sliding_window_view(a, k, axis=2), kernel, axes=([4], [0]))


def ssim_per_image(pred: np.ndarray, truth: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """Mean SSIM of each image (averaged over its channels), Wang et al. 2004, eq. 13:

        SSIM(x, y) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 +
                     sigma_y^2 + C2)),  C1 = (K1 L)^2, C2 = (K2 L)^2, L = data_range,

    with local statistics under the Gaussian window at every position where it fits inside the
    image (no padding), then averaged. Identical images give exactly 1."""
    x, y = _as_nhwc(pred), _as_nhwc(truth)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    if min(x.shape[1:3]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels")
    r = np.arange(SSIM_WINDOW) - SSIM_WINDOW // 2
    kernel = np.exp(-(r ** 2) / (2 * SSIM_SIGMA ** 2))
    kernel /= kernel.sum()
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    mu_x, mu_y = _gaussian_filter_valid(x, kernel), _gaussian_filter_valid(y, kernel)
    var_x = _gaussian_filter_valid(x * x, kernel) - mu_x ** 2
    var_y = _gaussian_filter_valid(y * y, kernel) - mu_y ** 2
    cov = _gaussian_filter_valid(x * y, kernel) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return s.mean(axis=(1, 2, 3))


def ssim(pred: np.ndarray, truth: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM over a set of images (see :func:`ssim_per_image`)."""
    return float(ssim_per_image(pred, truth, data_range).mean())
