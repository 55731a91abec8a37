"""Classify images with an exported image classifier (kind ``classifier``), onnxruntime and numpy only.

Classifier-guided families (``acgan``, ``wgan-c``) and ``stargan`` (its domain head) export a
classifier beside the generator as ``<name>.classifier.onnx``: input ``image`` float32
(batch, C, H, W) in the metadata's ``input_range``, outputs ``logits`` and ``probs`` (batch, K).
Users run it on any image, e.g. to label a folder or to check that generated images show the class
they were asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gansrv.errors import UserError
from gansrv.kinds import Kind
from gansrv.runtime.model import LoadedModel, ModelUser
from gansrv.runtime.translator import match_channels

MAX_BATCH = 4096


@dataclass(frozen=True)
class Prediction:
    """The most probable class of each image, its probability and the full distribution."""

    labels: np.ndarray  # int64 (N,)
    confidence: np.ndarray  # float32 (N,): probability of the predicted class
    probs: np.ndarray  # float32 (N, K)


class Classifier(ModelUser):
    """``Classifier.from_file(path).predict(images)``: uint8 (N, H, W, C) or (N, H, W) of the model's
    size in."""

    def __init__(self, model: LoadedModel):
        info = model.info
        outs = [t.name for t in info.outputs]
        if info.kind != Kind.CLASSIFIER or info.input_names() != ["image"] or "probs" not in outs:
            raise UserError(f"{model.path}: a {info.kind} model's {info.graph!r} graph with inputs "
                            f"{info.input_names()}; classify needs the <name>.classifier.onnx file "
                            f"of a classifier-guided export (e.g. acgan)")
        if info.num_classes < 1 or len(info.class_names) != info.num_classes:
            raise UserError(f"{model.path}: classifier metadata names {len(info.class_names)} "
                            f"classes for num_classes {info.num_classes}; re-export it")
        super().__init__(model)
        self.input_range = _input_range(info.extra.get("input_range"), model.path)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) the model takes."""
        _, h, w = self.info.image_shape
        return h, w

    @property
    def class_names(self) -> list[str]:
        return self.info.class_names

    def predict(self, images: np.ndarray, batch_size: int = 256) -> Prediction:
        """Classify uint8 (N, H, W, C) images, grey (N, H, W) ones, or one (H, W, C) or (H, W) image;
        grey/RGB converted, alpha dropped."""
        probs = np.concatenate(list(self.iter_probs(self.as_batch(images), batch_size)))
        labels = probs.argmax(1).astype(np.int64)
        return Prediction(labels, probs[np.arange(len(probs)), labels], probs)

    def as_batch(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, C) as is; a 3-d array is one (H, W, C) image when it has the model's size and
        1, 3 or 4 channels, otherwise grey (N, H, W) images (MNIST arrays come so); 2-d: one grey
        image. A shape that is none of these is reported as given."""
        images = np.asarray(images)
        if images.ndim == 3:
            one = images.shape[:2] == self.size and images.shape[2] in (1, 3, 4)
            return images[None] if one else images[..., None]
        if images.ndim == 2:
            return images[None, ..., None]
        if images.ndim != 4:
            raise UserError(f"images must be uint8 (N, H, W, C), (N, H, W) or one (H, W, C), got "
                            f"{images.dtype} {images.shape}")
        return images

    def iter_probs(self, images: np.ndarray, batch_size: int = 256) -> Iterator[np.ndarray]:
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3, 4):
            raise UserError(f"images must be uint8 (N, H, W, C) with C in 1, 3 or 4, got "
                            f"{images.dtype} {images.shape}")
        if images.shape[1:3] != self.size:
            h, w = self.size
            raise UserError(f"images are {images.shape[2]}x{images.shape[1]} pixels, but this "
                            f"classifier takes {w}x{h} (width x height)")
        if not 1 <= batch_size <= MAX_BATCH:
            raise UserError(f"batch size must be between 1 and {MAX_BATCH}, got {batch_size}")
        for lo in range(0, len(images), batch_size):
            yield self.run(images[lo:lo + batch_size])

    def run(self, images: np.ndarray) -> np.ndarray:
        """One forward pass: uint8 (N, H, W, C) of the model's size -> float32 probs (N, K)."""
        lo, hi = self.input_range
        x = match_channels(images, self.info.channels).astype(np.float32) * ((hi - lo) / 255.0) + lo
        (probs,) = self.model.session.run(["probs"], {"image": x.transpose(0, 3, 1, 2)})
        return probs


def _input_range(text: str | None, path) -> tuple[float, float]:
    """The metadata's ``input_range`` ([-1, 1] when absent), checked: it scales user pixels."""
    if text is None:
        return (-1.0, 1.0)
    try:
        lo, hi = (float(v) for v in json.loads(text))
    except (ValueError, TypeError):
        raise UserError(f"{path}: malformed gansrv.input_range {text!r}; re-export it") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise UserError(f"{path}: gansrv.input_range {text!r} is not an interval; re-export it")
    return lo, hi
