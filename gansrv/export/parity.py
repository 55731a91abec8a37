"""ORT-vs-torch parity of an exported graph on fresh random inputs.

A plain max-abs-difference at a few batch sizes (1 and an odd one) is the whole check:
``verify_onnx_program`` probes CUDA and logs errors on CPU-only machines, and batch 1 plus an odd
batch catch the two classic export bugs (a batch axis baked in, BatchNorm left in training mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.family import ExportSpec

BATCH_SIZES = (1, 7)


def check_sizes(spec: ExportSpec) -> list[tuple[int, int] | None]:
    """Image sizes parity runs at: the example's (None); with dynamic height and width, also one
    taller by one multiple and wider by two, so that a size baked into the graph shows."""
    m = spec.size_multiple
    images = [v for v in spec.inputs.values() if v.dim() == 4]
    if not m or not images:
        return [None]
    h, w = int(images[0].shape[2]), int(images[0].shape[3])
    return [(h, w), (h + m, w + 2 * m)]


def random_inputs(spec: ExportSpec, batch: int, num_classes: int, rng: np.random.Generator,
                  size: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """Fresh inputs shaped like the spec's examples: normal z, images in [-1, 1], valid labels;
    ``size`` replaces the height and width of 4-D inputs."""
    feeds = {}
    for name, example in spec.inputs.items():
        shape = (batch, *example.shape[1:])
        if size is not None and len(shape) == 4:
            shape = (batch, shape[1], *size)
        if example.dtype.is_floating_point:
            pixels = name in ("image", "target")
            x = rng.uniform(-1, 1, shape) if pixels else rng.standard_normal(shape)
            feeds[name] = x.astype(np.float32)
        else:
            high = num_classes if num_classes > 0 else int(example.max()) + 1
            feeds[name] = rng.integers(0, high, shape, dtype=np.int64)
    return feeds


def torch_outputs(module: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import torch

    with torch.no_grad():
        out = module(*(torch.from_numpy(v) for v in feeds.values()))
    outs = out if isinstance(out, (tuple, list)) else [out]
    return [o.detach().cpu().numpy() for o in outs]


def max_abs_error(path: Path, reference: Any, spec: ExportSpec, num_classes: int,
                  batch_sizes: Sequence[int] = BATCH_SIZES,
                  sizes: Sequence[tuple[int, int] | None] = (None,)) -> float:
    """Largest |onnxruntime - torch| over all outputs, batch sizes and image sizes (inf on a shape
    mismatch)."""
    from gansrv.runtime.session import session

    sess = session(path, "cpu", cache=False)
    rng = np.random.default_rng()  # fresh entropy: not the example inputs the graph was traced on
    worst = 0.0
    for batch, size in [(b, s) for s in sizes for b in batch_sizes]:
        feeds = random_inputs(spec, batch, num_classes, rng, size)
        got = sess.run(list(spec.outputs), feeds)
        want = torch_outputs(reference, feeds)
        for g, w in zip(got, want):
            if g.shape != w.shape:
                return float("inf")
            err = float(np.max(np.abs(g.astype(np.float64) - w))) if g.size else 0.0
            if not np.isfinite(err):  # NaN on either side is a failure, not a small error
                return float("inf")
            worst = max(worst, err)
    return worst
