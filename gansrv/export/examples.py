"""Example inputs built from the input vocabulary, so that families name their graphs' inputs
(``ExportSpec("generator", G, ("z", "label"))``) instead of writing example tensors.

The exporter traces a graph on these tensors and checks parity on them; the first axis is the batch
axis (made dynamic). Values are drawn from a fixed seed, so an export is repeatable:

- ``z``: standard normal, (batch, latent_dim);
- ``label``: 0, 1, ... modulo the number of label values (int64, what the runtime feeds);
- ``code``: uniform on [-1, 1], (batch, codes) (the shape is the family's: ``shapes["code"]``);
- ``image`` and ``target``: uniform on [-1, 1], (batch, C, H, W): the data's channels (a pair's
  target channels for ``target``) at the family's training side, unless ``shapes`` says otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from gansrv.errors import UserError
from gansrv.family import ExportSpec

BATCH = 2
SEED = 0
VOCABULARY = ("z", "label", "code", "image", "target")


def shape_of(name: str, spec: ExportSpec, run: Any) -> tuple[int, ...]:
    """One input's shape without the batch axis: the spec's ``shapes`` or the vocabulary's rule."""
    if name in spec.shapes:
        return tuple(spec.shapes[name])
    family, config, data = run.family, run.config, run.spec
    if name == "z":
        return (int(family.latent_dim(config)),)
    if name in ("image", "target"):
        side = family.image_size(config) or data.size
        channels = data.target_channels or data.channels if name == "target" else data.channels
        return (channels, side, side)
    raise UserError(f"{family.name}: graph {spec.name!r} takes {name!r}, whose shape the exporter "
                    f"cannot infer; give it in ExportSpec.shapes")


def example_inputs(spec: ExportSpec, run: Any) -> dict[str, torch.Tensor]:
    """The example tensors of a spec whose ``inputs`` are names, in the order given."""
    gen = torch.Generator().manual_seed(SEED)
    classes = len(spec.class_names) if spec.class_names is not None else run.spec.num_classes
    out: dict[str, torch.Tensor] = {}
    for name in spec.inputs:
        if name not in VOCABULARY:
            raise UserError(f"{run.family.name}: graph {spec.name!r} input {name!r} is not one of "
                            f"{', '.join(VOCABULARY)}; pass example tensors for it")
        if name == "label":
            out[name] = torch.arange(BATCH) % max(classes, 1)
            continue
        shape = (BATCH, *shape_of(name, spec, run))
        if name == "z":
            out[name] = torch.randn(shape, generator=gen)
        else:
            out[name] = torch.rand(shape, generator=gen) * 2 - 1
    return out


def resolve(spec: ExportSpec, run: Any) -> ExportSpec:
    """The spec with example tensors: unchanged when it already has them."""
    if isinstance(spec.inputs, dict):
        return spec
    return dataclasses.replace(spec, inputs=example_inputs(spec, run))
