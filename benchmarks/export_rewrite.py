"""What the export's exact rewrites buy: onnxruntime img/s of one run exported with and without them.

For each family (default dcgan and cgan) a tiny run is trained (2 steps: weights do not matter for
speed) and exported twice in this process, with ``gansrv.export.export_run(..., rewrite=False)``
and with the default. Both files load into CPU sessions with gansrv's settings, and their timings
alternate for ``--rounds`` rounds (median of ``--calls`` calls each), so a drift of the machine
hits both: on the 2-core VM the same session's speed moved by up to 25 % from one round to the next.

    python benchmarks/export_rewrite.py
    python benchmarks/export_rewrite.py --families dcgan --batch 256 --rounds 5
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    DEFAULT_DATA,
    finish_machine,
    machine_info,
    print_machine,
    tiny_run,
    write_json,
)


def median_call(sess: Any, feeds: dict[str, np.ndarray], calls: int) -> float:
    for _ in range(10):
        sess.run(["image"], feeds)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        sess.run(["image"], feeds)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def compare(family: str, root: Path, data: Path, batch: int, rounds: int, calls: int) -> dict[str, Any]:
    from gansrv.export import onnx_export
    from gansrv.runtime import read_info
    from gansrv.runtime import session as sessions

    run_dir = tiny_run(family, root, data)
    paths = {"plain": root / f"{family}-plain.onnx", "rewritten": root / f"{family}.onnx"}
    onnx_export.export_run(run_dir, paths["plain"], rewrite=False)
    onnx_export.export_run(run_dir, paths["rewritten"])
    info = read_info(paths["rewritten"])
    rng = np.random.default_rng(0)
    feeds = {"z": rng.standard_normal((batch, info.latent_dim), dtype=np.float32)}
    if info.num_classes:
        feeds["label"] = (np.arange(batch) % info.num_classes).astype(np.int64)
    sess = {k: sessions.session(p, "cpu", cache=False) for k, p in paths.items()}
    rows = []
    for r in range(rounds):
        t = {k: median_call(s, feeds, calls) for k, s in sess.items()}
        rows.append({"round": r, "plain_img_s": batch / t["plain"], "rewritten_img_s": batch / t["rewritten"],
                     "speedup": t["plain"] / t["rewritten"]})
        print(f"  {family} round {r}: without {rows[-1]['plain_img_s']:.0f} img/s, with "
              f"{rows[-1]['rewritten_img_s']:.0f} img/s, x{rows[-1]['speedup']:.2f}", flush=True)
    return {"family": family, "batch": batch, "rounds": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--families", nargs="+", default=["dcgan", "cgan"], help="default: %(default)s")
    p.add_argument("--batch", type=int, default=64, help="default: %(default)s")
    p.add_argument("--rounds", type=int, default=3, help="default: %(default)s")
    p.add_argument("--calls", type=int, default=300, help="timed calls per median (default: %(default)s)")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = p.parse_args(argv)
    if not (1 <= args.batch <= 4096 and 1 <= args.rounds <= 100 and 5 <= args.calls <= 100_000):
        p.error("--batch 1..4096, --rounds 1..100, --calls 5..100000")
    info = machine_info()
    print_machine(info)
    with tempfile.TemporaryDirectory(prefix="gansrv-rewrite-") as tmp:
        results = [compare(f, Path(tmp), args.data, args.batch, args.rounds, args.calls)
                   for f in args.families]
    finish_machine(info)
    print(f"\n$ {shlex.join([sys.executable, *sys.argv])}\n")
    print("| family | batch | round | without rewrite img/s | with rewrite img/s | speed-up |")
    print("|---|--:|--:|--:|--:|--:|")
    for res in results:
        for r in res["rounds"]:
            print(f"| {res['family']} | {res['batch']} | {r['round']} | {r['plain_img_s']:.0f} "
                  f"| {r['rewritten_img_s']:.0f} | x{r['speedup']:.2f} |")
    if args.json:
        write_json(args.json, {"results": results, "machine": info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
