"""A small CNN that reads MNIST digits: the judge of the class-accuracy benchmark.

A conditional generator is only as good as the share of its samples that a reader recognises as the
class it was asked for; this module trains that reader. It learns from the first 8,000 images of
the shared MNIST test split only (the canonical training part) and reports its accuracy on the last
2,000, which no generator may train on, so that a reader figure is always printed next to the
generator's figure: a 98 % reader cannot certify 99.5 % samples.

Trained weights are cached under ``benchmarks/.cache/`` keyed by the data fingerprint and the recipe,
so repeated benchmark runs reuse one reader and stay comparable. The held-out accuracy is measured
again on every load rather than trusted from the cache.

Run directly to train (or load) it and print its held-out accuracy::

    python benchmarks/mnist_classifier.py [--data ../shared/data/mnist] [--retrain]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import DEFAULT_DATA, TRAIN_COUNT
from torch import nn

from gansrv.metrics.classifier import SmallCNN, to_unit, train
from gansrv.metrics.recipe import Recipe

CACHE_DIR = Path(__file__).resolve().parent / ".cache"

# Everything that changes the trained weights goes into the cache key; bump VERSION when the code
# (architecture, augmentation) changes in a way these numbers do not show.
RECIPE = {"version": 1, "seed": 0, "epochs": 8, "batch_size": 64, "lr": 2e-3, "shift": 2,
          "widths": [16, 32], "hidden": 128, "dropout": 0.3}


def DigitCNN(widths: tuple[int, int] = (16, 32), hidden: int = 128, dropout: float = 0.3) -> SmallCNN:
    """The reader: gansrv's metrics classifier (``gansrv.metrics.classifier``) at 1x28x28, 10 classes.

    ``gansrv eval`` trains the same network with the same recipe as its evaluator.
    """
    return SmallCNN(1, 10, 28, widths, hidden, dropout)


def load_split(data_path: str | Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """(train x, train y, held-out x, held-out y, fingerprint) with the canonical 8,000 / rest split."""
    from gansrv.data import load_dataset

    ds = load_dataset([str(data_path)])
    if ds.labels is None or ds.images.shape[1:] != (1, 28, 28) or len(ds) <= TRAIN_COUNT:
        raise SystemExit(f"{data_path}: expected labelled 1x28x28 MNIST with more than {TRAIN_COUNT} "
                         f"images, got {ds.images.shape} (labels: {ds.labels is not None})")
    x, y = to_unit(ds.images), torch.from_numpy(ds.labels)
    return x[:TRAIN_COUNT], y[:TRAIN_COUNT], x[TRAIN_COUNT:], y[TRAIN_COUNT:], ds.fingerprint()


def _from_unit(x: torch.Tensor) -> np.ndarray:
    """Back to the uint8 pixels the shared trainer takes (exact: they came from uint8)."""
    return torch.round((x + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).numpy()


def train_classifier(x: torch.Tensor, y: torch.Tensor, recipe: dict = RECIPE, log=print) -> SmallCNN:
    """gansrv.metrics.classifier.train with this benchmark's recipe (the same numbers as its default)."""
    fields = {k: (tuple(v) if k == "widths" else v) for k, v in recipe.items() if k != "version"}
    return train(_from_unit(x), y.numpy(), 10, Recipe(**fields), log=log)


@torch.no_grad()
def classify(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels (int64, N) for images in [-1, 1] of shape (N, 1, 28, 28)."""
    model.eval()
    images = images.float().cpu()
    if images.dim() != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"classify expects (N, 1, 28, 28) images in [-1, 1], got {tuple(images.shape)}")
    preds = [model(images[i:i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)]
    return torch.cat(preds) if preds else torch.empty(0, dtype=torch.long)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((classify(model, x) == y).float().mean())


def cache_path(fingerprint: str, cache_dir: Path = CACHE_DIR) -> Path:
    """One file per (data, recipe, torch major.minor): a different reader never hides behind a name."""
    key = json.dumps({"data": fingerprint, "recipe": RECIPE,
                      "torch": ".".join(torch.__version__.split(".")[:2])}, sort_keys=True)
    return cache_dir / f"mnist-cnn-{hashlib.sha256(key.encode()).hexdigest()[:16]}.safetensors"


def train_or_load_classifier(data_path: str | Path = DEFAULT_DATA, cache_dir: Path = CACHE_DIR,
                             retrain: bool = False, log=print) -> tuple[DigitCNN, float]:
    """The reader and its held-out accuracy, trained on the first 8,000 images or loaded from cache.

    The accuracy is always recomputed on the held-out images, so a stale or foreign cache file
    shows up as a low figure instead of passing silently.
    """
    from safetensors.torch import load_file, save_file

    x_tr, y_tr, x_ho, y_ho, fingerprint = load_split(data_path)
    path = cache_path(fingerprint, cache_dir)
    model = DigitCNN(tuple(RECIPE["widths"]), RECIPE["hidden"], RECIPE["dropout"])
    if path.is_file() and not retrain:
        model.load_state_dict(load_file(str(path)))
        model.eval()
        log(f"classifier: loaded {path}")
    else:
        t0 = time.perf_counter()
        model = train_classifier(x_tr, y_tr, log=log)
        log(f"classifier: trained in {time.perf_counter() - t0:.1f}s on {len(x_tr)} images")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp),
                  metadata={"data_fingerprint": fingerprint, "recipe": json.dumps(RECIPE),
                            "torch": torch.__version__})
        os.replace(tmp, path)  # atomic: a concurrent run never reads half a file
        log(f"classifier: cached at {path}")
    return model, accuracy(model, x_ho, y_ho)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--cache-dir", default=str(CACHE_DIR), help="Where trained weights are cached.")
    p.add_argument("--retrain", action="store_true", help="Ignore the cache and train again.")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    _, acc = train_or_load_classifier(args.data, Path(args.cache_dir), retrain=args.retrain)
    print(f"held-out accuracy (images {TRAIN_COUNT} onward): {acc:.2%} "
          f"[{time.perf_counter() - t0:.1f}s, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
