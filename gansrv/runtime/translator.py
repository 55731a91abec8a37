"""Translate images with an exported image -> image generator, on onnxruntime and numpy only.

The model file says which sizes it takes (``size_multiple`` in its metadata: any height and width
that are multiples of it, else exactly its ``image_shape``), so a wrong size is refused here with
the rule in the message, before onnxruntime would fail on it with a shape error.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gansrv.errors import UserError
from gansrv.kinds import Kind
from gansrv.runtime.generator import to_uint8
from gansrv.runtime.metadata import MAX_SIDE
from gansrv.runtime.model import LoadedModel, ModelUser

MAX_BATCH = 4096
MAX_PIXELS_PER_BATCH = 64 * 1024 * 1024  # bounds one inference call's float32 input (~768 MiB RGB)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class Translator(ModelUser):
    """``Translator.from_file(path).translate(images)``: uint8 (N, H, W, C) in, uint8 out.

    A multi-domain model (inputs ``image`` and ``label``, e.g. stargan) translates to the domain
    ``to`` names (a name from :attr:`domains` or its index); a single-mapping model (input ``image``
    only: pix2pix, cyclegan) takes no ``to``.
    """

    def __init__(self, model: LoadedModel):
        info = model.info
        names = info.input_names()
        if info.kind != Kind.IMAGE or names not in (["image"], ["image", "label"]) \
                or info.output_range is None:
            raise UserError(f"{model.path}: a {info.kind} model's {info.graph!r} graph with inputs "
                            f"{names}; translate needs the generator file of an image -> image "
                            f"export")
        if "label" in names and (info.num_classes < 1 or len(info.class_names) != info.num_classes):
            raise UserError(f"{model.path}: metadata names {len(info.class_names)} domains for "
                            f"num_classes {info.num_classes}; re-export it")
        super().__init__(model)
        self.output = info.outputs[0].name

    @property
    def domains(self) -> list[str]:
        """The target domains a multi-domain model translates to, by index; [] for one mapping."""
        return list(self.info.class_names) if "label" in self.info.input_names() else []

    def domain_index(self, to: str | int | None) -> int | None:
        """``to`` checked against the model: a domain name or index for a multi-domain model
        (required), nothing for a single-mapping one; returns the index (None: no label input)."""
        domains = self.domains
        if not domains:
            if to is not None:
                raise UserError(f"--to {to}: this model translates one way only (it takes no "
                                f"target domain); leave --to out")
            return None
        listed = ", ".join(domains)
        if to is None:
            raise UserError(f"this model translates to {len(domains)} domains; choose one with "
                            f"--to DOMAIN (one of {listed}, or all)")
        if isinstance(to, (int, np.integer)) and not isinstance(to, bool):
            if not 0 <= int(to) < len(domains):
                raise UserError(f"--to {to}: domain index out of range 0..{len(domains) - 1}")
            return int(to)
        if to in domains:
            return domains.index(str(to))
        raise UserError(f"--to {to!r}: unknown domain; this model's domains: {listed}")

    @property
    def in_channels(self) -> int:
        return int(self.info.inputs[0].shape[1])

    @property
    def out_channels(self) -> int:
        return self.info.channels

    def size_rule(self) -> str:
        m = self.info.size_multiple
        if m:
            return f"height and width must be multiples of {m}"
        _, h, w = self.info.image_shape
        return f"images must be {w}x{h} (width x height)"

    def accepts(self, height: int, width: int) -> bool:
        m = self.info.size_multiple
        if m:
            return 0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE and not height % m \
                and not width % m
        return (height, width) == tuple(self.info.image_shape[1:])

    def fit(self, height: int, width: int) -> tuple[int, int]:
        """The accepted size nearest below (height, width): what ``--resize`` scales an image to."""
        m = self.info.size_multiple
        if not m:
            return tuple(self.info.image_shape[1:])  # type: ignore[return-value]
        return (max(m, min(height, MAX_SIDE) // m * m), max(m, min(width, MAX_SIDE) // m * m))

    def check(self, height: int, width: int, source: str = "image") -> None:
        if not self.accepts(height, width):
            raise UserError(f"{source}: {width}x{height} pixels, but this model's {self.size_rule()}"
                            f" (resize the input, or pass --resize)")

    def translate(self, images: np.ndarray, batch_size: int = 16, to: str | int | None = None
                  ) -> np.ndarray:
        """uint8 (N, H, W, C) or one (H, W, C) image -> uint8 translations of the same layout.

        ``to``: the target domain (name or index) of a multi-domain model; see :meth:`domain_index`.
        Grey inputs to an RGB model are repeated to three channels and RGB inputs to a grey model
        are converted with ITU-R 601 luma; an alpha channel is dropped.
        """
        domain = self.domain_index(to)
        single = images.ndim == 3
        batch = images[None] if single else images
        out = np.concatenate(list(self.iter_batches(batch, batch_size, domain)))
        return out[0] if single else out

    def iter_batches(self, images: np.ndarray, batch_size: int = 16, domain: int | None = None
                     ) -> Iterator[np.ndarray]:
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3, 4):
            raise UserError(f"images must be uint8 (N, H, W, C) with C in 1, 3 or 4, got "
                            f"{images.dtype} {images.shape}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise UserError(f"batch size must be between 1 and {MAX_BATCH}, got {batch_size}")
        n, h, w, _ = images.shape
        self.check(h, w)
        step = max(1, min(batch_size, MAX_PIXELS_PER_BATCH // (h * w * 3)))
        for lo in range(0, n, step):
            yield self.run(images[lo:lo + step], domain)

    def run(self, images: np.ndarray, domain: int | None = None) -> np.ndarray:
        """One forward pass: uint8 (N, H, W, C) of an accepted size -> uint8 (N, H, W, C'), to the
        domain index ``domain`` (checked by :meth:`domain_index`) for a multi-domain model."""
        x = match_channels(images, self.in_channels).astype(np.float32) / 127.5 - 1.0
        feeds = {"image": x.transpose(0, 3, 1, 2)}
        if self.domains:
            if domain is None or not 0 <= domain < len(self.domains):
                raise UserError(f"target domain index {domain} is not one of this model's "
                                f"0..{len(self.domains) - 1}")
            feeds["label"] = np.full(len(images), domain, dtype=np.int64)
        (out,) = self.model.session.run([self.output], feeds)
        return to_uint8(out, self.info.output_range or (-1.0, 1.0))


def match_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (N, H, W, C) -> (N, H, W, channels): alpha dropped, grey <-> RGB converted."""
    if images.shape[3] == 4:
        images = images[..., :3]
    c = images.shape[3]
    if c == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=3)
    grey = images.astype(np.float32) @ _LUMA
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None]
