"""Build the :class:`~gansrv.runtime.metadata.ModelInfo` of one exported graph from its run.

The parser lives in ``gansrv.runtime.metadata`` (no torch); this side only fills the dataclass from
what the run directory knows, so the two can never disagree on keys or encodings.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from gansrv import __version__
from gansrv.family import ExportSpec
from gansrv.kinds import Kind
from gansrv.runtime.metadata import ModelInfo, TensorInfo
from gansrv.train.load import LoadedRun

IMAGE_RANGE = (-1.0, 1.0)
IMAGE_OUTPUTS = ("image", "translated")


def meaning(name: str, latent_dim: int, num_classes: int) -> str:
    """What an input or output named `name` holds, in words a runtime user can act on."""
    return {
        "z": f"noise: float32 (batch, {latent_dim}), standard normal",
        "label": f"class index: int64 (batch,), 0..{num_classes - 1}",
        "code": "latent code: float32 (batch, codes)",
        "image": "image: float32 (batch, C, H, W), values in [-1, 1]",
        "translated": "translated image: float32 (batch, C, H, W), values in [-1, 1]",
        "target": "target image of the pair: float32 (batch, C, H, W), values in [-1, 1]",
        "logit": "discriminator logit: float32 (batch,), > 0 means judged real",
        "class_logits": f"class logits: float32 (batch, {num_classes}), softmax gives P(class | image)",
        "logits": f"class logits: float32 (batch, {num_classes})",
        "probs": f"class probabilities: float32 (batch, {num_classes}), softmax of logits",
        "energy": "reconstruction energy: float32 (batch,), lower means judged more real",
        "reconstruction": "the autoencoder's reconstruction: float32 (batch, C, H, W), unbounded",
        "patch_logits": "PatchGAN logits: float32 (batch, 1, h, w), one per image patch, > 0 means "
                        "judged real",
    }.get(name, name)


def tensor_info(name: str, value: Any, latent_dim: int, num_classes: int,
                size_multiple: int = 0) -> TensorInfo:
    """Shape with the dynamic axes by name: ``batch``, and ``height``/``width`` when they are."""
    dtype = str(value.dtype).removeprefix("torch.")
    shape: list[Any] = ["batch", *[int(s) for s in value.shape[1:]]]
    if size_multiple and len(shape) == 4:
        shape[2:] = ["height", "width"]
    return TensorInfo(name, dtype, shape, meaning(name, latent_dim, num_classes))


def build_info(run: LoadedRun, spec: ExportSpec, outputs: dict[str, Any], opset: int) -> ModelInfo:
    """Metadata for `spec`; `outputs` are torch's outputs on the example inputs (for shapes)."""
    takes_noise = run.family.takes_noise(run.config)
    latent = int(run.family.latent_dim(run.config)) if takes_noise else 0  # 0: no z (metadata)
    # Classes belong in the metadata of models that take or predict a label; an unconditional model
    # trained on labelled data knows nothing of them.
    kind = Kind(spec.kind or run.family.kind_for(run.config)).value
    classifier = kind == Kind.CLASSIFIER
    latent = 0 if classifier else latent
    conditional = "label" in spec.inputs or kind == Kind.CONDITIONAL or classifier
    names = list(run.spec.class_names) if conditional else []
    if spec.class_names is not None:  # label values of the family's own (e.g. a categorical code)
        names = list(spec.class_names)
    k = len(names) if spec.class_names is not None else (run.spec.num_classes if conditional else 0)
    m = spec.size_multiple
    ins = [tensor_info(n, v, latent, k, m) for n, v in spec.inputs.items()]
    if kind == Kind.IMAGE and "label" in spec.inputs:  # a multi-domain image -> image graph
        ins = [replace(t, meaning=f"target domain index: int64 (batch,), 0..{k - 1} (class_names "
                                  f"name the domains)") if t.name == "label" else t for t in ins]
    outs = [tensor_info(n, v, latent, k, m) for n, v in outputs.items()]
    # ONNX names are single-assignment: an image -> image graph outputs ``translated``.
    out_name = next((n for n in IMAGE_OUTPUTS if n in outputs), None)
    image = outputs[out_name] if out_name else spec.inputs.get("image")
    shape = tuple(int(s) for s in image.shape[1:]) if image is not None else (run.spec.channels, 0, 0)
    return ModelInfo(
        version=__version__, family=run.family.name, kind=kind, graph=spec.name,
        inputs=ins, outputs=outs, latent_dim=latent, num_classes=k,
        class_names=names, image_shape=shape, channels=shape[0],
        output_range=IMAGE_RANGE if out_name else None, opset=opset,
        parity_max_abs_error=float("nan"), parity_batch_sizes=[],
        data_fingerprint=run.spec.fingerprint, run=run.checkpoint.parent.parent.name,
        step=run.step, config=asdict(run.config),
        extra={**_semi_supervised(run), **{str(k2): str(v) for k2, v in spec.metadata.items()}},
        size_multiple=m,
    )


def _semi_supervised(run: LoadedRun) -> dict[str, str]:
    """A few-label run's labelled count and label seed (``gansrv info`` shows them)."""
    if not run.spec.labelled_count:
        return {}
    return {"labelled": str(run.spec.labelled_count), "label_seed": str(run.spec.label_seed)}
