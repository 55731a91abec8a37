"""One evaluation: generate through gansrv.runtime, score against the held-out split.

Every figure comes with its real-data reference, measured by the same protocol, because a number
alone says little: FID/KID/precision/recall of ``n`` real training images against the held-out
split, the evaluator's own held-out accuracy beside the class accuracy, and the CAS ceiling (the
CAS classifier trained on ``n`` real images) beside CAS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gansrv.errors import UserError
from gansrv.metrics import clusters, distances
from gansrv.metrics.evaluator import Evaluator, get_evaluator
from gansrv.metrics.recipe import Recipe
from gansrv.metrics.split import Split
from gansrv.runtime import Generator

METRICS = ("fid", "kid", "pr", "class-acc", "cas", "aug")
NEEDS_LABELS = ("class-acc", "cas", "aug")  # need a conditional model: labels to ask for
NEEDS_TORCH = ("cas", "aug")  # train a classifier on generated images every time
MAX_N = 50_000
Log = Callable[[str], None]


@dataclass
class Options:
    n: int = 2000
    seed: int = 0
    metrics: Sequence[str] = METRICS
    k: int = 3
    recipe: Recipe = field(default_factory=Recipe)
    batch_size: int = 256
    # the low-data augmentation protocol (either set): the aug classifiers see only the first
    # real_limit real training images, and a mix share of every batch is generated
    real_limit: int | None = None
    mix: float | None = None
    # keep only the samples a filter accepts (gansrv.generate.filtering.FilterRequest)
    sample_filter: Any = None


def parse_metrics(text: str) -> list[str]:
    """``all`` or a comma list of METRICS, kept in METRICS order."""
    names = {m.strip() for m in text.split(",") if m.strip()}
    if "all" in names:
        return list(METRICS)
    unknown = sorted(names - set(METRICS))
    if unknown or not names:
        raise UserError(f"--metrics: unknown {', '.join(unknown) or '(empty)'}; choose from "
                        f"{', '.join(METRICS)} or all")
    return [m for m in METRICS if m in names]


def check_model(gen: Generator, split: Split, metrics: Sequence[str]) -> tuple[list[str], str | None]:
    """The metrics this model can have, and a note saying why any asked for were dropped."""
    wanted = [m for m in metrics if m in NEEDS_LABELS]
    if not gen.conditional or gen.code_model:  # a code model's label is no class
        rest = [m for m in metrics if m not in NEEDS_LABELS]
        note = (f"{', '.join(wanted)} skipped: {gen.info.family} is unconditional, so its images come "
                f"without labels to check") if wanted else None
        if not rest and not gen.code_model:  # a code model still gets its code figures
            raise UserError(f"{note}; nothing left to compute")
        return rest, note
    if wanted and gen.info.num_classes != split.num_classes:
        raise UserError(f"the model has {gen.info.num_classes} classes, the data "
                        f"{split.num_classes}: class metrics need the same classes")
    return list(metrics), None


def generate(gen: Generator, n: int, seed: int, batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 (n, C, H, W) images and the labels they were asked for (balanced: i mod K)."""
    if not 1 <= n <= MAX_N:
        raise UserError(f"--n must be between 1 and {MAX_N:,}, got {n}")
    labels = gen.labels_for(n, None)
    images = gen.generate(n, seed=seed, batch_size=batch_size).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images), labels


def evaluate(gen: Generator, split: Split, opts: Options, log: Log) -> dict[str, Any]:
    """All requested figures as a flat JSON-ready dict (see :func:`run_metrics`)."""
    metrics, note = check_model(gen, split, opts.metrics)
    if note:
        log(f"note: {note}")
    if min(opts.n, len(split.test)) <= opts.k:
        raise UserError(f"--n ({opts.n}) and the held-out images ({len(split.test)}) must both "
                        f"outnumber --k ({opts.k})")
    _check_low_data(split, opts, metrics)
    evaluator = get_evaluator(split.train, opts.recipe, log)
    filtered: dict[str, Any] = {}
    if opts.sample_filter is not None:
        from gansrv.generate.filtering import sample

        fake, asked, filtered = sample(gen, opts.sample_filter, opts.n, opts.seed, opts.batch_size)
    else:
        fake, asked = generate(gen, opts.n, opts.seed, opts.batch_size)
    out: dict[str, Any] = {
        "model": gen.model.path.name, "family": gen.info.family, "n": opts.n, "seed": opts.seed,
        "train_images": len(split.train), "held_out_images": len(split.test),
        "held_out_fingerprint": split.test.fingerprint(), "metrics": metrics, "skipped": note,
        "evaluator": evaluator.path.name, **filtered,
    }
    if gen.code_model:  # InfoGAN, MAD-GAN: the categorical code is scored as a clustering
        out.update(run_metrics(evaluator, split, fake, None, metrics, opts, log, codes=asked))
    else:
        out.update(run_metrics(evaluator, split, fake, asked, metrics, opts, log))
    return out


def run_metrics(evaluator: Evaluator, split: Split, fake: np.ndarray, asked: np.ndarray | None,
                metrics: Sequence[str], opts: Options, log: Log,
                codes: np.ndarray | None = None) -> dict[str, Any]:
    """The figures of ``fake`` (uint8 NCHW, with the labels ``asked``) against the held-out split.

    Keys: ``evaluator_accuracy``; ``fid``/``kid``/``kid_std``/``precision``/``recall`` and their
    ``real_*`` references; ``class_accuracy``; ``cas``/``cas_ceiling``; ``aug_accuracy``/``aug_gain``;
    with the categorical ``codes`` of a code model, :func:`code_figures`.
    """
    test_pred, test_feat = evaluator.run(split.test.images)
    out: dict[str, Any] = {"evaluator_accuracy": float(np.mean(test_pred == split.test.labels))}
    fake_pred, fake_feat = evaluator.run(fake)
    if codes is not None:
        out.update(code_figures(codes, fake_pred, split.test.labels, test_pred, opts.seed))
    if any(m in metrics for m in ("fid", "kid", "pr")):
        real = split.train.images[:len(fake)]
        _, real_feat = evaluator.run(real)
        out["real_reference_images"] = len(real)
        for prefix, feat in (("", fake_feat), ("real_", real_feat)):
            out.update({prefix + k: v for k, v in _distribution(test_feat, feat, metrics, opts).items()})
    if "class-acc" in metrics:
        out["class_accuracy"] = float(np.mean(fake_pred == asked))
    if "cas" in metrics:
        out.update(_cas(evaluator, split, fake, asked, opts, log))
    if "aug" in metrics and (opts.real_limit is not None or opts.mix is not None):
        out.update(low_data_gain(split, fake, asked, opts, log))
    elif "aug" in metrics:
        aug = _classifier_accuracy(np.concatenate([split.train.images, fake]),
                                   np.concatenate([split.train.labels, asked]), split, opts.recipe, log)
        out["aug_accuracy"], out["aug_gain"] = aug, aug - out["evaluator_accuracy"]
        out["aug_real_accuracy"] = out["evaluator_accuracy"]
    return out


def _check_low_data(split: Split, opts: Options, metrics: Sequence[str]) -> None:
    if opts.real_limit is None and opts.mix is None:
        return
    if "aug" not in metrics:
        raise UserError("--real-limit and --mix set up the aug metric; add aug to --metrics")
    if opts.real_limit is not None and opts.real_limit > len(split.train):
        raise UserError(f"--real-limit {opts.real_limit} is more than the {len(split.train)} "
                        f"training images")


def low_data_gain(split: Split, fake: np.ndarray, asked: np.ndarray, opts: Options, log: Log
                  ) -> dict[str, Any]:
    """The augmentation gain as a user gets it: a classifier on the first ``real_limit`` real
    images alone, and the same classifier for the same number of steps with a ``mix`` share of
    every batch generated (default: the generated images' share of the union, i.e. the two sets
    concatenated). Steps: the recipe's epochs over the union of both sets."""
    from gansrv.metrics import classifier

    limit = len(split.train) if opts.real_limit is None else opts.real_limit
    real = (split.train.images[:limit], split.train.labels[:limit])
    mix = len(fake) / (limit + len(fake)) if opts.mix is None else opts.mix
    bs = opts.recipe.batch_size
    steps = opts.recipe.epochs * -(-(limit + len(fake)) // bs)
    log(f"augmentation: {limit} real images, {mix:.2f} generated per batch, {steps} steps each")
    accuracy = {}
    for name, share in (("real", 0.0), ("aug", mix)):
        model = classifier.train_mixed(real, (fake, asked), share, steps, split.num_classes,
                                       opts.recipe, log)
        accuracy[name] = classifier.accuracy(model, split.test.images, split.test.labels)
    return {"aug_accuracy": accuracy["aug"], "aug_real_accuracy": accuracy["real"],
            "aug_gain": accuracy["aug"] - accuracy["real"], "aug_real_images": limit,
            "aug_mix": mix, "aug_steps": steps}


def code_figures(codes: np.ndarray, fake_pred: np.ndarray, test_labels: np.ndarray,
                 test_pred: np.ndarray, seed: int) -> dict[str, float]:
    """Cluster purity and NMI of the categorical code against the class the evaluator reads.

    References: ``real_*``, the held-out images grouped by their true class (the ceiling: as good as
    the evaluator reads); ``*_chance``, the same codes against the predictions shuffled (a code that
    ignores the digit)."""
    shuffled = np.random.default_rng(seed).permutation(fake_pred)
    return {"code_purity": clusters.purity(codes, fake_pred),
            "code_nmi": clusters.normalized_mutual_information(codes, fake_pred),
            "real_code_purity": clusters.purity(test_labels, test_pred),
            "real_code_nmi": clusters.normalized_mutual_information(test_labels, test_pred),
            "code_purity_chance": clusters.purity(codes, shuffled),
            "code_nmi_chance": clusters.normalized_mutual_information(codes, shuffled)}


def _distribution(test_feat: np.ndarray, feat: np.ndarray, metrics: Sequence[str], opts: Options
                  ) -> dict[str, float]:
    out: dict[str, float] = {}
    if "fid" in metrics:
        out["fid"] = distances.frechet_distance(test_feat, feat)
    if "kid" in metrics:
        out["kid"], out["kid_std"] = distances.kernel_inception_distance(test_feat, feat, opts.seed)
    if "pr" in metrics:
        out["precision"], out["recall"] = distances.precision_recall(test_feat, feat, opts.k)
    return out


def _cas(evaluator: Evaluator, split: Split, fake: np.ndarray, asked: np.ndarray, opts: Options,
         log: Log) -> dict[str, float]:
    """Classification accuracy score (Ravuri & Vinyals 2019) and its ceiling: the same classifier
    trained on as many real training images."""
    cas = _classifier_accuracy(fake, asked, split, opts.recipe, log)
    n_real = min(len(fake), len(split.train))
    if n_real == len(split.train):  # same images, recipe and seed: the evaluator is that classifier
        pred, _ = evaluator.run(split.test.images)
        ceiling = float(np.mean(pred == split.test.labels))
    else:
        ceiling = _classifier_accuracy(split.train.images[:n_real], split.train.labels[:n_real], split,
                                       opts.recipe, log)
    return {"cas": cas, "cas_ceiling": ceiling, "cas_ceiling_images": n_real}


def _classifier_accuracy(images: np.ndarray, labels: np.ndarray, split: Split, recipe: Recipe,
                         log: Log) -> float:
    """Train the fixed classifier (torch) on ``images``; its accuracy on the held-out split."""
    try:
        from gansrv.metrics import classifier
    except ImportError as exc:
        raise UserError(f"cas and aug train a classifier and need torch ({exc}); install gansrv's "
                        f"training dependencies or pass --metrics fid,kid,pr,class-acc") from None
    log(f"classifier: training on {len(images)} images ({recipe.epochs} epochs)")
    model = classifier.train(images, labels, split.num_classes, recipe)
    return classifier.accuracy(model, split.test.images, split.test.labels)
