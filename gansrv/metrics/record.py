"""Store evaluation figures in the model file itself (``gansrv.metrics`` in ``metadata_props``), so
``gansrv info`` and anything serving the model show them without the evaluation's output.

The file is rewritten atomically (temporary file beside it, then rename), so a failed write leaves
the model as it was; everything but that one key is kept.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from gansrv.atomic import atomic_path
from gansrv.runtime.metadata import PREFIX

KEY = "metrics"
# What is recorded: the figures and what they were measured on (not timings or file paths).
RECORDED = ("fid", "real_fid", "kid", "kid_std", "precision", "recall", "class_accuracy",
            "evaluator_accuracy", "cas", "cas_ceiling", "aug_gain", "n", "seed",
            "held_out_images", "held_out_fingerprint", "evaluator", "held_out_accuracy")


def record(path: str | Path, figures: dict[str, Any]) -> dict[str, Any]:
    """Write the RECORDED subset of ``figures`` into the model's metadata; returns what was stored."""
    import onnx

    from gansrv.runtime.model import read_info

    read_info(path)  # refuse anything that is not a self-contained gansrv model before rewriting it
    stored = {k: figures[k] for k in RECORDED if figures.get(k) is not None}
    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    props[PREFIX + KEY] = json.dumps(stored, sort_keys=True)
    del proto.metadata_props[:]
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=value)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    with atomic_path(path) as tmp:
        onnx.save(proto, str(tmp))
        os.chmod(tmp, mode)  # the temporary file is 0600; keep the model readable as it was
    return stored


def summary(extra: dict[str, str]) -> str | None:
    """One line for ``gansrv info`` from a model's recorded metrics (None when there are none)."""
    if KEY not in extra:
        return None
    try:
        m = json.loads(extra[KEY])
    except ValueError:
        return "(unreadable)"
    parts = [f"{label} {m[key]:{fmt}}" for key, label, fmt in (
        ("fid", "FID", ".3g"), ("kid", "KID", ".3g"), ("precision", "precision", ".3f"),
        ("recall", "recall", ".3f"), ("class_accuracy", "class-acc", ".3f"), ("cas", "CAS", ".3f"),
        ("cas_ceiling", "CAS ceiling", ".3f"), ("aug_gain", "aug gain", "+.3f"),
        ("held_out_accuracy", "held-out accuracy", ".4f")) if key in m]
    where = f" ({m['n']} generated vs {m.get('held_out_images', '?')} held-out images)" if "n" in m else ""
    if "n" not in m and "held_out_images" in m:
        where = f" ({m['held_out_images']} held-out images)"
    return ", ".join(parts) + where
