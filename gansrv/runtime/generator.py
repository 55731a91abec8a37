"""Generate images from an exported generator with onnxruntime and numpy only.

Determinism is per image, not per call: the noise of image ``i`` is drawn from
``np.random.default_rng([seed, i])``, so image ``i`` is the same whatever the batch size, and the
first ``n`` images of a longer run equal a run of ``n``. That is what lets ``gansrv generate`` shard
and resume a dataset and still write the same files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from gansrv.errors import UserError
from gansrv.kinds import GENERATOR_KINDS, Kind
from gansrv.runtime.codes import CodeSpec, Sweep, codes_for, rows_of
from gansrv.runtime.model import LoadedModel, ModelUser

MAX_IMAGES = 1_000_000
MAX_BATCH = 4096
MIN_TRUNCATION = 0.05  # below this, resampling |z| > t takes too many draws per value
MAX_SEED = 2**63 - 1

LabelsArg = int | Sequence[int] | np.ndarray | None
CodesArg = Sequence[float] | np.ndarray | None


def noise(seed: int, indices: Sequence[int] | np.ndarray, dim: int,
          truncation: float | None = None) -> np.ndarray:
    """z for the given image indices, float32 (len(indices), dim); row i depends on (seed, i) only.

    With ``truncation`` t, values with |z| > t are redrawn from the same per-image stream (the
    truncation trick of BigGAN), so truncated noise is as reproducible as plain noise.
    """
    out = np.empty((len(indices), dim), dtype=np.float32)
    for row, i in enumerate(indices):
        rng = np.random.default_rng([seed, int(i)])
        z = rng.standard_normal(dim, dtype=np.float32)
        if truncation is not None:
            bad = np.abs(z) > truncation
            while bad.any():
                z[bad] = rng.standard_normal(int(bad.sum()), dtype=np.float32)
                bad = np.abs(z) > truncation
        out[row] = z
    return out


def balanced_labels(n: int, num_classes: int, start: int = 0) -> np.ndarray:
    """Image i gets class i mod K: every class equally often, and a label that depends on i only."""
    return (np.arange(start, start + n, dtype=np.int64) % num_classes).astype(np.int64)


def to_uint8(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """(N, C, H, W) floats in value_range -> (N, H, W, C) uint8, rounded and clipped."""
    lo, hi = value_range
    scaled = (images.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


class Generator(ModelUser):
    """An exported generator: ``Generator.from_file(path).generate(n, seed)`` -> uint8 images."""

    def __init__(self, model: LoadedModel):
        info = model.info
        if info.kind == Kind.IMAGE:
            raise UserError(f"{model.path}: an image -> image model ({info.family}); translate "
                            f"images with it ('gansrv translate', gansrv.runtime.Translator)")
        # a family's second noise -> image graph (e.g. stackgan's stage I) says role=generator
        serves = info.graph == "generator" or info.extra.get("role") == "generator"
        if not serves or "z" not in info.input_names():
            raise UserError(f"{model.path}: a {info.graph!r} graph with inputs {info.input_names()}; "
                            f"generate needs the generator file of an export")
        if info.kind not in GENERATOR_KINDS:
            raise UserError(f"{model.path}: family kind {info.kind!r} is not supported by the runtime's "
                            f"generate yet")
        self.code_spec: CodeSpec | None = CodeSpec.of(info)  # the ``code`` input, if any
        if info.kind == Kind.CODE and self.code_spec is None and "label" not in info.input_names():
            raise UserError(f"{model.path}: a code model with neither a 'code' nor a 'label' input; "
                            f"re-export it")
        super().__init__(model)

    @property
    def code_model(self) -> bool:
        """Kind ``code``: its ``label`` is a categorical code learnt without labels (InfoGAN's code,
        MAD-GAN's generator index), not a class; it may have no continuous ``code`` input at all."""
        return self.info.kind == Kind.CODE

    @property
    def conditional(self) -> bool:
        return "label" in self.info.input_names()

    def generate(self, n: int, seed: int = 0, labels: LabelsArg = None,
                 truncation: float | None = None, batch_size: int = 64, start: int = 0,
                 codes: CodesArg = None, sweep: Sweep | None = None) -> np.ndarray:
        """Images ``start .. start+n-1`` as uint8 (n, H, W, C).

        ``labels``: None (balanced: image i gets class i mod K), one class for all, or one label per
        image. Labels are checked here because onnxruntime silently accepts negative indices.
        Code models (InfoGAN, MAD-GAN; see :mod:`gansrv.runtime.codes`): ``labels`` are the
        categorical code; ``codes`` the continuous ones (a model with a categorical code only takes
        none), None (drawn from the prior by (seed, i)), one row for all or
        one row per image; ``sweep`` walks one code (image j: noise of row j // steps).
        """
        return np.concatenate(list(self.iter_batches(n, seed, labels, truncation, batch_size, start,
                                                     codes, sweep)))

    def iter_batches(self, n: int, seed: int = 0, labels: LabelsArg = None,
                     truncation: float | None = None, batch_size: int = 64,
                     start: int = 0, codes: CodesArg = None,
                     sweep: Sweep | None = None) -> Iterator[np.ndarray]:
        """Like :meth:`generate`, one uint8 batch at a time (bounded memory for large n)."""
        self._check(n, seed, truncation, batch_size, start)
        fixed = self.fixed_codes(n, codes, sweep)
        if sweep is not None and labels is None and self.conditional:  # one categorical value per row
            labels = rows_of(np.arange(start, start + n), sweep) % self.info.num_classes
        y = self.labels_for(n, labels, start)
        for lo in range(0, n, batch_size):
            idx = np.arange(start + lo, start + min(n, lo + batch_size))
            if self.code_spec is None:
                feeds = {"z": noise(seed, idx, self.info.latent_dim, truncation)}
            else:
                rows = fixed if fixed is None or fixed.ndim == 1 else fixed[lo:lo + len(idx)]
                feeds = self.code_feeds(idx, seed, truncation, rows, sweep)
            if y is not None:
                feeds["label"] = y[lo:lo + len(idx)]
            yield self.run(feeds)

    def code_feeds(self, indices: np.ndarray, seed: int, truncation: float | None,
                   fixed: np.ndarray | None = None, sweep: Sweep | None = None) -> dict[str, np.ndarray]:
        """``z`` and ``code`` of a code model's images ``indices`` (labels are the caller's)."""
        assert self.code_spec is not None
        z = noise(seed, rows_of(indices, sweep), self.info.latent_dim, truncation)
        return {"z": z, "code": codes_for(seed, indices, self.code_spec, fixed, sweep)}

    def fixed_codes(self, n: int, codes: CodesArg, sweep: Sweep | None = None) -> np.ndarray | None:
        """Validated continuous codes: None, one row (dim,) for all images or one per image (n, dim)."""
        spec = self.code_spec
        if spec is None:
            if codes is not None or sweep is not None:
                raise UserError(f"{self.info.family} is a {self.info.kind} model; it takes no codes")
            return None
        if sweep is not None and not 1 <= sweep.code <= spec.dim:
            raise UserError(f"sweep of code {sweep.code}: the model has codes 1..{spec.dim}")
        if codes is None:
            return None
        arr = np.asarray(codes, dtype=np.float32)
        if arr.shape not in ((spec.dim,), (n, spec.dim)):
            raise UserError(f"codes must be {spec.dim} values or ({n}, {spec.dim}), got shape {arr.shape}")
        spec.check(arr)
        return arr

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One forward pass on prepared inputs -> uint8 (N, H, W, C)."""
        (images,) = self.model.session.run(["image"], feeds)
        return to_uint8(images, self.info.output_range or (-1.0, 1.0))

    def labels_for(self, n: int, labels: LabelsArg, start: int = 0) -> np.ndarray | None:
        """int64 labels for n images, validated against the model's classes (None: unconditional)."""
        k = self.info.num_classes
        if not self.conditional:
            if labels is not None:
                raise UserError(f"{self.info.family} is unconditional; it takes no labels")
            return None
        if labels is None:
            return balanced_labels(n, k, start)
        arr = np.asarray(labels)
        if arr.ndim == 0:
            arr = np.full(n, arr)
        if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
            raise UserError(f"labels must be one integer or {n} integers, got shape {arr.shape} "
                            f"({arr.dtype})")
        if n and (arr.min() < 0 or arr.max() >= k):
            bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
            raise UserError(f"label {bad} out of range: the model has {k} classes (0..{k - 1})")
        return arr.astype(np.int64)

    def class_index(self, name_or_index: str | int) -> int:
        """A class given by name (as in the metadata) or by index -> its index."""
        names = self.info.class_names
        if isinstance(name_or_index, str) and name_or_index in names:
            return names.index(name_or_index)
        try:
            i = int(name_or_index)
        except ValueError:
            raise UserError(f"unknown class {name_or_index!r}; classes: {', '.join(names)}") from None
        if not 0 <= i < self.info.num_classes:
            raise UserError(f"class {i} out of range: the model has {self.info.num_classes} classes")
        return i

    @staticmethod
    def _check(n: int, seed: int, truncation: float | None, batch_size: int, start: int) -> None:
        if not 1 <= n <= MAX_IMAGES:
            raise UserError(f"n must be between 1 and {MAX_IMAGES:,}, got {n}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise UserError(f"batch size must be between 1 and {MAX_BATCH}, got {batch_size}")
        if not 0 <= seed <= MAX_SEED or not 0 <= start <= MAX_SEED:
            raise UserError(f"seed and start must be between 0 and 2**63-1, got {seed}, {start}")
        if truncation is not None and not MIN_TRUNCATION <= truncation <= 1e6:
            raise UserError(f"truncation must be >= {MIN_TRUNCATION} (or none), got {truncation}")
