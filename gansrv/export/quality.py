"""The quality check of a reduced-precision export: fp32 and quantized graphs make the same images.

Parity (1e-4) cannot hold for int8, so a reduced-precision file is judged by what it changes in the
images it serves: both graphs run on the same inputs of (seed, index) pairs, and the check measures
the mean and max pixel difference of the uint8 images (levels of 255) and, when real data is given,
the FID between the two sets of images in the cached evaluator's features. ``sqrt(FID)`` is a metric
(the Wasserstein-2 distance of two Gaussians), so ``|sqrt(FID(q, real)) - sqrt(FID(fp32, real))| <=
sqrt(FID(q, fp32))``: a small FID between the sets bounds how far the model's FID can move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.errors import UserError

CHECK_SEED = 0
CHECK_IMAGES = 1000  # > the evaluator's 128 features, so both covariances are full rank (images up to
# 32 x 32 px; larger images get proportionally fewer, at least 16: quantize.scaled)
BATCH = 100
DEFAULT_MAX_FID_DELTA = 0.5  # FID of a broken quantization is in the tens; see the module docstring
DEFAULT_MAX_PIXEL_ERROR = 4.0  # mean |fp32 - quantized| in levels of 255, when no --data is given
OUTPUTS = ("image", "translated")


@dataclass
class Quality:
    """What the reduced precision changed, measured on `images` images of seed `seed`."""

    precision: str
    images: int
    seed: int
    mean_pixel_error: float
    max_pixel_error: float
    fid_vs_fp32: float | None = None

    def to_props(self) -> dict[str, str]:
        props = {"precision": self.precision, "quality_images": str(self.images),
                 "quality_seed": str(self.seed), "mean_pixel_error": repr(self.mean_pixel_error),
                 "max_pixel_error": repr(self.max_pixel_error)}
        if self.fid_vs_fp32 is not None:
            props["fid_vs_fp32"] = repr(self.fid_vs_fp32)
        return props


def images_of(path: Path, info: Any, n: int, seed: int) -> np.ndarray:
    """uint8 (N, C, H, W) images of inputs (seed, 0..n-1) through onnxruntime on CPU."""
    from gansrv.export.quantize import model_inputs
    from gansrv.runtime.generator import to_uint8
    from gansrv.runtime.session import session

    sess = session(path, "cpu", cache=False)
    name = next(o.name for o in sess.get_outputs() if o.name in OUTPUTS)
    out = []
    for lo in range(0, n, BATCH):
        feeds = model_inputs(info, np.arange(lo, min(n, lo + BATCH)), seed)
        (img,) = sess.run([name], feeds)
        out.append(to_uint8(img, info.output_range or (-1.0, 1.0)).transpose(0, 3, 1, 2))
    return np.concatenate(out)


@dataclass(frozen=True)
class Judge:
    """How a reduced-precision export is judged: real data for the FID (optional) and thresholds."""

    data: tuple[str, ...] = ()
    train_limit: int | None = None
    max_fid_delta: float = DEFAULT_MAX_FID_DELTA
    max_pixel_error: float = DEFAULT_MAX_PIXEL_ERROR


def real_split(judge: Judge) -> Any:
    """The real data's split (checked before anything is exported), or None without ``--data``."""
    from gansrv.metrics.split import load_split

    return load_split(list(judge.data), judge.train_limit) if judge.data else None


def measure(fp32: Path, reduced: Path, info: Any, precision: str, split: Any = None,
            n: int = CHECK_IMAGES, seed: int = CHECK_SEED,
            log: Callable[[str], None] = lambda _: None) -> Quality:
    """Pixel errors of `reduced` against `fp32`; FID between their images when `split` is given."""
    if not info.output_range or not any(t.name in OUTPUTS for t in info.outputs):
        raise UserError(f"--precision {precision}: only image-making graphs are judged by quality; "
                        f"graph {info.graph!r} makes no image")
    from gansrv.export.quantize import scaled

    n = scaled(n, info)
    a = images_of(fp32, info, n, seed).astype(np.int16)
    b = images_of(reduced, info, n, seed).astype(np.int16)
    diff = np.abs(a - b)
    q = Quality(precision, n, seed, float(diff.mean()), float(diff.max()))
    if split is not None:
        q.fid_vs_fp32 = _fid(a.astype(np.uint8), b.astype(np.uint8), info, split, log)
    return q


def _fid(a: np.ndarray, b: np.ndarray, info: Any, split: Any, log: Callable[[str], None]) -> float:
    """FID between the two image sets in the evaluator's features: the evaluator ``gansrv eval
    --resize`` caches for this data (real images only train it, so resizing them is harmless)."""
    from gansrv.metrics.distances import frechet_distance
    from gansrv.metrics.evaluator import get_evaluator
    from gansrv.metrics.recipe import Recipe
    from gansrv.metrics.split import fit_to

    split = fit_to(split, info.image_shape, resize=True)
    evaluator = get_evaluator(split.train, Recipe(), log)
    return float(frechet_distance(evaluator.run(a)[1], evaluator.run(b)[1]))


def check(q: Quality, max_fid_delta: float, max_pixel_error: float) -> None:
    """Raise (nothing is written) when the measured loss is above the thresholds."""
    from gansrv.export.onnx_export import ExportError

    if q.fid_vs_fp32 is not None and not q.fid_vs_fp32 <= max_fid_delta:
        raise ExportError(f"--precision {q.precision}: FID between fp32 and {q.precision} images is "
                          f"{q.fid_vs_fp32:.3f} ({q.images} images, seed {q.seed}), above "
                          f"--max-fid-delta {max_fid_delta:g}; nothing written")
    if not q.mean_pixel_error <= max_pixel_error:
        raise ExportError(f"--precision {q.precision}: mean pixel error {q.mean_pixel_error:.3f} "
                          f"(levels of 255, {q.images} images) is above --max-pixel-error "
                          f"{max_pixel_error:g}; nothing written")
