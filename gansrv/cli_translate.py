"""``gansrv translate``: run an image -> image model over files and folders (gansrv.runtime, no torch).

It behaves like ``gansrv generate``: every input is checked (readable header, size rule, no two
inputs with one output name) before the first file is written; PNGs are written atomically; a
re-run of the same job keeps the finished outputs (resume); ``gansrv-translate.json`` identifies the
job and ``metadata.jsonl`` maps each output to its source.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

MANIFEST = "gansrv-translate.json"
FORMAT_VERSION = 1
MAX_INPUTS = 1_000_000


@dataclass(frozen=True)
class Job:
    """One input image, the size it is translated at, and its output file name."""

    source: Path
    size: tuple[int, int]  # (height, width) fed to the model
    name: str


def collect_inputs(inputs: tuple[Path, ...]) -> list[Path]:
    """Files as given and the images directly inside folders (sorted), each once."""
    from gansrv.data.folder import IMAGE_SUFFIXES
    from gansrv.errors import UserError

    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found += sorted(p for p in item.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif item.is_file():
            found.append(item)
        else:
            raise UserError(f"{item}: no such file or folder")
        if len(found) > MAX_INPUTS:
            raise UserError(f"more than {MAX_INPUTS:,} input images")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise UserError(f"no images in {', '.join(map(str, inputs))}")
    return unique


def plan_jobs(sources: list[Path], translator, resize: bool) -> list[Job]:
    """Read each header (cheap) and fix its size and output name; refuse what cannot be done."""
    from PIL import Image

    from gansrv.data.folder import MAX_IMAGE_PIXELS
    from gansrv.errors import UserError

    jobs, names = [], {}
    for src in sources:
        name = f"{src.stem}.png"
        if name in names:
            raise UserError(f"{src} and {names[name]} would both be written as {name}")
        names[name] = src
        try:
            with Image.open(src) as img:
                width, height = img.size
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise UserError(f"{src}: unreadable image ({exc})") from None
        if width * height > MAX_IMAGE_PIXELS:
            raise UserError(f"{src}: {width}x{height} pixels exceeds the {MAX_IMAGE_PIXELS} limit")
        if resize:
            size = translator.fit(height, width)
        else:
            translator.check(height, width, str(src))
            size = (height, width)
        jobs.append(Job(src, size, name))
    return jobs


def _batches(jobs: list[Job], batch_size: int):
    """Consecutive jobs of one size, at most batch_size at a time (a model call takes one size)."""
    batch: list[Job] = []
    for job in jobs:
        if batch and (len(batch) == batch_size or job.size != batch[0].size):
            yield batch
            batch = []
        batch.append(job)
    if batch:
        yield batch


def _pixels(job: Job, channels: int):
    """uint8 (H, W, channels) at the job's size: grey and RGB inputs can share one batch."""
    import numpy as np
    from PIL import Image

    from gansrv.data.folder import open_image
    from gansrv.runtime.translator import match_channels

    img = open_image(job.source)
    height, width = job.size
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.LANCZOS)
    arr = np.asarray(img)
    return match_channels((arr[..., None] if arr.ndim == 2 else arr)[None], channels)[0]


def write_translations(translator, jobs: list[Job], out: Path, batch_size: int, redo: bool,
                       progress: bool) -> tuple[int, int]:
    """Translate and write the jobs whose output is missing (all with ``redo``); (written, kept)."""
    import numpy as np
    from tqdm import tqdm

    from gansrv import atomic
    from gansrv.generate.writer import complete_png, encode_png

    todo = jobs if redo else [j for j in jobs if not complete_png(out / j.name)]
    for stale in out.glob(".*.tmp"):  # temporary files of a killed run
        stale.unlink(missing_ok=True)
    with tqdm(total=len(todo), unit="img", file=sys.stderr, disable=not progress,
              dynamic_ncols=True) as bar:
        for batch in _batches(todo, batch_size):
            images = translator.run(np.stack([_pixels(j, translator.in_channels) for j in batch]))
            for job, image in zip(batch, images):
                atomic.write_bytes(out / job.name, encode_png(image), durable=False)
            bar.update(len(batch))
    if todo:
        atomic.sync_filesystem(out)
    rows = sorted(json.dumps({"file_name": j.name, "source": str(j.source),
                              "size": [j.size[1], j.size[0]]}) for j in jobs)
    atomic.write_text(out / "metadata.jsonl", "".join(r + "\n" for r in rows))
    return len(todo), len(jobs) - len(todo)


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
              help="Destination folder: one <input stem>.png per input, metadata.jsonl, manifest.")
@click.option("--resize", is_flag=True,
              help="Scale inputs the model cannot take to the nearest size below that it can "
                   "(default: refuse them).")
@click.option("--batch-size", type=int, default=16, show_default=True,
              help="Images per inference call (consecutive images of one size).")
@click.option("--overwrite", is_flag=True,
              help="Write into a folder that holds another job or other files, replacing outputs.")
@click.option("--provider", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show the progress bar.")
def translate(model: Path, inputs: tuple[Path, ...], out: Path, resize: bool, batch_size: int,
              overwrite: bool, provider: str, progress: bool) -> None:
    """Translate images with an image -> image model (pix2pix, cyclegan): INPUTS are files or folders.

    Resumable: re-running the same command keeps the finished PNGs and writes the rest.
    """
    from gansrv import atomic
    from gansrv.errors import UserError
    from gansrv.extras import require

    require("serve", what="gansrv translate")
    from gansrv.digest import sha256_file
    from gansrv.generate.writer import check_destination
    from gansrv.runtime.translator import MAX_BATCH, Translator

    if not 1 <= batch_size <= MAX_BATCH:
        raise UserError(f"--batch-size must be between 1 and {MAX_BATCH}, got {batch_size}")
    if not model.is_file():
        raise UserError(f"model file not found: {model}")
    translator = Translator.from_file(model, provider)
    jobs = plan_jobs(collect_inputs(inputs), translator, resize)
    manifest = {"format_version": FORMAT_VERSION, "tool": "gansrv translate", "model": model.name,
                "model_sha256": sha256_file(model), "resize": resize,
                "inputs": [str(j.source) for j in jobs]}
    redo = check_destination(out, manifest, overwrite, MANIFEST, "gansrv translate")
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / MANIFEST, manifest)
    written, kept = write_translations(translator, jobs, out, batch_size, redo, progress)
    click.echo(f"{out}: {written} images translated, {kept} already there (metadata.jsonl)")
