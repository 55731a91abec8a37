"""``gansrv generate --filter``: a dataset of only the samples a filter keeps (imagefolder here;
webdataset and parquet in :mod:`gansrv.generate.filtered_shards`, beside the same checks).

Same promises as the unfiltered job (:mod:`gansrv.generate.job`): every input checked before the
first file, atomic files, resumable, shardable. A planned image (``slot``) is stored under the
generator index of the candidate it kept (``<class>/<slot * 1000 + attempt:010d>.png``, see
:mod:`gansrv.generate.filtering`), so the files themselves say which slots are done and how many
candidates each one judged: a resumed run needs no side file and gives the same bytes, manifest
included, as a straight one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gansrv import atomic
from gansrv.errors import UserError
from gansrv.generate.filtering import ATTEMPTS, Tally, check_filter, codes_of, open_filter, search
from gansrv.generate.job import Outcome, check_request, plan_for
from gansrv.generate.plan import Plan
from gansrv.generate.shards import KEPT_KEY_DIGITS, SHARD_FORMATS, check_names, shard_manifest

RESULT = "filter_result"  # the manifest's record of the acceptance (not identity: see destination)
_FILE = re.compile(r"(\d{10})\.png")  # slot * 1000 + attempt < 10**9: always ten digits


def generate_filtered(model: Path, out: Path, req, provider: str = "auto",
                      warn: Callable[[str], None] | None = None):
    """Write (or resume) the filtered dataset ``req`` asks for; returns a job.Outcome."""
    from gansrv.generate.writer import MANIFEST, manifest_for, open_destination
    from gansrv.runtime import Generator

    check_request(req)
    check_filter(req.filter)
    check_combination(req)
    if not model.is_file():
        raise UserError(f"model file not found: {model}")
    gen = Generator.from_file(model, provider)
    plan = plan_for(gen, req)
    sharded = req.fmt in SHARD_FORMATS
    if sharded:
        check_names(plan, req.fmt, KEPT_KEY_DIGITS)
    filt = open_filter(req.filter, gen, model, req.seed, req.truncation, provider, req.batch_size)
    manifest = manifest_for(plan, model, req.seed, req.truncation, req.fmt, req.compression)
    manifest["filter"] = {**filt.identity, "attempts_per_image": ATTEMPTS}
    if sharded:
        manifest = shard_manifest(manifest, req.shard_size, req.compression)
    open_destination(out, manifest, req.overwrite, warn)
    if sharded:
        from gansrv.generate.filtered_shards import write_filtered_shards

        files, tally = write_filtered_shards(gen, filt, plan, out, req, model.name)
        outcome = Outcome(files.images, files.kept_images, out, files)
    else:
        tally, outcome = write_folder(gen, filt, plan, out, req, model.name)
    tally.extra = dict(filt.extra)
    if req.shard.whole:
        atomic.write_json(out / MANIFEST, {**manifest, RESULT: tally.as_dict()})
    else:
        atomic.write_json(out / f"filter{req.shard.suffix}.json", tally.as_dict())
    return outcome


def check_combination(req) -> None:
    """What --filter does not take, refused before any work."""
    if req.fmt == "npz":
        raise UserError("--filter writes imagefolder, webdataset or parquet, not --format npz (one "
                        "array rewritten whole on every run: nothing a long filtered search resumes from)")
    if req.engine == "ray":
        raise UserError("--filter runs in this process: leave out --engine ray (every task would "
                        "repeat the filter's setup)")
    if req.sweep is not None:
        raise UserError("--filter and --sweep do not mix: a sweep's images are fixed rows, not drawn")


def write_folder(gen, filt, plan: Plan, out: Path, req, model_name: str):
    """The PNGs of the slots without one, then the metadata; returns (filter tally, outcome)."""
    entries = plan.shard(req.shard)
    kept = finished(out, plan, entries)
    tally = Tally()
    tally.add({s: i % ATTEMPTS + 1 for s, i in kept.items()}, dict(entries))
    written = write_missing(gen, filt, plan, out, [e for e in entries if e[0] not in kept], req, tally,
                            kept)
    if written:
        atomic.sync_filesystem(out)
    write_metadata(gen, plan, out, entries, kept, req, model_name)
    return tally, Outcome(written, len(entries) - written, out / f"metadata{req.shard.suffix}.jsonl")


def file_name(plan: Plan, index: int, label: int) -> str:
    """``<folder>/<index:010d>.png``: ten digits, so the name of a kept sample never looks like
    an unfiltered dataset's six-digit one (and sorts in index order)."""
    return f"{plan.folder(label)}/{index:010d}.png"


def finished(out: Path, plan: Plan, entries: list[tuple[int, int]]) -> dict[int, int]:
    """slot -> kept generator index, from the whole PNGs on disk; temporary files are removed."""
    from gansrv.generate.png import complete_png

    folder_of = {slot: plan.folder(label) for slot, label in entries}
    found: dict[int, int] = {}
    for folder in set(folder_of.values()):
        d = out / folder
        for name in sorted(os.listdir(d)) if d.is_dir() else []:
            if name.startswith(".") and name.endswith(".tmp"):
                (d / name).unlink(missing_ok=True)
                continue
            m = _FILE.fullmatch(name)
            if not m:
                continue
            index = int(m.group(1))
            slot = index // ATTEMPTS
            if folder_of.get(slot) == folder and complete_png(d / name):
                found[slot] = min(index, found.get(slot, index))
    return found


def write_missing(gen, filt, plan: Plan, out: Path, todo: list[tuple[int, int]], req, tally: Tally,
                  kept: dict[int, int]) -> int:
    """Search and write the slots without a file; records each slot's kept index in ``kept``."""
    from gansrv.generate.pool import save_pngs
    from gansrv.generate.writer import fixed_codes

    fixed = fixed_codes(plan)
    labels = [(s, label if plan.conditional else -1) for s, label in todo]
    count = 0
    for rows, images in search(gen, filt, labels, req.seed, req.truncation, req.batch_size, tally,
                               fixed):
        names = [file_name(plan, index, label) for _, index, label in rows]
        count += save_pngs(str(out), names, images, req.compression)
        kept.update({slot: index for slot, index, _ in rows})
    return count


def write_metadata(gen, plan: Plan, out: Path, entries: list[tuple[int, int]], kept: dict[int, int],
                   req, model_name: str) -> None:
    """One sorted line per slot: the kept sample's file and generator index (and its slot)."""
    from gansrv.generate.writer import fixed_codes, meta_row

    fixed = fixed_codes(plan)
    idx = np.array([kept[s] for s, _ in entries], dtype=np.int64)
    codes = codes_of(gen, idx, req.seed, fixed)
    lines = []
    for k, (slot, label) in enumerate(entries):
        row = meta_row(plan, kept[slot], label, req.seed, model_name,
                       None if codes is None else codes[k])
        row["file_name"], row["slot"] = file_name(plan, kept[slot], label), slot
        lines.append(json.dumps(row))
    atomic.write_text(out / f"metadata{req.shard.suffix}.jsonl", "".join(ln + "\n" for ln in sorted(lines)))
