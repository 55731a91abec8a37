"""Distances between two sets of evaluator features, with numpy only: FID, KID, precision/recall.

Each takes ``real`` and ``fake`` as float arrays (N, D) of penultimate-layer features. Computed in
float64; sizes are bounded by the caller (``gansrv eval --n``) and the pairwise work is chunked, so
memory stays at a few chunks of distances whatever the set sizes.
"""

from __future__ import annotations

import numpy as np

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
PR_MAX = 10_000  # precision/recall compare at most this many samples per side (O(N^2) distances)
_CHUNK = 1024


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """FID (Heusel et al. 2017): ||mu_r - mu_f||^2 + Tr(C_r + C_f - 2 (C_r C_f)^(1/2)).

    Tr((C_r C_f)^(1/2)) equals the trace of the square root of the symmetric PSD matrix
    C_r^(1/2) C_f C_r^(1/2), which ``eigh`` handles stably without scipy's ``sqrtm``.
    """
    r, f = real.astype(np.float64), fake.astype(np.float64)
    mu_r, mu_f = r.mean(0), f.mean(0)
    c_r, c_f = np.cov(r, rowvar=False), np.cov(f, rowvar=False)
    s = _psd_sqrt(c_r)
    middle = s @ c_f @ s
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum())
    value = float(((mu_r - mu_f) ** 2).sum() + np.trace(c_r) + np.trace(c_f) - 2.0 * tr_sqrt)
    return max(value, 0.0)  # rounding can leave -1e-12 for identical sets


def kernel_inception_distance(real: np.ndarray, fake: np.ndarray, seed: int = 0,
                              subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE
                              ) -> tuple[float, float]:
    """KID (Binkowski et al. 2018): unbiased MMD^2 with the kernel (x.y / d + 1)^3, averaged over
    random subsets of equal size; returns (mean, standard deviation over subsets).

    Unlike FID it is unbiased in the sample size, so small-n figures are comparable. Both sets are
    divided by the real features' RMS value first, so that x.y / d is about 1 as with Inception
    features: the cubic kernel then weighs its terms as designed whatever the evaluator's scale.
    """
    scale = float(np.sqrt(np.mean(real.astype(np.float64) ** 2))) or 1.0
    r, f = real.astype(np.float64) / scale, fake.astype(np.float64) / scale
    m = min(subset_size, len(r), len(f))
    if m < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    d = r.shape[1]
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        x = r[rng.choice(len(r), m, replace=False)]
        y = f[rng.choice(len(f), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off = m * (m - 1)
        values[i] = ((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                     - 2.0 * kxy.mean())
    return float(values.mean()), float(values.std())


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row (the manifold's ball radius)."""
    radii = np.empty(len(x))
    for lo in range(0, len(x), _CHUNK):
        d = _sq_dists(x[lo:lo + _CHUNK], x)
        # the k+1-th smallest, since each row's smallest distance is 0 to itself
        radii[lo:lo + _CHUNK] = np.partition(d, k, axis=1)[:, k]
    return radii


def _coverage(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray) -> float:
    """Share of ``queries`` that fall inside at least one k-NN ball of ``manifold``."""
    inside = 0
    for lo in range(0, len(queries), _CHUNK):
        d = _sq_dists(queries[lo:lo + _CHUNK], manifold)
        inside += int((d <= radii[None, :]).any(1).sum())
    return inside / len(queries)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019), k-NN manifold estimates.

    Precision: share of fake samples inside the real manifold (fidelity). Recall: share of real
    samples inside the fake manifold (diversity). The manifold of a set is the union of balls
    around each of its samples reaching its k-th nearest neighbour. Both sides use the same count
    (the first min(len(real), len(fake), PR_MAX) rows), since ball radii shrink with sample size.
    """
    n = min(len(real), len(fake), PR_MAX)
    if n <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples on each side")
    r, f = real[:n].astype(np.float64), fake[:n].astype(np.float64)
    precision = _coverage(r, _knn_radii(r, k), f)
    recall = _coverage(f, _knn_radii(f, k), r)
    return precision, recall
