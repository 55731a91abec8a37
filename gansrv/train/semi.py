"""Semi-supervised data in the engine: the labelled subset a run keeps and the stream over it.

A family that declares ``semi_supervised = True`` reads its labels only from
``StepContext.next_labelled()`` (a second seeded stream, saved in every checkpoint); the main stream
carries images without labels. ``--labels-per-class M`` / ``--labelled N`` keep only that many
labels (:mod:`gansrv.data.labelled`); without them every label is known and the labelled stream
runs over the whole set. Asking for a subset from a family without support, or from unlabelled
data, is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import replace

from gansrv.data import Dataset
from gansrv.data.labelled import choose_labelled
from gansrv.errors import UserError
from gansrv.family import Family
from gansrv.train.options import TrainOptions

# The labelled stream's seed is the run's seed moved by this much (the main stream uses the seed).
LABELLED_STREAM_OFFSET = 3


def check_request(family: Family, opts: TrainOptions) -> None:
    """Refuse a subset the family cannot use (before any data loads)."""
    asked = [f for f, v in (("--labels-per-class", opts.labels_per_class),
                            ("--labelled", opts.labelled)) if v is not None]
    if len(asked) == 2:
        raise UserError("--labels-per-class and --labelled both choose the labelled subset; "
                        "give one of them")
    if (asked or opts.label_seed is not None) and not getattr(family, "semi_supervised", False):
        flag = asked[0] if asked else "--label-seed"
        raise UserError(f"{flag}: {family.name} does not train semi-supervised (its labels, if "
                        f"any, are all used); only families that declare semi-supervised support "
                        f"take a labelled subset")


def label_seed(opts: TrainOptions) -> int:
    return opts.seed if opts.label_seed is None else opts.label_seed


def apply(family: Family, data: Dataset, opts: TrainOptions) -> Dataset:
    """The dataset a run trains on: with its labelled subset marked when one is asked for."""
    check_request(family, opts)
    if opts.labels_per_class is None and opts.labelled is None:
        return data
    if data.labels is None:
        raise UserError(f"--labels-per-class/--labelled: {data.source} has no labels to keep "
                        f"(use class subfolders, an IDX labels file or npz 'labels')")
    if opts.labelled is not None and opts.labelled > len(data):
        raise UserError(f"--labelled {opts.labelled}: {data.source} holds only {len(data)} images")
    seed = label_seed(opts)
    idx = choose_labelled(data.labels, data.class_names, opts.labels_per_class, opts.labelled, seed)
    return replace(data, labelled=idx, label_seed=seed)
