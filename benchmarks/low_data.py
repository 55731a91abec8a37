"""Does a generated set help where it matters most, with few labelled images? One run, one table.

For every N of ``--ns`` (MNIST's first N labelled images; N = 100 is balanced, the first 10 of
each class), every family of ``--families``, every seed of ``--seeds`` and the data-efficient
mechanism on and off (``--augment on|off``): ``gansrv train`` on those N images only for
``--budget`` seconds, ``gansrv export``, then ``gansrv eval`` with ``--n`` generated images
against the held-out last 2,000: FID and class accuracy (evaluator trained on all 8,000), CAS
(the fixed classifier trained on the generated set alone) and the augmentation gain (the same
classifier on the N real images alone and on real + generated at ``--mix`` per batch, same step
budget: ``--real-limit N --mix F``). Prints one markdown table and a summary against the targets
(gain >= +2 points at N = 500, >= +5 at N = 100 with every seed; CAS >= real-only at N = 500).

    python benchmarks/low_data.py                               # the full run: 3 x 2 x 3 x 2 runs
    python benchmarks/low_data.py --ns 100,500 --families cgan --seeds 0 --budget 90   # short
    python benchmarks/low_data.py --json docs/quality/low_data.json
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
    finish_machine,
    gansrv_command,
    machine_info,
    print_machine,
    read_metrics,
    run_gansrv,
    write_json,
)

COLUMNS = ("N", "family", "augment", "seed", "steps", "FID", "class-acc", "CAS", "real only",
           "real+gen", "gain (points)")
TARGETS = {100: 5.0, 500: 2.0}  # augmentation gain, in points, with every seed


def subsets(data: Path, n: int, tmp: Path) -> tuple[Path, Path]:
    """(training npz of the N images, eval npz: those N first, then the rest of the 8,000, then
    the held-out 2,000), so that ``--train-limit 8000 --real-limit N`` means exactly them."""
    from gansrv.data import load_dataset

    ds = load_dataset([str(data)])
    labels = ds.labels[:TRAIN_COUNT]
    if n == 100:  # balanced: the first 10 of each class
        chosen = np.concatenate([np.flatnonzero(labels == c)[:10] for c in range(10)])
        chosen.sort()
    else:
        chosen = np.arange(n)
    rest = np.setdiff1d(np.arange(TRAIN_COUNT), chosen)
    order = np.concatenate([chosen, rest, np.arange(TRAIN_COUNT, len(ds.images))])
    names = np.array(ds.class_names, dtype=np.str_)
    train, full = tmp / f"mnist-{n}.npz", tmp / f"mnist-{n}-eval.npz"
    np.savez(train, images=ds.images[chosen], labels=ds.labels[chosen], class_names=names)
    np.savez(full, images=ds.images[order], labels=ds.labels[order], class_names=names)
    return train, full


def one(family: str, n: int, augment: str, seed: int, data: tuple[Path, Path], args, tmp: Path
        ) -> dict[str, Any]:
    tag = f"{family}-n{n}-{augment}-s{seed}"
    run_dir, model, figures = tmp / f"run-{tag}", tmp / f"{tag}.onnx", tmp / f"{tag}.json"
    commands = [
        ["train", family, "--data", str(data[0]), "--max-seconds", f"{args.budget:g}",
         "--steps", "1000000", "--seed", str(seed), "--augment", augment, "--out", str(run_dir),
         "--no-progress", "--sample-every", "0"],
        ["export", str(run_dir), "-o", str(model)],
        ["eval", str(model), "--data", str(data[1]), "--train-limit", str(TRAIN_COUNT),
         "--n", str(args.n), "--metrics", "fid,class-acc,cas,aug", "--real-limit", str(n),
         "--mix", f"{args.mix:g}", "--json", str(figures)],
    ]
    for cmd in commands:
        print(f"$ {shlex.join([*gansrv_command(), *cmd])}", flush=True)
        _, stdout = run_gansrv(cmd, quiet=True)
        sys.stdout.write(stdout)
    last = max(read_metrics(run_dir), key=lambda r: r["step"])
    out = json.loads(figures.read_text())
    out.update(N=n, family=family, augment=augment, train_seed=seed, steps=int(last["step"]),
               train_seconds=round(float(last["time"]), 2), budget=args.budget,
               final_augment_p=last.get("augment_p"))
    print(row(out), flush=True)
    return out


def row(f: dict[str, Any]) -> str:
    return "| " + " | ".join([
        str(f["N"]), f["family"], f["augment"], str(f["train_seed"]), str(f["steps"]),
        f"{f['fid']:.2f}", f"{f['class_accuracy']:.3f}", f"{f['cas']:.4f}",
        f"{f['aug_real_accuracy']:.4f}", f"{f['aug_accuracy']:.4f}",
        f"{100 * f['aug_gain']:+.2f}"]) + " |"


def summary(results: list[dict[str, Any]]) -> list[str]:
    """Per (N, family, augment): gains over the seeds and the targets, met or not."""
    lines = []
    keys = sorted({(r["N"], r["family"], r["augment"]) for r in results})
    for n, family, augment in keys:
        rs = [r for r in results if (r["N"], r["family"], r["augment"]) == (n, family, augment)]
        gains = [100 * r["aug_gain"] for r in rs]
        cas_ok = all(r["cas"] >= r["aug_real_accuracy"] for r in rs)
        line = (f"N={n} {family} augment={augment}: gain {min(gains):+.2f} .. {max(gains):+.2f} "
                f"points over {len(rs)} seed(s); CAS {'>=' if cas_ok else '<'} real-only")
        if n in TARGETS:
            line += (f"; gain target +{TARGETS[n]:g} {'met' if min(gains) >= TARGETS[n] else 'NOT met'}"
                     f" with every seed")
        lines.append(line)
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--ns", default="100,500,1000", help="Comma list of real-set sizes.")
    p.add_argument("--families", default="cgan,acgan")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--augment", default="on,off", help="Modes of --augment to compare.")
    p.add_argument("--budget", type=float, default=300.0, help="Training seconds per run.")
    p.add_argument("--n", type=int, default=10000, help="Generated images per run.")
    p.add_argument("--mix", type=float, default=0.25, help="Generated share per batch (README).")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    info = machine_info()
    print_machine(info)
    results = []
    with tempfile.TemporaryDirectory(prefix="gansrv-lowdata-") as tmp_name:
        tmp = Path(tmp_name)
        for n in [int(v) for v in args.ns.split(",")]:
            data = subsets(args.data, n, tmp)
            for family in args.families.split(","):
                for seed in [int(v) for v in args.seeds.split(",")]:
                    for augment in args.augment.split(","):
                        results.append(one(family, n, augment, seed, data, args, tmp))
    finish_machine(info)
    print("\n| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for r in results:
        print(row(r))
    print()
    for line in summary(results):
        print(line)
    print(f"load average at end: {info.get('loadavg_end')}")
    if args.json:
        write_json(args.json, {"machine": info, "args": vars(args) | {"data": str(args.data),
                                                                      "json": str(args.json)},
                               "results": results})


if __name__ == "__main__":
    main()
