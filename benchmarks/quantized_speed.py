"""int8 against fp32 in one run: onnxruntime img/s and the quality deltas of `gansrv eval`.

For dcgan and cgan (MNIST, 28 px) a run is trained for ``--steps`` (its quality figures need a
generator that has learnt something; speed does not) and pix2pix (facades-mini, 256 px) for 2 steps
(speed only: facades have no labels for an evaluator). Each run is exported twice in this process,
``gansrv export`` in fp32 and with ``--precision int8`` (the second carries its export-time
quality check), and a third time in fp32 with the int8 export's sub-pixel rewrite (``fp32-sp``:
what the rewrite alone buys, so the int8 gain is not credited with it). Speed: CPU sessions
with gansrv's settings, the three files timed alternately for
``--rounds`` rounds (median of ``--calls`` calls each) at every batch size, so a drift of the
shared machine hits both. Quality: ``gansrv eval`` of both files on the same ``--n`` images
(seed 0): FID for both families, CAS for the conditional one; the deltas are int8 - fp32.
``--profile`` also writes onnxruntime's op-level profile of one int8 and one fp32 call per file
and prints the time per op type (where int8 loses, when it does).

    python benchmarks/quantized_speed.py                       # the issue's full run
    python benchmarks/quantized_speed.py --n 2000 --image-batches 8 --calls 5 --profile
"""

from __future__ import annotations

import argparse
import collections
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import DEFAULT_DATA, REPO, TRAIN_COUNT, finish_machine, machine_info, print_machine, run_gansrv

FACADES = REPO.parent / "shared" / "data" / "facades-mini" / "train"


def train(family: str, root: Path, data: Path, steps: int) -> Path:
    run_dir = root / family
    extra = ["--direction", "BtoA", "--batch-size", "2"] if family == "pix2pix" else ["--limit", "8000"]
    args = ["train", family, "--data", str(data), "--steps", str(steps), "--no-progress",
            "--out", str(run_dir), *extra]
    print(f"$ gansrv {shlex.join(args)}", flush=True)
    run_gansrv(args, quiet=True)
    return run_dir


def export(run_dir: Path, out: Path, precision: str) -> dict[str, Any]:
    args = ["export", str(run_dir), "-o", str(out), "--precision", precision]
    print(f"$ gansrv {shlex.join(args)}", flush=True)
    wall, stdout = run_gansrv(args, quiet=True)
    print(stdout.rstrip(), flush=True)
    return {"export_s": round(wall, 1)}


def feeds_for(path: Path, batch: int) -> dict[str, np.ndarray]:
    from gansrv.export.quantize import model_inputs
    from gansrv.runtime import read_info

    return model_inputs(read_info(path), np.arange(batch), 0)


def median_call(sess: Any, feeds: dict[str, np.ndarray], calls: int) -> float:
    sess.run(None, feeds)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def speed(paths: dict[str, Path], batches: list[int], rounds: int, calls: int) -> list[dict[str, Any]]:
    from gansrv.runtime import session as sessions

    sess = {k: sessions.session(p, "cpu", cache=False) for k, p in paths.items()}
    rows = []
    for batch in batches:
        feeds = feeds_for(paths["fp32"], batch)
        for r in range(rounds):
            t = {k: median_call(s, feeds, calls) for k, s in sess.items()}
            rows.append({"batch": batch, "round": r, **{f"{k}_img_s": batch / v for k, v in t.items()},
                         "speedup": t["fp32"] / t["int8"], "speedup_sp": t["fp32-sp"] / t["int8"]})
            each = ", ".join(f"{k} {batch / v:.1f} img/s" for k, v in t.items())
            print(f"  batch {batch} round {r}: {each}; int8 x{rows[-1]['speedup']:.2f} over fp32, "
                  f"x{rows[-1]['speedup_sp']:.2f} over fp32-sp", flush=True)
    return rows


def profile(path: Path, batch: int, root: Path) -> dict[str, float]:
    """ms per op type per call (onnxruntime's profiler, mean of 3 calls, the first one included)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.enable_profiling = True
    opts.profile_file_prefix = str(root / path.stem)
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feeds = feeds_for(path, batch)
    runs = 3
    for _ in range(runs):
        sess.run(None, feeds)
    events = json.loads(Path(sess.end_profiling()).read_text())
    per: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            per[e["args"].get("op_name", "?")] += e["dur"] / 1000 / runs  # us -> ms, per call
    return dict(sorted(per.items(), key=lambda kv: -kv[1]))


def quality(path: Path, data: Path, n: int, conditional: bool) -> dict[str, Any]:
    out = path.with_suffix(".eval.json")
    metrics = "fid,cas" if conditional else "fid"
    args = ["eval", str(path), "--data", str(data), "--train-limit", str(TRAIN_COUNT), "--n", str(n),
            "--metrics", metrics, "--json", str(out)]
    print(f"$ gansrv {shlex.join(args)}", flush=True)
    run_gansrv(args, quiet=True)
    figures = json.loads(out.read_text())
    return {k: figures.get(k) for k in ("fid", "cas", "real_fid", "cas_ceiling")}


def one_family(family: str, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    image = family == "pix2pix"
    run_dir = train(family, root, FACADES if image else args.data, 2 if image else args.steps)
    paths = {p: root / f"{family}-{p}.onnx" for p in ("fp32", "int8")}
    res: dict[str, Any] = {"family": family, "steps": 2 if image else args.steps}
    for p, path in paths.items():
        res[f"{p}_export"] = export(run_dir, path, p)
    from gansrv.export import onnx_export

    paths["fp32-sp"] = root / f"{family}-fp32-sp.onnx"
    onnx_export.export_run(run_dir, paths["fp32-sp"], subpixel=True)
    from gansrv.runtime import read_info

    res["check"] = {k: v for k, v in read_info(paths["int8"]).extra.items()
                    if k in ("mean_pixel_error", "max_pixel_error", "quality_images")}
    res["speed"] = speed(paths, args.image_batches if image else args.batches, args.rounds,
                         max(3, args.calls // 20) if image else args.calls)
    if args.profile:
        batch = (args.image_batches if image else args.batches)[0]
        res["profile_ms"] = {p: profile(path, batch, root) for p, path in paths.items()}
        for p, per in res["profile_ms"].items():
            top = ", ".join(f"{k} {v:.1f}" for k, v in list(per.items())[:6])
            print(f"  profile {p} batch {batch} (ms per call by op): {top}", flush=True)
    if not image and args.n:
        res["quality"] = {p: quality(paths[p], args.data, args.n, family == "cgan") for p in ("fp32", "int8")}
        print(f"  quality: {res['quality']}", flush=True)
    return res


def table(results: list[dict[str, Any]]) -> None:
    print("| family | batch | fp32 img/s | fp32-sp img/s | int8 img/s | int8 / fp32 | int8 / fp32-sp |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for res in results:
        for batch in sorted({r["batch"] for r in res["speed"]}):
            rows = [r for r in res["speed"] if r["batch"] == batch]
            med = {k: statistics.median(r[k] for r in rows)
                   for k in ("fp32_img_s", "fp32-sp_img_s", "int8_img_s", "speedup", "speedup_sp")}
            print(f"| {res['family']} | {batch} | {med['fp32_img_s']:.1f} | {med['fp32-sp_img_s']:.1f} "
                  f"| {med['int8_img_s']:.1f} | x{med['speedup']:.2f} | x{med['speedup_sp']:.2f} |")
    print("\n| family | export check (mean / max pixel error, images) | FID fp32 | FID int8 | "
          "FID delta | CAS fp32 | CAS int8 | CAS delta |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for res in results:
        c, q = res["check"], res.get("quality")
        check = (f"{float(c['mean_pixel_error']):.3f} / {float(c['max_pixel_error']):.0f}, "
                 f"{c['quality_images']}")
        if not q:
            print(f"| {res['family']} | {check} | - | - | - | - | - | - |")
            continue
        f32, f8 = q["fp32"], q["int8"]
        fid = f"{f32['fid']:.3f} | {f8['fid']:.3f} | {100 * (f8['fid'] / f32['fid'] - 1):+.2f} %"
        cas = (f"{f32['cas']:.4f} | {f8['cas']:.4f} | {f8['cas'] - f32['cas']:+.4f}"
               if f32.get("cas") is not None else "- | - | -")
        print(f"| {res['family']} | {check} | {fid} | {cas} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--families", nargs="+", default=["dcgan", "cgan", "pix2pix"], help="default: %(default)s")
    p.add_argument("--steps", type=int, default=2000,
                   help="training steps of dcgan/cgan (default: %(default)s)")
    p.add_argument("--batches", type=int, nargs="+", default=[64, 256], help="default: %(default)s")
    p.add_argument("--image-batches", type=int, nargs="+", default=[64, 256],
                   help="pix2pix batch sizes (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="default: %(default)s")
    p.add_argument("--calls", type=int, default=100, help="timed calls per median; pix2pix: 1/20 of it, "
                   "at least 3 (default: %(default)s)")
    p.add_argument("--n", type=int, default=10_000,
                   help="images gansrv eval scores (0: skip; default: %(default)s)")
    p.add_argument("--profile", action="store_true", help="onnxruntime op-level profile per file")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = p.parse_args(argv)
    info = machine_info()
    print_machine(info)
    with tempfile.TemporaryDirectory(prefix="gansrv-int8-") as tmp:
        results = [one_family(f, Path(tmp), args) for f in args.families]
    finish_machine(info)
    print(f"\n$ {shlex.join([sys.executable, *sys.argv])}\n")
    table(results)
    if args.json:
        from common import write_json

        write_json(args.json, {"results": results, "machine": info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
