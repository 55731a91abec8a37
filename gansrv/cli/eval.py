"""``gansrv eval``: offline quality figures of an exported generator against held-out real images.

Generation goes through gansrv.runtime; with a cached evaluator, ``--metrics fid,kid,pr,class-acc``
runs without importing torch (training the evaluator the first time, CAS and the augmentation gain
need it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gansrv.cli.filter_options import filter_options
from gansrv.cli.options import provider_option

# (key, label, reference key, format, meaning) of each row of the table on screen
ROWS = (
    ("fid", "FID", "real_fid", ".3f", "Frechet distance of evaluator features (lower is better)"),
    ("kid", "KID", "real_kid", ".5f", "kernel distance, unbiased in n (lower is better)"),
    ("precision", "precision", "real_precision", ".3f", "share of samples on the real manifold"),
    ("recall", "recall", "real_recall", ".3f", "share of real images on the samples' manifold"),
    ("class_accuracy", "class-acc", "evaluator_accuracy", ".3f",
     "evaluator reads the class asked for (ref: on real)"),
    ("cas", "CAS", "cas_ceiling", ".3f", "classifier trained on samples, tested on real"),
    ("aug_gain", "aug gain", "aug_real_accuracy", "+.4f",
     "accuracy gain of real+samples over real alone (ref: real alone)"),
    ("code_purity", "code purity", "real_code_purity", ".3f",
     "code models: share of a code value's samples in its top class (ref: real by class)"),
    ("code_nmi", "code NMI", "real_code_nmi", ".3f",
     "code models: normalized mutual information of code value and class read"),
)


@click.command("eval")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data", "data", multiple=True, required=True,
              help="Real labelled images (as for train: named, folder, IDX, npz, or IMAGES LABELS).")
@click.option("--train-limit", type=click.IntRange(min=1), default=None,
              help="The first N images of --data train the evaluator; the rest are held out "
                   "(MNIST's canonical split: 8000). With --test-data: use only the first N for training.")
@click.option("--test-data", "test_data", multiple=True,
              help="Held-out images from another source (e.g. mnist:test); then --data is all training.")
@click.option("--test-limit", type=click.IntRange(min=1), default=None,
              help="Use only the first M held-out images.")
@click.option("--resize", is_flag=True,
              help="Resize the real images to the model's size (else a size mismatch is an error).")
@click.option("--n", "n", type=click.IntRange(2, 50_000), default=2000, show_default=True,
              help="Images to generate (image i is class i mod K for conditional models).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Noise seed of the generated images.")
@click.option("--metrics", "metrics", default="all", show_default=True,
              help="Comma list of fid, kid, pr, class-acc, cas, aug (or all). cas and aug need torch. "
                   "A classifier graph is scored by its held-out accuracy (accuracy).")
@click.option("--k", type=click.IntRange(1, 100), default=3, show_default=True,
              help="Neighbours of the precision/recall manifolds.")
@click.option("--classifier-epochs", type=click.IntRange(1, 100), default=8, show_default=True,
              help="Epochs of the evaluator and CAS/aug classifiers (part of the evaluator cache key).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=256, show_default=True,
              help="Generation batch size (never changes the images).")
@provider_option("onnxruntime provider of the generator.")
@click.option("--real-limit", type=click.IntRange(min=1), default=None,
              help="aug: the classifiers see only the first N real training images (the low-data "
                   "protocol: real alone vs real + generated at an equal step budget).")
@click.option("--mix", type=click.FloatRange(0.0, 1.0), default=None,
              help="aug: share of generated images in every batch (low-data protocol; default there: "
                   "the generated set's share of the union, i.e. concatenated). README: which to use.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every figure to this JSON file (atomically).")
@click.option("--record", is_flag=True,
              help="Store the figures in the model's metadata (gansrv info shows them).")
@filter_options
def eval_command(model: Path, data: tuple[str, ...], train_limit: int | None, test_data: tuple[str, ...],
                 test_limit: int | None, resize: bool, n: int, seed: int, metrics: str, k: int,
                 classifier_epochs: int, batch_size: int, provider: str, real_limit: int | None,
                 mix: float | None, json_out: Path | None, record: bool, sample_filter=None) -> None:
    """Score an exported generator against held-out real images: FID, KID, precision/recall,
    class accuracy, CAS and augmentation gain, each beside its real-data reference.

    The evaluator is a small CNN trained on the training split (cached by its fingerprint, no
    downloads); every figure is measured on the held-out split, which must be named with
    --train-limit or --test-data. Given a classifier graph (<name>.classifier.onnx) instead, it
    scores that classifier's accuracy on the held-out split (the generator options do not apply).
    """
    from dataclasses import replace

    from gansrv import atomic
    from gansrv.errors import UserError
    from gansrv.extras import require

    require("serve", what="gansrv eval")
    from gansrv.runtime import read_info

    if read_info(model).kind == "classifier":
        if sample_filter is not None:
            raise UserError("--filter filters a generator's samples; this is a classifier graph")
        _eval_classifier(model, data, train_limit, test_data, test_limit, resize, metrics,
                         batch_size, provider, json_out, record)
        return
    from gansrv.metrics.evaluate import Options, evaluate, parse_metrics
    from gansrv.metrics.recipe import Recipe
    from gansrv.metrics.split import fit_to, load_split
    from gansrv.runtime import Generator

    wanted = parse_metrics(metrics)
    gen = Generator.from_file(model, provider)
    split = fit_to(load_split(data, train_limit, test_data, test_limit), gen.info.image_shape, resize)
    opts = Options(n=n, seed=seed, metrics=wanted, k=k, batch_size=batch_size,
                   recipe=replace(Recipe(), epochs=classifier_epochs), real_limit=real_limit, mix=mix,
                   sample_filter=sample_filter)
    figures = evaluate(gen, split, opts, lambda msg: click.echo(msg, err=True))
    _print_table(figures)
    if json_out is not None:
        atomic.write_json(json_out, figures)
    if record:
        from gansrv.metrics.record import record as record_figures

        record_figures(model, figures)
        click.echo(f"recorded in {model} (gansrv info shows them)", err=True)


def _print_table(f: dict[str, Any]) -> None:
    click.echo(f"{f['model']} ({f['family']}): {f['n']} generated (seed {f['seed']}) vs "
               f"{f['held_out_images']} held-out images; evaluator trained on {f['train_images']}, "
               f"{f['evaluator_accuracy']:.2%} on held-out")
    if "filter" in f:
        r = f["filter_result"]
        click.echo(f"filter {f['filter']['kind']} ({f['filter']['model']}): kept {r['kept']} of "
                   f"{r['candidates']} candidates ({r['acceptance_rate']:.2%})")
    rows = [("metric", "model", "real data", "meaning")]
    for key, label, ref, fmt, meaning in ROWS:
        if key in f:
            rows.append((label, format(f[key], fmt), format(f[ref], fmt.lstrip("+")) if ref in f else "-",
                         meaning))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, r in enumerate(rows):
        click.echo("  ".join([r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].rjust(widths[2]), r[3]]))
        if i == 0:
            click.echo("  ".join("-" * w for w in [*widths, len("meaning")]))


def _eval_classifier(model: Path, data: tuple[str, ...], train_limit: int | None,
                     test_data: tuple[str, ...], test_limit: int | None, resize: bool, metrics: str,
                     batch_size: int, provider: str, json_out: Path | None, record: bool) -> None:
    """A classifier graph's held-out accuracy (gansrv.metrics.held_out), through onnxruntime."""
    from gansrv import atomic
    from gansrv.errors import UserError
    from gansrv.metrics.held_out import print_lines, score_classifier
    from gansrv.metrics.split import fit_to, load_split
    from gansrv.runtime import Classifier

    if metrics not in ("all", "accuracy"):
        raise UserError(f"--metrics {metrics}: {model} is a classifier graph, scored by its "
                        f"held-out accuracy only (--metrics accuracy)")
    clf = Classifier.from_file(model, provider)
    split = fit_to(load_split(data, train_limit, test_data, test_limit), clf.info.image_shape, resize)
    figures = score_classifier(clf, split, batch_size)
    for line in print_lines(figures):
        click.echo(line)
    if json_out is not None:
        atomic.write_json(json_out, figures)
    if record:
        from gansrv.metrics.record import record as record_figures

        record_figures(model, figures)
        click.echo(f"recorded in {model} (gansrv info shows them)", err=True)
