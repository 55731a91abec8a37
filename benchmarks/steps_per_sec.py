"""Training speed of every installed family: generator steps per second on MNIST-8k, defaults.

Each family trains for ``--steps`` steps with its default config (batch 64) on the first 8,000
images of the shared MNIST split, through the real ``gansrv train`` command with no intermediate
grids or checkpoints. The rate comes from the run's metrics.jsonl, whose ``time`` column is the
engine's cumulative training time (optimisation steps only): steps/s is taken between the row at
``--warmup`` steps and the last row, so first-call allocations and one-off kernel choices do not
count. The per-row ``it_s`` column is not used: it is the rate of the single step that closed the
row, too noisy on a shared 2-core machine.

    python benchmarks/steps_per_sec.py                       # all families, 200 steps each
    python benchmarks/steps_per_sec.py --families cgan --steps 500 --json steps.json
"""

from __future__ import annotations

import argparse
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


def train_args(family: str, data: Path, steps: int, out: Path, extra: list[str]) -> list[str]:
    return ["train", family, "--data", str(data), "--limit", str(TRAIN_COUNT), "--steps", str(steps),
            "--out", str(out), "--no-progress", "--sample-every", "0", "--checkpoint-every", "0", *extra]


def rate(rows: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    """Steps/s after the warm-up (between the first logged row at or past ``warmup`` steps and the
    last row) and over the whole run; falls back to the whole run when too few rows are logged."""
    rows = sorted((r for r in rows if "time" in r), key=lambda r: r["step"])
    if not rows:
        raise SystemExit("metrics.jsonl has no timed rows")
    last = rows[-1]
    total = last["step"] / last["time"] if last["time"] > 0 else float("nan")
    start = next((r for r in rows if r["step"] >= warmup and r["step"] < last["step"]), None)
    if start is None or warmup <= 0:
        return {"steps": last["step"], "seconds": last["time"], "steps_per_s": total,
                "steps_per_s_all": total, "warmup_excluded": 0}
    dt = last["time"] - start["time"]
    return {"steps": last["step"], "seconds": last["time"],
            "steps_per_s": (last["step"] - start["step"]) / dt if dt > 0 else float("nan"),
            "steps_per_s_all": total, "warmup_excluded": start["step"]}


def measure(family: str, kind: str, data: Path, steps: int, warmup: int, root: Path,
            extra: list[str]) -> dict[str, Any]:
    """Train one family in its own run directory and read its rate back."""
    out = root / family
    args = train_args(family, data, steps, out, extra)
    print(f"$ {shlex.join([*gansrv_command(), *args])}", flush=True)
    wall, _ = run_gansrv(args, quiet=True)
    return {"family": family, "kind": kind, **rate(read_metrics(out), warmup),
            "wall_seconds": wall}


def table(results: list[dict[str, Any]], batch: int) -> str:
    """A markdown table, ready to paste into docs/ or a family README."""
    head = ("| family | kind | steps | warm-up excluded | training s | steps/s | steps/s incl. warm-up "
            "| images/s | command wall s |")
    lines = [head, "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        lines.append(f"| {r['family']} | {r['kind']} | {r['steps']} | {r['warmup_excluded']} "
                     f"| {r['seconds']:.1f} | **{r['steps_per_s']:.2f}** | {r['steps_per_s_all']:.2f} "
                     f"| {r['steps_per_s'] * batch:.0f} | {r['wall_seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Arguments after -- are passed to every 'gansrv train' call.")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--steps", type=int, default=200, help="Steps per family (default: %(default)s).")
    p.add_argument("--warmup", type=int, default=20,
                   help="Leading steps left out of steps/s (default: %(default)s).")
    p.add_argument("--families", nargs="+", help="Only these families (default: every installed one).")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be positive")

    from gansrv.plugins import registry

    reg = registry()
    installed = sorted(reg.families)
    families = args.families or installed
    unknown = sorted(set(families) - set(installed))
    if unknown:
        p.error(f"not installed: {', '.join(unknown)} (installed: {', '.join(installed)})")
    info = machine_info()
    print_machine(info)
    batch = 64  # gansrv train's default --batch-size
    if "--batch-size" in extra:
        batch = int(extra[extra.index("--batch-size") + 1])
    results = []
    with tempfile.TemporaryDirectory(prefix="gansrv-speed-") as tmp:
        for fam in families:
            kind = reg.families[fam].kind.value
            results.append(measure(fam, kind, args.data, args.steps, args.warmup, Path(tmp), extra))
    finish_machine(info)
    print()
    print(f"MNIST first {TRAIN_COUNT} images, default config, batch {batch}, {args.steps} steps, "
          f"first {args.warmup} steps excluded; {info['nproc']} CPUs ({info['cpu']}), "
          f"torch {info['torch']}, {info['date']}")
    print()
    print(table(results, batch))
    if args.json:
        write_json(args.json, {"results": results, "steps": args.steps, "warmup": args.warmup,
                               "batch_size": batch, "extra_args": extra, "machine": info})
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
