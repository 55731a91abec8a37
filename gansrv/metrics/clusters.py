"""How well a model's categorical code separates the real classes, read by the evaluator.

InfoGAN learns its categorical code without labels, so code value 3 need not mean digit 3: the
figures here compare two labellings of the same samples (the code each was generated with, and the
class the evaluator reads) and are invariant to renaming either. numpy only: they run on a serving
machine too.
"""

from __future__ import annotations

import numpy as np


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts (values of a) x (values of b) of the pairs (a[i], b[i]); values are small ints >= 0."""
    table = np.zeros((int(a.max()) + 1, int(b.max()) + 1), dtype=np.int64)
    np.add.at(table, (a.astype(np.int64), b.astype(np.int64)), 1)
    return table


def purity(codes: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over the code values present of the share of their samples in their most-predicted class.

    1.0: every code value holds one class only; a code that ignores the class scores about the
    largest class share (0.1 plus sampling noise for ten balanced digits).
    """
    table = contingency(codes, predicted)
    sizes = table.sum(1)
    used = sizes > 0
    return float(np.mean(table[used].max(1) / sizes[used]))


def normalized_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) / ((H(a) + H(b)) / 2), the arithmetic normalisation (scikit-learn's default): 0 for
    independent labellings, 1 when each determines the other; 1.0 when both are constant."""
    p = contingency(a, b) / len(a)
    pa, pb = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float(np.sum(p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])))
    ha = -float(np.sum(pa[pa > 0] * np.log(pa[pa > 0])))
    hb = -float(np.sum(pb[pb > 0] * np.log(pb[pb > 0])))
    if ha + hb == 0:
        return 1.0
    return max(0.0, mi / ((ha + hb) / 2))
