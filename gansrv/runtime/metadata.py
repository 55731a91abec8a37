"""The gansrv metadata an exported ``.onnx`` file carries, and its parser.

The exporter writes these keys into ``metadata_props`` and the runtime reads only them, never the run
directory, so a serving machine needs the one file. This module imports neither torch nor onnx: the
export side builds the dict with :func:`to_props` and the runtime parses it with :func:`parse`.
Scalars are stored as plain strings, lists and dicts as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gansrv.errors import UserError

PREFIX = "gansrv."
FORMAT_VERSION = 1
EXPORT_HINT = "export one with: gansrv export RUN_DIR --onnx"

# key -> meaning; every key here is required, so a file missing one is refused with its name.
KEYS: dict[str, str] = {
    "format": "version of this metadata layout",
    "version": "gansrv version that exported the file",
    "family": "GAN family name",
    "kind": "noise | conditional | code | image | classifier (an image -> class probabilities graph)",
    "graph": "which network: generator, discriminator, ...",
    "inputs": "JSON list of {name, dtype, shape, meaning}",
    "outputs": "JSON list of {name, dtype, shape, meaning}",
    "latent_dim": "size of z",
    "num_classes": "number of classes (0: unconditional)",
    "class_names": "JSON list of class names by label index",
    "image_shape": "JSON [channels, height, width] of the generated image",
    "channels": "image channels (1 grey, 3 RGB)",
    "output_range": "JSON [low, high] of the image output (null for non-image outputs)",
    "opset": "ONNX opset of the graph",
    "parity_max_abs_error": "max |onnxruntime - torch| measured at export",
    "parity_batch_sizes": "JSON list of the batch sizes parity was measured at",
    "data_fingerprint": "fingerprint of the training data",
}
OPTIONAL_KEYS: dict[str, str] = {
    "run": "name of the run directory it was exported from",
    "step": "training step of the exported checkpoint",
    "config": "JSON of the family's hyperparameters",
    "size_multiple": "image graphs with dynamic height and width: both must be multiples of this "
                     "(absent: the image size is fixed to image_shape)",
}


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output as the metadata describes it (shape[0] is the batch axis)."""

    name: str
    dtype: str
    shape: list[Any]
    meaning: str = ""


@dataclass
class ModelInfo:
    """Everything the runtime knows about a model: parsed from the file's metadata only."""

    version: str
    family: str
    kind: str
    graph: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    latent_dim: int
    num_classes: int
    class_names: list[str]
    image_shape: tuple[int, int, int]
    channels: int
    output_range: tuple[float, float] | None
    opset: int
    parity_max_abs_error: float
    parity_batch_sizes: list[int]
    data_fingerprint: str
    run: str = ""
    step: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # other gansrv.* keys (family-specific)
    size_multiple: int = 0  # > 0: any H and W that are multiples of it; 0: image_shape's only

    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` strings (prefixed keys) that :func:`parse` turns back into self."""
        values: dict[str, Any] = {
            "format": FORMAT_VERSION, "version": self.version, "family": self.family,
            "kind": self.kind, "graph": self.graph,
            "inputs": [vars(t) for t in self.inputs], "outputs": [vars(t) for t in self.outputs],
            "latent_dim": self.latent_dim, "num_classes": self.num_classes,
            "class_names": list(self.class_names), "image_shape": list(self.image_shape),
            "channels": self.channels,
            "output_range": None if self.output_range is None else list(self.output_range),
            "opset": self.opset, "parity_max_abs_error": repr(float(self.parity_max_abs_error)),
            "parity_batch_sizes": list(self.parity_batch_sizes),
            "data_fingerprint": self.data_fingerprint, "run": self.run, "config": self.config,
        }
        if self.step is not None:
            values["step"] = self.step
        if self.size_multiple:
            values["size_multiple"] = self.size_multiple
        props = {PREFIX + k: _encode(v) for k, v in values.items()}
        props.update({PREFIX + k: str(v) for k, v in self.extra.items()})
        return props


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def parse(props: Mapping[str, str], source: str = "model") -> ModelInfo:
    """Validate and parse ``metadata_props``; a file that lacks gansrv keys is refused by name."""
    ours = {k[len(PREFIX):]: v for k, v in props.items() if k.startswith(PREFIX)}
    missing = [k for k in KEYS if k not in ours]
    if not ours:
        raise UserError(f"{source}: an ONNX model without gansrv metadata (no '{PREFIX}*' keys); "
                        f"{EXPORT_HINT}")
    if missing:
        raise UserError(f"{source}: gansrv metadata incomplete, missing "
                        f"{', '.join(PREFIX + k for k in missing)}; {EXPORT_HINT}")
    try:
        return _build(ours)
    except (ValueError, TypeError, KeyError) as exc:
        raise UserError(f"{source}: malformed gansrv metadata ({type(exc).__name__}: {exc}); "
                        f"{EXPORT_HINT}") from None


def _build(v: dict[str, str]) -> ModelInfo:
    if int(v["format"]) > FORMAT_VERSION:
        raise ValueError(f"metadata format {v['format']} is newer than this gansrv reads "
                         f"({FORMAT_VERSION}); upgrade gansrv")
    rng = json.loads(v["output_range"])
    shape = tuple(int(s) for s in json.loads(v["image_shape"]))
    if len(shape) != 3:
        raise ValueError(f"image_shape must be [C, H, W], got {list(shape)}")
    _bounded("image_shape", shape, 1, MAX_SIDE)
    _bounded("latent_dim", [int(v["latent_dim"])], 0, MAX_LATENT)
    _bounded("num_classes", [int(v["num_classes"])], 0, MAX_CLASSES)
    multiple = int(v.get("size_multiple", 0))
    _bounded("size_multiple", [multiple], 0, MAX_SIDE)
    known = set(KEYS) | set(OPTIONAL_KEYS)
    return ModelInfo(
        version=v["version"], family=v["family"], kind=v["kind"], graph=v["graph"],
        inputs=_tensors(v["inputs"]), outputs=_tensors(v["outputs"]),
        latent_dim=int(v["latent_dim"]), num_classes=int(v["num_classes"]),
        class_names=[str(c) for c in json.loads(v["class_names"])],
        image_shape=shape, channels=int(v["channels"]),
        output_range=None if rng is None else (float(rng[0]), float(rng[1])),
        opset=int(v["opset"]), parity_max_abs_error=float(v["parity_max_abs_error"]),
        parity_batch_sizes=[int(b) for b in json.loads(v["parity_batch_sizes"])],
        data_fingerprint=v["data_fingerprint"], run=v.get("run", ""),
        step=int(v["step"]) if "step" in v else None,
        config=json.loads(v["config"]) if "config" in v else {},
        extra={k: s for k, s in v.items() if k not in known}, size_multiple=multiple,
    )


# A model file is untrusted input: sizes it states become array shapes, so they are bounded.
MAX_SIDE, MAX_LATENT, MAX_CLASSES = 16384, 1 << 20, 1 << 20


def _bounded(key: str, values: Any, lo: int, hi: int) -> None:
    if any(not lo <= x <= hi for x in values):
        raise ValueError(f"{key} {list(values)} outside {lo}..{hi}")


def _tensors(text: str) -> list[TensorInfo]:
    items = json.loads(text)
    if not isinstance(items, list) or not items:
        raise ValueError("expected a non-empty JSON list of tensors")
    return [TensorInfo(str(t["name"]), str(t["dtype"]), list(t["shape"]), str(t.get("meaning", "")))
            for t in items]
