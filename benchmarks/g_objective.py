"""GMAN's central claim on MNIST: with the original minimax G objective, several discriminators
train G where one does not (issue 22).

Every run trains on the first 8,000 images of ``--data`` for the same number of G steps
(``--steps``: a step budget, so the machine's load changes the wall time only), is exported and
scored by ``gansrv eval`` (FID against the held-out last 2,000, ``--n`` generated images, the cached
evaluator). Runs, one per seed of ``--seeds``:

- ``dcgan`` with the non-saturating G loss (its default): the reference;
- ``dcgan-minimax``: one discriminator, G on log(1 - D(G(z)));
- ``gman-minimax``: ``gman``'s defaults (5 discriminators, minimax, the same D architecture).

The issue's target: gman-minimax's FID <= 1.5 x dcgan's and dcgan-minimax's worse than that.

    .venv/bin/python benchmarks/g_objective.py --steps 1500 --json g_objective.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

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

RUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dcgan": ("dcgan", ()),
    "dcgan-minimax": ("dcgan", ("--g-objective", "minimax")),
    "gman-minimax": ("gman", ("--g-objective", "minimax")),
    "gman-nonsaturating": ("gman", ("--g-objective", "nonsaturating")),
}
DEFAULT_RUNS = "dcgan,dcgan-minimax,gman-minimax"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder")
    p.add_argument("--runs", default=DEFAULT_RUNS, help=f"comma list of {', '.join(RUNS)}")
    p.add_argument("--steps", type=int, default=1500, help="G steps of every run")
    p.add_argument("--seeds", default="0", help="comma list of training seeds")
    p.add_argument("--n", type=int, default=2000, help="images generated per evaluation")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    unknown = [r for r in args.runs.split(",") if r not in RUNS]
    if unknown:
        p.error(f"unknown run {unknown[0]!r}; choose from {', '.join(RUNS)}")
    if not 1 <= args.steps <= 10**6 or not 100 <= args.n <= 50000:
        p.error("--steps must be in 1..10^6 and --n in 100..50,000")
    return args


def train_and_score(label: str, seed: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    family, extra = RUNS[label]
    run_dir, model, figures = tmp / f"{label}-{seed}", tmp / f"{label}-{seed}.onnx", tmp / "f.json"
    commands = [
        ["train", family, "--data", str(args.data), "--limit", str(TRAIN_COUNT), "--steps",
         str(args.steps), "--seed", str(seed), "--out", str(run_dir), "--no-progress",
         "--sample-every", "0", *extra],
        ["export", str(run_dir), "-o", str(model)],
        ["eval", str(model), "--data", str(args.data), "--train-limit", str(TRAIN_COUNT), "--n",
         str(args.n), "--metrics", "fid", "--json", str(figures)],
    ]
    for cmd in commands:
        print(f"$ {shlex.join([*gansrv_command(), *cmd])}", flush=True)
        run_gansrv(cmd, quiet=True)
    last = max(read_metrics(run_dir), key=lambda r: r["step"])
    return {"run": label, "family": family, "flags": list(extra), "seed": seed,
            "steps": int(last["step"]), "train_seconds": round(float(last["time"]), 1),
            "fid": json.loads(figures.read_text())["fid"]}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| run | seed | G steps | training s | FID |", "|---|--:|--:|--:|--:|"]
    lines += [f"| {r['run']} | {r['seed']} | {r['steps']} | {r['train_seconds']} | {r['fid']:.2f} |"
              for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    print_machine(info)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gansrv-gobj-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for label in args.runs.split(","):
                rows.append(train_and_score(label, seed, args, Path(tmp)))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    finish_machine(info)
    print(table(rows))
    if args.json is not None:
        write_json(args.json, {"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                               "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
