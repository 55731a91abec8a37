"""The continuous codes of a code-controlled model (InfoGAN): its prior, per-image draws, sweeps.

Like the noise, an image's codes depend on ``(seed, index)`` only: drawn from their own stream
``np.random.default_rng([seed, index, CODE_STREAM])``, so giving the codes never changes z and a
sharded or resumed dataset draws the same codes. A sweep turns image index ``j`` into row
``j // steps`` (whose z it uses) and step ``j % steps`` (the value of the swept code), so a sweep's
rows are images ``0, 1, ...`` of the same seed with one code walked along a line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from gansrv.errors import UserError
from gansrv.runtime.metadata import ModelInfo

CODE_STREAM = 1  # third entry of the per-image seed sequence: apart from the noise's [seed, index]
MAX_SWEEP_STEPS = 1000
DEFAULT_RANGE = (-2.0, 2.0)  # what the demo assumes without a code_range key


@dataclass(frozen=True)
class CodeSpec:
    """What the metadata says about the ``code`` input: its size, the training prior (uniform on
    [low, high], or standard normal) and ``range``, the values a user may ask for."""

    dim: int
    distribution: str = "uniform"
    low: float = -1.0
    high: float = 1.0
    range: tuple[float, float] = DEFAULT_RANGE

    @classmethod
    def of(cls, info: ModelInfo) -> CodeSpec | None:
        """The spec of a model with a ``code`` input (None for other models); bad metadata -> UserError."""
        code = [t for t in info.inputs if t.name == "code"]
        if not code:
            return None
        try:
            dim = int(code[0].shape[1])
            lo, hi = (float(v) for v in json.loads(info.extra.get("code_range", json.dumps(DEFAULT_RANGE))))
            prior = json.loads(info.extra.get("code_prior", '{"distribution": "uniform"}'))
            spec = cls(dim, str(prior.get("distribution", "uniform")), float(prior.get("low", -1.0)),
                       float(prior.get("high", 1.0)), (lo, hi))
        except (ValueError, TypeError, AttributeError, IndexError):
            raise UserError(f"{info.family} model: malformed code metadata (code input "
                            f"{code[0].shape}, code_range {info.extra.get('code_range')!r}, code_prior "
                            f"{info.extra.get('code_prior')!r})") from None
        if not 1 <= dim <= 64 or spec.distribution not in ("uniform", "normal") or not lo < hi:
            raise UserError(f"{info.family} model: unsupported codes ({dim} codes, prior "
                            f"{spec.distribution!r}, range [{lo}, {hi}])")
        return spec

    def check(self, values: np.ndarray, what: str = "code") -> None:
        lo, hi = self.range
        bad = ~np.isfinite(values) | (values < lo) | (values > hi)
        if bad.any():
            raise UserError(f"{what} values must lie in the model's code range [{lo:g}, {hi:g}], got "
                            f"{float(values[bad].flat[0])}")


@dataclass(frozen=True)
class Sweep:
    """Continuous code ``code`` walks ``values``; image j is row j // steps, step j % steps.

    ``code`` counts from 1, as ``--sweep I=...``, the demo's sliders and every message do, so
    ``Sweep(1, ...)`` and ``--sweep 1=...`` walk the same code.
    """

    code: int
    values: tuple[float, ...]

    @property
    def steps(self) -> int:
        return len(self.values)

    @property
    def column(self) -> int:
        """The swept code's 0-based column in the ``code`` input."""
        return self.code - 1

    def text(self) -> str:
        return f"{self.code}={self.values[0]:g}:{self.values[-1]:g}:{self.steps}"


def parse_sweep(text: str, spec: CodeSpec) -> Sweep:
    """``I=LO:HI:STEPS`` (code I counted from 1, STEPS evenly spaced values from LO to HI)."""
    num = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    m = re.fullmatch(rf"\s*(\d+)\s*={num}:{num}:\s*(\d+)\s*", text)
    if not m:
        raise UserError(f"--sweep must look like I=LO:HI:STEPS (e.g. 1=-2:2:9), got {text!r}")
    i, lo, hi, steps = int(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4))
    if not 1 <= i <= spec.dim:
        raise UserError(f"--sweep {text}: the model has continuous codes 1..{spec.dim}")
    if not 2 <= steps <= MAX_SWEEP_STEPS:
        raise UserError(f"--sweep {text}: STEPS must be between 2 and {MAX_SWEEP_STEPS}")
    values = np.linspace(lo, hi, steps)
    spec.check(values, "--sweep")
    return Sweep(i, tuple(float(v) for v in values))


def parse_codes(text: str, spec: CodeSpec) -> tuple[float, ...]:
    """``--codes v1,v2,...``: one value per continuous code, within the model's code range."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--codes must be {spec.dim} comma-separated numbers, got {text!r}") from None
    if len(values) != spec.dim:
        raise UserError(f"--codes: the model has {spec.dim} continuous codes, got {len(values)} values")
    spec.check(np.asarray(values), "--codes")
    return values


def rows_of(indices: np.ndarray, sweep: Sweep | None) -> np.ndarray:
    """The image index whose noise (and drawn codes) image ``j`` uses: j itself, or its sweep row."""
    return indices if sweep is None else indices // sweep.steps


def prior_codes(seed: int, indices: np.ndarray, spec: CodeSpec) -> np.ndarray:
    """float32 (len(indices), dim) codes drawn from the training prior; row i depends on (seed, i)."""
    out = np.empty((len(indices), spec.dim), dtype=np.float32)
    for row, i in enumerate(indices):
        rng = np.random.default_rng([seed, int(i), CODE_STREAM])
        out[row] = (rng.uniform(spec.low, spec.high, spec.dim) if spec.distribution == "uniform"
                    else rng.standard_normal(spec.dim))
    return out


def codes_for(seed: int, indices: np.ndarray, spec: CodeSpec, fixed: np.ndarray | None = None,
              sweep: Sweep | None = None) -> np.ndarray:
    """The ``code`` input of images ``indices``: ``fixed`` (one row for all, or one per image) or
    drawn from the prior, except that a sweep sets its code by step (and the others to ``fixed`` or 0)."""
    n = len(indices)
    if fixed is not None:
        codes = np.broadcast_to(np.asarray(fixed, dtype=np.float32), (n, spec.dim)).copy()
    elif sweep is not None:
        codes = np.zeros((n, spec.dim), dtype=np.float32)
    else:
        codes = prior_codes(seed, indices, spec)
    if sweep is not None:
        codes[:, sweep.column] = np.asarray(sweep.values, dtype=np.float32)[np.asarray(indices) % sweep.steps]
    return codes
