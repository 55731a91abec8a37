"""Translation speed at 256x256: onnxruntime vs torch eager for the pix2pix and cyclegan generators.

For each family, default width (pix2pix: 8-level U-Net, ngf 64; cyclegan: ResNet with 9 blocks,
ngf 64), a run is trained for one step on two random 256x256 images (weights do not matter for
speed) and exported through the real commands (those subprocesses with ``OMP_NUM_THREADS=1``: on a
shared 2-core machine one torch thread was much faster than two contending ones; the timings below
keep this process's own thread settings, printed at the start). Then, in this one process, on the
CPU:

1. torch eager (``load_run`` generator, eval, ``torch.inference_mode()``) vs onnxruntime (the
   exported file's session, float32 in and out) at ``--batches`` (default 1 and 8): warm-up calls,
   then calls repeated for at least ``--seconds``; img/s = batch / median call time.
2. ``Translator.translate`` (uint8 in, uint8 out: what ``gansrv translate`` calls) at the same
   batches, so the cost of the conversions shows beside the raw forward.
3. FLOPs per image (2 x the MACs of the conv layers, from the shapes forward hooks see) and the
   GFLOP/s each path reaches.

    python benchmarks/translate_speed.py
    python benchmarks/translate_speed.py --families cyclegan --batches 1 --seconds 1   # smoke test
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import finish_machine, machine_info, print_machine, run_gansrv, write_json
from PIL import Image
from runtime_speed import flops_per_image

SIDE = 256
ROLE = {"pix2pix": "G", "cyclegan": "G_AB"}


def timed(fn: Callable[[], Any], seconds: float, calls: int = 3) -> dict[str, float]:
    """One warm-up call, then calls until ``seconds`` have passed and at least ``calls`` were made
    (a 256 px cyclegan call takes seconds on a busy 2-core machine); the median call time."""
    fn()
    times: list[float] = []
    t_end = time.perf_counter() + seconds
    while len(times) < calls or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "calls": len(times)}


def tiny_run(family: str, root: Path) -> tuple[Path, Path]:
    """One training step on two random 256 px images (A/ + B/ pairs, or trainA/ + trainB/)."""
    data = root / f"data-{family}"
    rng = np.random.default_rng(0)
    sides = ("A", "B") if family == "pix2pix" else ("trainA", "trainB")
    for side in sides:
        (data / side).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)).save(
                data / side / f"{i}.png")
    run_dir, model = root / f"run-{family}", root / f"{family}.onnx"
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # the children only: this process's torch has started
    try:
        _train_export(family, data, run_dir, model)
    finally:
        if old is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = old
    return run_dir, model


def _train_export(family: str, data: Path, run_dir: Path, model: Path) -> None:
    run_gansrv(["train", family, "--data", str(data), "--image-size", str(SIDE), "--steps", "1",
                "--batch-size", "1", "--sample-every", "0", "--checkpoint-every", "0",
                "--device", "cpu", "--no-progress", "--out", str(run_dir)], quiet=True)
    run_gansrv(["export", str(run_dir), "-o", str(model)], quiet=True)


def speed(family: str, run_dir: Path, model: Path, batches: list[int], seconds: float,
          threads: int) -> list[dict[str, Any]]:
    import torch

    from gansrv.runtime import Translator
    from gansrv.runtime.session import session as ort_session
    from gansrv.train.load import load_run

    G = load_run(run_dir).modules[ROLE[family]].eval()
    tr = Translator.from_file(model, provider="cpu")
    session, out_name = ort_session(model, "cpu", threads=threads, cache=False), tr.output
    rng = np.random.default_rng(0)
    flops = flops_per_image(G, {"image": torch.zeros(1, 3, SIDE, SIDE)})
    rows = []
    for b in batches:
        x = rng.uniform(-1, 1, (b, 3, SIDE, SIDE)).astype(np.float32)
        xt = torch.from_numpy(x)
        u8 = rng.integers(0, 256, (b, SIDE, SIDE, 3), dtype=np.uint8)
        with torch.inference_mode():
            t_torch = timed(lambda xt=xt: G(xt), seconds)
        t_ort = timed(lambda x=x: session.run([out_name], {"image": x}), seconds)
        t_tr = timed(lambda u8=u8, b=b: tr.translate(u8, batch_size=b), seconds)
        row = {"family": family, "batch": b, "gflops_per_image": round(flops / 1e9, 2)}
        for name, t in (("torch", t_torch), ("ort", t_ort), ("translate", t_tr)):
            row[f"{name}_img_s"] = round(b / t["median_s"], 2)
            row[f"{name}_calls"] = t["calls"]
        row["ort_over_torch"] = round(row["ort_img_s"] / row["torch_img_s"], 2)
        row["torch_gflop_s"] = round(row["torch_img_s"] * flops / 1e9, 1)
        row["ort_gflop_s"] = round(row["ort_img_s"] * flops / 1e9, 1)
        rows.append(row)
        print(f"| {family} | {b} | {row['gflops_per_image']} | {row['torch_img_s']} | "
              f"{row['ort_img_s']} | {row['ort_over_torch']}x | {row['translate_img_s']} | "
              f"{row['torch_gflop_s']} / {row['ort_gflop_s']} |", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--families", default="pix2pix,cyclegan", help="Comma-separated (default: both).")
    p.add_argument("--batches", default="1,8", help="Comma-separated batch sizes (default 1,8).")
    p.add_argument("--seconds", type=float, default=3.0, help="Timed seconds per figure (>= 3 calls).")
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads and onnxruntime intra-op threads of the raw session (0: each "
                        "library's default); the Translator path keeps gansrv's defaults.")
    p.add_argument("--json", help="Also write the figures to this JSON file.")
    a = p.parse_args(argv)
    families = [f for f in a.families.split(",") if f]
    unknown = set(families) - set(ROLE)
    if unknown:
        raise SystemExit(f"unknown families: {', '.join(sorted(unknown))} (pix2pix, cyclegan)")
    batches = [int(b) for b in a.batches.split(",")]
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    info = machine_info()
    print_machine(info)
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}, CPU, intra-op threads {a.threads or 'default'} "
          f"(Translator: default); images {SIDE}x{SIDE} RGB\n")
    print("| family | batch | GFLOPs/img | torch img/s | ORT img/s | ORT/torch | translate img/s "
          "(uint8) | GFLOP/s torch / ORT |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory(prefix="translate-speed-") as tmp:
        for family in families:
            run_dir, model = tiny_run(family, Path(tmp))
            rows += speed(family, run_dir, model, batches, a.seconds, a.threads)
    finish_machine(info)
    print(f"\nload average at end: {' '.join(map(str, info['loadavg_end'] or []))}")
    if a.json:
        write_json(a.json, {"machine": info, "onnxruntime": onnxruntime.__version__,
                            "side": SIDE, "seconds": a.seconds, "threads": a.threads,
                            "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
