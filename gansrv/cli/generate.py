"""``gansrv generate``: a dataset from an exported generator, on gansrv.runtime only (no torch).

Everything that can be wrong with the input (the model, the plan, the shard, the destination) is
checked before the first file is written, so a bad command leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

import click

from gansrv.cli.options import progress_option, provider_option
from gansrv.generate.plan import DEFAULT_LEVEL, MAX_BATCH, MAX_SEED, MAX_WORKERS, default_workers


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--n", "n", type=int, default=None,
              help="Number of images; conditional models get balanced labels (image i: class i mod K).")
@click.option("--per-class", type=int, default=None, help="Images per class, class by class.")
@click.option("--balance-to", "balance_to", multiple=True,
              help="Real labelled data (as for train: folder, IDX, npz, named): generate for each of "
                   "its classes the images that bring it up to its largest class (recorded in the "
                   "manifest). Instead of --n/--per-class.")
@click.option("--classes", default=None,
              help="Comma-separated class names (or indices) to generate; default all.")
@click.option("-o", "--out", type=click.Path(file_okay=True, path_type=Path), required=True,
              help="Destination folder.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Image i's noise depends on (seed, i) only.")
@click.option("--truncation", type=float, default=None, help="Truncation trick threshold (e.g. 0.7).")
@click.option("--format", "fmt", type=click.Choice(["imagefolder", "npz"]), default="imagefolder",
              show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True,
              help=f"Images per inference call (1..{MAX_BATCH}); never changes the images.")
@click.option("--shard", default=None, help="K/N: write only images with index % N == K-1.")
@click.option("--overwrite", is_flag=True,
              help="Replace another gansrv dataset (or write into a non-empty folder).")
@provider_option()
@click.option("--workers", type=int, default=None,
              help=f"PNG writers working while the model runs (1..{MAX_WORKERS}; default: the CPU "
                   f"count, at most 8); threads for small jobs, processes from 3 writers and 4,096 "
                   f"images. They matter when a GPU outruns the writers.")
@click.option("--compression", type=click.IntRange(0, 9), default=DEFAULT_LEVEL, show_default=True,
              help="PNG zlib level: 0 stores the pixels (fastest, ~4x larger 28x28 digits), 9 the "
                   "smallest files; the pixels are the same at every level.")
@progress_option()
@click.option("--codes", default=None,
              help="Code models: the continuous codes of every image, comma-separated (default: each "
                   "image's drawn from the training prior by (seed, index)).")
@click.option("--sweep", default=None,
              help="Code models: I=LO:HI:STEPS walks continuous code I (from 1) from LO to HI in STEPS "
                   "images per planned image (a row: same noise and categorical code, the other codes "
                   "at --codes or 0); --n/--per-class then count rows.")
def generate(model: Path, n: int | None, per_class: int | None, balance_to: tuple[str, ...],
             classes: str | None, out: Path,
             seed: int, truncation: float | None, fmt: str, batch_size: int, shard: str | None,
             overwrite: bool, provider: str, workers: int | None, compression: int, progress: bool,
             codes: str | None, sweep: str | None) -> None:
    """Generate a dataset: DIR/<class>/<index>.png + metadata.jsonl (or DIR/data.npz).

    Resumable (a re-run keeps finished files and gives the same bytes as an uninterrupted run) and
    shardable (--shard K/N on N machines; the union of the folders is the single-run dataset).
    For a code model (InfoGAN) the categorical code's values (code-0, code-1, ...) play the classes
    and metadata.jsonl also records each image's continuous codes.
    """
    from gansrv import atomic
    from gansrv.errors import UserError
    from gansrv.extras import require

    require("serve", what="gansrv generate")
    from gansrv.generate.plan import make_plan, parse_shard, with_codes
    from gansrv.generate.writer import (
        MANIFEST,
        check_destination,
        clear_dataset,
        manifest_for,
        write_imagefolder,
        write_npz,
    )
    from gansrv.runtime import Generator
    from gansrv.runtime.codes import parse_codes, parse_sweep
    from gansrv.runtime.generator import MIN_TRUNCATION

    the_shard = parse_shard(shard)
    if not 1 <= batch_size <= MAX_BATCH:
        raise UserError(f"--batch-size must be between 1 and {MAX_BATCH}, got {batch_size}")
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed must be between 0 and 2**63-1, got {seed}")
    if truncation is not None and not MIN_TRUNCATION <= truncation <= 1e6:
        raise UserError(f"--truncation must be >= {MIN_TRUNCATION}, got {truncation}")
    if workers is None:
        workers = default_workers()
    if not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if n is not None and n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    if not model.is_file():
        raise UserError(f"model file not found: {model}")
    gen = Generator.from_file(model, provider)
    names = gen.info.class_names
    selected = None
    if classes is not None:
        parts = [c.strip() for c in classes.split(",")]
        if not gen.conditional:
            raise UserError("--classes needs a conditional model; this one is unconditional")
        if not all(parts):
            raise UserError(f"--classes has an empty name: {classes!r}")
        selected = [gen.class_index(c) for c in parts]
    if balance_to:
        plan = _balance(balance_to, gen, n, per_class, classes)
    else:
        plan = make_plan(n=n, per_class=per_class, classes=selected, class_names=names,
                         conditional=gen.conditional)
    spec = gen.code_spec
    if spec is None and (codes is not None or sweep is not None):
        raise UserError(f"--codes and --sweep need a code model (InfoGAN); this one is {gen.info.kind}")
    if spec is not None:
        plan = with_codes(plan, None if codes is None else parse_codes(codes, spec),
                          None if sweep is None else parse_sweep(sweep, spec))
    manifest = manifest_for(plan, model, seed, truncation, fmt, compression)
    if check_destination(out, manifest, overwrite):
        left = clear_dataset(out)
        if left:
            click.echo(f"warning: --overwrite left {len(left)} file(s) gansrv did not write in {out}",
                       err=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / MANIFEST, manifest)
    if fmt == "npz":
        count = write_npz(gen, plan, the_shard, out, seed, truncation, batch_size, progress)
        click.echo(f"wrote {count} images to {out / f'data{the_shard.suffix}.npz'}")
        return
    written, kept = write_imagefolder(gen, plan, the_shard, out, seed, truncation, batch_size,
                                      model.name, progress, workers, compression)
    click.echo(f"{out}: {written} images written, {kept} already there "
               f"(metadata{the_shard.suffix}.jsonl)")


def _balance(data: tuple[str, ...], gen, n: int | None, per_class: int | None, classes: str | None):
    """The --balance-to plan: the real data's class counts (labels needed), topped up to the max."""
    import numpy as np

    from gansrv.data import load_dataset
    from gansrv.errors import UserError
    from gansrv.generate.plan import balance_plan

    if n is not None or per_class is not None or classes is not None:
        raise UserError("--balance-to decides the counts itself: leave out --n, --per-class and --classes")
    if not gen.conditional or gen.code_spec is not None:
        raise UserError("--balance-to needs a class-conditional model; this one has no classes to ask for")
    real = load_dataset(list(data))
    if real.labels is None:
        raise UserError(f"--balance-to: {real.source} has no labels to count")
    counts = np.bincount(real.labels, minlength=len(real.class_names))
    return balance_plan({name: int(k) for name, k in zip(real.class_names, counts)},
                        gen.info.class_names, real.source)
