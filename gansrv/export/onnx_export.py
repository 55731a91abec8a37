"""torch -> ONNX for a run's graphs: one self-contained, parity-checked file per graph.

Each graph is exported from an eval-mode deep copy with its weight parametrizations folded in, by
the dynamo exporter with a dynamic batch axis; the program's metadata is set before ``save`` (the
``model_proto`` property returns a copy, so metadata set there would be lost) and saved with
``external_data=False`` (else the weights land in a ``.onnx.data`` sidecar). Every file is written
to a temporary path, checked (onnx.checker, no random ops, ORT-vs-torch parity) and renamed into
place only when every graph of the export has passed: a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansrv.atomic import atomic_path
from gansrv.errors import UserError
from gansrv.export import examples, parity
from gansrv.export.metadata import build_info
from gansrv.family import ExportSpec
from gansrv.runtime.metadata import MAX_SIDE
from gansrv.train.load import LoadedRun, load_run

DEFAULT_OPSET = 20
OPSETS = (18, 23)  # the dynamo exporter's native range in torch 2.13 (lower needs a converter)
DEFAULT_TOLERANCE = 1e-4
MAX_BATCH = 1 << 20
RANDOM_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
              "Bernoulli", "Dropout"}


class ExportError(UserError):
    """The export itself failed (exporter error, random ops, parity): a bug, not bad input (exit 1)."""

    exit_code = 1


@dataclass
class Exported:
    """One written file: which graph, where, and how far onnxruntime was from torch."""

    graph: str
    path: Path
    parity: float
    quality: Any = None  # a reduced-precision generator: gansrv.export.quality.Quality


def graph_paths(out: Path, specs: list[ExportSpec]) -> dict[str, Path]:
    """The first graph (the generator) goes to `out`; graph G to ``<stem>.<G>.onnx`` beside it."""
    return {s.name: out if i == 0 else out.with_name(f"{out.stem}.{s.name}.onnx")
            for i, s in enumerate(specs)}


def select(specs: list[ExportSpec], with_discriminator: bool) -> list[ExportSpec]:
    """The generator always; ``discriminator`` only on request; any other graph a family lists."""
    if not specs:
        raise UserError("the family exports no graphs")
    chosen = [s for i, s in enumerate(specs) if i == 0 or s.name != "discriminator" or with_discriminator]
    if with_discriminator and not any(s.name == "discriminator" for s in chosen):
        raise UserError("--with-discriminator: this family does not export a discriminator graph")
    return chosen


def export_run(run_dir: str | Path, out: str | Path | None = None, opset: int = DEFAULT_OPSET,
               with_discriminator: bool = False, tolerance: float = DEFAULT_TOLERANCE,
               rewrite: bool = True, precision: str = "fp32", judge: Any = None,
               subpixel: bool | None = None) -> list[Exported]:
    """Export a run's graphs; all files appear together, or none (on any error).

    ``rewrite=False`` skips the exact speed rewrites (gansrv.export.rewrite), for comparing them.
    ``precision`` int8 or fp16 applies to the generator (the first graph) only, judged by
    ``judge`` (a :class:`gansrv.export.quality.Judge`); other graphs stay fp32. ``subpixel``
    (default: for int8 only) rewrites the generator's strided ConvTransposes (exact, parity-checked).
    """
    from gansrv.export.quality import Judge, real_split
    from gansrv.export.quantize import PRECISIONS, reduce

    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else Path("exported") / f"{run_dir.resolve().name}.onnx"
    if out.suffix != ".onnx" or out.is_dir():
        raise UserError(f"-o {out}: the output must be a file name ending in .onnx")
    if not OPSETS[0] <= opset <= OPSETS[1]:
        raise UserError(f"--opset must be between {OPSETS[0]} and {OPSETS[1]}, got {opset}")
    if not (tolerance >= 0 and math.isfinite(tolerance)):
        raise UserError(f"--tolerance must be a finite number >= 0, got {tolerance}")
    judge = judge or Judge()
    split = real_split(judge) if precision != "fp32" else None  # bad --data fails before any work
    run = load_run(run_dir)
    graphs = run.family.export_graphs(run.modules, run.config, run.spec)
    specs = [examples.resolve(s, run) for s in select(graphs, with_discriminator)]
    paths = graph_paths(out, specs)
    made_dir = not out.parent.exists()
    done: list[Exported] = []
    try:
        with contextlib.ExitStack() as stack:
            for i, spec in enumerate(specs):
                tmp = stack.enter_context(atomic_path(paths[spec.name]))
                reduced = precision if i == 0 else "fp32"
                sub = (reduced == "int8" if subpixel is None else subpixel) and i == 0
                err = export_graph(run, spec, tmp, opset, tolerance, rewrite, sub)
                done.append(Exported(spec.name, paths[spec.name], err))
                if reduced != "fp32":
                    done[-1].quality = reduce(tmp, reduced, judge, split)
    except BaseException:
        if made_dir:
            with contextlib.suppress(OSError):
                out.parent.rmdir()
        raise
    return done


def export_graph(run: LoadedRun, spec: ExportSpec, path: Path, opset: int, tolerance: float,
                 rewrite: bool = True, subpixel: bool = False) -> float:
    """Write one graph to `path` with its metadata; return its parity error (raise above tolerance).

    ``subpixel`` rewrites strided ConvTranspose as Conv + PixelShuffle (for int8; still fp32 here).
    """
    import onnx

    spec = examples.resolve(spec, run)
    reference = copy.deepcopy(spec.module).eval()
    example_out = dict(zip(spec.outputs, parity.torch_outputs(reference, _numpy(spec.inputs))))
    info = build_info(run, spec, _as_tensors(example_out), opset)
    fixed_size = rewrite and not spec.size_multiple
    prog = export_program(prepare(spec.module, spec.inputs if fixed_size else None, subpixel), spec,
                          opset)
    _set_metadata(prog, info.to_props())
    prog.save(str(path), external_data=False)
    onnx.checker.check_model(str(path), full_check=True)
    _refuse_random_ops(onnx.load(str(path)), spec.name)
    sizes = parity.check_sizes(spec)
    labels = run.spec.num_classes if spec.class_names is None else len(spec.class_names)
    err = parity.max_abs_error(path, reference, spec, labels, sizes=sizes)
    where = f"batch sizes {', '.join(map(str, parity.BATCH_SIZES))}"
    if len(sizes) > 1:
        where += f" at {' and '.join(f'{h}x{w}' for h, w in sizes)}"
    if not err <= tolerance:
        raise ExportError(f"{spec.name}: onnxruntime differs from torch by {err:.3g} (max abs, "
                          f"{where}), above --tolerance {tolerance:g}; nothing written")
    info.parity_max_abs_error, info.parity_batch_sizes = err, list(parity.BATCH_SIZES)
    if len(sizes) > 1:
        info.extra["parity_sizes"] = json.dumps([list(s) for s in sizes])
    _set_metadata(prog, info.to_props())
    prog.save(str(path), external_data=False)
    return err


def prepare(module: Any, inputs: dict[str, Any] | None = None, subpixel: bool = False) -> Any:
    """An eval-mode deep copy with spectral/weight-norm parametrizations folded into plain weights;
    with example ``inputs`` (graphs of fixed size only) also the exact rewrites of
    :mod:`gansrv.export.rewrite`; with ``subpixel`` those of :mod:`gansrv.export.subpixel` (the
    sub-pixel layers, and their shuffles folded where that pays)."""
    from torch.nn.utils import parametrize

    from gansrv.export.rewrite import point_convtransposes

    m = copy.deepcopy(module).eval()
    for sub in list(m.modules()):
        if parametrize.is_parametrized(sub):
            _own_class(sub)
            for name in list(sub.parametrizations.keys()):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
        _remove_legacy_norm_hooks(sub)
    if inputs is not None:
        point_convtransposes(m, inputs)
    if subpixel:
        from gansrv.export.subpixel import fold_shuffles, subpixel_convtransposes

        subpixel_convtransposes(m)
        fold_shuffles(m)
    return m


def _own_class(sub: Any) -> None:
    """Give a deep-copied parametrized module its own class before removing parametrizations.

    A deep copy shares the dynamically created ``Parametrized<Module>`` class with the original, and
    ``remove_parametrizations`` deletes the parametrized property from that class: without this,
    exporting would break the original module (its ``weight`` vanishes).
    """
    cls = sub.__class__
    ns = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
    sub.__class__ = type(cls.__name__, cls.__bases__, ns)


def _remove_legacy_norm_hooks(sub: Any) -> None:
    """The pre-parametrization ``spectral_norm``/``weight_norm`` live as forward pre-hooks."""
    from torch.nn.utils import remove_spectral_norm, remove_weight_norm
    from torch.nn.utils.spectral_norm import SpectralNorm
    from torch.nn.utils.weight_norm import WeightNorm

    for hook in list(sub._forward_pre_hooks.values()):
        if isinstance(hook, SpectralNorm):
            remove_spectral_norm(sub, hook.name)
        elif isinstance(hook, WeightNorm):
            remove_weight_norm(sub, hook.name)


def export_program(module: Any, spec: ExportSpec, opset: int) -> Any:
    """The dynamo exporter with a dynamic batch axis on every input, torch's chatter silenced."""
    import torch

    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    args = tuple(_traceable(a, spec.size_multiple) for a in spec.inputs.values())
    dims = tuple(_dynamic_axes(batch, a.dim(), spec.size_multiple) for a in args)
    quiet = logging.getLogger("torch.onnx"), logging.getLogger("torch.export")
    levels = [lg.level for lg in quiet]
    try:
        for lg in quiet:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.onnx.export(
                module, args, dynamo=True, verbose=False, opset_version=opset,
                dynamic_shapes=dims, input_names=list(spec.inputs),
                output_names=list(spec.outputs))
    except Exception as exc:
        raise ExportError(f"{spec.name}: torch.onnx.export failed ({type(exc).__name__}: "
                        f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from None
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


def _traceable(example: Any, multiple: int) -> Any:
    """An example image at least two multiples high and wide: the tracer specialises a dynamic axis
    whose example value is 1 (here: one block) to a constant."""
    import torch

    if not multiple or example.dim() != 4 or min(example.shape[2:]) >= 2 * multiple:
        return example
    n, c, h, w = example.shape
    return torch.rand(n, c, max(h, 2 * multiple), max(w, 2 * multiple), dtype=example.dtype) * 2 - 1


def _dynamic_axes(batch: Any, ndim: int, multiple: int) -> dict[int, Any]:
    """Batch always; height and width of image inputs too when the graph takes any multiple."""
    import torch

    if not multiple or ndim != 4:
        return {0: batch}
    top = MAX_SIDE // multiple
    h = torch.export.Dim("height_blocks", min=1, max=top)
    w = torch.export.Dim("width_blocks", min=1, max=top)
    return {0: batch, 2: h * multiple if multiple > 1 else h, 3: w * multiple if multiple > 1 else w}


def _set_metadata(prog: Any, props: dict[str, str]) -> None:
    for key, value in props.items():
        prog.model.metadata_props[key] = value


def _refuse_random_ops(proto: Any, graph: str) -> None:
    """Noise, labels and codes are inputs: a random op in the graph would break determinism."""
    nodes = list(proto.graph.node) + [n for f in proto.functions for n in f.node]
    found = sorted({n.op_type for n in nodes if n.op_type in RANDOM_OPS})
    if found:
        raise ExportError(f"{graph}: the exported graph contains random ops ({', '.join(found)}); "
                        f"noise must be an input and the module in eval mode")


def _numpy(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v.detach().cpu().numpy() for k, v in inputs.items()}


def _as_tensors(outputs: dict[str, Any]) -> dict[str, Any]:
    import torch

    return {k: torch.from_numpy(v) for k, v in outputs.items()}
