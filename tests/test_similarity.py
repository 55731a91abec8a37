"""L1, PSNR and SSIM of gansrv.metrics.similarity (numpy only) against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gansrv.metrics.similarity import l1_psnr, ssim, ssim_per_image


def test_identical_images_have_ssim_one():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    assert np.array_equal(ssim_per_image(images, images), np.ones(3))
    rgb = rng.integers(0, 256, (2, 16, 20, 3), dtype=np.uint8)
    assert ssim(rgb, rgb) == 1.0


def test_flat_images_follow_the_luminance_term():
    # Flat images: every local variance and covariance is 0, so the contrast-structure factor is
    # C2 / C2 = 1 and SSIM = (2 a b + C1) / (a^2 + b^2 + C1), with C1 = (0.01 * 255)^2 = 6.5025.
    a, b = np.full((12, 12), 100, np.uint8), np.full((12, 12), 50, np.uint8)
    assert ssim(a, b) == pytest.approx((2 * 100 * 50 + 6.5025) / (100**2 + 50**2 + 6.5025), rel=1e-12)
    black, white = np.zeros((12, 12), np.uint8), np.full((12, 12), 255, np.uint8)
    assert ssim(black, white) == pytest.approx(1e-4 / (1 + 1e-4), rel=1e-9)  # C1 / (255^2 + C1)


def test_inverted_structure_is_negative_and_ssim_is_symmetric():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (2, 24, 24), dtype=np.uint8)
    inverted = 255 - x
    assert ssim(x, inverted) < 0  # same means (about), anti-correlated: the structure term < 0
    noisy = np.clip(x.astype(int) + rng.integers(-20, 21, x.shape), 0, 255).astype(np.uint8)
    assert 0 < ssim(x, noisy) < 1 and ssim(x, noisy) == pytest.approx(ssim(noisy, x), abs=1e-12)


def test_l1_psnr_and_bad_shapes():
    a, b = np.zeros((1, 4, 4), np.uint8), np.full((1, 4, 4), 51, np.uint8)  # 51 / 255 = 0.2
    l1, psnr = l1_psnr(a, b)
    assert l1 == pytest.approx(0.2) and psnr == pytest.approx(10 * np.log10(1 / 0.04))
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(np.zeros((12, 12)), np.zeros((12, 13)))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
