"""What the demo's buttons do, as plain functions: bounded inputs in, uint8 numpy images out.

They raise :class:`UserError` for input out of range (the app turns it into a Gradio error, which
``gradio_client`` raises as ``AppError``), so they are testable without a server. Images follow
gansrv.runtime's rule: image ``i`` of seed ``s`` depends on ``(s, i)`` only, so the zip holds exactly
the pictures the page shows for the same inputs.
"""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
from PIL import Image

from gansrv.demo.models import DemoModel, Limits
from gansrv.errors import UserError
from gansrv.runtime import noise
from gansrv.runtime.generator import MIN_TRUNCATION

MAX_SEED = 2**32 - 1  # exact in a browser's float64 numbers, unlike the runtime's 2**63-1
MAX_TRUNCATION = 2.0
ALL_CLASSES = "(all classes)"  # the class choice meaning balanced labels: image i is class i mod K


def check_seed(seed: float | None, what: str = "seed") -> int:
    if seed is None or seed != int(seed) or not 0 <= seed <= MAX_SEED:
        raise UserError(f"{what} must be an integer between 0 and {MAX_SEED}, got {seed}")
    return int(seed)


def check_count(n: float | None, hi: int, what: str = "number of images") -> int:
    if n is None or n != int(n) or not 1 <= n <= hi:
        raise UserError(f"{what} must be between 1 and {hi}, got {n}")
    return int(n)


def truncation_arg(t: float | None) -> float | None:
    """0 (or None) means no truncation; otherwise MIN_TRUNCATION..MAX_TRUNCATION."""
    if t is None or t == 0:
        return None
    if not MIN_TRUNCATION <= t <= MAX_TRUNCATION:
        raise UserError(f"truncation must be 0 (off) or between {MIN_TRUNCATION} and {MAX_TRUNCATION}, "
                        f"got {t}")
    return float(t)


def label_arg(model: DemoModel, class_name: str | None) -> int | None:
    """The class index a request asks for; None: balanced labels (or an unconditional model)."""
    if not model.class_names or class_name in (None, "", ALL_CLASSES):
        return None  # an unconditional model ignores the (hidden) class control
    if class_name not in model.class_names:
        raise UserError(f"model {model.name!r} has no class {class_name!r}; classes: "
                        f"{', '.join(model.class_names)}")
    return model.class_names.index(class_name)


def generate(model: DemoModel, limits: Limits, seed: float, count: float, truncation: float | None = 0,
             class_name: str | None = None) -> list[np.ndarray]:
    """``count`` images of ``seed`` as (H, W) grey or (H, W, 3) RGB uint8 arrays."""
    n = check_count(count, limits.max_images)
    images = model.generator.generate(n, check_seed(seed), labels=label_arg(model, class_name),
                                      truncation=truncation_arg(truncation), batch_size=n)
    return [_squeeze(im) for im in images]


def one_of_each(model: DemoModel, seed: float, truncation: float | None = 0) -> list[tuple[np.ndarray, str]]:
    """Image i has class i (balanced labels), so the first K images are one of each class."""
    if not model.class_names:
        raise UserError(f"model {model.name!r} is unconditional: it has no classes")
    k = len(model.class_names)
    images = model.generator.generate(k, check_seed(seed), truncation=truncation_arg(truncation),
                                      batch_size=k)
    return [(_squeeze(im), name) for im, name in zip(images, model.class_names)]


def interpolate(model: DemoModel, limits: Limits, seed_a: float, seed_b: float, steps: float,
                truncation: float | None = 0, class_name: str | None = None) -> np.ndarray:
    """A strip of ``steps`` images from image 0 of seed_a to image 0 of seed_b, side by side.

    The path is spherical (slerp): z is Gaussian, and a straight line between two samples passes
    through norms the generator never saw in training.
    """
    n = check_count(steps, limits.max_steps, "interpolation steps")
    if n < 2:
        raise UserError(f"interpolation steps must be between 2 and {limits.max_steps}, got {n}")
    t = truncation_arg(truncation)
    dim = model.generator.info.latent_dim
    za, zb = (noise(check_seed(s, what), [0], dim, t)[0] for s, what in ((seed_a, "seed A"),
                                                                         (seed_b, "seed B")))
    feeds = {"z": slerp(za, zb, np.linspace(0.0, 1.0, n))}
    if model.class_names:
        label = label_arg(model, class_name)
        feeds["label"] = np.full(n, 0 if label is None else label, dtype=np.int64)
    images = model.generator.run(feeds)
    return _squeeze(np.concatenate(list(images), axis=1))


def slerp(a: np.ndarray, b: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Rows a→b along the great circle (linear when a and b are nearly parallel), float32."""
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    omega = math.acos(min(1.0, max(-1.0, cos)))
    if omega < 1e-4:
        rows = [(1 - t) * a + t * b for t in ts]
    else:
        rows = [(math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega) for t in ts]
    return np.stack(rows).astype(np.float32)


def zip_bytes(model: DemoModel, images: list[np.ndarray], request: dict) -> bytes:
    """PNGs ``NNNN[_class].png`` plus ``request.json`` (model, sha256, inputs), stored uncompressed."""
    buf = io.BytesIO()
    labels = _labels_of(model, len(images), request.get("class_name"))
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i, (im, label) in enumerate(zip(images, labels)):
            png = io.BytesIO()
            Image.fromarray(im).save(png, format="PNG")
            suffix = f"_{model.class_names[label]}" if label is not None else ""
            zf.writestr(f"{i:04d}{suffix}.png", png.getvalue())
        zf.writestr("request.json", json.dumps({"model": model.name, "file": model.path.name,
                                                "sha256": model.sha256, **request}, indent=2) + "\n")
    return buf.getvalue()


def _labels_of(model: DemoModel, n: int, class_name: str | None) -> list[int | None]:
    if not model.class_names:
        return [None] * n
    label = label_arg(model, class_name)
    return [i % len(model.class_names) if label is None else label for i in range(n)]


def _squeeze(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) grey -> (H, W): what Pillow and Gradio save as a mode-L PNG."""
    return image[..., 0] if image.shape[-1] == 1 else image
