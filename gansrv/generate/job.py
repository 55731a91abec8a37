"""One ``gansrv generate`` job from Python, without click: check every input, plan, write.

Everything that can be wrong with the input (the model, the plan, the shard, the destination) is
checked before the first file is written, so a bad request leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gansrv.errors import UserError
from gansrv.generate.plan import MAX_BATCH, MAX_SEED, MAX_WORKERS, Plan, Shard, default_workers
from gansrv.generate.png import DEFAULT_LEVEL
from gansrv.generate.shards import DEFAULT_SHARD_SIZE, SHARD_FORMATS


@dataclass(frozen=True)
class Request:
    """What to generate (the options of ``gansrv generate``, with the same defaults)."""

    n: int | None = None
    per_class: int | None = None
    balance_to: tuple[str, ...] = ()
    classes: str | None = None  # comma-separated class names or indices
    seed: int = 0
    truncation: float | None = None
    fmt: str = "imagefolder"  # or "npz", "webdataset", "parquet"
    batch_size: int = 64
    shard: Shard = field(default_factory=Shard)
    overwrite: bool = False
    workers: int | None = None  # None: default_workers()
    compression: int = DEFAULT_LEVEL
    progress: bool = False
    codes: str | None = None
    sweep: str | None = None
    shard_size: int = DEFAULT_SHARD_SIZE  # images per file of the shard formats
    engine: str = "local"  # or "ray": one task per shard file (gansrv.generate.ray_engine)
    address: str | None = None  # the Ray cluster (None: a local one for this run)
    filter: Any = None  # a gansrv.generate.filtering.FilterRequest: keep only good samples


@dataclass(frozen=True)
class Outcome:
    written: int  # images written by this run
    kept: int  # images already there (a resumed run); npz files are rewritten whole: 0
    path: Path  # the npz file, the shard's metadata file, or the folder of shard files
    tally: object = None  # shard formats: gansrv.generate.shards.Tally


def check_request(req: Request) -> int:
    """Refuse out-of-range options before any work; returns the number of writers to use."""
    from gansrv.runtime.generator import MIN_TRUNCATION

    if not 1 <= req.batch_size <= MAX_BATCH:
        raise UserError(f"--batch-size must be between 1 and {MAX_BATCH}, got {req.batch_size}")
    if not 0 <= req.seed <= MAX_SEED:
        raise UserError(f"--seed must be between 0 and 2**63-1, got {req.seed}")
    if req.truncation is not None and not MIN_TRUNCATION <= req.truncation <= 1e6:
        raise UserError(f"--truncation must be >= {MIN_TRUNCATION}, got {req.truncation}")
    workers = default_workers() if req.workers is None else req.workers
    if not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if req.n is not None and req.n < 1:
        raise UserError(f"--n must be at least 1, got {req.n}")
    if req.fmt not in ("imagefolder", "npz", *SHARD_FORMATS):
        raise UserError(f"unknown --format {req.fmt!r}; choose imagefolder, npz, "
                        f"{', '.join(SHARD_FORMATS)}")
    if req.fmt in SHARD_FORMATS:
        from gansrv.generate.shards import check_shard_size

        check_shard_size(req.shard_size)
    if req.fmt == "parquet":
        from gansrv.extras import require

        require("parquet", what="--format parquet")
    check_engine(req)
    return workers


def check_engine(req: Request) -> None:
    from gansrv.generate.ray_engine import ENGINES

    if req.engine not in ENGINES:
        raise UserError(f"unknown --engine {req.engine!r}; choose {', '.join(ENGINES)}")
    if req.engine == "local" and req.address is not None:
        raise UserError("--address needs --engine ray")
    if req.engine == "ray" and req.fmt not in SHARD_FORMATS:
        raise UserError(f"--engine ray writes shard files: use --format {' or '.join(SHARD_FORMATS)}")


def plan_for(gen, req: Request) -> Plan:
    """The plan of ``req`` for this generator: counts, classes, codes and sweeps checked."""
    from gansrv.generate.plan import MAX_IMAGES, MAX_SHARDED_IMAGES, make_plan, with_codes
    from gansrv.runtime.codes import parse_codes, parse_sweep

    limit = MAX_SHARDED_IMAGES if req.fmt in SHARD_FORMATS else MAX_IMAGES
    selected = None
    if req.classes is not None:
        parts = [c.strip() for c in req.classes.split(",")]
        if not gen.conditional:
            raise UserError("--classes needs a conditional model; this one is unconditional")
        if not all(parts):
            raise UserError(f"--classes has an empty name: {req.classes!r}")
        selected = [gen.class_index(c) for c in parts]
    if req.balance_to:
        plan = balance_to(req.balance_to, gen, req, limit)
    else:
        plan = make_plan(n=req.n, per_class=req.per_class, classes=selected,
                         class_names=gen.info.class_names, conditional=gen.conditional, limit=limit)
    spec = gen.code_spec
    if spec is None and (req.codes is not None or req.sweep is not None):
        raise UserError(f"--codes and --sweep need a code model with continuous codes (InfoGAN); "
                        f"{gen.info.family} ({gen.info.kind}) has none")
    if spec is not None:
        plan = with_codes(plan, None if req.codes is None else parse_codes(req.codes, spec),
                          None if req.sweep is None else parse_sweep(req.sweep, spec), limit)
    return plan


def balance_to(data: tuple[str, ...], gen, req: Request, limit: int) -> Plan:
    """The --balance-to plan: the real data's class counts (labels needed), topped up to the max."""
    import numpy as np

    from gansrv.data import load_dataset
    from gansrv.generate.plan import balance_plan

    if req.n is not None or req.per_class is not None or req.classes is not None:
        raise UserError("--balance-to decides the counts itself: leave out --n, --per-class and --classes")
    if not gen.conditional or gen.code_model:
        raise UserError("--balance-to needs a class-conditional model; this one has no classes to ask for")
    real = load_dataset(list(data))
    if real.labels is None:
        raise UserError(f"--balance-to: {real.source} has no labels to count")
    counts = np.bincount(real.labels, minlength=len(real.class_names))
    return balance_plan({name: int(k) for name, k in zip(real.class_names, counts)},
                        gen.info.class_names, real.source, limit)


def generate_dataset(model: Path, out: Path, req: Request, provider: str = "auto",
                     warn: Callable[[str], None] | None = None) -> Outcome:
    """Write (or resume) the dataset ``req`` asks for from ``model`` into ``out``.

    ``warn`` hears about files ``--overwrite`` left in place (gansrv did not write them).
    """
    from gansrv.generate.writer import (
        manifest_for,
        open_destination,
        write_imagefolder,
        write_npz,
    )
    from gansrv.runtime import Generator

    if req.filter is not None:
        from gansrv.generate.filtered import generate_filtered

        return generate_filtered(model, out, req, provider, warn)
    workers = check_request(req)
    if not model.is_file():
        raise UserError(f"model file not found: {model}")
    gen = Generator.from_file(model, provider)
    plan = plan_for(gen, req)
    manifest = manifest_for(plan, model, req.seed, req.truncation, req.fmt, req.compression)
    if req.fmt in SHARD_FORMATS:
        from gansrv.generate import shard_job

        manifest = shard_job.prepare(plan, req, manifest)  # e.g. a Ray cluster that does not answer
    open_destination(out, manifest, req.overwrite, warn)
    suffix = req.shard.suffix
    if req.fmt in SHARD_FORMATS:
        tally = shard_job.write(gen, model, provider, plan, req, out, workers)
        return Outcome(tally.images, tally.kept_images, out, tally)
    if req.fmt == "npz":
        count = write_npz(gen, plan, req.shard, out, req.seed, req.truncation, req.batch_size,
                          req.progress)
        return Outcome(count, 0, out / f"data{suffix}.npz")
    written, kept = write_imagefolder(gen, plan, req.shard, out, req.seed, req.truncation,
                                      req.batch_size, model.name, req.progress, workers,
                                      req.compression)
    return Outcome(written, kept, out / f"metadata{suffix}.jsonl")

