"""Multi-process training: speed at 1 and 2 processes, and cgan's quality at 2 vs 1.

Speed: ``gansrv train cgan`` on MNIST-8k for ``--steps`` steps at global batch ``--batch-size``,
alone (with torch's default threads, and with one thread) and with ``--nproc 2`` (torchrun, gloo
on CPU, one thread per process as torchrun sets); steps/s and images/s over the engine's training
clock (the last metrics row's ``time``: steps only, not start-up), plus the wall-clock time of the
whole command. The quality runs' rows carry the same speed figures over their longer runs.

Quality: for each seed of ``--seeds``, cgan trained ``--quality-steps`` steps at the same global
batch with 1 and with 2 processes, exported, and scored by ``gansrv eval`` (FID and CAS on the
held-out 2,000 images). The issue's claim: the 2-process figures lie within the seed-to-seed spread
of the 1-process ones (a 2-process run is not bit-identical to a 1-process one: other noise per
process, BatchNorm over half batches).

    python benchmarks/distributed.py                      # the full benchmark (tens of minutes)
    python benchmarks/distributed.py --steps 100 --quality-steps 0        # speed only
    python benchmarks/distributed.py -- --device cuda     # args after -- go to 'gansrv train'
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
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

PROCS = (1, 2)


def train(out: Path, procs: int, steps: int, batch: int, seed: int, data: Path,
          extra: list[str], threads: int | None = None) -> dict[str, Any]:
    """One cgan run; ``threads``: OMP_NUM_THREADS of a 1-process run (torchrun sets 1 per worker;
    None keeps torch's default)."""
    old = os.environ.get("OMP_NUM_THREADS")
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        row = _train(out, procs, steps, batch, seed, data, extra)
    finally:
        if threads is not None:
            os.environ.pop("OMP_NUM_THREADS") if old is None else os.environ.update(
                OMP_NUM_THREADS=old)
    row["threads"] = threads or (1 if procs > 1 else "default")
    return row


def _train(out: Path, procs: int, steps: int, batch: int, seed: int, data: Path,
           extra: list[str]) -> dict[str, Any]:
    args = ["train", "cgan", "--data", str(data), "--limit", str(TRAIN_COUNT), "--steps", str(steps),
            "--batch-size", str(batch), "--seed", str(seed), "--out", str(out), "--no-progress",
            "--sample-every", "0", "--checkpoint-every", "0", "--log-every", "10", *extra]
    if procs > 1:
        args += ["--nproc", str(procs)]
    print(f"$ {shlex.join([*gansrv_command(), *args])}", flush=True)
    wall, _ = run_gansrv(args, quiet=True)
    last = max(read_metrics(out), key=lambda r: r["step"])
    secs = float(last["time"])
    return {"procs": procs, "seed": seed, "steps": int(last["step"]), "batch": batch,
            "train_seconds": round(secs, 2), "wall_seconds": round(wall, 2),
            "steps_per_s": round(last["step"] / secs, 2),
            "images_per_s": round(last["step"] * batch / secs, 1)}


def evaluate(run_dir: Path, data: Path, n: int) -> dict[str, float]:
    model = run_dir.with_suffix(".onnx")
    figures = run_dir.with_suffix(".json")
    for args in (["export", str(run_dir), "-o", str(model)],
                 ["eval", str(model), "--data", str(data), "--train-limit", str(TRAIN_COUNT),
                  "--n", str(n), "--metrics", "fid,cas", "--json", str(figures)]):
        print(f"$ {shlex.join([*gansrv_command(), *args])}", flush=True)
        run_gansrv(args, quiet=True)
    out = json.loads(figures.read_text())
    return {"fid": out["fid"], "cas": out["cas"]}


def spread(rows: list[dict[str, Any]], key: str) -> str:
    vals = [r[key] for r in rows]
    if len(vals) == 1:
        return f"{vals[0]:.4g}"
    return f"{statistics.mean(vals):.4g} (min {min(vals):.4g}, max {max(vals):.4g})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--steps", type=int, default=300, help="Steps of each speed run (%(default)s).")
    p.add_argument("--batch-size", type=int, default=64, help="Global batch (%(default)s).")
    p.add_argument("--quality-steps", type=int, default=3000,
                   help="Steps of each quality run (%(default)s); 0 skips quality.")
    p.add_argument("--seeds", default="0,1,2", help="Seeds of the quality runs (%(default)s).")
    p.add_argument("--n", type=int, default=2000, help="Images generated for eval (%(default)s).")
    p.add_argument("--json", type=Path, help="Also write the figures here.")
    args = p.parse_args(argv)
    info = machine_info()
    print_machine(info)
    result: dict[str, Any] = {"machine": info, "command": shlex.join(["benchmarks/distributed.py",
                                                                       *sys.argv[1:]])}
    with tempfile.TemporaryDirectory(prefix="gansrv-dist-") as tmp:
        root = Path(tmp)
        # 1 process with torch's threads, 1 process with one thread, N processes of one thread
        plan = [(1, None), (1, 1), *((n, None) for n in PROCS if n > 1)]
        speed = [train(root / f"speed-{n}-{t}", n, args.steps, args.batch_size, 0, args.data,
                       extra, t) for n, t in plan]
        result["speed"] = speed
        print("\nprocs  threads  steps  train s  steps/s  images/s  wall s")
        for r in speed:
            print(f"{r['procs']:>5}  {r['threads']!s:>7}  {r['steps']:>5}  {r['train_seconds']:>7}"
                  f"  {r['steps_per_s']:>7}  {r['images_per_s']:>8}  {r['wall_seconds']:>6}")
        quality: list[dict[str, Any]] = []
        for seed in [int(s) for s in args.seeds.split(",") if s.strip()] if args.quality_steps else []:
            for n in PROCS:
                run_dir = root / f"q-{n}-s{seed}"
                row = train(run_dir, n, args.quality_steps, args.batch_size, seed, args.data, extra)
                row.update(evaluate(run_dir, args.data, args.n))
                print(json.dumps(row), flush=True)
                quality.append(row)
        result["quality"] = quality
        if quality:
            print(f"\ncgan, {args.quality_steps} steps at global batch {args.batch_size}, "
                  f"{len(quality) // len(PROCS)} seed(s)")
            for n in PROCS:
                rows = [r for r in quality if r["procs"] == n]
                print(f"  {n} process(es): FID {spread(rows, 'fid')}  CAS {spread(rows, 'cas')}")
    finish_machine(info)
    print(f"load average at end: {' '.join(map(str, info['loadavg_end'] or []))}  "
          f"({time.strftime('%Y-%m-%dT%H:%M:%S%z')})")
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
