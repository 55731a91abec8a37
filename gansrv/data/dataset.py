"""The in-memory dataset type, its fingerprint and resizing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from gansrv.errors import UserError

# Bound on what one dataset may hold in memory (uint8 bytes): larger input is refused, not swapped.
MAX_DATASET_BYTES = 4 * 1024**3


@dataclass
class DataSpec:
    """What a family needs to know about its data to build networks (no pixels)."""

    channels: int
    size: int
    num_classes: int  # 0 when unlabelled
    class_names: list[str]
    count: int
    fingerprint: str
    # Paired data (image -> image families): channels of the target images, 0 when unpaired.
    target_channels: int = 0
    # Semi-supervised runs: how many images keep their label (0: every label is known, or none)
    # and the seed that chose them (gansrv.data.labelled).
    labelled_count: int = 0
    label_seed: int | None = None

    @property
    def labelled(self) -> bool:
        return self.num_classes > 0

    @property
    def paired(self) -> bool:
        return self.target_channels > 0


@dataclass
class Dataset:
    """Images as uint8 (N, C, H, W); labels as int64 (N,) or None; class names by index.

    ``targets`` makes the dataset paired: image i's counterpart, uint8 (N, C', H, W) (an image ->
    image family learns images -> targets); the engine batches the two together.
    ``labelled`` makes it semi-supervised: the sorted indices of the images whose label is known
    (chosen with ``label_seed``, :mod:`gansrv.data.labelled`); the others' labels are never used.
    """

    images: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] = field(default_factory=list)
    source: str = ""
    targets: np.ndarray | None = None
    labelled: np.ndarray | None = None
    label_seed: int | None = None

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        imgs = self.images
        if imgs.dtype != np.uint8 or imgs.ndim != 4 or imgs.shape[1] not in (1, 3):
            raise UserError(f"{self.source}: images must be uint8 (N, C, H, W) with C in 1 or 3, "
                            f"got {imgs.dtype} {imgs.shape}")
        if len(imgs) == 0:
            raise UserError(f"{self.source}: the dataset holds no images")
        if imgs.shape[2] < 1 or imgs.shape[3] < 1:
            raise UserError(f"{self.source}: images of {imgs.shape[2]}x{imgs.shape[3]} pixels")
        if self.targets is not None:
            t = self.targets
            if t.dtype != np.uint8 or t.ndim != 4 or t.shape[1] not in (1, 3) or \
                    t.shape[0] != imgs.shape[0] or t.shape[2:] != imgs.shape[2:]:
                raise UserError(f"{self.source}: targets must be uint8 (N, C, H, W) matching the "
                                f"images {imgs.shape}, got {t.dtype} {t.shape}")
        if self.labels is not None:
            if len(self.labels) != len(imgs):
                raise UserError(f"{self.source}: {len(imgs)} images but {len(self.labels)} labels")
            if len(self.labels) and (self.labels.min() < 0):
                raise UserError(f"{self.source}: negative labels")
            if not self.class_names:
                self.class_names = [str(i) for i in range(int(self.labels.max()) + 1)]
            if int(self.labels.max()) >= len(self.class_names):
                raise UserError(f"{self.source}: label {int(self.labels.max())} has no class name "
                                f"({len(self.class_names)} classes)")

    def __len__(self) -> int:
        return len(self.images)

    def limit(self, n: int | None) -> Dataset:
        if n is None:
            return self
        if n <= 0:
            raise UserError(f"--limit must be positive, got {n}")
        labels = None if self.labels is None else self.labels[:n]
        targets = None if self.targets is None else self.targets[:n]
        return Dataset(self.images[:n], labels, self.class_names, self.source, targets)

    def resized(self, size: int | None, channels: int | None = None) -> Dataset:
        images = self.images if size is None else resize_images(self.images, size)
        if channels == 3 and images.shape[1] == 1:
            images = np.repeat(images, 3, axis=1)
        elif channels == 1 and images.shape[1] == 3:
            images = _to_gray(images)
        targets = self.targets
        if targets is not None and size is not None:
            targets = resize_images(targets, size)
        return Dataset(images, self.labels, self.class_names, self.source, targets)

    def fingerprint(self) -> str:
        """sha256 of pixels, labels and class names: ties a run and its exports to its data."""
        h = hashlib.sha256()
        h.update(repr(self.images.shape).encode())
        h.update(np.ascontiguousarray(self.images).tobytes())
        if self.labels is not None:
            h.update(np.ascontiguousarray(self.labels.astype("<i8")).tobytes())
            h.update("\x00".join(self.class_names).encode())
        if self.targets is not None:
            h.update(b"targets" + repr(self.targets.shape).encode())
            h.update(np.ascontiguousarray(self.targets).tobytes())
        if self.labelled is not None:  # which labels a semi-supervised run may read
            h.update(b"labelled" + np.ascontiguousarray(self.labelled.astype("<i8")).tobytes())
        return h.hexdigest()

    def spec(self) -> DataSpec:
        labelled = self.labels is not None
        return DataSpec(
            channels=int(self.images.shape[1]),
            size=int(self.images.shape[2]),
            num_classes=len(self.class_names) if labelled else 0,
            class_names=list(self.class_names) if labelled else [],
            count=len(self.images),
            fingerprint=self.fingerprint(),
            target_channels=0 if self.targets is None else int(self.targets.shape[1]),
            labelled_count=0 if self.labelled is None else len(self.labelled),
            label_seed=None if self.labelled is None else self.label_seed,
        )


def _to_gray(images: np.ndarray) -> np.ndarray:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
    gray = (images.astype(np.float32) * weights).sum(axis=1, keepdims=True)
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, C, H, W) uint8 images to size x size; non-square images are centre-cropped."""
    n, c, h, w = images.shape
    if h == size and w == size:
        return images
    from PIL import Image

    check_size("resized images", (n, c, size, size))  # 1x1 images resized up can explode
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = images[:, :, top:top + side, left:left + side]
    out = np.empty((n, c, size, size), dtype=np.uint8)
    resample = Image.Resampling.BICUBIC if size > side else Image.Resampling.LANCZOS
    for i in range(n):
        for ch in range(c):
            img = Image.fromarray(crop[i, ch])
            out[i, ch] = np.asarray(img.resize((size, size), resample))
    return out


def check_size(source: str, shape: tuple[int, ...], itemsize: int = 1) -> None:
    total = itemsize
    for d in shape:
        total *= int(d)
    if total > MAX_DATASET_BYTES:
        raise UserError(f"{source}: {total / 1024**3:.1f} GiB of pixels exceeds the "
                        f"{MAX_DATASET_BYTES / 1024**3:.0f} GiB limit; use a smaller dataset")
