"""Filters that keep only good samples (``--filter``): a classifier's confidence in the class asked
for, or discriminator rejection sampling (DRS; Azadi et al. 2019). onnxruntime and numpy only.

Determinism comes from how candidates are numbered, not from the order they are tried in: planned
image ``slot`` (its label fixed by the plan) tries generator indices ``slot * ATTEMPTS + a`` for
``a = 0, 1, ...`` and keeps the first one the filter accepts. Whether a candidate is accepted depends
on its own index only (its noise, and for DRS its uniform draw, come from (seed, index)), so the
kept sample of a slot is the same whatever the batch size, the shard, or where a resumed run left
off, and ``gansrv generate`` with the kept index (``metadata.jsonl``'s ``index``) reproduces it.
Every slot has ATTEMPTS tries at most, and a filter whose acceptance falls under MIN_ACCEPTANCE
stops the job: a filter that accepts almost nothing ends with one ``error:`` line, never runs on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.errors import UserError
from gansrv.runtime.codes import codes_for
from gansrv.runtime.generator import Generator, noise

ATTEMPTS = 1000  # candidates per planned image: index = slot * 1000 + attempt, readable by eye
MIN_ACCEPTANCE = 0.01  # below 1 % kept, a slot's 1,000 tries fail too often (0.99**1000 = 4e-5)
CHECK_AFTER = 2000  # candidates judged before the acceptance rate is trusted enough to stop on
BURN_IN_START = 10**9  # DRS burn-in images: indices from here, beyond every candidate's
DRS_STREAM = 7  # the uniform draw of candidate i comes from default_rng([seed, i, DRS_STREAM])
DRS_EPSILON = 1e-6  # keeps log(1 - exp(.)) finite at the maximum (the paper's epsilon)
KINDS = ("classifier", "discriminator")


@dataclass(frozen=True)
class FilterRequest:
    """What ``--filter``, ``--min-confidence``, ``--burn-in`` and ``--gamma-percentile`` asked for."""

    spec: str
    min_confidence: float = 0.9
    burn_in: int = 1000
    gamma_percentile: float = 80.0

    @property
    def kind(self) -> str:
        return self.spec.split("=", 1)[0].strip()

    @property
    def path(self) -> str | None:
        return self.spec.split("=", 1)[1].strip() if "=" in self.spec else None


def check_filter(req: FilterRequest) -> None:
    """Refuse a malformed filter before any work."""
    if req.kind not in KINDS:
        raise UserError(f"--filter {req.spec!r}: unknown filter; use classifier=MODEL.onnx or "
                        f"discriminator (or discriminator=D.onnx)")
    if req.kind == "classifier" and not req.path:
        raise UserError("--filter classifier=MODEL.onnx: name the classifier graph")
    if not 0.0 < req.min_confidence <= 1.0:
        raise UserError(f"--min-confidence must be in (0, 1], got {req.min_confidence}")
    if not 100 <= req.burn_in <= 1_000_000:
        raise UserError(f"--burn-in must be between 100 and 1,000,000, got {req.burn_in}")
    if not 0.0 <= req.gamma_percentile <= 100.0:
        raise UserError(f"--gamma-percentile must be between 0 and 100, got {req.gamma_percentile}")


@dataclass
class Tally:
    """Candidates judged (attempt + 1 of every finished slot) and samples kept, for the manifest."""

    candidates: int = 0
    kept: int = 0
    by_label: dict = field(default_factory=dict)  # label -> (candidates, kept), for the rate check
    extra: dict = field(default_factory=dict)  # what the filter estimated (DRS: max logit, gamma)

    def add(self, tried: dict[int, int], labels: dict[int, int]) -> None:
        """Count finished slots (slot -> candidates judged)."""
        for s, n in tried.items():
            c, k = self.by_label.get(labels[s], (0, 0))
            self.by_label[labels[s]] = (c + n, k + 1)
        self.candidates += sum(tried.values())
        self.kept += len(tried)

    @property
    def rate(self) -> float:
        return self.kept / self.candidates if self.candidates else 1.0

    def as_dict(self) -> dict:
        return {"candidates": self.candidates, "kept": self.kept,
                "acceptance_rate": round(self.rate, 6), **self.extra}


class ClassifierFilter:
    """Keep a sample when the classifier gives the class it was generated for probability >= P."""

    def __init__(self, reader: Any, min_confidence: float, gen: Generator, path: Path):
        if not gen.conditional or gen.code_model:
            raise UserError(f"--filter classifier: {gen.info.family} is not class-conditional, so its "
                            f"images have no class to check")
        if tuple(reader.size) != tuple(gen.info.image_shape[1:]):
            raise UserError(f"--filter classifier: {path} takes {reader.size[1]}x{reader.size[0]} "
                            f"images, the generator makes {gen.info.image_shape[2]}x"
                            f"{gen.info.image_shape[1]}")
        missing = [c for c in gen.info.class_names if c not in reader.class_names]
        if missing:
            raise UserError(f"--filter classifier: {path} does not know the model's classes "
                            f"{', '.join(missing)} (it has {', '.join(reader.class_names)})")
        self.column = np.array([reader.class_names.index(c) for c in gen.info.class_names])
        self.reader, self.p = reader, min_confidence
        self.identity = {"kind": "classifier", "model": path.name,
                         "model_sha256": _sha(path), "min_confidence": min_confidence}
        self.extra: dict = {}

    def accept(self, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
        probs = self.reader.probs(images)
        return probs[np.arange(len(images)), self.column[labels]] >= self.p


class DRSFilter:
    """Discriminator rejection sampling (Azadi et al. 2019, Algorithm 1) with a fixed estimate.

    With logit D~(x): F(x) = D~(x) - D~_M - log(1 - exp(D~(x) - D~_M - eps)) - gamma, accept with
    probability sigmoid(F). The paper updates D~_M while sampling and sets gamma per batch; here both
    are fixed from a burn-in sample (images BURN_IN_START.. of the same seed: part of the dataset's
    identity), D~_M its maximum and gamma the ``--gamma-percentile`` of F over it, so that a
    candidate's fate depends on its own index only. A logit above D~_M is taken as D~_M (accepted
    with probability ~1), where the paper would raise the maximum.
    """

    def __init__(self, disc: Any, gen: Generator, req: FilterRequest, seed: int,
                 truncation: float | None, path: Path, batch_size: int):
        self.disc, self.gen, self.seed, self.path = disc, gen, seed, path
        check_same_run(disc.info, gen.info, path)
        idx = np.arange(BURN_IN_START, BURN_IN_START + req.burn_in, dtype=np.int64)
        k = gen.info.num_classes if gen.conditional else 0
        labels = idx % k if k else np.full(len(idx), -1)
        logits = np.concatenate([self.logits(draw(gen, idx[lo:lo + batch_size], labels[lo:lo + batch_size],
                                                  seed, truncation), labels[lo:lo + batch_size])
                                 for lo in range(0, len(idx), batch_size)])
        self.max_logit = float(logits.max())
        self.gamma = 0.0
        self.gamma = float(np.percentile(self.score(logits), req.gamma_percentile))
        self.identity = {"kind": "discriminator", "model": path.name, "model_sha256": _sha(path),
                         "burn_in": req.burn_in, "gamma_percentile": req.gamma_percentile}
        self.extra = {"max_logit": round(self.max_logit, 6), "gamma": round(self.gamma, 6)}

    def logits(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        lo, hi = self.gen.info.output_range or (-1.0, 1.0)
        x = images.transpose(0, 3, 1, 2).astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
        feeds = {"image": x}
        if "label" in self.disc.input_names:
            feeds["label"] = labels.astype(np.int64)
        (out,) = self.disc.session.run(["logit"], feeds)
        return out.reshape(len(images), -1).mean(1).astype(np.float64)

    def score(self, logits: np.ndarray) -> np.ndarray:
        """F(x) - gamma of the paper, with D~ capped at the burn-in maximum."""
        d = np.minimum(logits - self.max_logit, 0.0)
        return d - np.log1p(-np.exp(d - DRS_EPSILON)) - self.gamma

    def accept(self, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.score(self.logits(images, labels))))
        psi = np.array([np.random.default_rng([self.seed, int(i), DRS_STREAM]).random() for i in indices])
        return psi <= p


def check_same_run(d_info: Any, g_info: Any, path: Path) -> None:
    """DRS needs the discriminator trained with this generator: same run, step and data."""
    same = (d_info.run, d_info.step, d_info.data_fingerprint) == (g_info.run, g_info.step,
                                                                 g_info.data_fingerprint)
    if not same:
        raise UserError(f"--filter discriminator: {path} is from run {d_info.run} step {d_info.step}, "
                        f"the generator from run {g_info.run} step {g_info.step}; export both from one "
                        f"run (gansrv export RUN --with-discriminator)")


def open_filter(req: FilterRequest, gen: Generator, model: Path, seed: int, truncation: float | None,
                provider: str, batch_size: int) -> ClassifierFilter | DRSFilter:
    """Load the filter's graph and check that it fits the generator (nothing written yet)."""
    from gansrv.generate.readers import open_discriminator, open_reader

    check_filter(req)
    if req.kind == "classifier":
        path = Path(req.path or "")
        return ClassifierFilter(open_reader(path, provider), req.min_confidence, gen, path)
    path = Path(req.path) if req.path else model.with_name(f"{model.stem}.discriminator.onnx")
    return DRSFilter(open_discriminator(path, provider), gen, req, seed, truncation, path, batch_size)


def draw(gen: Generator, indices: np.ndarray, labels: np.ndarray, seed: int,
         truncation: float | None, fixed: np.ndarray | None = None) -> np.ndarray:
    """uint8 (N, H, W, C) images of generator indices ``indices`` (labels -1: unconditional)."""
    if gen.code_spec is not None:
        feeds = gen.code_feeds(indices, seed, truncation, fixed)
    else:
        feeds = {"z": noise(seed, indices, gen.info.latent_dim, truncation)}
    if gen.conditional:
        feeds["label"] = labels.astype(np.int64)
    return gen.run(feeds)


def search(gen: Generator, filt: Any, slots: list[tuple[int, int]], seed: int,
           truncation: float | None, batch_size: int, tally: Tally,
           fixed: np.ndarray | None = None) -> Iterator[tuple[list[tuple[int, int, int]], np.ndarray]]:
    """For each chunk of ``slots`` ((slot, label), plan order): yield ([(slot, index, label)], images)
    of the kept samples. Pending slots try ``width`` attempts each per round, so every inference
    call is about ``batch_size`` images; a slot keeps its lowest accepted attempt."""
    for lo in range(0, len(slots), batch_size):
        chunk = slots[lo:lo + batch_size]
        tried = {s: 0 for s, _ in chunk}
        labels = dict(chunk)
        pending = [s for s, _ in chunk]
        found: dict[int, tuple[int, np.ndarray]] = {}
        while pending:
            width = max(1, batch_size // len(pending))
            cand = [(s, s * ATTEMPTS + a) for s in pending
                    for a in range(tried[s], min(ATTEMPTS, tried[s] + width))]
            idx = np.array([c for _, c in cand], dtype=np.int64)
            lab = np.array([labels[s] for s, _ in cand], dtype=np.int64)
            images = draw(gen, idx, lab, seed, truncation, fixed)
            ok = filt.accept(images, lab, idx)
            for k, (s, c) in enumerate(cand):
                if ok[k] and s not in found:
                    found[s] = (c, images[k])
            for s in pending:
                tried[s] = found[s][0] % ATTEMPTS + 1 if s in found else min(ATTEMPTS, tried[s] + width)
            pending = [s for s in pending if s not in found]
            _check_rate(tally, tried, pending, labels)
        tally.add(tried, labels)
        rows = [(s, found[s][0], labels[s]) for s, _ in chunk]
        yield rows, np.stack([found[s][1] for s, _ in chunk])


def _check_rate(tally: Tally, tried: dict[int, int], pending: list[int], labels: dict[int, int]) -> None:
    """Stop when a slot has spent its tries, or a class's acceptance is under MIN_ACCEPTANCE (per
    class: one class nothing passes would otherwise hide behind the others)."""
    spent = [s for s in pending if tried[s] >= ATTEMPTS]
    for label in sorted({labels[s] for s in pending}):
        mine = [s for s in tried if labels[s] == label]
        past = tally.by_label.get(label, (0, 0))
        judged = past[0] + sum(tried[s] for s in mine)
        kept = past[1] + sum(1 for s in mine if s not in pending)
        hit = [s for s in spent if labels[s] == label]
        if hit or (judged >= CHECK_AFTER and kept < MIN_ACCEPTANCE * judged):
            what = f"class {label}" if label >= 0 else "the model"
            where = f"none of {ATTEMPTS} candidates for image {hit[0]}; " if hit else ""
            raise UserError(f"--filter accepts almost nothing for {what}: {where}kept {kept} of "
                            f"{judged} candidates ({kept / max(judged, 1):.2%}, the least accepted is "
                            f"{MIN_ACCEPTANCE:.0%}); lower --min-confidence or --gamma-percentile, or "
                            f"train the model longer")


def _sha(path: Path) -> str:
    from gansrv.digest import sha256_file

    return sha256_file(path)


def codes_of(gen: Generator, indices: np.ndarray, seed: int, fixed: np.ndarray | None) -> np.ndarray | None:
    """The continuous codes of kept samples (code models; None for others)."""
    return None if gen.code_spec is None else codes_for(seed, indices, gen.code_spec, fixed, None)


def sample(gen: Generator, req: FilterRequest, n: int, seed: int, batch_size: int,
           provider: str = "auto") -> tuple[np.ndarray, np.ndarray | None, dict]:
    """``n`` filtered images in memory, for ``gansrv eval --filter``: uint8 (n, C, H, W), the labels
    asked for (image i: class i mod K, as unfiltered; None for unconditional models) and the
    filter's record (identity and acceptance)."""
    k = gen.info.num_classes if gen.conditional else 0
    slots = [(i, i % k if k else -1) for i in range(n)]
    filt = open_filter(req, gen, gen.model.path, seed, None, provider, batch_size)
    tally, images = Tally(), []
    for _, batch in search(gen, filt, slots, seed, None, batch_size, tally):
        images.append(batch)
    tally.extra = dict(filt.extra)
    fake = np.ascontiguousarray(np.concatenate(images).transpose(0, 3, 1, 2))
    labels = np.array([label for _, label in slots], dtype=np.int64) if k else None
    return fake, labels, {"filter": filt.identity, "filter_result": tally.as_dict()}
