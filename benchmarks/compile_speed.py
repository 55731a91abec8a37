"""Training steps/s per family with and without ``--compile`` and ``--channels-last``.

Each family trains ``--steps`` steps (default config, batch 64, MNIST's first 8,000 images) through
the real ``gansrv train`` command once per mode: eager, ``--compile``, ``--channels-last``; the
modes of one family run back to back, so a drift of the shared machine hits them alike.
Steps/s comes from metrics.jsonl as in ``steps_per_sec.py``: after ``--warmup`` steps (where the
compile happens: its first steps are slow) and over the whole run, compile included; the latter
is what a run of that many steps actually gains. With ``--rounds R`` every mode runs R times, the
order of the modes reversed every other round (so a machine that gets quieter or busier during the
run favours no mode), and the figures are the median over the rounds.

    python benchmarks/compile_speed.py                                  # every family, 300 steps
    python benchmarks/compile_speed.py --families dcgan cgan --steps 300 --json compile.json
    python benchmarks/compile_speed.py --families dcgan cgan --rounds 3   # alternating order
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import DEFAULT_DATA, finish_machine, machine_info, print_machine, write_json
from steps_per_sec import measure

MODES = {"eager": [], "compile": ["--compile"], "channels-last": ["--channels-last"],
         "compile+channels-last": ["--compile", "--channels-last"]}


def median_run(mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's record with both rates replaced by their medians over the rounds."""
    out = {**runs[0], "mode": mode, "rounds": [{k: r[k] for k in ("steps_per_s", "steps_per_s_all")}
                                               for r in runs]}
    for key in ("steps_per_s", "steps_per_s_all"):
        out[key] = statistics.median(r[key] for r in runs)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--steps", type=int, default=300, help="Steps per run (default: %(default)s).")
    p.add_argument("--warmup", type=int, default=50,
                   help="Leading steps left out of steps/s (default: %(default)s).")
    p.add_argument("--families", nargs="+", help="Only these families (default: every installed "
                                                 "noise/label/code family; image ones need pairs).")
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    p.add_argument("--rounds", type=int, default=1, help="Runs per mode, the order of the modes "
                   "reversed every other round; figures are medians (default: %(default)s).")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = p.parse_args(argv)
    from gansrv.kinds import Kind
    from gansrv.plugins import registry

    reg = registry().families
    families = args.families or sorted(n for n, f in reg.items() if f.kind is not Kind.IMAGE)
    info = machine_info()
    print_machine(info)
    results: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gansrv-compile-") as tmp:
        for fam in families:
            runs: dict[str, list[dict[str, Any]]] = {m: [] for m in args.modes}
            for k in range(args.rounds):
                for mode in args.modes if k % 2 == 0 else args.modes[::-1]:
                    root = Path(tmp) / f"{mode}-{k}"
                    root.mkdir(exist_ok=True)
                    try:
                        r = measure(fam, reg[fam].kind.value, args.data, args.steps, args.warmup,
                                    root, MODES[mode])
                    except SystemExit as e:  # one family's failure is a finding, not the end
                        print(f"  {fam} {mode} round {k}: FAILED: {e}", flush=True)
                        failed.append({"family": fam, "mode": mode, "error": str(e)})
                        continue
                    runs[mode].append(r)
                    print(f"  {fam} {mode} round {k}: {r['steps_per_s']:.2f} steps/s after "
                          f"warm-up, {r['steps_per_s_all']:.2f} incl.", flush=True)
            results += [median_run(mode, rs) for mode, rs in runs.items() if rs]
    finish_machine(info)
    print(f"\n$ {shlex.join([sys.executable, *sys.argv])}\n")
    print("| family | mode | steps/s after warm-up | x eager | steps/s incl. warm-up | x eager |")
    print("|---|---|--:|--:|--:|--:|")
    for r in results:
        base = next((b for b in results if b["family"] == r["family"] and b["mode"] == "eager"), r)
        print(f"| {r['family']} | {r['mode']} | {r['steps_per_s']:.2f} | "
              f"x{r['steps_per_s'] / base['steps_per_s']:.2f} | {r['steps_per_s_all']:.2f} | "
              f"x{r['steps_per_s_all'] / base['steps_per_s_all']:.2f} |")
    for f in failed:
        print(f"| {f['family']} | {f['mode']} | failed | | | |")
    if args.json:
        write_json(args.json, {"results": results, "failed": failed, "steps": args.steps,
                               "warmup": args.warmup, "machine": info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
