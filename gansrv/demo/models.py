"""The models a demo serves, the UI each model kind gets, and the model card.

The configured list is fixed when the app starts: the page and the API name a model by its short
name (the file stem) from that list, so no request can make the server open a path.

Kind dispatch: :data:`KINDS` maps a metadata ``kind`` to the control groups the page shows for it
(``app`` builds every group once and shows the selected model's). ``noise`` and ``conditional`` run
through gansrv.runtime's Generator, and so does a ``code`` model whose only code is categorical
(MAD-GAN: the code picker chooses the generator); other ``code`` and ``image`` models the demo runs
itself, on the input contract documented in ``actions`` (a file that breaks it is refused
when the demo starts). A new kind adds one entry here, its group in ``app`` and its action.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.demo.limits import DEFAULT_THREADS, Limits
from gansrv.digest import sha256_file
from gansrv.errors import UserError
from gansrv.kinds import Kind
from gansrv.runtime import Generator, LoadedModel, load, read_info, to_uint8
from gansrv.runtime.metadata import ModelInfo

__all__ = ["KINDS", "CONTROL_GROUPS", "MAX_CODES", "DemoModel", "KindUI", "Limits", "card_markdown",
           "load_models", "model_card", "open_model"]

MAX_MODELS = 64  # one dropdown; a folder with more is probably not a folder of exports
MAX_CODES = 8  # continuous-code sliders the page builds (a code model may use fewer)


@dataclass(frozen=True)
class KindUI:
    """How the page presents one model kind: a label and the control groups it shows."""

    label: str
    controls: tuple[str, ...]


# Groups: "sampling" (seed, count, truncation), "batch" (generate, zip, interpolation), "class" (class
# or categorical-code picker; shown only for models with labels), "codes" (sliders), "upload".
KINDS: dict[str, KindUI] = {
    Kind.NOISE: KindUI("noise → image", ("sampling", "batch")),
    Kind.CONDITIONAL: KindUI("class-conditional", ("sampling", "batch", "class")),
    Kind.CODE: KindUI("code-controlled", ("sampling", "class", "codes")),
    Kind.IMAGE: KindUI("image → image", ("upload",)),
}
CONTROL_GROUPS = ("sampling", "batch", "class", "codes", "upload")

@dataclass
class DemoModel:
    """One served model: its short name, its onnxruntime session (through ``loaded``), the runtime
    Generator where the runtime supports the kind, and the sha256 of its file."""

    name: str
    path: Path
    loaded: LoadedModel
    generator: Generator | None
    sha256: str

    @property
    def info(self) -> ModelInfo:
        return self.loaded.info

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def class_names(self) -> list[str]:
        """Class names (conditional) or categorical-code values (code), if the graph takes a label."""
        return list(self.info.class_names) if "label" in self.info.input_names() else []

    @property
    def domains(self) -> list[str]:
        """Target domains of a multi-domain image -> image model (stargan), by label index; else []."""
        return list(self.info.class_names) if self.kind == Kind.IMAGE and self.class_names else []

    @property
    def code_dim(self) -> int:
        """Continuous codes the graph takes (0 unless kind code)."""
        code = [t for t in self.info.inputs if t.name == "code"]
        return int(code[0].shape[1]) if code else 0

    @property
    def code_range(self) -> tuple[float, float]:
        """Slider range of the continuous codes: metadata ``gansrv.code_range`` or [-2, 2]."""
        lo, hi = json.loads(self.info.extra.get("code_range", "[-2.0, 2.0]"))
        return float(lo), float(hi)

    @property
    def categorical_only(self) -> bool:
        """A code model whose only code is categorical (MAD-GAN's generator index): the runtime's
        Generator runs it and the page shows the noise controls with the code picker."""
        return self.kind == Kind.CODE and self.generator is not None

    @property
    def controls(self) -> tuple[str, ...]:
        kind = Kind.CONDITIONAL if self.categorical_only else self.kind
        return tuple(g for g in KINDS[kind].controls if g != "class" or self.class_names)

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One forward pass -> uint8 (N, H, W, C), for graphs the runtime's Generator does not run."""
        out = self.info.outputs[0]
        (images,) = self.loaded.session.run([out.name], feeds)
        return to_uint8(images, self.info.output_range or (-1.0, 1.0))


def load_models(paths: Sequence[Path] = (), models_dir: Path | None = None, provider: str = "auto",
                threads: int = DEFAULT_THREADS) -> tuple[dict[str, DemoModel], list[str]]:
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
        models[name] = open_model(name, path, provider, threads)
    return models, notes


def open_model(name: str, path: Path, provider: str = "auto", threads: int = DEFAULT_THREADS) -> DemoModel:
    """Load one file; kinds the runtime's Generator runs get one, the others are checked here.

    ``threads``: onnxruntime intra-op threads (0: its default); see ``limits.DEFAULT_THREADS``.
    """
    loaded = load(path, provider, threads)
    info = loaded.info
    categorical_only = info.kind == Kind.CODE and sorted(info.input_names()) == ["label", "z"]
    if info.kind in (Kind.NOISE, Kind.CONDITIONAL) or categorical_only:
        model = DemoModel(name, path, loaded, Generator(loaded), sha256_file(path))
    else:
        model = DemoModel(name, path, loaded, None, sha256_file(path))
        _check_contract(model)
    return model


def _check_contract(model: DemoModel) -> None:
    """The inputs the demo feeds a code or image graph (see ``actions``); refuse others by name."""
    info, names = model.info, sorted(model.info.input_names())
    if info.kind == Kind.CODE:
        want = ["code", "label", "z"] if info.num_classes else ["code", "z"]
        ok = names == want and 1 <= model.code_dim <= MAX_CODES
        try:
            lo, hi = model.code_range
        except (ValueError, TypeError):
            raise UserError(f"{model.path}: gansrv.code_range must be JSON [low, high], got "
                            f"{info.extra.get('code_range')!r}") from None
        if not lo < hi:
            raise UserError(f"{model.path}: gansrv.code_range [{lo}, {hi}] is empty")
    else:
        shape = info.inputs[0].shape
        # fixed H and W, or any multiple of size_multiple (what pix2pix and cyclegan export)
        sized = all(isinstance(d, int) and d > 0 for d in shape[2:]) or info.size_multiple > 0
        domains = names == ["image", "label"] and 0 < info.num_classes == len(info.class_names)
        ok = (names == ["image"] or domains) and len(shape) == 4 and isinstance(shape[1], int) \
            and sized
    if not ok:
        want = ("z, code (1..8 values) and label if it has classes, or z and label (a categorical "
                "code only)" if info.kind == Kind.CODE
                else "image (batch, C, H, W), and label (batch,) with named domains if it "
                     "takes a target domain")
        raise UserError(f"{model.path}: a {info.kind!r} graph with inputs "
                        f"{[(t.name, t.shape) for t in info.inputs]}; the demo expects {want}")


def _unservable(path: Path) -> str | None:
    """Why the demo cannot serve this file (None when it can); bad files raise UserError."""
    info = read_info(path)
    if info.graph != "generator":
        return f"a {info.graph} graph, not a generator"
    if info.kind not in KINDS:
        return f"kind {info.kind!r} has no demo UI yet (supported: {', '.join(KINDS)})"
    return None


def model_card(model: DemoModel) -> dict[str, Any]:
    """What the model card panel and the ``model_card`` API show: the file's metadata, as JSON."""
    info = model.info
    return {
        "name": model.name, "file": model.path.name, "sha256": model.sha256,
        "family": info.family, "kind": info.kind, "kind_label": KINDS[info.kind].label,
        "image_shape": list(info.image_shape), "latent_dim": info.latent_dim,
        "num_classes": info.num_classes, "class_names": list(info.class_names),
        "domains": model.domains, "code_dim": model.code_dim, "input_shape": list(info.inputs[0].shape[1:]),
        "parity_max_abs_error": info.parity_max_abs_error,
        "parity_batch_sizes": list(info.parity_batch_sizes), "opset": info.opset,
        "run": info.run, "step": info.step, "gansrv_version": info.version,
        "data_fingerprint": info.data_fingerprint, "provider": model.loaded.provider,
        # family-specific and recorded metrics keys (gansrv.* keys outside the required set)
        "metrics": dict(info.extra), "config": dict(info.config),
    }


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as the page shows it (the API returns the dict itself)."""
    c, h, w = card["image_shape"]
    classes = ", ".join(card["class_names"]) if card["num_classes"] else "none (unconditional)"
    rows = [("family", f"{card['family']} ({card['kind_label']})"), ("image", f"{h}×{w}, {c} channel(s)"),
            ("latent size", card["latent_dim"]),
            ("domains", ", ".join(card["domains"])) if card.get("domains") else ("classes", classes),
            ("parity error", f"{card['parity_max_abs_error']:.3g} (max abs, onnxruntime vs torch, "
                             f"batch {', '.join(map(str, card['parity_batch_sizes']))})"),
            ("run", f"{card['run'] or '-'} step {card['step'] if card['step'] is not None else '-'}"),
            ("opset", card["opset"]),
            ("exported by", f"gansrv {card['gansrv_version']}"), ("data", card["data_fingerprint"]),
            ("provider", card["provider"]), ("sha256", f"`{card['sha256'][:16]}…`")]
    rows += [(f"metric {k}", v) for k, v in sorted(card["metrics"].items())] or [("metrics", "none recorded")]
    lines = [f"### {card['name']}", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows]
    return "\n".join(lines)
