"""What the demo's buttons do, as plain functions: bounded inputs in, uint8 numpy images out.

They raise :class:`UserError` for input out of range (the app turns it into a Gradio error, which
``gradio_client`` raises as ``AppError``), so they are testable without a server. Images follow
gansrv.runtime's rule: image ``i`` of seed ``s`` depends on ``(s, i)`` only, so the zip holds exactly
the pictures the page shows for the same inputs.

Input contract for the kinds no family exports yet (checked when the demo loads the file):

- ``code`` (InfoGAN-like): ``z`` float32 (batch, latent_dim), ``code`` float32 (batch, K) with
  1 <= K <= 8 continuous codes (slider range: metadata ``gansrv.code_range``, default [-2, 2]),
  and ``label`` int64 (batch,) for the categorical code when ``num_classes`` > 0 (its values named
  by ``class_names``); output images in ``output_range``.
- ``image`` (image→image): one input ``image`` float32 (batch, C, H, W) with fixed C and either fixed
  H, W or dynamic ones that are multiples of the metadata's ``size_multiple`` (what pix2pix and
  cyclegan export), in the same value range as the output. Uploads are centre-cropped to the input's
  aspect and resized; for a dynamic-size model, to the upload's size rounded down to the multiple
  (at most 512 pixels a side).
"""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
from PIL import Image

from gansrv.demo.models import KINDS, DemoModel, Limits
from gansrv.errors import UserError
from gansrv.kinds import Kind
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
    images = _generator(model).generate(n, check_seed(seed), labels=label_arg(model, class_name),
                                      truncation=truncation_arg(truncation), batch_size=n)
    return [_squeeze(im) for im in images]


def one_of_each(model: DemoModel, seed: float, truncation: float | None = 0) -> list[tuple[np.ndarray, str]]:
    """Image i has class i (balanced labels), so the first K images are one of each class."""
    if not model.class_names:
        raise UserError(f"model {model.name!r} is unconditional: it has no classes")
    k = len(model.class_names)
    images = _generator(model).generate(k, check_seed(seed), truncation=truncation_arg(truncation),
                                      batch_size=k)
    return [(_squeeze(im), name) for im, name in zip(images, model.class_names)]


def interpolate(model: DemoModel, limits: Limits, seed_a: float, seed_b: float, steps: float,
                truncation: float | None = 0, class_name: str | None = None) -> np.ndarray:
    """A strip of ``steps`` images from image 0 of seed_a to image 0 of seed_b, side by side.

    The path is spherical (slerp): z is Gaussian, and a straight line between two samples passes
    through norms the generator never saw in training.
    """
    _generator(model)
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
    images = model.run(feeds)
    return _squeeze(np.concatenate(list(images), axis=1))


def generate_codes(model: DemoModel, limits: Limits, seed: float, count: float, truncation: float | None,
                   class_name: str | None, *codes: float | None) -> list[np.ndarray]:
    """``count`` images of a code model: noise of ``seed``, the same codes for all (the first K of
    ``codes``; the rest are the page's hidden sliders and ignored), the categorical code if any."""
    k = model.code_dim
    if not k:
        raise UserError(f"model {model.name!r} is {KINDS[model.kind].label}: it takes no codes")
    n = check_count(count, limits.max_images)
    lo, hi = model.code_range
    values = [0.0 if c is None else float(c) for c in codes[:k]] + [0.0] * max(0, k - len(codes))
    for i, v in enumerate(values):
        if not lo <= v <= hi:
            raise UserError(f"code {i + 1} must be between {lo} and {hi}, got {v}")
    feeds = {"z": noise(check_seed(seed), np.arange(n), model.info.latent_dim, truncation_arg(truncation)),
             "code": np.tile(np.asarray(values, dtype=np.float32), (n, 1))}
    if model.class_names:
        label = label_arg(model, class_name)
        k_cat = len(model.class_names)
        feeds["label"] = (np.arange(n, dtype=np.int64) % k_cat if label is None
                          else np.full(n, label, dtype=np.int64))
    return [_squeeze(im) for im in model.run(feeds)]


def translate(model: DemoModel, limits: Limits, path: str | None, domain: str | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """An uploaded image file -> (the input as the model sees it, the model's output), uint8.

    ``domain``: the target domain by name, for a multi-domain model (required there, refused for a
    one-way model). The size is checked from the header before any pixel is decoded (no
    decompression bombs).
    """
    if model.kind != Kind.IMAGE:
        raise UserError(f"model {model.name!r} is {KINDS[model.kind].label}: it takes no image")
    label = domain_arg(model, domain)
    if not path:
        raise UserError("upload an image first")
    c = model.info.inputs[0].shape[1]
    try:
        with Image.open(path) as im:
            if im.width * im.height > limits.max_upload_pixels:
                raise UserError(f"image of {im.width}×{im.height} pixels is larger than the demo accepts "
                                f"({limits.max_upload_pixels:,} pixels)")
            h, w = _input_size(model, im.height, im.width)
            im = _fit(im.convert("L" if c == 1 else "RGB"), w, h)
    except (OSError, Image.DecompressionBombError) as exc:
        raise UserError(f"not an image the demo can read ({type(exc).__name__})") from None
    pixels = np.asarray(im, dtype=np.uint8).reshape(h, w, c)
    lo, hi = model.info.output_range or (-1.0, 1.0)
    x = (pixels.astype(np.float32) * ((hi - lo) / 255.0) + lo).transpose(2, 0, 1)[None]
    feeds = {"image": x} if label is None else {"image": x, "label": np.array([label], dtype=np.int64)}
    return _squeeze(pixels), _squeeze(model.run(feeds)[0])


def domain_arg(model: DemoModel, domain: str | None) -> int | None:
    """The target domain's index for a multi-domain model (None for a one-way one); a missing or
    unknown name, or a domain for a one-way model, is refused with the model's domains listed."""
    if not model.domains:
        if domain:
            raise UserError(f"model {model.name!r} translates one way only; it takes no target domain")
        return None
    if not domain:
        raise UserError(f"model {model.name!r} translates to {len(model.domains)} domains; choose one "
                        f"({', '.join(model.domains)})")
    if domain not in model.domains:
        raise UserError(f"unknown domain {domain!r} for model {model.name!r}; its domains: "
                        f"{', '.join(model.domains)}")
    return model.domains.index(domain)


MAX_DYNAMIC_SIDE = 512  # an upload to a dynamic-size model is cut down to this (CPU time per request)


def _input_size(model: DemoModel, height: int, width: int) -> tuple[int, int]:
    """The graph's fixed (H, W), or for a dynamic-size graph the upload's size rounded down to the
    model's multiple (at least one multiple, at most MAX_DYNAMIC_SIDE a side)."""
    _, _, h, w = model.info.inputs[0].shape
    if isinstance(h, int) and isinstance(w, int):
        return h, w
    m = model.info.size_multiple
    top = max(m, MAX_DYNAMIC_SIDE // m * m)
    return max(m, min(height, top) // m * m), max(m, min(width, top) // m * m)


def _fit(im: Image.Image, w: int, h: int) -> Image.Image:
    """Centre-crop to the w:h aspect, then resize to w×h (bicubic)."""
    scale = min(im.width / w, im.height / h)
    cw, ch = round(w * scale), round(h * scale)
    left, top = (im.width - cw) // 2, (im.height - ch) // 2
    return im.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BICUBIC)


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


def captions(model: DemoModel, n: int, class_name: str | None = None,
             codes: tuple[float, ...] = ()) -> list[str]:
    """What each image of a request was asked for, for the gallery: ``#i`` (its index: image i of
    the seed), then its class (or categorical code) by name and any continuous code values."""
    labels = _labels_of(model, n, class_name)
    word = "code" if model.kind == Kind.CODE else "class"
    values = f" codes {', '.join(f'{c:g}' for c in codes)}" if codes else ""
    return [f"#{i}" + ("" if label is None else f" {word} {model.class_names[label]}") + values
            for i, label in enumerate(labels)]


def _generator(model: DemoModel):
    if model.generator is None:
        raise UserError(f"model {model.name!r} is {KINDS[model.kind].label}: use "
                        f"{'/generate_codes' if model.kind == Kind.CODE else '/translate'}")
    return model.generator


def _labels_of(model: DemoModel, n: int, class_name: str | None) -> list[int | None]:
    if not model.class_names:
        return [None] * n
    label = label_arg(model, class_name)
    return [i % len(model.class_names) if label is None else label for i in range(n)]


def _squeeze(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) grey -> (H, W): what Pillow and Gradio save as a mode-L PNG."""
    return image[..., 0] if image.shape[-1] == 1 else image
