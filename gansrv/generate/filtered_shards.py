"""``gansrv generate --filter --format webdataset|parquet``: filtered samples in shard files.

The layout is the unfiltered one (:class:`gansrv.generate.shards.Layout`) over planned slots: file
j holds the kept samples of slots j * size .. (j + 1) * size - 1, in slot order, each under its
kept generator index (``slot * 1000 + attempt``, :mod:`gansrv.generate.filtering`) with a key of
KEPT_KEY_DIGITS digits and its ``slot`` beside it. Files are the unfiltered writers' (whole under a
temporary name, then renamed), so a re-run skips whole files; it reads the kept indices back from
those files (the tar's ``.json`` members, the parquet ``index`` and ``slot`` columns), which is
all the manifest's tally needs: a resumed run needs no side file and writes the same manifest.

One session in this process writes every file (no model processes, no Ray): the filter's setup
(DRS burn-in) would otherwise run again in every worker.
"""

from __future__ import annotations

import json
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gansrv.generate.filtering import ATTEMPTS, Tally, codes_of, search
from gansrv.generate.plan import Plan
from gansrv.generate.png import encode_pngs
from gansrv.generate.shards import Layout, Part, file_writer, images_in, remove_temps
from gansrv.generate.shards import Tally as FileTally
from gansrv.generate.writer import fixed_codes


def write_filtered_shards(gen, filt, plan: Plan, out: Path, req, model_name: str
                          ) -> tuple[FileTally, Tally]:
    """Write the run's missing shard files; returns (files tally, filter tally of every file of
    this run's shard, those already there included)."""
    from gansrv.generate.progress import ShardProgress

    start = time.perf_counter()
    layout = Layout(len(plan.entries), req.shard_size, req.fmt)
    remove_temps(out)
    files, tally, todo = FileTally(), Tally(), []
    for j in layout.mine(req.shard):
        kept = kept_in_file(out / layout.name(j), layout, j)
        if kept is None:
            todo.append(j)
            continue
        tally.add({s: i % ATTEMPTS + 1 for s, i in kept.items()}, _labels(plan, layout, j))
        files.kept_files, files.kept_images = files.kept_files + 1, files.kept_images + len(kept)
    bar = ShardProgress(images_in(layout, todo), len(todo), req.progress)
    try:
        for j in todo:
            count = write_file(gen, filt, plan, layout, j, out, req, model_name, tally)
            files.images, files.files = files.images + count, files.files + 1
            bar.file_done(count)
    finally:
        bar.close()
    files.seconds = time.perf_counter() - start
    return files, tally


def _labels(plan: Plan, layout: Layout, j: int) -> dict[int, int]:
    lo, hi = layout.span(j)
    return {s: label if plan.conditional else -1 for s, label in plan.entries[lo:hi]}


def write_file(gen, filt, plan: Plan, layout: Layout, j: int, out: Path, req, model_name: str,
               tally: Tally) -> int:
    """Search file ``j``'s slots, then write it whole; returns its sample count. The search ends
    before the file is opened, so a filter that stops the run leaves no temporary file either."""
    fixed = fixed_codes(plan)
    labels = list(_labels(plan, layout, j).items())
    parts: list[Part] = []
    slots: list[int] = []
    encoder = ThreadPoolExecutor(1)  # zlib beside the next inference call (both release the GIL)
    try:
        for rows, images in search(gen, filt, labels, req.seed, req.truncation, req.batch_size, tally,
                                   fixed):
            parts.append(([(index, label) for _, index, label in rows],
                          encoder.submit(encode_pngs, images, req.compression)))
            slots += [slot for slot, _, _ in rows]
        idx = np.array([i for batch, _ in parts for i, _ in batch], dtype=np.int64)
        return file_writer(layout.fmt)(out / layout.name(j), plan, parts, req.seed, model_name,
                                       codes_of(gen, idx, req.seed, fixed), slots=slots)
    finally:
        encoder.shutdown(wait=True, cancel_futures=True)


def kept_in_file(path: Path, layout: Layout, j: int) -> dict[int, int] | None:
    """slot -> kept index of a whole shard file on disk; None when the file is missing, unreadable
    or not file ``j``'s slots in order (it is written again)."""
    if not path.is_file():
        return None
    try:
        pairs = _tar_pairs(path) if layout.fmt == "webdataset" else _parquet_pairs(path)
    except (OSError, ValueError, KeyError, TypeError, tarfile.TarError):
        return None
    lo, hi = layout.span(j)
    if [s for s, _ in pairs] != list(range(lo, hi)) or any(i // ATTEMPTS != s for s, i in pairs):
        return None
    return dict(pairs)


def _tar_pairs(path: Path) -> list[tuple[int, int]]:
    pairs = []
    with tarfile.open(path, "r:") as tar:
        for member in tar:
            if member.name.endswith(".json"):
                fh = tar.extractfile(member)
                row = json.loads(fh.read() if fh is not None else b"")
                pairs.append((int(row["slot"]), int(row["index"])))
    return pairs


def _parquet_pairs(path: Path) -> list[tuple[int, int]]:
    import pyarrow.parquet as pq

    table = pq.read_table(str(path), columns=["slot", "index"])  # ArrowInvalid is a ValueError
    return list(zip(table.column("slot").to_pylist(), table.column("index").to_pylist()))
