"""A plan's (index, label) pairs as functions of the index: no list of every image in memory.

Image ``i`` of a plan is always at position ``i`` (every plan numbers its images 0..n-1), so a plan
only needs the rule that gives image ``i`` its label. That rule is one of three: cyclic over the
selected classes (``--n``), in consecutive blocks of known sizes (``--per-class``, ``--balance-to``)
or a sweep's rows over another rule. Each answers a whole numpy range at once, which is what keeps a
10^9-image plan as small as a 10-image one and lets shard writers ask for one shard's labels only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

CHUNK = 65536  # iteration hands out tuples from numpy chunks of this many labels


class Entries(Sequence[tuple[int, int]]):
    """(index, label) for index 0..n-1 by rule; label -1 for unconditional models."""

    def __init__(self, n: int) -> None:
        self.n = n

    def labels_at(self, index: np.ndarray) -> np.ndarray:
        """int64 labels of the images ``index`` (int64, all in 0..n-1): the subclasses' one job."""
        raise NotImplementedError

    def labels(self, lo: int, hi: int, step: int = 1) -> np.ndarray:
        """int64 labels of images lo, lo + step, ... below hi."""
        return self.labels_at(np.arange(lo, max(lo, hi), step, dtype=np.int64))

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[int, int]]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            lo, hi, step = i.indices(self.n)
            if step < 1:
                return [self[k] for k in range(lo, hi, step)]
            return list(zip(range(lo, max(lo, hi), step), self.labels(lo, hi, step).tolist()))
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i, int(self.labels(i, i + 1)[0])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for lo in range(0, self.n, CHUNK):
            yield from self[lo:min(self.n, lo + CHUNK)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or len(other) != self.n:
            return NotImplemented if not isinstance(other, Sequence) else False
        return all(a == tuple(b) for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"


class Cyclic(Entries):
    """Image i gets ``classes[i % len(classes)]`` (``--n``; one class -1 for unconditional)."""

    def __init__(self, n: int, classes: Sequence[int]) -> None:
        super().__init__(n)
        self.classes = np.asarray(list(classes), dtype=np.int64)

    def labels_at(self, index: np.ndarray) -> np.ndarray:
        return self.classes[index % len(self.classes)]


class Blocks(Entries):
    """Consecutive blocks: ``counts[k]`` images of class ``classes[k]``, block after block."""

    def __init__(self, classes: Sequence[int], counts: Sequence[int]) -> None:
        self.classes = np.asarray(list(classes), dtype=np.int64)
        self.ends = np.cumsum(np.asarray(list(counts), dtype=np.int64))
        super().__init__(int(self.ends[-1]) if len(self.ends) else 0)

    def labels_at(self, index: np.ndarray) -> np.ndarray:
        return self.classes[np.searchsorted(self.ends, index, side="right")]


class Swept(Entries):
    """A sweep: each image of ``rows`` becomes ``steps`` images (index row * steps + step)."""

    def __init__(self, rows: Entries, steps: int) -> None:
        super().__init__(len(rows) * steps)
        self.rows, self.steps = rows, steps

    def labels_at(self, index: np.ndarray) -> np.ndarray:
        return self.rows.labels_at(index // self.steps)


def as_entries(entries: Sequence[tuple[int, int]]) -> Entries:
    """An explicit list (tests, small callers) as Entries; its indices must be 0..n-1 in order."""
    if isinstance(entries, Entries):
        return entries
    labels = [label for _, label in entries]
    if [i for i, _ in entries] != list(range(len(labels))):
        raise ValueError("entries must number their images 0..n-1 in order")
    return Blocks(labels, [1] * len(labels)) if labels else Cyclic(0, [-1])
