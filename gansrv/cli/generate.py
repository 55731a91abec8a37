"""``gansrv generate``: a dataset from an exported generator, on gansrv.runtime only (no torch).

The work (checks before the first file, plan, destination, writing) is
:func:`gansrv.generate.job.generate_dataset`.
"""

from __future__ import annotations

from pathlib import Path

import click

from gansrv.cli.filter_options import filter_options
from gansrv.cli.options import progress_option, provider_option
from gansrv.generate.plan import DEFAULT_LEVEL, MAX_BATCH, MAX_WORKERS
from gansrv.generate.shards import DEFAULT_SHARD_SIZE, MAX_SHARD_SIZE


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
@click.option("--format", "fmt", type=click.Choice(["imagefolder", "npz", "webdataset", "parquet"]),
              default="imagefolder", show_default=True,
              help="imagefolder: one PNG per image (up to 10^6; browsable, HF imagefolder); npz: one "
                   "array file (up to 10^6, held in memory); webdataset: tar shards of PNG + .json + "
                   ".cls; parquet: Parquet shards with HF Image/ClassLabel features (gansrv[parquet]). "
                   "The shard formats go up to 10^9 images and are the fastest. --filter writes imagefolder, "
                   "webdataset and parquet (not npz).")
@click.option("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, show_default=True,
              help=f"webdataset/parquet: images per shard file (1..{MAX_SHARD_SIZE:,}); file j holds "
                   f"images j*size .. (j+1)*size-1.")
@click.option("--batch-size", type=int, default=64, show_default=True,
              help=f"Images per inference call (1..{MAX_BATCH}); never changes the images.")
@click.option("--shard", default=None,
              help="K/N: write only images with index % N == K-1 (shard formats: only shard files "
                   "j with j % N == K-1); auto: K and N of this Slurm array task "
                   "(SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT) or Kubernetes Indexed Job pod "
                   "(JOB_COMPLETION_INDEX and GANSRV_SHARD_COUNT).")
@click.option("--overwrite", is_flag=True,
              help="Replace another gansrv dataset (or write into a non-empty folder).")
@provider_option()
@click.option("--workers", type=int, default=None,
              help=f"PNG writers working while the model runs (1..{MAX_WORKERS}; default: the CPU "
                   f"count, at most 8); threads for small jobs, processes from 3 writers and 4,096 "
                   f"images. They matter when a GPU outruns the writers. Shard formats: N model "
                   f"processes with one-thread sessions, each writing whole shard files (1, or a "
                   f"single file to write, or --filter: one session in this process).")
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
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="ray: one Ray task per shard file (shard formats; gansrv[ray]), each with its own "
                   "onnxruntime session; the model and --out must be on storage every node sees. "
                   "Not with --filter (one session in this process).")
@click.option("--address", default=None,
              help="--engine ray: the cluster's HOST:PORT (or auto); default: a local Ray for this run.")
@filter_options
def generate(model: Path, n: int | None, per_class: int | None, balance_to: tuple[str, ...],
             classes: str | None, out: Path,
             seed: int, truncation: float | None, fmt: str, batch_size: int, shard: str | None,
             overwrite: bool, provider: str, workers: int | None, compression: int, progress: bool,
             codes: str | None, sweep: str | None, shard_size: int, engine: str,
             address: str | None, sample_filter=None) -> None:
    """Generate a dataset: DIR/<class>/<index>.png + metadata.jsonl (or DIR/data.npz, or shard
    files DIR/data-000000.tar / .parquet).

    Resumable (a re-run keeps finished files and gives the same bytes as an uninterrupted run) and
    shardable (--shard K/N on N machines; the union of the folders is the single-run dataset).
    For a code model (InfoGAN) the categorical code's values (code-0, code-1, ...) play the classes
    and metadata.jsonl also records each image's continuous codes.
    """
    from gansrv.extras import require

    require("serve", what="gansrv generate")
    from gansrv.generate.cluster import resolve_shard
    from gansrv.generate.job import Request, generate_dataset

    req = Request(n=n, per_class=per_class, balance_to=balance_to, classes=classes, seed=seed,
                  truncation=truncation, fmt=fmt, batch_size=batch_size, shard=resolve_shard(shard),
                  overwrite=overwrite, workers=workers, compression=compression, progress=progress,
                  codes=codes, sweep=sweep, shard_size=shard_size, engine=engine, address=address,
                  filter=sample_filter)
    done = generate_dataset(model, out, req, provider,
                            warn=lambda msg: click.echo(f"warning: {msg}", err=True))
    if done.tally is not None:
        from gansrv.generate.progress import summary

        t = done.tally
        click.echo(summary(out, t.images, t.files, t.kept_files, t.kept_images, t.seconds))
    elif fmt == "npz":
        click.echo(f"wrote {done.written} images to {done.path}")
    else:
        click.echo(f"{out}: {done.written} images written, {done.kept} already there "
                   f"({done.path.name})")
