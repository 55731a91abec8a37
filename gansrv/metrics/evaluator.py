"""The evaluator: the small classifier trained on the real training split, used through onnxruntime.

Trained once per (training data, recipe) and cached as a self-contained ONNX file named
``<data fingerprint>-a<arch version>-<recipe hash>.onnx`` under ``$GANSRV_CACHE/evaluators`` (or
``~/.cache/gansrv/evaluators``), written atomically. With the file there, evaluation needs no torch:
features and predictions come from onnxruntime. A file is trusted by its name only, so its held-out
accuracy is measured again on every use and printed beside the figures it certifies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.data import Dataset
from gansrv.errors import UserError
from gansrv.extras import INSTALL_HINT
from gansrv.metrics.recipe import Recipe

PARITY_TOLERANCE = 1e-3  # logits and features are O(1-10); a broken export is off by far more
BATCH = 500
Log = Callable[[str], None]


def cache_dir() -> Path:
    root = os.environ.get("GANSRV_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gansrv")
    return Path(root) / "evaluators"


def cache_path(train: Dataset, recipe: Recipe) -> Path:
    from gansrv.metrics.recipe import ARCH_VERSION

    return cache_dir() / f"{train.fingerprint()[:16]}-a{ARCH_VERSION}-{recipe.key()}.onnx"


def unit(images: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) -> float32 in [-1, 1], as the classifier was trained."""
    return images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


@dataclass
class Evaluator:
    """An onnxruntime session of ``image -> (logits, features)``."""

    path: Path
    session: Any

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted labels int64 (N,), features float32 (N, D)) for uint8 (N, C, H, W) images."""
        preds, feats = [], []
        for lo in range(0, len(images), BATCH):
            logits, f = self.session.run(["logits", "features"], {"image": unit(images[lo:lo + BATCH])})
            preds.append(logits.argmax(1).astype(np.int64))
            feats.append(f)
        return np.concatenate(preds), np.concatenate(feats)


def get_evaluator(train: Dataset, recipe: Recipe, log: Log, provider: str = "cpu") -> Evaluator:
    """The cached evaluator for this training split and recipe, trained (torch) if missing."""
    from gansrv.runtime.session import session

    path = cache_path(train, recipe)
    if path.is_file():
        log(f"evaluator: {path}")
    else:
        train_and_cache(train, recipe, path, log)
    return Evaluator(path, session(path, provider))


def train_and_cache(train: Dataset, recipe: Recipe, path: Path, log: Log) -> None:
    try:
        from gansrv.metrics import classifier
    except ImportError as exc:
        raise UserError(f"training the evaluator needs torch ({exc}): {INSTALL_HINT['train']}, or "
                        f"copy an evaluator trained elsewhere to {path}") from None
    from gansrv.atomic import atomic_path

    shape = train.images.shape[1:]
    if not classifier.MIN_SIZE <= shape[1] <= classifier.MAX_SIZE:
        raise UserError(f"the evaluator takes images of {classifier.MIN_SIZE} to "
                        f"{classifier.MAX_SIZE} pixels a side, the data has {shape[1]}x{shape[2]}")
    log(f"evaluator: training on {len(train)} images ({recipe.epochs} epochs), cached as {path}")
    model = classifier.train(train.images, train.labels, len(train.class_names), recipe)
    meta = {"gansrv.evaluator": json.dumps({
        "data_fingerprint": train.fingerprint(), "count": len(train), "class_names": train.class_names,
        "image_shape": list(shape), "recipe": recipe.describe()}, sort_keys=True)}
    with atomic_path(path) as tmp:
        err = classifier.export_onnx(model, str(tmp), train.images[:64], meta)
        if not err <= PARITY_TOLERANCE:
            raise UserError(f"evaluator export: onnxruntime differs from torch by {err:.3g}; "
                            f"nothing cached")
