"""Reduced-precision copies of an exported fp32 graph: int8 (CPU) and fp16 (CUDA).

Both start from the fp32 file the exporter has already parity-checked against torch, so the only new
error is the precision's own, which :mod:`gansrv.export.quality` then measures.

- int8: onnxruntime's static quantization, QDQ format, int8 weights per output channel and uint8
  activations, with ranges calibrated on the model's own inputs (seeded noise, balanced labels,
  codes; uniform [-1, 1] images for image inputs), drawn with a seed the quality check does not use.
  The exporter first rewrites strided ConvTranspose into Conv + PixelShuffle
  (:mod:`gansrv.export.subpixel`): onnxruntime has no integer ConvTranspose kernel.
- fp16: onnxruntime's float16 converter with float32 inputs and outputs kept (``keep_io_types``), so
  the runtime feeds and reads the file exactly as an fp32 one.

The quantized file carries the fp32 file's gansrv metadata plus ``gansrv.precision``.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.errors import UserError

PRECISIONS = ("fp32", "int8", "fp16")
CALIBRATION_SEED = 1  # the quality check draws seed 0 (gansrv generate's default): never the same
CALIBRATION_IMAGES = 256
CALIBRATION_BATCH = 32
BASE_PIXELS = 32 * 32  # the image counts above and in quality are for images up to 32 x 32 px
MIN_IMAGES = 16


def scaled(images: int, info: Any) -> int:
    """`images` for small images, fewer for large ones (same pixel count, at least MIN_IMAGES): a
    256 px U-Net costs ~60x a 28 px DCGAN per image, and the calibrator keeps every activation."""
    pixels = info.image_shape[1] * info.image_shape[2]
    return max(MIN_IMAGES, min(images, images * BASE_PIXELS // max(1, pixels)))


def model_inputs(info: Any, indices: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Deterministic inputs of images `indices`: row i depends on (seed, i) only, as in the runtime."""
    from gansrv.runtime.generator import balanced_labels, noise

    feeds: dict[str, np.ndarray] = {}
    n = len(indices)
    for t in info.inputs:
        if t.name == "z":
            feeds["z"] = noise(seed, indices, info.latent_dim)
        elif t.name == "label":
            feeds["label"] = balanced_labels(n, max(info.num_classes, 1), int(indices[0]) if n else 0)
        else:
            shape = [int(s) if isinstance(s, int) else info.image_shape[1 if s == "height" else 2]
                     for s in t.shape[1:]]
            rows = [np.random.default_rng([seed, int(i), len(feeds)]).uniform(-1, 1, shape)
                    for i in indices]
            feeds[t.name] = np.asarray(rows, dtype=np.float32).reshape(n, *shape)
    return feeds


class _Calibration:
    """The ``CalibrationDataReader`` protocol: ``get_next()`` -> feeds, None when done."""

    def __init__(self, info: Any, images: int, batch: int):
        images, batch = scaled(images, info), scaled(batch, info)
        self.batches = [model_inputs(info, np.arange(lo, min(images, lo + batch)), CALIBRATION_SEED)
                        for lo in range(0, images, batch)]

    def get_next(self) -> dict[str, np.ndarray] | None:
        return self.batches.pop(0) if self.batches else None

    def rewind(self) -> None:  # pragma: no cover - called by some onnxruntime versions only
        pass


def to_int8(fp32: Path, out: Path, info: Any, images: int = CALIBRATION_IMAGES) -> None:
    """Statically quantized copy of `fp32` at `out` (QDQ, per-channel int8 weights, uint8 activations)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    quiet = logging.getLogger("root"), logging.getLogger()
    levels = [lg.level for lg in quiet]
    try:
        for lg in quiet:
            lg.setLevel(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(str(fp32), str(out), _Calibration(info, images, CALIBRATION_BATCH),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--precision int8: onnxruntime's quantizer failed ({first})") from None
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)
    _carry_metadata(onnx.load(str(fp32)), out, "int8")


def to_fp16(fp32: Path, out: Path) -> None:
    """float16 weights and arithmetic, float32 inputs and outputs (the runtime feeds it unchanged)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    src = onnx.load(str(fp32))
    with contextlib.redirect_stdout(io.StringIO()):
        half = convert_float_to_float16(src, keep_io_types=True, disable_shape_infer=False)
    onnx.save(half, str(out))
    _carry_metadata(src, out, "fp16")


def _carry_metadata(src: Any, out: Path, precision: str) -> None:
    """The converters drop or keep metadata_props by version: set the fp32 file's gansrv keys."""
    _set_props(out, {**{p.key: p.value for p in src.metadata_props}, "gansrv.precision": precision})


def reduce(path: Path, precision: str, judge: Any, split: Any = None) -> Any:
    """Replace the parity-checked fp32 file at `path` by its `precision` copy, once the quality check
    (:mod:`gansrv.export.quality`, thresholds in `judge`, real data `split` for the FID) has passed;
    return the measured Quality."""
    import os

    from gansrv.export import quality
    from gansrv.runtime.model import read_info

    info = read_info(path)
    tmp = path.with_name(path.name + f".{precision}")
    try:
        if precision == "int8":
            to_int8(path, tmp, info)
        else:
            to_fp16(path, tmp)
        measured = quality.measure(path, tmp, info, precision, split)
        quality.check(measured, judge.max_fid_delta, judge.max_pixel_error)
        _set_props(tmp, {"gansrv." + k: v for k, v in measured.to_props().items()})
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return measured


def _set_props(path: Path, props: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    have = {p.key: p for p in model.metadata_props}
    for key, value in props.items():
        entry = have[key] if key in have else model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
