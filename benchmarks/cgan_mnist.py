"""Class accuracy of ``gansrv train cgan`` on MNIST-8k after a fixed training-time budget.

Trains cgan with its default hyperparameters on the first 8,000 images of the shared MNIST split
for ``--budget`` seconds of training time (the engine's clock: optimisation steps only, not start-up
or checkpoint writing), then generates ``--per-class`` samples of every class from a fixed seed and
asks a CNN reader trained on real MNIST (``mnist_classifier.py``) which digit each one shows. The
figure is the share of samples read as the class they were generated for: a conditional generator
that ignores its label, or draws mush, scores about 10 %. Target from the issue: >= 95 % within
300 s on a 2-core CPU (PyTorch-GAN's cgan.py: 63 % after 636 s on the same data and machine).

    python benchmarks/cgan_mnist.py                        # the benchmark: 300 s, 1000 per class
    python benchmarks/cgan_mnist.py --budget 15 --per-class 50      # a smoke test
    python benchmarks/cgan_mnist.py -- --backbone mlp      # args after -- go to 'gansrv train cgan'
    python benchmarks/cgan_mnist.py --run runs/cgan-x      # only evaluate an existing run
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from common import (
    DEFAULT_DATA,
    TRAIN_COUNT,
    finish_machine,
    gansrv_command,
    machine_info,
    print_machine,
    read_metrics,
    run_gansrv,
    write_json,
)
from mnist_classifier import CACHE_DIR, classify, train_or_load_classifier

TARGET_ACCURACY = 0.95
TARGET_SECONDS = 300.0
REFERENCE = "PyTorch-GAN cgan.py: 63 % after 636 s (same data and machine, from the issue)"


def train_args(data: Path, budget: float, out: Path, extra: list[str]) -> list[str]:
    """The ``gansrv train cgan`` arguments: default hyperparameters, a time budget rather than a
    step count (--steps only needs to be out of reach), no intermediate sample grids."""
    return ["train", "cgan", "--data", str(data), "--limit", str(TRAIN_COUNT),
            "--max-seconds", f"{budget:g}", "--steps", "1000000", "--out", str(out),
            "--no-progress", "--sample-every", "0", *extra]


@torch.no_grad()
def generate(run_dir: Path, per_class: int, seed: int, batch_size: int = 1000
             ) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """(images in [-1, 1], the labels they were asked for, the loaded run), from a fixed seed so two
    runs of the benchmark on one checkpoint score the same samples."""
    from gansrv.train.load import load_run

    run = load_run(run_dir)
    classes = run.spec.num_classes
    if classes != 10 or (run.spec.channels, run.spec.size) != (1, 28):
        raise SystemExit(f"{run_dir}: expected a 10-class 1x28x28 model, got {classes} classes, "
                         f"{run.spec.channels}x{run.spec.size}px")
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(per_class)
    z = torch.randn(len(labels), run.family.latent_dim(run.config), generator=gen)
    images = torch.cat([run.family.sample(run.modules, z[i:i + batch_size], labels[i:i + batch_size])
                        for i in range(0, len(labels), batch_size)])
    return images.float().clamp(-1, 1), labels, run


def check_training_data(run_dir: Path, data: Path) -> dict[str, Any]:
    """The run's config.json, after checking by fingerprint that it trained on exactly the first
    8,000 images of ``data``: a generator that saw the held-out images would flatter itself, and
    one trained on other digits would be judged by a reader of a different hand."""
    from gansrv.data import load_dataset

    saved = json.loads((run_dir / "config.json").read_text())
    expected = load_dataset([str(data)], limit=TRAIN_COUNT).fingerprint()
    if saved["data"]["fingerprint"] != expected:
        raise SystemExit(f"{run_dir} was not trained on the first {TRAIN_COUNT} images of {data} "
                         f"({saved['data']['count']} images, data fingerprint "
                         f"{saved['data']['fingerprint'][:12]} vs {expected[:12]})")
    return saved


def evaluate(run_dir: Path, data: Path, reader: torch.nn.Module, per_class: int, seed: int
             ) -> dict[str, Any]:
    """Figures of one run: steps and training time from metrics.jsonl, class accuracy of samples."""
    saved = check_training_data(run_dir, data)
    rows = read_metrics(run_dir)
    last = max(rows, key=lambda r: r["step"])
    steps, seconds = int(last["step"]), float(last["time"])
    t0 = time.perf_counter()
    images, labels, run = generate(run_dir, per_class, seed)
    pred = classify(reader, images)
    eval_s = time.perf_counter() - t0
    per_class_acc = {run.spec.class_names[c]: float((pred[labels == c] == c).float().mean())
                     for c in range(run.spec.num_classes)}
    return {
        "family": saved["family"],
        "budget_seconds": saved["train"].get("max_seconds"),
        "config": saved["config"],
        "checkpoint": str(run.checkpoint),
        "checkpoint_step": run.step,
        "steps": steps,
        "train_seconds": round(seconds, 2),
        "steps_per_s": round(steps / seconds, 2) if seconds > 0 else None,
        "samples_per_class": per_class,
        "sample_seed": seed,
        "class_accuracy": float((pred == labels).float().mean()),
        "per_class_accuracy": per_class_acc,
        "eval_seconds": round(eval_s, 2),
    }


def report(fig: dict[str, Any]) -> bool:
    """Print the figures; returns whether the issue's target is met.

    The time limit is judged on the run's --max-seconds (the engine stops after the step that
    crosses it, so the training time itself ends a fraction of a step later), or on the training
    time when the run was not given a budget.
    """
    print(f"checkpoint:   {fig['checkpoint']} (step {fig['checkpoint_step']})")
    print(f"config:       {json.dumps(fig['config'], sort_keys=True)}")
    print(f"training:     {fig['steps']} steps in {fig['train_seconds']:.1f} s of training time "
          f"= {fig['steps_per_s']} steps/s"
          + (f" (wall clock of the command {fig['wall_seconds']:.1f} s)" if "wall_seconds" in fig else ""))
    print(f"classifier:   {fig['classifier_heldout_accuracy']:.2%} on the held-out MNIST images "
          f"(the ceiling this judge can certify)")
    print(f"samples:      {fig['samples_per_class']} per class, seed {fig['sample_seed']} "
          f"(generated and read in {fig['eval_seconds']:.1f} s)")
    print("per class:    " + "  ".join(f"{k}: {v:.1%}" for k, v in fig["per_class_accuracy"].items()))
    print(f"CLASS ACCURACY: {fig['class_accuracy']:.2%}")
    limit = fig["budget_seconds"] or fig["train_seconds"]
    met = fig["class_accuracy"] >= TARGET_ACCURACY and limit <= TARGET_SECONDS
    why = "" if limit <= TARGET_SECONDS else f" (trained {limit:g} s > {TARGET_SECONDS:g} s)"
    print(f"target >= {TARGET_ACCURACY:.0%} within {TARGET_SECONDS:g} s: "
          f"{'MET' if met else 'NOT MET'}{why}")
    print(f"reference:    {REFERENCE}")
    return met


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Arguments after -- are passed to 'gansrv train cgan'.")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--budget", type=float, default=TARGET_SECONDS,
                   help="Training time in seconds (gansrv --max-seconds; default: %(default)g).")
    p.add_argument("--per-class", type=int, default=1000, help="Samples per class (default: %(default)s).")
    p.add_argument("--seed", type=int, default=0, help="Seed of the evaluated samples' noise.")
    p.add_argument("--out", type=Path, help="Run directory to keep (default: a temporary one, deleted).")
    p.add_argument("--run", type=Path, help="Evaluate this existing run directory; train nothing.")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    p.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="Classifier weight cache.")
    args = p.parse_args(argv)
    if args.per_class < 1 or args.budget <= 0:
        p.error("--per-class and --budget must be positive")
    if args.run and (extra or args.out):
        p.error("--run evaluates an existing run: it takes no --out and no training arguments")

    info = machine_info()
    print_machine(info)
    # The reader first: if it has to be trained, that happens before and not during the GAN's clock.
    reader, heldout = train_or_load_classifier(args.data, args.cache_dir)
    with tempfile.TemporaryDirectory(prefix="gansrv-bench-") as tmp:
        fig: dict[str, Any] = {}
        if args.run:
            run_dir = args.run
            print(f"evaluating existing run {run_dir} (no training)")
        else:
            run_dir = args.out or Path(tmp) / "run"
            cmd_args = train_args(args.data, args.budget, run_dir, extra)
            command = shlex.join([*gansrv_command(), *cmd_args])
            print(f"command: {command}", flush=True)
            wall, stdout = run_gansrv(cmd_args)
            sys.stdout.write(stdout)
            fig.update(command=command, wall_seconds=round(wall, 2))
        fig.update(evaluate(run_dir, args.data, reader, args.per_class, args.seed),
                   classifier_heldout_accuracy=heldout)
    finish_machine(info)
    met = report(fig)
    fig.update(target_met=met, target={"accuracy": TARGET_ACCURACY, "seconds": TARGET_SECONDS},
               machine=info)
    if args.json:
        write_json(args.json, fig)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
