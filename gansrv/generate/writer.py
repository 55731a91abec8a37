"""Write a planned dataset: PNG files (resumable) or one npz, the metadata and the manifest.

Every file goes through gansrv.atomic, so a killed run leaves whole files only; a re-run skips the
PNGs that exist and rewrites the metadata from the plan, which is why an interrupted-then-resumed
dataset is byte-identical to an uninterrupted one. PNGs are encoded with fixed settings and no
timestamps, and the metadata lines are sorted, so shards and re-runs agree byte for byte.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import select
import signal
import struct
import sys
import threading
import time
import zlib
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gansrv import atomic
from gansrv.digest import sha256_file
from gansrv.errors import UserError
from gansrv.generate.plan import DEFAULT_LEVEL, Plan, Shard
from gansrv.runtime.codes import codes_for
from gansrv.runtime.generator import Generator, noise

MANIFEST = "gansrv-dataset.json"
USAGE = "usage"  # the manifest's advice on training with the set (see usage())
FORMAT_VERSION = 2  # 2: PNGs encoded by encode_png (zlib), not Pillow: other bytes, same pixels
_OUR_FILE = re.compile(r"\d{6}\.png")
# Writer threads share the GIL: on a 16-core GPU machine 2 threads wrote ~6,700-9,000 PNGs/s and 16
# threads fewer (4,300-4,500), while the model made ~50,000 img/s. More writers than that, for jobs
# big enough to repay starting them, are processes.
PROCESS_WRITERS_FROM = 3  # workers
PROCESS_MIN_IMAGES = 4096
IN_FLIGHT_BYTES = 256 << 20  # images handed to writers and not yet written, at most (about)
MIN_TASK_IMAGES = 32  # per process task: IPC costs ~0.1 ms a call


def manifest_for(plan: Plan, model: Path, seed: int, truncation: float | None, fmt: str,
                 level: int = DEFAULT_LEVEL) -> dict:
    """What identifies a dataset: same manifest = same files, whatever the shard or batch size.

    The PNG level is recorded only when it is not the default, so datasets written before the
    option existed (all at the default) still resume.
    """
    manifest = {"format_version": FORMAT_VERSION, "tool": "gansrv generate", "format": fmt,
                "model": model.name, "model_sha256": sha256_file(model), "seed": seed,
                "truncation": truncation, "plan": plan.params}
    if fmt == "imagefolder" and level != DEFAULT_LEVEL:
        manifest["png_compression"] = level
    manifest[USAGE] = usage()
    return manifest


def usage() -> dict:
    """How to train on the dataset (advice, not identity: a dataset written before it resumes)."""
    from gansrv.metrics.recipe import RECOMMENDED_MIX

    return {"synthetic": True, "recommended_mix": RECOMMENDED_MIX,
            "how": f"mix about {RECOMMENDED_MIX:.0%} of these images into every training batch of "
                   f"real ones rather than concatenating the sets (measured: README, the low-data "
                   f"recipe; check with gansrv eval --real-limit N --mix F)"}


def _identity(manifest: object) -> object:
    if not isinstance(manifest, dict):
        return manifest
    return {k: v for k, v in manifest.items() if k != USAGE}


def check_destination(out: Path, manifest: dict, overwrite: bool, name: str = MANIFEST,
                      tool: str = "gansrv generate") -> bool:
    """Decide whether ``out`` may be written; True when old files must be cleared first.

    Same manifest: resume. Empty or missing folder: fresh. Anything else (another dataset, or
    files gansrv did not write) is refused without ``--overwrite``, so a typo never mixes datasets.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return False
    old = None
    mpath = out / name
    if mpath.is_file():
        try:
            old = json.loads(mpath.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    if _identity(old) == _identity(manifest):
        return False
    if not overwrite:
        what = "another dataset" if old is not None else f"files that {tool} did not write"
        raise UserError(f"--out {out} is not empty and holds {what}; choose an empty folder or pass "
                        f"--overwrite")
    return True


def clear_dataset(out: Path) -> list[Path]:
    """Remove what a gansrv dataset consists of (manifest, metadata*, data*.npz, NNNNNN.png in
    sub-folders, then emptied sub-folders); returns the other files, which are left alone."""
    left = []
    for p in sorted(out.iterdir()):
        if p.is_file() and (p.name == MANIFEST or (p.name.startswith("metadata") and p.suffix == ".jsonl")
                            or (p.name.startswith("data") and p.suffix == ".npz")):
            p.unlink()
        elif p.is_dir() and not p.is_symlink():
            for f in p.iterdir():
                if f.is_file() and (_OUR_FILE.fullmatch(f.name) or f.name.endswith(".tmp")):
                    f.unlink()
                else:
                    left.append(f)
            if not any(p.iterdir()):
                p.rmdir()
        else:
            left.append(p)
    return left


_PNG_HEAD = b"\x89PNG\r\n\x1a\n"
_PNG_TAIL = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk: length 0, type, CRC
_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type: grey, RGB, RGBA


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_IDAT_CRC = zlib.crc32(b"IDAT")  # the chunk CRC covers the type: continue from it


def encode_png(image: np.ndarray, text: dict[str, str] | None = None,
               level: int = DEFAULT_LEVEL) -> bytes:
    """uint8 (H, W, C) -> PNG bytes: 8-bit grey/RGB(A), filter type 0 on every row, zlib ``level``;
    ``text`` (Latin-1 keys and values) goes into tEXt chunks right after the header.

    Written with zlib rather than Pillow because Pillow's per-call overhead was ~9x the encoding
    itself for small images (28x28: 183 us vs 21 us per image, 2% larger files); no timestamps, so
    the bytes depend on the pixels, the text and the level only. Pillow decodes them to the same
    pixels (tested).
    """
    notes = b"".join(_chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1"))
                     for k, v in (text or {}).items())
    return encode_pngs(image[None], level, notes)[0]


def encode_pngs(images: np.ndarray, level: int = DEFAULT_LEVEL, notes: bytes = b"") -> list[bytes]:
    """A batch (N, H, W, C) of uint8 images -> PNG bytes each, as :func:`encode_png` would.

    The filter bytes and the header are made once per batch, so what is left per image is zlib
    (12-18 us for a 28x28 digit at level 1-6; level 0 stores the rows in ~1 us).
    """
    n, h, w, c = images.shape
    rows = np.zeros((n, h, w * c + 1), dtype=np.uint8)  # a 0 (filter type None) before each row
    rows[:, :, 1:] = images.reshape(n, h, w * c)
    raw = rows.reshape(n, -1)
    head = _PNG_HEAD + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)) + notes
    pack, compress, crc32 = struct.pack, zlib.compress, zlib.crc32
    out = []
    for k in range(n):
        data = compress(raw[k], level)
        out.append(b"".join((head, pack(">I", len(data)), b"IDAT", data,
                             pack(">I", crc32(data, _IDAT_CRC)), _PNG_TAIL)))
    return out


def _batches(entries: list[tuple[int, int]], size: int):
    for lo in range(0, len(entries), size):
        yield entries[lo:lo + size]


def _infer(gen: Generator, batch: list[tuple[int, int]], seed: int, truncation: float | None,
           plan: Plan) -> np.ndarray:
    idx = np.array([i for i, _ in batch], dtype=np.int64)
    if gen.code_spec is not None:
        feeds = gen.code_feeds(idx, seed, truncation, _fixed(plan), plan.sweep)
    else:
        feeds = {"z": noise(seed, idx, gen.info.latent_dim, truncation)}
    if plan.conditional:
        feeds["label"] = np.array([label for _, label in batch], dtype=np.int64)
    return gen.run(feeds)


def _fixed(plan: Plan) -> np.ndarray | None:
    return None if plan.codes is None else np.asarray(plan.codes, dtype=np.float32)


def _codes(gen: Generator, entries: list[tuple[int, int]], seed: int, plan: Plan) -> np.ndarray | None:
    """The continuous codes of ``entries`` (code models; None for others): cheap, no inference."""
    if gen.code_spec is None:
        return None
    idx = np.array([i for i, _ in entries], dtype=np.int64)
    return codes_for(seed, idx, gen.code_spec, _fixed(plan), plan.sweep)


def _progress(total: int, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", file=sys.stderr, disable=not show, dynamic_ncols=True)


def save_pngs(out: str, names: list[str], images: np.ndarray, level: int = DEFAULT_LEVEL) -> int:
    """Encode and write one chunk of a batch (runs in a writer thread or process).

    Renamed into place but not fsynced one by one (that cost ~5x the throughput): a kill leaves
    whole files; a power loss may leave empty ones, which complete_png() catches on resume, and
    sync_filesystem() makes the finished set durable before its metadata is written.
    """
    for name, data in zip(names, encode_pngs(images, level)):
        atomic.write_bytes(f"{out}/{name}", data, durable=False)
    return len(names)


def _writer_init(main_pid: int) -> None:
    """Ctrl-C goes to the whole process group: the main process handles it, the writers finish.

    A SIGKILLed main process would leave its writers (and the forkserver) waiting forever on a queue
    they also hold the write end of, so each writer watches the main process and exits with it; a
    PNG it was writing stays a temporary file, which the next run removes.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(main_pid,), daemon=True).start()


def _exit_with(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)  # Linux >= 5.3: readable once the process has ended
        select.select([fd], [], [])
    except (AttributeError, OSError):
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(0.5)
    os._exit(0)


def writer_pool(workers: int, images: int) -> tuple[Executor, bool]:
    """Threads for small jobs and few workers, else processes; returns (pool, is_processes)."""
    if workers >= PROCESS_WRITERS_FROM and images >= PROCESS_MIN_IMAGES:
        # forkserver: the model's onnxruntime threads must not be forked along
        ctx = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_writer_init,
                                   initargs=(os.getpid(),)), True
    return ThreadPoolExecutor(max_workers=workers), False


def write_imagefolder(gen: Generator, plan: Plan, shard: Shard, out: Path, seed: int,
                      truncation: float | None, batch_size: int, model_name: str, progress: bool,
                      workers: int = 2, level: int = DEFAULT_LEVEL) -> tuple[int, int]:
    """Write the shard's missing PNGs, then its metadata; returns (written, already there).

    The main thread draws noise and runs the model (onnxruntime releases the GIL) while the writers
    encode and write the previous batches.
    """
    entries = plan.shard(shard)
    todo = _missing(out, plan, entries)
    pending: deque[list[Future]] = deque()
    c, h, w = gen.info.image_shape
    in_flight = max(2, min(workers, IN_FLIGHT_BYTES // max(1, batch_size * c * h * w)))
    pool, processes = writer_pool(workers, len(todo))
    try:
        with _progress(len(todo), progress) as bar:
            for batch in _batches(todo, batch_size):
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
    lines = sorted(json.dumps(_meta_row(plan, i, label, seed, model_name,
                                        None if codes is None else codes[k]))
                   for k, (i, label) in enumerate(entries))
    atomic.write_text(out / f"metadata{shard.suffix}.jsonl", "".join(line + "\n" for line in lines))
    return len(todo), len(entries) - len(todo)


def _missing(out: Path, plan: Plan, entries: list[tuple[int, int]]) -> list[tuple[int, int]]:
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


def complete_png(path: Path) -> bool:
    """A finished PNG starts with the signature and ends with the IEND chunk (cheap: 20 bytes read)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            fh.seek(0, os.SEEK_END)
            if fh.tell() < len(_PNG_HEAD) + len(_PNG_TAIL):
                return False
            fh.seek(-len(_PNG_TAIL), os.SEEK_END)
            return head == _PNG_HEAD and fh.read() == _PNG_TAIL
    except OSError:
        return False


def _drain(futures: list[Future], bar) -> None:
    bar.update(sum(f.result() for f in futures))


def _meta_row(plan: Plan, index: int, label: int, seed: int, model_name: str,
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
        for batch in _batches(entries, batch_size):
            images[pos:pos + len(batch)] = _infer(gen, batch, seed, truncation, plan)
            pos += len(batch)
            bar.update(len(batch))
    arrays = {"images": images,
              "labels": np.array([label for _, label in entries], dtype=np.int64),
              "indices": np.array([i for i, _ in entries], dtype=np.int64),
              "class_names": np.array(plan.class_names, dtype=np.str_)}
    codes = _codes(gen, entries, seed, plan)
    if codes is not None:
        arrays["codes"] = codes
    atomic.write_with(out / f"data{shard.suffix}.npz", lambda fh: np.savez(fh, **arrays))
    return len(entries)
