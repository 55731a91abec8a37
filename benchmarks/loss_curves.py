"""CPU seconds per loss.png: every training run draws one at its end and at every grid, so every
training test pays it (docs/benchmarks.md, "Default test suite time").

    .venv/bin/python benchmarks/loss_curves.py            # --rows 100 --keys 6 --repeat 6
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from gansrv.train.pictures import loss_curves


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100, help="logged rows (steps)")
    ap.add_argument("--keys", type=int, default=6, help="logged quantities (panels)")
    ap.add_argument("--repeat", type=int, default=6, help="plots timed after one warm-up")
    args = ap.parse_args()
    keys = [f"loss_{i}" for i in range(args.keys)]
    rows = [{"step": s, "epoch": 0.0, "time": 0.0, "it_s": 0.0,
             **{k: float((s * 7 + i) % 5) for i, k in enumerate(keys)}} for s in range(1, args.rows + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loss.png"
        loss_curves(rows, path, "warm-up")  # the matplotlib import and font cache
        start = time.process_time()
        for _ in range(args.repeat):
            loss_curves(rows, path, "benchmark")
        per_plot = (time.process_time() - start) / args.repeat
    print(f"loss.png, {args.keys} panels of {args.rows} rows: {per_plot:.3f} CPU s per plot "
          f"(mean of {args.repeat}); load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
