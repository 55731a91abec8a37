"""The graphs a ``--filter`` runs: a class-probability reader (an exported classifier graph, or the
evaluator ``gansrv eval`` caches) and a discriminator graph with a ``logit`` output.

Both come through onnxruntime only. The evaluator is not a gansrv export (its metadata is one
``gansrv.evaluator`` JSON property and its outputs are ``logits`` and ``features``), so it gets its own
small reader with the same face as :class:`gansrv.runtime.Classifier`: ``size``, ``class_names``
and ``probs(uint8 (N, H, W, C))``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.errors import UserError

EVALUATOR_KEY = "gansrv.evaluator"


@dataclass
class ClassifierReader:
    """An exported classifier graph (``<name>.classifier.onnx``)."""

    clf: Any

    @property
    def size(self) -> tuple[int, int]:
        return self.clf.size

    @property
    def class_names(self) -> list[str]:
        return list(self.clf.class_names)

    def probs(self, images: np.ndarray) -> np.ndarray:
        return np.concatenate(list(self.clf.iter_probs(images, 256)))


@dataclass
class EvaluatorReader:
    """The cached evaluator: ``image`` in [-1, 1] (N, C, H, W) -> ``logits``; softmax here."""

    session: Any
    class_names: list[str]
    size: tuple[int, int]
    channels: int

    def probs(self, images: np.ndarray) -> np.ndarray:
        if images.shape[3] != self.channels:
            raise UserError(f"the evaluator takes {self.channels}-channel images, these have "
                            f"{images.shape[3]}")
        x = images.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(127.5) - np.float32(1.0)
        (logits,) = self.session.run(["logits"], {"image": x})
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


def _props(path: Path) -> dict[str, str]:
    from gansrv.runtime.model import _load_proto, _refuse_external_data

    proto = _load_proto(path)
    _refuse_external_data(proto, path)
    return {p.key: p.value for p in proto.metadata_props}


def open_reader(path: Path, provider: str = "auto") -> ClassifierReader | EvaluatorReader:
    """A classifier graph or an evaluator file; anything else is one UserError line."""
    if not path.is_file():
        raise UserError(f"--filter classifier: model file not found: {path}")
    props = _props(path)
    if EVALUATOR_KEY in props:
        from gansrv.runtime.session import session

        try:
            meta = json.loads(props[EVALUATOR_KEY])
            c, h, w = (int(v) for v in meta["image_shape"])
            names = [str(n) for n in meta["class_names"]]
        except (ValueError, KeyError, TypeError):
            raise UserError(f"{path}: malformed {EVALUATOR_KEY} metadata") from None
        return EvaluatorReader(session(path, provider), names, (h, w), c)
    from gansrv.runtime import Classifier

    return ClassifierReader(Classifier.from_file(path, provider))


@dataclass
class Discriminator:
    """A discriminator graph: its metadata, session and input names."""

    info: Any
    session: Any
    input_names: list[str]


def open_discriminator(path: Path, provider: str = "auto") -> Discriminator:
    """The run's discriminator graph with a ``logit`` output (export --with-discriminator)."""
    from gansrv.runtime.model import load

    if not path.is_file():
        raise UserError(f"--filter discriminator: {path} not found; export the run with "
                        f"--with-discriminator (or name the graph: --filter discriminator=D.onnx)")
    model = load(path, provider)
    outputs = [t.name for t in model.info.outputs]
    inputs = model.info.input_names()
    if model.info.graph != "discriminator" or "logit" not in outputs or "image" not in inputs:
        raise UserError(f"--filter discriminator: {path} is a {model.info.graph!r} graph with outputs "
                        f"{outputs}; DRS needs a discriminator with an 'image' input and a 'logit' "
                        f"output (an energy scorer, e.g. ebgan's, has none)")
    return Discriminator(model.info, model.session, model.info.input_names())
