"""Which images form a dataset: (index, label) pairs, fixed by the options alone.

The pairs are rules of the index (:mod:`gansrv.generate.entries`), not a list, so the plan of a
10^9-image dataset costs no more memory than a small one; the one-file-per-image formats keep their
own ceiling (``MAX_IMAGES``), the shard formats go to ``MAX_SHARDED_IMAGES``.

The plan never depends on what is already on disk or on the batch size, so a resumed run, a run with
another batch size and N shards on N machines all agree on image ``index``'s label and file name
(its noise depends on (seed, index) only, see gansrv.runtime.generator).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from gansrv.errors import UserError
from gansrv.generate.entries import Blocks, Cyclic, Swept, as_entries
from gansrv.generate.png import DEFAULT_LEVEL  # noqa: F401 - the --compression default, kept here too
from gansrv.runtime.codes import Sweep

MAX_IMAGES = 1_000_000  # imagefolder (one file per image) and npz (one array in memory)
MAX_SHARDED_IMAGES = 10**9  # webdataset and parquet shards: the plan is lazy
MAX_BATCH = 4096
MAX_SEED = 2**63 - 1
MAX_WORKERS = 64


def default_workers() -> int:
    """One PNG writer per CPU, at most 8: with a GPU the writers, not the model, set the pace, and on
    a 16-core H100 machine 8 writer processes wrote the most (14,600 img/s; 15: 12,200)."""
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


@dataclass(frozen=True)
class Shard:
    """Shard ``k`` of ``n`` (1-based): the images whose index % n == k - 1."""

    k: int = 1
    n: int = 1

    @property
    def whole(self) -> bool:
        return self.n == 1

    def keeps(self, index: int) -> bool:
        return index % self.n == self.k - 1

    @property
    def suffix(self) -> str:
        """File-name suffix of this shard's own files ('' for an unsharded run)."""
        return "" if self.whole else f"-shard-{self.k}-of-{self.n}"


def parse_shard(text: str | None) -> Shard:
    """``"K/N"`` -> Shard; malformed or out-of-range values are a UserError."""
    if text is None:
        return Shard()
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise UserError(f"--shard must look like K/N (e.g. 2/8), got {text!r}")
    k, n = int(m.group(1)), int(m.group(2))
    if not 1 <= n <= MAX_IMAGES or not 1 <= k <= n:
        raise UserError(f"--shard {text}: need 1 <= K <= N (and N <= {MAX_IMAGES:,})")
    return Shard(k, n)


@dataclass(frozen=True)
class Plan:
    """The whole dataset (``entries``: (index, label); label -1 for unconditional models).

    ``params`` is what identifies the dataset in the manifest; the shard is not part of it, so all
    shards of one dataset write the same manifest and their folders can be merged.
    """

    entries: Sequence[tuple[int, int]]
    class_names: list[str]
    conditional: bool
    params: dict = field(default_factory=dict)
    # code models (InfoGAN): continuous codes given for every image, and a sweep of one code
    codes: tuple[float, ...] | None = None
    sweep: Sweep | None = None

    def shard(self, shard: Shard) -> list[tuple[int, int]]:
        if shard.whole:
            return list(self.entries)
        return self.entries[shard.k - 1::shard.n]  # image i sits at position i

    def folder(self, label: int) -> str:
        """Sub-folder of an image: its class name, or ``images`` for unconditional models."""
        return self.class_names[label] if self.conditional else "images"

    def file_name(self, index: int, label: int) -> str:
        return f"{self.folder(label)}/{index:06d}.png"


def make_plan(*, n: int | None, per_class: int | None, classes: list[int] | None,
              class_names: list[str], conditional: bool, limit: int = MAX_IMAGES) -> Plan:
    """Build the plan from ``--n`` / ``--per-class`` and the selected class indices.

    ``--n N``: image i gets selected class i mod K (all classes when none are selected), so classes
    are balanced and a label depends on i only. ``--per-class M``: M images of each selected class,
    class by class (indices 0..M-1 the first class, M..2M-1 the next, ...). ``limit``: the most
    images the format takes.
    """
    if (n is None) == (per_class is None):
        raise UserError("give exactly one of --n and --per-class")
    if not conditional and (per_class is not None or classes):
        raise UserError("--per-class and --classes need a conditional model; this one is unconditional")
    if conditional:
        for name in class_names:
            if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
                raise UserError(f"class name {name!r} cannot be a folder name")
    selected = list(classes) if classes else list(range(len(class_names)))
    if len(set(selected)) != len(selected):
        raise UserError("--classes lists a class twice")
    if n is not None:
        if not 1 <= n <= limit:
            raise UserError(f"--n must be between 1 and {limit:,}, got {n}")
        entries = Cyclic(n, selected if conditional else [-1])
    else:
        assert per_class is not None
        total = per_class * len(selected)
        if per_class < 1 or total > limit:
            raise UserError(f"--per-class must be >= 1 with at most {limit:,} images in all, got "
                            f"{per_class} x {len(selected)} classes")
        entries = Blocks(selected, [per_class] * len(selected))
    params = {"n": n, "per_class": per_class,
              "classes": [class_names[c] for c in selected] if conditional else None}
    return Plan(entries, list(class_names), conditional, params)


def balance_plan(counts: dict[str, int], class_names: list[str], source: str,
                 limit: int = MAX_IMAGES) -> Plan:
    """The plan that brings every class of a real dataset up to its largest: ``counts`` maps the
    data's class names to their image counts; class c gets max - count images, class by class in
    the model's class order (indices run on across classes, as with ``--per-class``). The counts
    go into the manifest (``plan.balance_to``)."""
    unknown = sorted(set(counts) - set(class_names))
    if unknown:
        raise UserError(f"--balance-to: class {', '.join(unknown)} of {source} is not one of the "
                        f"model's classes ({', '.join(class_names)})")
    top = max(counts.values())
    wanted = {c: top - counts.get(name, 0) for c, name in enumerate(class_names) if name in counts}
    total = sum(wanted.values())
    if total == 0:
        raise UserError(f"--balance-to: {source} is already balanced ({top} images per class); "
                        f"nothing to generate")
    if total > limit:
        raise UserError(f"--balance-to would generate {total:,} images, more than {limit:,}")
    entries = Blocks(list(wanted), list(wanted.values()))
    params = {"n": None, "per_class": None, "classes": [class_names[c] for c in wanted],
              "balance_to": {"data": source, "real_counts": dict(counts), "target": top,
                             "generated": {class_names[c]: k for c, k in wanted.items()}}}
    return Plan(entries, list(class_names), True, params)


def with_codes(plan: Plan, codes: tuple[float, ...] | None, sweep: Sweep | None,
               limit: int = MAX_IMAGES) -> Plan:
    """A code model's plan: fixed continuous codes, and with a sweep every planned image becomes a
    row of ``sweep.steps`` images (indices row * steps + step) of the row's categorical value."""
    entries = plan.entries
    if sweep is not None:
        if len(entries) * sweep.steps > limit:
            raise UserError(f"{len(entries)} rows x {sweep.steps} sweep steps is more than "
                            f"{limit:,} images")
        entries = Swept(as_entries(entries), sweep.steps)
    params = {**plan.params, "codes": list(codes) if codes is not None else None,
              "sweep": sweep.text() if sweep is not None else None}
    return replace(plan, entries=entries, params=params, codes=codes, sweep=sweep)
