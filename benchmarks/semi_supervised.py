"""Semi-supervised MNIST (issue 19): Triple-GAN from 10 labels per class against its baselines.

For each label seed: the first 8,000 images of ``--data`` train (all of them unlabelled, 100 of
them also labelled, chosen by the engine from the label seed), the last 2,000 are held out. Four
runs, each capped at ``--seconds`` of training (baselines at ``--baseline-seconds``), all with the
same C network (triplegan's), every figure through the exported classifier and ``gansrv eval``:

- ``triplegan``: the game (G, C, D) with the recipe's defaults;
- ``B1``: C alone on the 100 labelled images (``--players classifier``, no semi-supervised terms);
- ``B2``: C alone with the semi-supervised terms (entropy minimisation, class balance), no G or D;
- ``ceiling``: C alone on all 8,000 labels.

Then Triple-GAN's generator through ``gansrv eval`` (class accuracy, CAS, FID with the cached
evaluator, 10,000 images) and the low-data augmentation gain: a classifier on the 100 labelled
images alone against the same classifier for the same steps on them plus the 10,000 generated
(``--real-limit 100``: the eval data is ordered so that its first 100 are the labelled subset).

    flock /work/bench.lock .venv/bin/python benchmarks/semi_supervised.py --label-seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    DEFAULT_DATA,
    TRAIN_COUNT,
    add_extra_option,
    extra_args,
    gansrv_command,
    machine_info,
    print_machine,
    write_json,
)

PER_CLASS = 10
RUNS = {  # name -> extra `gansrv train triplegan` arguments (None: every label, no subset)
    "triplegan": [],
    "B1": ["--players", "classifier", "--entropy-weight", "0", "--balance-weight", "0"],
    "B2": ["--players", "classifier"],
    "ceiling": ["--players", "classifier", "--entropy-weight", "0", "--balance-weight", "0"],
}


def gansrv(*args: Any, json_out: Path | None = None) -> dict[str, Any]:
    """Run one gansrv command (its output to this log); the JSON it wrote, if any."""
    cmd = [*gansrv_command(), *map(str, args)]
    print(f"$ {shlex.join(cmd)}", flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return json.loads(json_out.read_text()) if json_out else {}


def train_run(name: str, seed: int, a, root: Path) -> dict[str, Any]:
    run_dir = root / f"{name}-{seed}"
    subset = [] if name == "ceiling" else ["--labels-per-class", PER_CLASS, "--label-seed", seed]
    gansrv("train", "triplegan", "--data", a.data, "--limit", TRAIN_COUNT, "--seed", seed, *subset,
           *budget(name, a), "--no-progress", "--sample-every", "0", "--checkpoint-every",
           "0", "--out", run_dir, *RUNS[name], *a.extra.get(name, []))
    gansrv("export", run_dir, "-o", root / f"{name}-{seed}.onnx")
    acc = gansrv("eval", root / f"{name}-{seed}.classifier.onnx", "--data", a.data, "--train-limit",
                 TRAIN_COUNT, "--json", root / f"{name}-{seed}.acc.json",
                 json_out=root / f"{name}-{seed}.acc.json")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {"error": acc["held_out_error"], "steps": rows[-1]["step"], "seconds": rows[-1]["time"]}


def budget(name: str, a) -> list[Any]:
    """The run's length: a step count (the same work on a busy machine) and/or a time cap."""
    first = name == "triplegan"
    steps, seconds = (a.steps, a.seconds) if first else (a.baseline_steps, a.baseline_seconds)
    return ([] if steps is None else ["--steps", steps]) + (["--max-seconds", seconds] if seconds else [])


def eval_data(run_dir: Path, data: Path, root: Path) -> tuple[Path, Path]:
    """The training split with the run's labelled subset first (for --real-limit), and the held-out."""
    from gansrv.data import load_dataset

    ds = load_dataset([str(data)])
    idx = json.loads((run_dir / "config.json").read_text())["labelled"]["indices"]
    rest = np.setdiff1d(np.arange(TRAIN_COUNT), idx)
    order = np.concatenate([idx, rest])
    train, test = root / "train-ordered.npz", root / "held-out.npz"
    np.savez(train, images=ds.images[order], labels=ds.labels[order])
    np.savez(test, images=ds.images[TRAIN_COUNT:], labels=ds.labels[TRAIN_COUNT:])
    return train, test


def generator_figures(seed: int, a, root: Path) -> dict[str, Any]:
    train, test = eval_data(root / f"triplegan-{seed}", a.data, root)
    out = root / f"gen-{seed}.json"
    f = gansrv("eval", root / f"triplegan-{seed}.onnx", "--data", train, "--test-data", test,
               "--metrics", "fid,class-acc,cas,aug", "--n", a.gen, "--real-limit", PER_CLASS * 10,
               *(["--mix", a.mix] if a.mix is not None else []), "--json", out, json_out=out)
    return {k: v for k, v in f.items() if isinstance(v, (int, float, str))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--label-seeds", default="0,1,2")
    p.add_argument("--seconds", type=float, default=600.0, help="Triple-GAN's training budget.")
    p.add_argument("--baseline-seconds", type=float, default=300.0)
    p.add_argument("--steps", type=int, default=None,
                   help="Triple-GAN's length in steps (with --seconds as a cap; --seconds 0: none).")
    p.add_argument("--baseline-steps", type=int, default=None, help="The baselines' length in steps.")
    p.add_argument("--mix", type=float, default=None,
                   help="Share of generated images in every batch of the aug metric (eval's --mix; "
                        "default: their share of the pool).")
    p.add_argument("--runs", default="triplegan,B1,B2,ceiling")
    p.add_argument("--gen", type=int, default=10_000, help="Generated images for eval and aug.")
    add_extra_option(p, "triplegan='--warmup 500'")
    p.add_argument("--no-generator", action="store_true", help="Skip G's figures (trials).")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    a.extra = extra_args(a.extra, set(RUNS))
    info = machine_info()
    print_machine(info)
    results: dict[str, Any] = {"machine": info, "seconds": a.seconds, "steps": a.steps,
                               "baseline_seconds": a.baseline_seconds,
                               "baseline_steps": a.baseline_steps, "mix": a.mix, "seeds": {}}
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    with tempfile.TemporaryDirectory(prefix="semi-") as tmp:
        root = Path(tmp)
        for seed in (int(s) for s in a.label_seeds.split(",")):
            row: dict[str, Any] = {}
            for name in a.runs.split(","):
                t0 = time.time()
                row[name] = train_run(name, seed, a, root)
                print(f"seed {seed} {name}: error {row[name]['error']:.2%} after "
                      f"{row[name]['steps']} steps ({time.time() - t0:.0f} s wall)", flush=True)
            if "triplegan" in row and not a.no_generator:
                row["G"] = generator_figures(seed, a, root)
                shown = ("fid", "class_accuracy", "cas", "cas_ceiling", "aug_gain", "aug_accuracy",
                         "aug_real_accuracy", "aug_steps", "evaluator_accuracy")
                print(f"seed {seed} G: {json.dumps({k: row['G'].get(k) for k in shown})}", flush=True)
            results["seeds"][seed] = row
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at end: {info['loadavg_end']}")
    if a.json:
        write_json(a.json, results)


if __name__ == "__main__":
    main()
