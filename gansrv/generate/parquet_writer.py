"""One Parquet shard whose schema carries Hugging Face features: ``load_dataset("parquet")`` then
returns an ``Image`` column (PNG bytes and the sample's name) and a ``ClassLabel`` label.

pyarrow comes with the ``parquet`` extra (``pip install 'gansrv[parquet]'``); the features are
written as the ``huggingface`` schema metadata that ``datasets`` reads, so ``datasets`` itself is
not needed to write. One row group per shard; the bytes depend on the rows and pyarrow's version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from gansrv import atomic
from gansrv.generate.plan import Plan
from gansrv.generate.shards import Part, key_digits, sample_key, sample_rows


def hf_features(plan: Plan) -> dict:
    """The ``datasets`` feature types of the typed columns (the others are inferred from arrow)."""
    features: dict = {"image": {"_type": "Image"}}
    if plan.conditional:
        features["label"] = {"_type": "ClassLabel", "names": list(plan.class_names)}
    return features


def write_parquet(path: Path, plan: Plan, parts: Iterable[Part], seed: int, model_name: str,
                  codes: np.ndarray | None, slots: Sequence[int] | None = None) -> int:
    """Write the shard's rows (after all its PNGs are encoded); returns the number of rows.
    ``slots``: a filtered set's planned slot of every row (wider paths, a ``slot`` column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = list(parts)
    entries = [e for batch, _ in parts for e in batch]
    pngs = [png for _, future in parts for png in future.result()]
    rows = sample_rows(plan, entries, seed, model_name, codes, slots)
    digits = key_digits(slots)
    columns: dict = {"image": pa.array(
        [{"bytes": png, "path": f"{sample_key(plan, i, label, digits)}.png"}
         for (i, label), png in zip(entries, pngs)],
        type=pa.struct([("bytes", pa.binary()), ("path", pa.string())]))}
    for name in rows[0] if rows else ():
        values = [row[name] for row in rows]
        if name == "codes":
            columns[name] = pa.array(values, type=pa.list_(pa.float32()))
        elif name in ("index", "slot", "label", "seed", "sweep_row"):
            columns[name] = pa.array(values, type=pa.int64())
        else:
            columns[name] = pa.array(values)
    schema = pa.schema([(k, v.type) for k, v in columns.items()],
                       metadata={"huggingface": json.dumps({"info": {"features": hf_features(plan)}},
                                                           sort_keys=True)})
    table = pa.Table.from_arrays(list(columns.values()), schema=schema)
    with atomic.atomic_path(path) as tmp:
        pq.write_table(table, str(tmp), row_group_size=max(1, len(rows)), compression="snappy")
    return len(rows)
