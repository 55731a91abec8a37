"""``gansrv export`` (torch -> ONNX) and ``gansrv info`` (what an exported file holds).

``info`` goes through gansrv.runtime only, so it works on a serving machine without torch; both
import their heavy modules inside the command body to keep ``gansrv --help`` fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gansrv.cli.options import provider_option
from gansrv.kinds import Kind


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--onnx", "to_onnx", is_flag=True, default=True,
              help="Export to ONNX (the only format, so the default).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Generator file (default exported/<run-dir-name>.onnx); other graphs are written "
                   "beside it as <stem>.<graph>.onnx.")
@click.option("--opset", type=int, default=None, help="ONNX opset (18..23, default 20).")
@click.option("--with-discriminator", is_flag=True, help="Also export the discriminator graph.")
@click.option("--tolerance", type=float, default=None,
              help="Largest max-abs onnxruntime-vs-torch error accepted (default 1e-4).")
@click.option("--precision", type=click.Choice(["fp32", "int8", "fp16"]), default="fp32",
              show_default=True,
              help="Generator precision: int8 (CPU, static quantization calibrated on seeded inputs) "
                   "or fp16 (CUDA), judged by quality against the parity-checked fp32 graph.")
@click.option("--data", "data", multiple=True,
              help="int8/fp16: real labelled images (as for eval) whose cached evaluator measures the "
                   "FID between fp32 and reduced-precision images.")
@click.option("--train-limit", type=click.IntRange(min=1), default=None,
              help="int8/fp16 with --data: the first N images train the evaluator (MNIST: 8000).")
@click.option("--max-fid-delta", type=click.FloatRange(min=0), default=None,
              help="int8/fp16 with --data: largest FID between fp32 and reduced-precision images "
                   "(1000 images, seed 0) accepted (default 0.5).")
@click.option("--max-pixel-error", type=click.FloatRange(min=0), default=None,
              help="int8/fp16: largest mean |fp32 - reduced| pixel difference accepted, in levels of "
                   "255 (default 4.0).")
def export(run_dir: Path, to_onnx: bool, out: Path | None, opset: int | None,
           with_discriminator: bool, tolerance: float | None, precision: str, data: tuple[str, ...],
           train_limit: int | None, max_fid_delta: float | None, max_pixel_error: float | None) -> None:
    """Export a trained run to a self-contained, parity-checked ONNX file.

    The batch axis is dynamic; noise and labels are inputs. Parity with torch is measured on fresh
    random inputs at batch 1 and 7; above the tolerance nothing is written (exit 1). With
    --precision int8 or fp16 the generator is then converted and judged by quality: fp32 and reduced
    graphs make the same (seed, index) images, their mean/max pixel difference (and FID, with
    --data) go into the metadata, and above the thresholds nothing is written (exit 1).
    """
    from gansrv.extras import require

    if precision == "fp32" and (data or train_limit or max_fid_delta is not None
                                or max_pixel_error is not None):
        raise click.UsageError("--data, --train-limit, --max-fid-delta and --max-pixel-error judge "
                               "--precision int8 or fp16 only")
    if max_fid_delta is not None and not data:
        raise click.UsageError("--max-fid-delta needs --data (the FID is measured with its evaluator)")
    require("train", "serve", what="gansrv export")
    from gansrv.export import DEFAULT_OPSET, DEFAULT_TOLERANCE, export_run
    from gansrv.export.quality import DEFAULT_MAX_FID_DELTA, DEFAULT_MAX_PIXEL_ERROR, Judge

    judge = Judge(data, train_limit, DEFAULT_MAX_FID_DELTA if max_fid_delta is None else max_fid_delta,
                  DEFAULT_MAX_PIXEL_ERROR if max_pixel_error is None else max_pixel_error)
    done = export_run(run_dir, out, DEFAULT_OPSET if opset is None else opset, with_discriminator,
                      DEFAULT_TOLERANCE if tolerance is None else tolerance, precision=precision,
                      judge=judge)
    for item in done:
        click.echo(f"{item.graph}: {item.path}  (parity max abs error {item.parity:.3g})")
        if item.quality is not None:
            click.echo(f"  {precision}: {_loss(item.quality.to_props())}")


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@provider_option("onnxruntime provider: auto takes CUDA only if a session really gets it.")
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
def info(model: Path, provider: str, as_json: bool) -> None:
    """Show an exported model: metadata, inputs/outputs with shapes, parity error, provider in use."""
    from gansrv.extras import require
    from gansrv.metrics.record import summary as metrics_summary
    from gansrv.runtime import load

    require("serve", what="gansrv info")
    loaded = load(model, provider)
    meta = loaded.info
    if as_json:
        props = {k.removeprefix("gansrv."): v for k, v in meta.to_props().items()}
        click.echo(json.dumps({"metadata": props, "provider": loaded.provider}, indent=2))
        return
    rows = [("file", str(model)), ("family", f"{meta.family} ({meta.kind})"), ("graph", meta.graph),
            ("gansrv", meta.version), ("run", f"{meta.run} step {meta.step}"),
            ("latent size", str(meta.latent_dim)), _classes_row(meta),
            ("image", "x".join(map(str, meta.image_shape)) + f" (C x H x W), {meta.channels} channel(s)"
             + (f"; any H and W that are multiples of {meta.size_multiple}" if meta.size_multiple
                else "")),
            ("output range", str(list(meta.output_range)) if meta.output_range else "-"),
            ("opset", str(meta.opset)),
            ("parity", f"max abs error {meta.parity_max_abs_error:.3g} at batch sizes "
                       f"{', '.join(map(str, meta.parity_batch_sizes))}"
                       + (" (of the fp32 graph)" if "precision" in meta.extra else "")),
            ("precision", meta.extra.get("precision", "fp32")),
            ("data", meta.data_fingerprint), ("provider", loaded.provider)]
    if "input_range" in meta.extra:  # a classifier graph: the pixel values its image input takes
        rows.insert(-5, ("input range", meta.extra["input_range"]))
    if "labelled" in meta.extra:  # a semi-supervised run: how many labels it trained with
        rows.insert(-2, ("labels", f"{meta.extra['labelled']} known (label seed "
                                   f"{meta.extra.get('label_seed', '-')})"))
    if "mean_pixel_error" in meta.extra:  # a reduced-precision file: what it changed at export
        rows.insert(-2, ("quality loss", _loss(meta.extra)))
    recorded = metrics_summary(meta.extra)
    if recorded:
        rows.insert(-1, ("metrics", recorded))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")
    for title, tensors in (("inputs", loaded.session.get_inputs()),
                           ("outputs", loaded.session.get_outputs())):
        described = {t.name: t for t in (meta.inputs if title == "inputs" else meta.outputs)}
        click.echo(f"{title}:")
        for t in tensors:
            what = described[t.name].meaning if t.name in described else ""
            click.echo(f"  {t.name}  {t.type}  {list(t.shape)}  {what}".rstrip())


def _classes_row(meta) -> tuple[str, str]:
    """``classes``, or ``domains`` for an image -> image model that takes a target domain (the
    names ``gansrv translate --to`` accepts)."""
    if meta.kind == Kind.IMAGE and "label" in meta.input_names():
        return "domains", _classes(meta) + " (translate --to DOMAIN or --to all)"
    return "classes", _classes(meta)


def _classes(meta) -> str:
    if not meta.num_classes:
        return "0 (unconditional)"
    names = ", ".join(meta.class_names[:20]) + (", ..." if len(meta.class_names) > 20 else "")
    return f"{meta.num_classes}: {names}"


def _loss(values: dict) -> str:
    """The measured loss of a reduced-precision export, from its metadata (Quality.to_props keys)."""
    text = (f"mean pixel error {float(values['mean_pixel_error']):.3f}, max "
            f"{float(values['max_pixel_error']):.0f} (levels of 255) on {values['quality_images']} "
            f"images of seed {values['quality_seed']} vs fp32")
    fid = values.get("fid_vs_fp32")
    return text + (f"; FID vs fp32 {float(fid):.3f}" if fid is not None else "; FID not measured (no --data)")
