"""Translation jobs: an image -> image model over files and folders (gansrv.runtime, no torch); the
library under ``gansrv translate``, usable from Python without click (:func:`translate_files`).

It behaves like ``gansrv generate``: every input is checked (readable header, size rule, no two
inputs with one output name) before the first file is written; PNGs are written atomically; a
re-run of the same job keeps the finished outputs (resume); ``gansrv-translate.json`` identifies the
job and ``metadata.jsonl`` maps each output to its source.

Each output PNG records the sha256 of the input it was translated from (a ``gansrv:source-sha256``
tEXt chunk), so a resume keeps an output only if its input is byte for byte the one it came from:
an input edited since is translated again. ``--shard K/N`` translates the inputs whose position in
the input list (as :func:`collect_inputs` orders it) is K-1 modulo N; the N shards write the same
manifest and together exactly the files of one unsharded run (each shard's rows in
``metadata-shard-K-of-N.jsonl``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from gansrv.generate.plan import Shard
from gansrv.generate.png import complete_png, encode_png, read_text

MANIFEST = "gansrv-translate.json"
FORMAT_VERSION = 2  # 2: outputs record their source's sha256; --shard
SOURCE_KEY = "gansrv:source-sha256"


@dataclass(frozen=True)
class Job:
    """One input image, the size it is translated at, and its output file name."""

    source: Path
    size: tuple[int, int]  # (height, width) fed to the model
    name: str  # relative to the destination: <stem>.png, or <domain>/<stem>.png for --to all
    sha256: str = ""  # the source's digest, filled in for the jobs of this shard only
    domain: int | None = None  # target domain index of a multi-domain model
    domain_name: str = ""


ALL = "all"  # --to all: every domain of a multi-domain model, each in its own subfolder


def targets(translator, to: str | None) -> list[tuple[int | None, str]]:
    """(domain index, subfolder) pairs ``--to`` asks for: ``[(None, "")]`` for a single-mapping
    model, one domain written into the destination itself, or every domain (``all``) each into a
    subfolder named after it. Refused (one line, nothing written): an unknown domain, no --to for a
    multi-domain model, --to for a single-mapping one, a domain name unfit for a folder name."""
    from gansrv.errors import UserError

    if to == ALL and translator.domains:
        for name in translator.domains:
            if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
                raise UserError(f"--to all: domain {name!r} cannot be a folder name")
        return [(i, name) for i, name in enumerate(translator.domains)]
    index = translator.domain_index(to)
    return [(index, "")]


def collect_inputs(inputs: tuple[Path, ...]) -> list[Path]:
    """Files as given and the images directly inside folders (sorted), each once."""
    from gansrv.data.folder import collect_inputs as collect

    return collect(inputs, resolve=True)


def plan_jobs(sources: list[Path], translator, resize: bool) -> list[Job]:
    """Read each header (cheap) and fix its size and output name; refuse what cannot be done."""
    from gansrv.data.folder import image_size
    from gansrv.errors import UserError

    jobs, names = [], {}
    for src in sources:
        name = f"{src.stem}.png"
        if name in names:
            raise UserError(f"{src} and {names[name]} would both be written as {name}")
        names[name] = src
        width, height = image_size(src)
        if resize:
            size = translator.fit(height, width)
        else:
            translator.check(height, width, str(src))
            size = (height, width)
        jobs.append(Job(src, size, name))
    return jobs


def batches(jobs: list[Job], batch_size: int):
    """Consecutive jobs of one size and target domain, at most batch_size at a time (a model call
    takes one size and, here, one domain)."""
    batch: list[Job] = []
    for job in jobs:
        if batch and (len(batch) == batch_size or job.size != batch[0].size
                      or job.domain != batch[0].domain):
            yield batch
            batch = []
        batch.append(job)
    if batch:
        yield batch


def pixels(job: Job, channels: int):
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


def recorded_source(path: Path) -> str | None:
    """The source digest an earlier run wrote into the output PNG (None: no output, or none recorded)."""
    return read_text(path, SOURCE_KEY)


def stale_jobs(jobs: list[Job], out: Path, redo: bool) -> list[Job]:
    """The jobs to (re)do: all with ``redo``; else those whose output is missing, cut short, or was
    translated from other bytes than the input holds now."""
    if redo:
        return list(jobs)
    return [j for j in jobs
            if not complete_png(out / j.name) or recorded_source(out / j.name) != j.sha256]


def write_translations(translator, jobs: list[Job], out: Path, batch_size: int, redo: bool,
                       progress: bool, suffix: str = "") -> tuple[int, int]:
    """Translate and write the stale jobs (see :func:`stale_jobs`), then this shard's
    ``metadata{suffix}.jsonl``; returns (written, kept)."""
    import numpy as np
    from tqdm import tqdm

    from gansrv import atomic

    for folder in sorted({(out / j.name).parent for j in jobs}):
        folder.mkdir(exist_ok=True)
        for stale in folder.glob(".*.tmp"):  # temporary files of a killed run
            stale.unlink(missing_ok=True)
    todo = stale_jobs(jobs, out, redo)
    with tqdm(total=len(todo), unit="img", file=sys.stderr, disable=not progress,
              dynamic_ncols=True) as bar:
        for batch in batches(todo, batch_size):
            images = translator.run(np.stack([pixels(j, translator.in_channels) for j in batch]),
                                    batch[0].domain)
            for job, image in zip(batch, images):
                png = encode_png(image, {SOURCE_KEY: job.sha256})
                atomic.write_bytes(out / job.name, png, durable=False)
            bar.update(len(batch))
    if todo:
        atomic.sync_filesystem(out)
    rows = sorted(json.dumps({"file_name": j.name, "source": str(j.source),
                              "source_sha256": j.sha256, "size": [j.size[1], j.size[0]],
                              **({"domain": j.domain_name} if j.domain is not None else {})})
                  for j in jobs)
    atomic.write_text(out / f"metadata{suffix}.jsonl", "".join(r + "\n" for r in rows))
    return len(todo), len(jobs) - len(todo)




def translate_files(model: Path, inputs: tuple[Path, ...], out: Path, resize: bool = False,
                    batch_size: int = 16, shard: Shard | None = None, overwrite: bool = False,
                    provider: str = "auto", progress: bool = False, to: str | None = None
                    ) -> tuple[int, int]:
    """Translate ``inputs`` (files and folders) with ``model`` into ``out``; returns (written, kept).

    ``to``: the target domain of a multi-domain model (its name), or ``all`` for every domain
    (``out/<domain>/<stem>.png``); see :func:`targets`. Everything is checked (batch size, model,
    target domain, every input's header, the destination) before the first file is written; the
    manifest comes first, then this shard's PNGs and metadata.
    """
    from gansrv import atomic
    from gansrv.digest import sha256_file
    from gansrv.errors import UserError
    from gansrv.generate.destination import check_destination
    from gansrv.runtime.translator import MAX_BATCH, Translator

    the_shard = shard or Shard()
    if not 1 <= batch_size <= MAX_BATCH:
        raise UserError(f"--batch-size must be between 1 and {MAX_BATCH}, got {batch_size}")
    if not model.is_file():
        raise UserError(f"model file not found: {model}")
    translator = Translator.from_file(model, provider)
    wanted = targets(translator, to)
    jobs = plan_jobs(collect_inputs(inputs), translator, resize)
    manifest = {"format_version": FORMAT_VERSION, "tool": "gansrv translate", "model": model.name,
                "model_sha256": sha256_file(model), "resize": resize,
                "inputs": [str(j.source) for j in jobs]}
    if to is not None:  # absent for single-mapping models, so their older jobs still resume
        manifest["to"] = to
    redo = check_destination(out, manifest, overwrite, MANIFEST, "gansrv translate")
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / MANIFEST, manifest)
    mine = [replace(j, sha256=sha256_file(j.source))
            for i, j in enumerate(jobs) if the_shard.keeps(i)]
    names = translator.domains
    mine = [replace(j, name=f"{folder}/{j.name}" if folder else j.name, domain=index,
                    domain_name=names[index] if index is not None else "")
            for index, folder in wanted for j in mine]
    return write_translations(translator, mine, out, batch_size, redo, progress, the_shard.suffix)
