"""``gansrv generate`` per format against the raw forward it wraps, and a long shard run's memory.

For each family (default dcgan and cgan, trained 2 steps on 256 digits and exported through the real
commands: the weights do not matter for speed), in one run side by side:

- raw: ``Generator.generate(n, batch_size=256)`` (noise, the onnxruntime forward, uint8), the faster
  of two timings, as in generate_vs_raw.py;
- ``gansrv generate --batch-size 256`` in-process for ``imagefolder``, ``npz``, ``webdataset`` and
  ``parquet``, the shard formats with each ``--workers`` value given (1: one session beside a PNG
  thread; N > 1: N model processes with one-thread sessions), and the fraction of the raw rate.

``--big N`` then runs ``gansrv generate MODEL --n N --format webdataset`` as a subprocess with a
small model (``--big-family``, default gan's MLP generator) and reports its wall time and peak
resident memory (the child's own, from wait4), to show that memory does not grow with the count.

    .venv/bin/python benchmarks/shard_formats.py --n 20000 --big 100000 1000000 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import (
    DEFAULT_DATA,
    finish_machine,
    gansrv_command,
    machine_info,
    print_machine,
    run_gansrv,
    tiny_run,
    write_json,
)

FORMATS = ("imagefolder", "npz", "webdataset", "parquet")


def raw_rate(onnx_path: Path, n: int, batch: int) -> float:
    from gansrv.runtime import Generator

    gen = Generator.from_file(onnx_path, "cpu")
    gen.generate(min(n, 2 * batch), seed=0, batch_size=batch)  # warm-up
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        gen.generate(n, seed=0, batch_size=batch)
        best = min(best, time.perf_counter() - t0)
    return n / best


def format_rate(onnx_path: Path, out: Path, fmt: str, n: int, batch: int, workers: int | None) -> float:
    """img/s of ``gansrv generate`` in-process (no interpreter start-up in the figure)."""
    from gansrv.cli.generate import generate as generate_cmd

    args = [str(onnx_path), "--n", str(n), "--out", str(out), "--format", fmt, "--batch-size", str(batch),
            "--no-progress", "--provider", "cpu"]
    if workers is not None:
        args += ["--workers", str(workers)]
    t0 = time.perf_counter()
    generate_cmd.main(args, standalone_mode=False)
    seconds = time.perf_counter() - t0
    shutil.rmtree(out)
    return n / seconds


def big_run(onnx_path: Path, out: Path, n: int, batch: int, workers: int) -> dict:
    """Wall time and the child's peak RSS of one long webdataset run in a subprocess."""
    args = ["generate", str(onnx_path), "--n", str(n), "--format", "webdataset", "--batch-size", str(batch),
            "--workers", str(workers), "--no-progress", "--provider", "cpu", "--out", str(out)]
    cmd = [*gansrv_command(), *args]
    print(f"$ {shlex.join(cmd)}", flush=True)
    log = out.with_name("big.log")
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (KiB), no one else's
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(log.read_text()[-2000:])
    peak = usage.ru_maxrss
    size = sum(p.stat().st_size for p in out.iterdir())
    shutil.rmtree(out)
    return {"n": n, "wall_s": wall, "img_s": n / wall, "peak_rss_mib": peak / 1024,
            "bytes": size, "summary": log.read_text().strip().splitlines()[-1]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--families", nargs="+", default=["dcgan", "cgan"], help="default: %(default)s")
    p.add_argument("--n", type=int, default=20000, help="Images per format run (default: %(default)s).")
    p.add_argument("--batch", type=int, default=256, help="--batch-size (default: %(default)s).")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                   help="--workers values for the shard formats (default: %(default)s).")
    p.add_argument("--big", type=int, nargs="*", default=[], help="Image counts of the long runs.")
    p.add_argument("--big-family", default="gan",
                   help="Family of the long runs (trained and exported like the others; default "
                        "%(default)s, the small MLP generator).")
    p.add_argument("--big-workers", type=int, default=1, help="--workers of the long runs.")
    p.add_argument("--out-dir", type=Path, default=None, help="Scratch folder (default: the temp dir).")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = p.parse_args(argv)

    info = machine_info()
    print_machine(info)
    results: dict = {"machine": info, "families": {}, "big": []}
    with tempfile.TemporaryDirectory(prefix="gansrv-shards-", dir=args.out_dir) as tmp:
        root = Path(tmp)
        models = {}
        for fam in args.families:
            run_dir, onnx_path = tiny_run(fam, root, args.data), root / f"{fam}.onnx"
            export = ["export", str(run_dir), "--onnx", "-o", str(onnx_path)]
            print(f"$ {shlex.join([*gansrv_command(), *export])}", flush=True)
            run_gansrv(export, quiet=True)
            models[fam] = onnx_path
        for fam, onnx_path in models.items():
            raw = raw_rate(onnx_path, args.n, args.batch)
            rows = {"raw": raw}
            print(f"{fam}: raw forward {raw:,.0f} img/s (n={args.n}, batch {args.batch})", flush=True)
            for fmt in FORMATS:
                for w in (args.workers if fmt in ("webdataset", "parquet") else [None]):
                    rate = format_rate(onnx_path, root / "out", fmt, args.n, args.batch, w)
                    label = fmt if w is None else f"{fmt} --workers {w}"
                    rows[label] = rate
                    print(f"{fam}: {label:24s} {rate:9,.0f} img/s  {rate / raw:6.1%} of raw", flush=True)
            results["families"][fam] = rows
        if args.big and args.big_family not in models:
            run_dir, models[args.big_family] = tiny_run(args.big_family, root, args.data), root / "big.onnx"
            run_gansrv(["export", str(run_dir), "--onnx", "-o", str(models[args.big_family])], quiet=True)
        for n in args.big:
            big_model = models[args.big_family]
            row = big_run(big_model, root / "big", n, args.batch, args.big_workers)
            results["big"].append(row)
            print(f"--n {n:,}: {row['wall_s']:.0f} s, {row['img_s']:,.0f} img/s, peak RSS "
                  f"{row['peak_rss_mib']:.0f} MiB, {row['bytes'] / 2**20:,.0f} MiB on disk", flush=True)
    finish_machine(info)
    print(f"load average at end: {' '.join(map(str, info['loadavg_end'] or []))}")
    if args.json:
        write_json(args.json, results)
    print(json.dumps({fam: {k: round(v) for k, v in rows.items()}
                      for fam, rows in results["families"].items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
