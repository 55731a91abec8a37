"""The one vocabulary of model kinds: what a graph maps from, and so what the runtime and the demo do
with it. Every consumer (engine, exporter, runtime, demo, metrics) compares against :class:`Kind`.

A ``str`` enum: ``Kind.CODE == "code"`` holds, so the value read from an ONNX file's metadata (a
plain string) compares equal to the member; write ``kind.value`` where text is wanted.
Torch-free: the serving side imports it.
"""

from __future__ import annotations

import enum


class Kind(str, enum.Enum):
    """What a graph maps from. The first four are what a family's generator can be (its ``kind``);
    ``CLASSIFIER`` is an exported side graph (image -> class probabilities), never a family's kind."""

    NOISE = "noise"  # z -> image
    CONDITIONAL = "conditional"  # (z, label) -> image
    CODE = "code"  # (z, codes) -> image, codes learnt without labels
    IMAGE = "image"  # image -> image
    CLASSIFIER = "classifier"  # image -> class probabilities (gansrv classify)


# The kinds a generator (a family's first graph) can have; what `gansrv generate` samples from.
GENERATOR_KINDS = (Kind.NOISE, Kind.CONDITIONAL, Kind.CODE)
FAMILY_KINDS = (Kind.NOISE, Kind.CONDITIONAL, Kind.CODE, Kind.IMAGE)


class DataForm(str, enum.Enum):
    """What ``--data`` holds for a family (:meth:`gansrv.family.Family.data_form`)."""

    IMAGES = "images"  # images, with or without labels
    PAIRED = "paired"  # (A, B) pairs: side-by-side images or A/ and B/ folders
    UNPAIRED = "unpaired"  # two unpaired domains: trainA/ and trainB/


DIRECTIONS = ("AtoB", "BtoA")  # which side of a pair is the input (paired data only)
