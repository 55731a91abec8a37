"""The real data of an evaluation: a training split (the evaluator and the classifiers learn from
it) and a held-out split (every metric is measured against it), both labelled and the same shape.

Scoring against images the evaluator or the generator trained on would flatter both, so there is no
default split: the user names one with ``--train-limit`` or ``--test-data``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gansrv.data import Dataset, load_dataset
from gansrv.errors import UserError


@dataclass
class Split:
    train: Dataset
    test: Dataset

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.test.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.train.class_names)


def _head(ds: Dataset, n: int) -> Dataset:
    return Dataset(ds.images[:n], None if ds.labels is None else ds.labels[:n], ds.class_names, ds.source)


def _tail(ds: Dataset, n: int) -> Dataset:
    labels = None if ds.labels is None else ds.labels[n:]
    return Dataset(ds.images[n:], labels, ds.class_names, f"{ds.source}[{n}:]")


def load_split(data: Sequence[str], train_limit: int | None = None,
               test_data: Sequence[str] = (), test_limit: int | None = None) -> Split:
    """``--data`` split by ``--train-limit`` (first N train, the rest held out), or ``--data`` (cut to
    ``--train-limit``) against ``--test-data``; ``--test-limit`` keeps the first M held-out images."""
    whole = load_dataset(list(data))
    if test_data:
        train, test = whole.limit(train_limit), load_dataset(list(test_data))
    elif train_limit is None:
        raise UserError(f"--data {' '.join(data)} has no held-out split: pass --train-limit N (the "
                        f"first N images train the evaluator, the rest are held out) or --test-data SRC")
    elif train_limit >= len(whole):
        raise UserError(f"--train-limit {train_limit} leaves no held-out images: --data holds "
                        f"{len(whole)}")
    else:
        train, test = _head(whole, train_limit), _tail(whole, train_limit)
    test = test.limit(test_limit)
    for name, ds in (("training", train), ("held-out", test)):
        if ds.labels is None:
            raise UserError(f"{ds.source}: the {name} split has no labels; the evaluator is a "
                            f"classifier and needs labelled images")
    if train.images.shape[1:] != test.images.shape[1:]:
        raise UserError(f"image sizes differ: training split {_shape(train)}, held-out {_shape(test)}")
    if int(test.labels.max()) >= len(train.class_names):
        raise UserError(f"{test.source}: label {int(test.labels.max())} is not one of the training "
                        f"split's {len(train.class_names)} classes")
    return Split(train, test)


def fit_to(split: Split, shape: tuple[int, int, int], resize: bool) -> Split:
    """The split at the model's image shape, or a one-line error naming both shapes."""
    if split.shape == tuple(shape):
        return split
    c, h, w = shape
    if not resize or h != w or split.shape[0] != c:
        hint = " (pass --resize to resize the real images to the model's size)" if (
            h == w and split.shape[0] == c) else ""
        raise UserError(f"image sizes differ: the model makes {_fmt(shape)} images, the data holds "
                        f"{_fmt(split.shape)}{hint}")
    return Split(split.train.resized(h), split.test.resized(h))


def _shape(ds: Dataset) -> str:
    return _fmt(ds.images.shape[1:])


def _fmt(shape: Sequence[int]) -> str:
    return "x".join(str(int(s)) for s in shape) + " (C x H x W)"
