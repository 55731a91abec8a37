"""Mode coverage of noise families on stacked MNIST (1,000 modes) or the 5 x 5 blob grid (25).

Stacked MNIST: three digits drawn from the first 8,000 images of ``--data`` (seeded) become the R, G
and B channels of one image. Every run trains through the real CLI for at most ``--seconds``, is
exported, generates ``--n`` images through gansrv.runtime (balanced labels for code models such as
madgan: the uniform mixture of its generators), and the MNIST evaluator of ``gansrv eval`` (trained
on the same 8,000 images, cached) reads each channel: a sample's mode is its digit triple. Reported:
modes covered (at least one sample) and KL(sample modes || uniform), with a real-data reference row
(``--n`` fresh stacked real images read the same way: what a perfect generator would score with this
evaluator). Blobs (``--task blobs``): scored by blob position, no evaluator.

Runs are ``label=family[:width]``; the defaults are dcgan at the normal and the weakened D width,
gman and madgan at both, every run with the same G width and the non-saturating G loss (gman's
default is minimax: ``gman-minimax`` adds it). Usage::

    .venv/bin/python benchmarks/stacked_mnist.py --seconds 600 --json stacked.json
    .venv/bin/python benchmarks/stacked_mnist.py --task blobs --seconds 60 --runs madgan,dcgan
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    DEFAULT_DATA,
    TRAIN_COUNT,
    gansrv_command,
    machine_info,
    print_machine,
    read_metrics,
    run_gansrv,
)

from gansrv.metrics import modes

# label -> (family, which D width, extra train flags)
RUNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "dcgan": ("dcgan", "normal", ()),
    "dcgan-weak": ("dcgan", "weak", ()),
    "gman": ("gman", "normal", ("--g-objective", "nonsaturating")),
    "gman-weak": ("gman", "weak", ("--g-objective", "nonsaturating")),
    "madgan": ("madgan", "normal", ()),
    "madgan-weak": ("madgan", "weak", ()),
    "gman-minimax": ("gman", "normal", ("--g-objective", "minimax")),
    "dcgan-minimax": ("dcgan", "normal", ("--g-objective", "minimax")),
}
DEFAULT_RUNS = "dcgan,dcgan-weak,gman,madgan,gman-weak,madgan-weak"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("stacked", "blobs"), default="stacked")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST (IDX) for stacked MNIST")
    p.add_argument("--runs", default=DEFAULT_RUNS, help=f"comma list of {', '.join(RUNS)}")
    p.add_argument("--seconds", type=float, default=600, help="training budget of each run")
    p.add_argument("--train-images", type=int, default=20000, help="stacked (or blob) training images")
    p.add_argument("--n", type=int, default=10000, help="generated images scored per run")
    p.add_argument("--g-width", type=int, default=64)
    p.add_argument("--d-width", type=int, default=64, help="the normal D width")
    p.add_argument("--weak-d-width", type=int, default=16, help="the weakened D width (fewer feature maps)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    unknown = [r for r in args.runs.split(",") if r not in RUNS]
    if unknown:
        p.error(f"--runs: unknown {', '.join(unknown)} (choose from {', '.join(RUNS)})")
    return args


def build_data(args: argparse.Namespace, tmp: Path) -> tuple[Path, Any]:
    """The training npz and the scorer: (labels of uint8 (n, C, H, W) images, modes in the task)."""
    path = tmp / f"{args.task}.npz"
    if args.task == "blobs":
        images, _ = modes.render_blobs(args.train_images, args.seed)
        np.savez(path, images=images)
        return path, (modes.read_blobs, modes.GRID**2, None)
    from gansrv.data import load_dataset
    from gansrv.metrics.evaluator import get_evaluator
    from gansrv.metrics.recipe import Recipe

    mnist = load_dataset([str(args.data)])
    train = mnist.limit(TRAIN_COUNT)
    evaluator = get_evaluator(train, Recipe(), lambda msg: print(msg, flush=True))
    images, _ = modes.stack_digits(train.images, train.labels, args.train_images, args.seed)
    np.savez(path, images=images)
    real, _ = modes.stack_digits(train.images, train.labels, args.n, args.seed + 1)

    def read(batch: np.ndarray) -> np.ndarray:
        return modes.read_stacked(batch, lambda ch: evaluator.run(ch)[0])

    return path, (read, 1000, real)


def train_and_score(label: str, args: argparse.Namespace, data: Path, scorer: Any, tmp: Path
                    ) -> dict[str, Any]:
    from gansrv.runtime import Generator

    family, width, extra = RUNS[label]
    d_width = args.d_width if width == "normal" else args.weak_d_width
    run_dir, model = tmp / f"run-{label}", tmp / f"{label}.onnx"
    train = ["train", family, "--data", str(data), "--max-seconds", f"{args.seconds:g}", "--seed",
             str(args.seed), "--batch-size", str(args.batch_size), "--g-width", str(args.g_width),
             "--d-width", str(d_width), "--out", str(run_dir), "--no-progress", "--sample-every", "0", *extra]
    for cmd in (train, ["export", str(run_dir), "-o", str(model)]):
        print(f"$ {shlex.join([*gansrv_command(), *cmd])}", flush=True)
        run_gansrv(cmd, quiet=True)
    gen = Generator.from_file(model, provider="cpu")
    images = gen.generate(args.n, seed=args.seed, batch_size=256).transpose(0, 3, 1, 2)
    read, total, _ = scorer
    last = max(read_metrics(run_dir), key=lambda r: r["step"])
    return {"run": label, "family": family, "d_width": d_width, "flags": list(extra),
            "steps": int(last["step"]), "train_seconds": round(float(last["time"]), 1),
            **modes.coverage(read(np.ascontiguousarray(images)), total)}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| run | family | D width | steps | modes covered | KL(samples ‖ uniform) | off-mode |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['family']} | {r['d_width']} | {r['steps']} | "
                     f"{r['modes_covered']} / {r['modes_total']} | {r['kl']:.3f} | {r['off_mode']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    print_machine(info)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gansrv-modes-") as tmp:
        data, scorer = build_data(args, Path(tmp))
        read, total, real = scorer
        if real is not None:
            rows.append({"run": "real data", "family": "-", "d_width": "-", "steps": "-",
                         **modes.coverage(read(real), total)})
        for label in args.runs.split(","):
            rows.append(train_and_score(label, args, data, scorer, Path(tmp)))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                                         "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
