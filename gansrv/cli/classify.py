"""``gansrv classify``: label images with an exported classifier (gansrv.runtime, no torch).

The work (collecting and checking inputs, batched inference) is in :mod:`gansrv.generate.classify`;
results go to stdout (one tab-separated line per image) and, with ``--json``, to a file written
atomically.
"""

from __future__ import annotations

from pathlib import Path

import click

from gansrv.cli.options import provider_option


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-r", "--recursive", is_flag=True,
              help="Also classify images in sub-folders (e.g. a generated dataset's class folders).")
@click.option("--min-confidence", type=float, default=0.0, show_default=True,
              help="Keep only images whose predicted class has at least this probability (0..1); "
                   "the others are counted, not listed.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the kept predictions, with every class probability, to this JSON file.")
@click.option("--batch-size", type=int, default=256, show_default=True,
              help="Images per inference call (1..4096).")
@provider_option()
def classify(model: Path, inputs: tuple[Path, ...], recursive: bool, min_confidence: float,
             json_out: Path | None, batch_size: int, provider: str) -> None:
    """Label images with an exported classifier (MODEL: <name>.classifier.onnx, e.g. from acgan;
    stargan's is its domain head).

    INPUTS are image files and folders. Each image is centre-cut to a square and resized to the
    model's size; prints one line per image: file, class name, probability (tab-separated).
    """
    from gansrv import atomic
    from gansrv.errors import UserError
    from gansrv.extras import require

    require("serve", what="gansrv classify")
    from gansrv.generate.classify import check_headers, classify_files, collect
    from gansrv.runtime.classifier import MAX_BATCH, Classifier

    if not 1 <= batch_size <= MAX_BATCH:
        raise UserError(f"--batch-size must be between 1 and {MAX_BATCH}, got {batch_size}")
    if not 0.0 <= min_confidence <= 1.0:
        raise UserError(f"--min-confidence must be between 0 and 1, got {min_confidence}")
    classifier = Classifier.from_file(model, provider)
    paths = collect(inputs, recursive)
    check_headers(paths)
    names = classifier.class_names
    kept, dropped = [], 0
    for path, label, conf, probs in classify_files(classifier, paths, batch_size):
        if conf < min_confidence:
            dropped += 1
            continue
        click.echo(f"{path}\t{names[label]}\t{conf:.4f}")
        kept.append({"file": str(path), "label": int(label), "class_name": names[label],
                     "confidence": round(float(conf), 6),
                     "probs": [round(float(p), 6) for p in probs]})
    if json_out is not None:
        atomic.write_json(json_out, {"model": model.name, "class_names": names,
                                     "min_confidence": min_confidence, "predictions": kept})
    note = f" ({dropped} below --min-confidence {min_confidence:g} left out)" if dropped else ""
    click.echo(f"{len(kept)} of {len(paths)} images classified{note}", err=True)
