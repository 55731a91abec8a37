"""Few-label subsets for semi-supervised training: which images keep their label.

A semi-supervised family (Triple-GAN) learns from many images of which only a few are labelled.
The engine picks that labelled subset here, deterministically from a seed, the way Triple-GAN's
authors do: one seeded permutation of the whole set, then the first M images of each class in its
order (balanced). ``--labelled N`` asks for N in total: N // K per class, the N % K left over going
one each to the first classes of a seeded permutation of the classes. The indices are part of the
data fingerprint (:meth:`gansrv.data.Dataset.fingerprint`), so a run, its resume and its exports are
tied to the exact subset.
"""

from __future__ import annotations

import numpy as np

from gansrv.errors import UserError


def per_class_counts(num_classes: int, per_class: int | None, total: int | None,
                     seed: int) -> np.ndarray:
    """How many labels each class keeps: ``per_class`` each, or ``total`` spread evenly."""
    if per_class is not None:
        return np.full(num_classes, per_class, dtype=np.int64)
    assert total is not None
    if total < num_classes:
        raise UserError(f"--labelled {total}: fewer labels than the data's {num_classes} classes "
                        f"(balanced subsets need at least one per class)")
    counts = np.full(num_classes, total // num_classes, dtype=np.int64)
    extra = np.random.default_rng(seed).permutation(num_classes)[:total % num_classes]
    counts[extra] += 1
    return counts


def choose_labelled(labels: np.ndarray, class_names: list[str], per_class: int | None = None,
                    total: int | None = None, seed: int = 0) -> np.ndarray:
    """Sorted indices of the images whose labels are kept (int64).

    Raises :class:`UserError` when a class has fewer images than it is asked to keep labelled."""
    k = len(class_names)
    counts = per_class_counts(k, per_class, total, seed)
    have = np.bincount(labels, minlength=k)
    short = [i for i in range(k) if have[i] < counts[i]]
    if short:
        i = min(short, key=lambda c: have[c])
        flag = f"--labels-per-class {per_class}" if per_class is not None else f"--labelled {total}"
        raise UserError(f"{flag}: class {class_names[i]!r} has only {int(have[i])} images "
                        f"(the smallest class bounds the labels per class)")
    order = np.random.default_rng(seed).permutation(len(labels))
    chosen = []
    for c in range(k):
        of_class = order[labels[order] == c]
        chosen.append(of_class[:counts[c]])
    return np.sort(np.concatenate(chosen)).astype(np.int64)
