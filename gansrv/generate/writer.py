"""Write a planned dataset: PNG files (resumable) or one npz, then the metadata (the writing loop).

Every file goes through gansrv.atomic, so a killed run leaves whole files only; a re-run skips the
PNGs that exist and rewrites the metadata from the plan, which is why an interrupted-then-resumed
dataset is byte-identical to an uninterrupted one. PNGs are encoded with fixed settings and no
timestamps (:mod:`gansrv.generate.png`), and the metadata lines are sorted, so shards and re-runs
agree byte for byte.

The other jobs of writing a dataset live beside this loop: what identifies a dataset and which
folders may take it (:mod:`gansrv.generate.destination`), the PNG codec (:mod:`gansrv.generate.png`)
and the writer threads or processes (:mod:`gansrv.generate.pool`). Their public names are imported
here too, so ``gansrv.generate.writer`` stays the one import of a caller that writes datasets.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from gansrv import atomic
from gansrv.generate.destination import (
    FORMAT_VERSION,
    MANIFEST,
    USAGE,
    check_destination,
    clear_dataset,
    manifest_for,
    open_destination,
    usage,
)
from gansrv.generate.plan import Plan, Shard
from gansrv.generate.png import DEFAULT_LEVEL, complete_png, encode_png, encode_pngs
from gansrv.generate.pool import (
    MIN_TASK_IMAGES,
    PROCESS_MIN_IMAGES,
    PROCESS_WRITERS_FROM,
    save_pngs,
    writer_pool,
)
from gansrv.runtime.codes import codes_for
from gansrv.runtime.generator import Generator, noise

IN_FLIGHT_BYTES = 256 << 20  # images handed to writers and not yet written, at most (about)

__all__ = [
    "FORMAT_VERSION", "IN_FLIGHT_BYTES", "MANIFEST", "MIN_TASK_IMAGES", "PROCESS_MIN_IMAGES",
    "PROCESS_WRITERS_FROM", "USAGE", "check_destination", "clear_dataset", "complete_png",
    "batches", "encode_png", "encode_pngs", "manifest_for", "meta_row", "open_destination", "missing_entries",
    "save_pngs", "usage", "write_imagefolder", "write_npz", "writer_pool",
]


def batches(entries: list[tuple[int, int]], size: int):
    for lo in range(0, len(entries), size):
        yield entries[lo:lo + size]


def _infer(gen: Generator, batch: list[tuple[int, int]], seed: int, truncation: float | None,
           plan: Plan) -> np.ndarray:
    idx = np.array([i for i, _ in batch], dtype=np.int64)
    if gen.code_spec is not None:
        feeds = gen.code_feeds(idx, seed, truncation, fixed_codes(plan), plan.sweep)
    else:
        feeds = {"z": noise(seed, idx, gen.info.latent_dim, truncation)}
    if plan.conditional:
        feeds["label"] = np.array([label for _, label in batch], dtype=np.int64)
    return gen.run(feeds)


def fixed_codes(plan: Plan) -> np.ndarray | None:
    """The continuous codes the plan fixes for every image (a code model's ``--codes``) as the
    array the runtime takes, or None."""
    return None if plan.codes is None else np.asarray(plan.codes, dtype=np.float32)


def _codes(gen: Generator, entries: list[tuple[int, int]], seed: int, plan: Plan) -> np.ndarray | None:
    """The continuous codes of ``entries`` (code models; None for others): cheap, no inference."""
    if gen.code_spec is None:
        return None
    idx = np.array([i for i, _ in entries], dtype=np.int64)
    return codes_for(seed, idx, gen.code_spec, fixed_codes(plan), plan.sweep)


def _progress(total: int, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", file=sys.stderr, disable=not show, dynamic_ncols=True)


def write_imagefolder(gen: Generator, plan: Plan, shard: Shard, out: Path, seed: int,
                      truncation: float | None, batch_size: int, model_name: str, progress: bool,
                      workers: int = 2, level: int = DEFAULT_LEVEL) -> tuple[int, int]:
    """Write the shard's missing PNGs, then its metadata; returns (written, already there).

    The main thread draws noise and runs the model (onnxruntime releases the GIL) while the writers
    encode and write the previous batches.
    """
    entries = plan.shard(shard)
    todo = missing_entries(out, plan, entries)
    pending: deque[list[Future]] = deque()
    c, h, w = gen.info.image_shape
    in_flight = max(2, min(workers, IN_FLIGHT_BYTES // max(1, batch_size * c * h * w)))
    pool, processes = writer_pool(workers, len(todo))
    try:
        with _progress(len(todo), progress) as bar:
            for batch in batches(todo, batch_size):
                images = _infer(gen, batch, seed, truncation, plan)
                names = [plan.file_name(i, label) for i, label in batch]
                step = -(-len(batch) // workers)  # one task per worker and batch, ...
                if processes:
                    step = max(step, MIN_TASK_IMAGES)  # ... but not tiny ones across processes
                pending.append([pool.submit(save_pngs, str(out), names[k:k + step], images[k:k + step],
                                           level)
                                for k in range(0, len(batch), step)])
                while len(pending) > in_flight:  # bounded memory
                    _drain(pending.popleft(), bar)
            while pending:
                _drain(pending.popleft(), bar)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if todo:
        atomic.sync_filesystem(out)
    codes = _codes(gen, entries, seed, plan)
    lines = sorted(json.dumps(meta_row(plan, i, label, seed, model_name,
                                        None if codes is None else codes[k]))
                   for k, (i, label) in enumerate(entries))
    atomic.write_text(out / f"metadata{shard.suffix}.jsonl", "".join(line + "\n" for line in lines))
    return len(todo), len(entries) - len(todo)


def missing_entries(out: Path, plan: Plan, entries: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The entries without a finished PNG, in order; removes the temporary files of a killed run.

    Each folder is listed once, so a fresh dataset costs no syscall per image and a resume opens
    only the files that exist (to check that they are whole).
    """
    present: dict[str, set[str]] = {}
    for folder in {plan.folder(label) for _, label in entries}:
        d = out / folder
        names = set(os.listdir(d)) if d.is_dir() else set()
        for name in [n for n in names if n.startswith(".") and n.endswith(".tmp")]:
            (d / name).unlink(missing_ok=True)
        present[folder] = names
    todo = []
    for i, label in entries:
        rel = plan.file_name(i, label)
        if rel.rsplit("/", 1)[-1] not in present[plan.folder(label)] or not complete_png(out / rel):
            todo.append((i, label))
    return todo


def _drain(futures: list[Future], bar) -> None:
    bar.update(sum(f.result() for f in futures))


def meta_row(plan: Plan, index: int, label: int, seed: int, model_name: str,
              codes: np.ndarray | None = None) -> dict:
    row: dict = {"file_name": plan.file_name(index, label)}
    if plan.conditional:
        row.update(label=label, class_name=plan.class_names[label])
    row.update(index=index, seed=seed, model=model_name, synthetic=True)
    if codes is not None:  # code models: the continuous codes (float32 values, written exactly)
        row["codes"] = [float(v) for v in codes]
        if plan.sweep is not None:
            row["sweep_row"] = index // plan.sweep.steps
    return row


def write_npz(gen: Generator, plan: Plan, shard: Shard, out: Path, seed: int, truncation: float | None,
              batch_size: int, progress: bool) -> int:
    """All of the shard's images in one ``data[-shard-K-of-N].npz`` (rewritten whole on a re-run)."""
    entries = plan.shard(shard)
    c, h, w = gen.info.image_shape
    images = np.empty((len(entries), h, w, c), dtype=np.uint8)
    with _progress(len(entries), progress) as bar:
        pos = 0
        for batch in batches(entries, batch_size):
            images[pos:pos + len(batch)] = _infer(gen, batch, seed, truncation, plan)
            pos += len(batch)
            bar.update(len(batch))
    arrays = {"images": images,
              "labels": np.array([label for _, label in entries], dtype=np.int64),
              "indices": np.array([i for i, _ in entries], dtype=np.int64),
              "class_names": np.array(plan.class_names, dtype=np.str_),
              # every row is generated, as metadata.jsonl says per row: a script that merges this
              # file with real data keeps the flag to weight or count the rows
              "synthetic": np.ones(len(entries), dtype=np.bool_)}
    codes = _codes(gen, entries, seed, plan)
    if codes is not None:
        arrays["codes"] = codes
    atomic.write_with(out / f"data{shard.suffix}.npz", lambda fh: np.savez(fh, **arrays))
    return len(entries)

