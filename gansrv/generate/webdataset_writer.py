"""One webdataset shard: a tar of ``<class>/<index>.png``, ``.json`` and (conditional) ``.cls``.

Members of a sample are consecutive (png, json, cls) and share the key ``<class>/<index>``, which
is how the ``webdataset`` package and Hugging Face's ``webdataset`` builder group them. Headers
are fixed (:mod:`gansrv.generate.tarball`) and the JSON keys sorted, so the bytes depend on the
images and the plan only. Written under a temporary name, flushed and renamed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from gansrv import atomic
from gansrv.generate import tarball
from gansrv.generate.plan import Plan
from gansrv.generate.shards import Part, key_digits, sample_key, sample_rows


def write_tar(path: Path, plan: Plan, parts: Iterable[Part], seed: int, model_name: str,
              codes: np.ndarray | None, slots: Sequence[int] | None = None) -> int:
    """Write the shard's samples as they are encoded; returns the number of samples. ``slots``:
    a filtered set's planned slot of every sample (wider keys, a ``slot`` field)."""
    count = 0
    digits = key_digits(slots)
    with atomic.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        for entries, pngs in parts:
            rows = sample_rows(plan, entries, seed, model_name,
                               None if codes is None else codes[count:count + len(entries)],
                               None if slots is None else slots[count:count + len(entries)])
            chunk = []
            for (i, label), png, row in zip(entries, pngs.result(), rows):
                key = sample_key(plan, i, label, digits)
                chunk.append(tarball.member(f"{key}.png", png))
                chunk.append(tarball.member(f"{key}.json", json.dumps(row, sort_keys=True).encode()))
                if plan.conditional:
                    chunk.append(tarball.member(f"{key}.cls", str(label).encode()))
            fh.write(b"".join(chunk))
            count += len(entries)
        fh.write(tarball.end())
    return count
