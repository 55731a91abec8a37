"""Shard formats (``--format webdataset`` and ``parquet``): a fixed number of images per file.

Which images a shard file holds is fixed by the plan and ``--shard-size`` alone (file j: images
j * size .. (j + 1) * size - 1), so a re-run, ``--shard K/N`` on N machines (files j with
j % N == K - 1) and a cluster engine's tasks all write the same files with the same bytes. A file
is written whole under a temporary name and renamed: a file under its final name is complete, so a
re-run skips it; the temporary files of a killed run are removed and their shards written again.

The loop: the calling thread draws noise and runs the model (onnxruntime releases the GIL), encoder
threads make the PNGs (zlib releases it too), one file thread assembles and writes each shard.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gansrv.errors import UserError
from gansrv.generate.plan import MAX_SHARDED_IMAGES, Plan, Shard
from gansrv.generate.png import DEFAULT_LEVEL, encode_pngs

SHARD_FORMATS = ("webdataset", "parquet")
EXTENSIONS = {"webdataset": "tar", "parquet": "parquet"}
DEFAULT_SHARD_SIZE = 10_000
MAX_SHARD_SIZE = 100_000  # a shard's PNGs are held in memory until its file is written
PREFIX = "data"
IN_FLIGHT_BYTES = 256 << 20  # raw images handed to the encoders and not yet encoded, at most
KEY_DIGITS = len(str(MAX_SHARDED_IMAGES - 1))  # 9: every index of the largest plan
# a filtered set's keys (--filter) carry the kept index slot * 1000 + attempt (gansrv.generate.
# filtering.ATTEMPTS): 12 digits for the largest plan, so a key never looks like an unfiltered one
KEPT_KEY_DIGITS = len(str(MAX_SHARDED_IMAGES * 1000 - 1))


@dataclass(frozen=True)
class Layout:
    """Which images go into which shard file, and the files' names."""

    total: int
    size: int
    fmt: str

    @property
    def count(self) -> int:
        return -(-self.total // self.size)

    def name(self, j: int) -> str:
        """``data-000000.tar``: six digits, more when there are more than 10^6 files."""
        width = max(6, len(str(self.count - 1)))
        return f"{PREFIX}-{j:0{width}d}.{EXTENSIONS[self.fmt]}"

    def span(self, j: int) -> tuple[int, int]:
        return j * self.size, min(self.total, (j + 1) * self.size)

    def mine(self, shard: Shard) -> range:
        """The files of ``--shard K/N``: file j when j % N == K - 1 (whole files, never split)."""
        return range(shard.k - 1, self.count, shard.n)


def check_shard_size(size: int) -> None:
    if not 1 <= size <= MAX_SHARD_SIZE:
        raise UserError(f"--shard-size must be between 1 and {MAX_SHARD_SIZE:,}, got {size}")


def sample_key(plan: Plan, index: int, label: int, digits: int = KEY_DIGITS) -> str:
    """A sample's name without extension: ``<class>/<index>``, zero-padded to ``digits`` (nine:
    up to 10^9 images; a filtered set's KEPT_KEY_DIGITS), so keys sort in index order."""
    return f"{plan.folder(label)}/{index:0{digits}d}"


def key_digits(slots: Sequence[int] | None) -> int:
    """The key width of a shard file: a filtered one (its samples' ``slots`` given) or not."""
    return KEY_DIGITS if slots is None else KEPT_KEY_DIGITS


def sample_rows(plan: Plan, entries: list[tuple[int, int]], seed: int, model_name: str,
                codes: np.ndarray | None, slots: Sequence[int] | None = None) -> list[dict]:
    """What each sample records beside its pixels (the webdataset .json, the parquet columns);
    a filtered set's samples add their planned ``slot`` beside the kept ``index``."""
    rows = []
    for k, (i, label) in enumerate(entries):
        row: dict = {"index": i}
        if slots is not None:
            row["slot"] = slots[k]
        if plan.conditional:
            row.update(label=label, class_name=plan.class_names[label])
        row.update(seed=seed, model=model_name, synthetic=True)
        if codes is not None:
            row["codes"] = [float(v) for v in codes[k]]
            if plan.sweep is not None:
                row["sweep_row"] = i // plan.sweep.steps
        rows.append(row)
    return rows


Part = tuple[list[tuple[int, int]], "Future[list[bytes]]"]  # a batch's entries and its PNGs
FileWriter = Callable[..., int]  # (path, plan, parts, seed, model name, codes[, slots=]) -> samples


def file_writer(fmt: str) -> FileWriter:
    if fmt == "webdataset":
        from gansrv.generate.webdataset_writer import write_tar

        return write_tar
    from gansrv.generate.parquet_writer import write_parquet

    return write_parquet


def check_names(plan: Plan, fmt: str, digits: int = KEY_DIGITS) -> None:
    """Class names that a tar member cannot carry are refused before anything is written."""
    if fmt != "webdataset" or not plan.conditional:
        return
    from gansrv.generate.tarball import split_name

    for name in plan.class_names:
        try:
            split_name(f"{name}/{0:0{digits}d}.json")
        except ValueError:
            raise UserError(f"class name {name!r} is too long for a webdataset tar member") from None


def remove_temps(out: Path) -> None:
    """The temporary files a killed run left (its partial shards): written again by this run."""
    for name in os.listdir(out):
        if name.startswith(".") and name.endswith(".tmp"):
            (out / name).unlink(missing_ok=True)


def missing_files(layout: Layout, shard: Shard, out: Path) -> tuple[list[int], Tally]:
    """The shard's files still to write (a killed run's temporaries removed first) and the tally of
    those already there: what every engine starts from."""
    remove_temps(out)
    mine = layout.mine(shard)
    todo = [j for j in mine if not (out / layout.name(j)).is_file()]
    kept = sum(_count(layout, j) for j in mine) - sum(_count(layout, j) for j in todo)
    return todo, Tally(kept_files=len(mine) - len(todo), kept_images=kept)


def images_in(layout: Layout, files: list[int]) -> int:
    return sum(_count(layout, j) for j in files)


@dataclass
class Tally:
    """What a shard run did (the final summary line)."""

    images: int = 0  # images written by this run
    files: int = 0  # shard files written by this run
    kept_files: int = 0  # shard files already there
    kept_images: int = 0
    seconds: float = 0.0


def write_shards(gen, plan: Plan, shard: Shard, out: Path, seed: int, truncation: float | None,
                 batch_size: int, model_name: str, progress: bool, workers: int = 2,
                 level: int = DEFAULT_LEVEL, fmt: str = "webdataset",
                 size: int = DEFAULT_SHARD_SIZE) -> Tally:
    """Write the shard files of ``shard`` that are missing; returns the tally."""
    from gansrv.generate.progress import ShardProgress

    start = time.perf_counter()
    layout = Layout(len(plan.entries), size, fmt)
    todo, tally = missing_files(layout, shard, out)
    write = file_writer(fmt)
    c, h, w = gen.info.image_shape
    in_flight = max(2, IN_FLIGHT_BYTES // max(1, batch_size * c * h * w))
    encoders = ThreadPoolExecutor(max(1, workers))
    files = ThreadPoolExecutor(1)
    encoding: deque[Future] = deque()
    written: deque[tuple[Future, int]] = deque()
    bar = ShardProgress(images_in(layout, todo), len(todo), progress)
    try:
        for j in todo:
            lo, hi = layout.span(j)
            parts: list[Part] = []
            for blo in range(lo, hi, batch_size):
                entries = plan.entries[blo:min(hi, blo + batch_size)]
                images = infer(gen, entries, seed, truncation, plan)
                encoding.append(encoders.submit(encode_pngs, images, level))
                parts.append((entries, encoding[-1]))
                while len(encoding) > in_flight:  # bounded memory: raw images waiting for zlib
                    encoding.popleft().result()
                while written and written[0][0].done():
                    bar.file_done(*_finish(written.popleft(), tally))
            codes = _codes(gen, plan, lo, hi, seed)
            written.append((files.submit(write, out / layout.name(j), plan, parts, seed, model_name,
                                         codes), hi - lo))
            while len(written) > 2:  # bounded memory: at most a few shards' PNGs held
                bar.file_done(*_finish(written.popleft(), tally))
        while written:
            bar.file_done(*_finish(written.popleft(), tally))
    finally:
        encoders.shutdown(wait=True, cancel_futures=True)
        files.shutdown(wait=True, cancel_futures=True)
        bar.close()
    tally.seconds = time.perf_counter() - start
    return tally


def write_one(gen, plan: Plan, layout: Layout, j: int, out: Path, seed: int, truncation: float | None,
              batch_size: int, model_name: str, level: int = DEFAULT_LEVEL) -> int:
    """Write shard file ``j`` in the calling thread (a cluster task); returns its image count.

    The bytes are those :func:`write_shards` writes: the same batches' images, the same writer;
    batches are made as the writer asks for them, so a tar shard streams to its temporary file.
    """
    lo, hi = layout.span(j)

    def parts() -> Iterator[Part]:
        for blo in range(lo, hi, batch_size):
            entries = plan.entries[blo:min(hi, blo + batch_size)]
            done: Future[list[bytes]] = Future()
            done.set_result(encode_pngs(infer(gen, entries, seed, truncation, plan), level))
            yield entries, done

    file_writer(layout.fmt)(out / layout.name(j), plan, parts(), seed, model_name,
                            _codes(gen, plan, lo, hi, seed))
    return hi - lo


def _count(layout: Layout, j: int) -> int:
    lo, hi = layout.span(j)
    return hi - lo


def _finish(item: tuple[Future, int], tally: Tally) -> tuple[int, int]:
    future, count = item
    future.result()
    tally.images += count
    tally.files += 1
    return count, 1


def infer(gen, entries: list[tuple[int, int]], seed: int, truncation: float | None,
          plan: Plan) -> np.ndarray:
    """The images of ``entries`` (the same feeds as the imagefolder writer's)."""
    from gansrv.generate.writer import _infer

    return _infer(gen, entries, seed, truncation, plan)


def _codes(gen, plan: Plan, lo: int, hi: int, seed: int) -> np.ndarray | None:
    from gansrv.generate.writer import _codes as codes_of

    return codes_of(gen, plan.entries[lo:hi], seed, plan)


def shard_manifest(manifest: dict, size: int, level: int) -> dict:
    """The manifest of a shard dataset: the shard size (and a non-default PNG level) are part of
    what identifies it, since they decide every file's bytes."""
    manifest = {**manifest, "shard_size": size}
    if level != DEFAULT_LEVEL:
        manifest["png_compression"] = level
    return manifest
