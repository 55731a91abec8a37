"""A classifier graph's held-out accuracy: what ``gansrv eval`` reports for a ``<name>.classifier.onnx``.

A semi-supervised family's product is as much its classifier as its generator; its figure is the
classifier's error on labelled images it never saw (Triple-GAN's papers report exactly that). The
classifier runs through :class:`gansrv.runtime.Classifier`, as ``gansrv classify`` runs it, so the
figure is the exported file's, not torch's. Torch-free.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from gansrv.errors import UserError
from gansrv.metrics.split import Split
from gansrv.runtime import Classifier


def score_classifier(clf: Classifier, split: Split, batch_size: int = 256) -> dict[str, Any]:
    """Accuracy, error and per-class accuracy of ``clf`` on ``split.test`` (the training split is
    not used: the classifier was trained already)."""
    test = split.test
    names = list(split.train.class_names)
    if len(clf.class_names) != len(names):
        raise UserError(f"the classifier predicts {len(clf.class_names)} classes, the data has "
                        f"{len(names)} ({', '.join(names[:10])})")
    pred = clf.predict(test.images.transpose(0, 2, 3, 1), batch_size=batch_size).labels
    hits = pred == test.labels
    per_class = {names[k]: float(hits[test.labels == k].mean()) for k in range(len(names))
                 if (test.labels == k).any()}
    info = clf.info
    figures: dict[str, Any] = {
        "model": info.run, "family": info.family, "graph": info.graph,
        "held_out_images": int(len(test)), "held_out_fingerprint": _fingerprint(test.images, test.labels),
        "held_out_accuracy": float(hits.mean()), "held_out_error": float(1.0 - hits.mean()),
        "per_class_accuracy": per_class,
    }
    for key in ("labelled", "label_seed"):
        if key in info.extra:
            figures[key] = int(info.extra[key])
    return figures


def _fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels.astype("<i8")).tobytes())
    return h.hexdigest()[:16]


def print_lines(f: dict[str, Any]) -> list[str]:
    """The screen report: one summary line, then the per-class accuracies."""
    labels = (f" (trained with {f['labelled']} labels, label seed {f['label_seed']})"
              if "labelled" in f else "")
    lines = [f"{f['model']} ({f['family']} {f['graph']}){labels}: held-out accuracy "
             f"{f['held_out_accuracy']:.4f}, error {f['held_out_error']:.2%} on "
             f"{f['held_out_images']} images"]
    per = f["per_class_accuracy"]
    lines.append("per class: " + ", ".join(f"{k} {v:.3f}" for k, v in per.items()))
    return lines
