"""The classifier recipe and architecture version, importable without torch.

They name the cached evaluator file, which a torch-free ``gansrv eval`` must find; the network
itself lives in :mod:`gansrv.metrics.classifier` (torch).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

# Bump when the network or the training loop changes in a way the recipe fields do not show: it is
# part of every cache key, so an old evaluator is never mistaken for a new one.
ARCH_VERSION = 1
MAX_EPOCHS = 100
# The share of generated images per training batch that `gansrv generate` recommends in its
# manifest: 25 % beat concatenating 10,000 generated images to 500 real ones (+0.75 points where
# concatenation lost 0.35) and 75 % (-1.25) in issue 17's runs; the low-data rows of
# docs/benchmarks.md are measured at this mix (README: the low-data recipe).
RECOMMENDED_MIX = 0.25


@dataclass(frozen=True)
class Recipe:
    """Everything that changes the trained weights besides the data (and ARCH_VERSION)."""

    seed: int = 0
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    shift: int = 2  # random translation in pixels: the augmentation handwriting needs
    widths: tuple[int, int] = (16, 32)
    hidden: int = 128  # size of the penultimate features FID/KID/precision/recall use
    dropout: float = 0.3
    # torch threads while training: CPU float sums are split by thread, so the same seed gave a
    # 99.20 % evaluator with 2 threads and a 99.15 % one with 1 (2026-11-30); a fixed count gives
    # the same weights on every machine of one CPU kind, whatever its core count
    threads: int = 1

    def key(self) -> str:
        """Short stable hash of the recipe and ARCH_VERSION, for cache file names."""
        text = json.dumps({"arch": ARCH_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def describe(self) -> dict:
        return {"arch_version": ARCH_VERSION, **asdict(self)}
