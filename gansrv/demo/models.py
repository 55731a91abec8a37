"""The models a demo serves, the UI each model kind gets, and the model card.

The configured list is fixed when the app starts: the page and the API name a model by its short
name (the file stem) from that list, so no request can make the server open a path.

Kind dispatch: :data:`KINDS` maps a metadata ``kind`` to the control groups the page shows for it.
``noise`` and ``conditional`` run today (gansrv.runtime's Generator supports them). A new kind adds
one entry here (e.g. ``"code": KindUI("code-controlled", ("noise", "codes"))``), its control group
in ``app`` and its action in ``actions``; until then its files are refused with that reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansrv.errors import UserError
from gansrv.runtime import Generator, read_info

MAX_MODELS = 64  # one dropdown; a folder with more is probably not a folder of exports


@dataclass(frozen=True)
class KindUI:
    """How the page presents one model kind: a label and the control groups it shows."""

    label: str
    controls: tuple[str, ...]


KINDS: dict[str, KindUI] = {
    "noise": KindUI("noise → image", ("noise",)),
    "conditional": KindUI("class-conditional", ("noise", "class")),
}
CONTROL_GROUPS = ("noise", "class")  # every group the page builds; each kind shows a subset


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for (the CLI can lower or raise them within reason)."""

    max_images: int = 64  # per generate / zip request
    max_steps: int = 16  # images in an interpolation strip
    concurrency: int = 4  # requests the queue runs at once (onnxruntime sessions are thread-safe)
    queue_size: int = 64  # requests waiting; more are refused by Gradio with "queue full"
    max_upload_bytes: int = 5 * 1024**2  # Gradio's upload route refuses larger files

    def check(self) -> Limits:
        bounds = (("max images", self.max_images, 1024), ("max steps", self.max_steps, 64),
                  ("concurrency", self.concurrency, 64), ("queue size", self.queue_size, 10_000),
                  ("max upload bytes", self.max_upload_bytes, 1024**3))
        for name, value, hi in bounds:
            if not 1 <= value <= hi:
                raise UserError(f"{name} must be between 1 and {hi:,}, got {value}")
        return self


@dataclass
class DemoModel:
    """One served model: its short name, its runtime generator and the sha256 of its file."""

    name: str
    path: Path
    generator: Generator
    sha256: str

    @property
    def kind(self) -> str:
        return self.generator.info.kind

    @property
    def class_names(self) -> list[str]:
        return list(self.generator.info.class_names) if self.generator.conditional else []

    @property
    def controls(self) -> tuple[str, ...]:
        return KINDS[self.kind].controls


def load_models(paths: Sequence[Path] = (), models_dir: Path | None = None,
                provider: str = "auto") -> tuple[dict[str, DemoModel], list[str]]:
    """Open the configured models -> ({name: model}, notes about files of a folder that were skipped).

    Files named explicitly must all be servable generators; in a folder, other graphs (a
    discriminator) and kinds the demo cannot run yet are skipped with a note.
    """
    notes: list[str] = []
    chosen = [Path(p) for p in paths]
    if models_dir is not None:
        if not models_dir.is_dir():
            raise UserError(f"--models-dir {models_dir}: not a folder")
        for path in sorted(models_dir.glob("*.onnx")):
            why = _unservable(path)
            if why:
                notes.append(f"skipped {path.name}: {why}")
            else:
                chosen.append(path)
    if not chosen:
        where = f" in {models_dir}" if models_dir is not None else ""
        raise UserError(f"no servable .onnx generator{where}; export one with: gansrv export RUN_DIR --onnx")
    if len(chosen) > MAX_MODELS:
        raise UserError(f"{len(chosen)} models; the demo serves at most {MAX_MODELS}")
    models: dict[str, DemoModel] = {}
    for path in chosen:
        why = _unservable(path)
        if why:
            raise UserError(f"{path}: {why}")
        name = path.stem
        if name in models:
            raise UserError(f"two models named {name!r} ({models[name].path} and {path}); rename one")
        models[name] = DemoModel(name, path, Generator.from_file(path, provider), _sha256(path))
    return models, notes


def _unservable(path: Path) -> str | None:
    """Why the demo cannot serve this file (None when it can); bad files raise UserError."""
    info = read_info(path)
    if info.graph != "generator":
        return f"a {info.graph} graph, not a generator"
    if info.kind not in KINDS:
        return f"kind {info.kind!r} has no demo UI yet (supported: {', '.join(KINDS)})"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_card(model: DemoModel) -> dict[str, Any]:
    """What the model card panel and the ``model_card`` API show: the file's metadata, as JSON."""
    info = model.generator.info
    return {
        "name": model.name, "file": model.path.name, "sha256": model.sha256,
        "family": info.family, "kind": info.kind, "kind_label": KINDS[info.kind].label,
        "image_shape": list(info.image_shape), "latent_dim": info.latent_dim,
        "num_classes": info.num_classes, "class_names": list(info.class_names),
        "parity_max_abs_error": info.parity_max_abs_error,
        "parity_batch_sizes": list(info.parity_batch_sizes), "opset": info.opset,
        "run": info.run, "step": info.step, "gansrv_version": info.version,
        "data_fingerprint": info.data_fingerprint, "provider": model.generator.provider,
        # family-specific and recorded metrics keys (gansrv.* keys outside the required set)
        "metrics": dict(info.extra), "config": dict(info.config),
    }


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as the page shows it (the API returns the dict itself)."""
    c, h, w = card["image_shape"]
    classes = ", ".join(card["class_names"]) if card["num_classes"] else "none (unconditional)"
    rows = [("family", f"{card['family']} ({card['kind_label']})"), ("image", f"{h}×{w}, {c} channel(s)"),
            ("latent size", card["latent_dim"]), ("classes", classes),
            ("parity error", f"{card['parity_max_abs_error']:.3g} (max abs, onnxruntime vs torch, "
                             f"batch {', '.join(map(str, card['parity_batch_sizes']))})"),
            ("run", f"{card['run']} step {card['step']}"), ("opset", card["opset"]),
            ("exported by", f"gansrv {card['gansrv_version']}"), ("data", card["data_fingerprint"]),
            ("provider", card["provider"]), ("sha256", f"`{card['sha256'][:16]}…`")]
    rows += [(f"metric {k}", v) for k, v in sorted(card["metrics"].items())] or [("metrics", "none recorded")]
    lines = [f"### {card['name']}", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows]
    return "\n".join(lines)
