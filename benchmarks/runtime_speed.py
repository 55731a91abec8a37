"""Inference speed of exported generators: onnxruntime vs torch eager, and ``gansrv generate``.

For each family (default dcgan and cgan, default hyperparameters) a tiny run is trained (2 steps on
256 images: weights do not matter for speed) and exported to ONNX through the real commands. Then,
in this one process:

1. torch eager (``load_run`` modules, eval, ``torch.inference_mode()``) vs onnxruntime
   (``gansrv.runtime.session``, CPU) images/s at batch 1, 64 and 256: a few warm-up calls, then calls
   repeated for at least ``--seconds`` each; img/s = batch / median call time.
2. The floor: generator FLOPs per image (2 x the MACs of its Conv/ConvTranspose/Linear layers,
   counted from the shapes seen by forward hooks) against torch's measured fp32 matmul peak, and the
   fraction of that peak each path reaches.
3. If onnxruntime is below 1.3x torch at batch 64, the same call under other session options.
4. ``gansrv generate`` end to end (forward + PNG encode + write + manifest) vs the raw forward of
   ``Generator.generate`` (noise + forward + uint8, no PNG): the CLI's wall time (process start-up
   included) and the same command in-process (start-up excluded).

    python benchmarks/runtime_speed.py
    python benchmarks/runtime_speed.py --families dcgan --seconds 1 --n 1000   # smoke test
    python benchmarks/runtime_speed.py --device cuda   # torch on CUDA vs CUDAExecutionProvider
    python benchmarks/runtime_speed.py --levels 6 1 0  # generate at three PNG zlib levels

With ``--device cuda`` both paths take host (numpy) inputs and return host outputs, as a serving
process sees them: torch's figure includes its host->device and device->host copies and a
synchronisation, as onnxruntime's does inside ``run``.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
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
from generate_vs_raw import end_to_end, file_cost

BATCHES = (1, 64, 256)
TARGET_RATIO = 1.3
TARGET_GENERATE = 0.80


def timed(fn: Callable[[], Any], seconds: float, warmup: int = 3) -> dict[str, float]:
    """Call ``fn`` ``warmup`` times, then until ``seconds`` have passed; median and count of calls."""
    for _ in range(warmup):
        fn()
    times = []
    t_end = time.perf_counter() + seconds
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if t1 >= t_end and len(times) >= 5:
            break
    return {"median_s": statistics.median(times), "calls": len(times), "total_s": sum(times)}


def matmul_peak(seconds: float, device: str = "cpu") -> float:
    """torch's fp32 matmul FLOP/s on the device (n x n @ n x n; all threads on CPU, no TF32 on CUDA)."""
    import torch

    n = 1024 if device == "cpu" else 8192
    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    r = timed(lambda: (torch.mm(a, b, out=out), sync(device)), seconds)
    return 2 * n**3 / r["median_s"]


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def flops_per_image(module: Any, inputs: dict[str, Any]) -> int:
    """2 x MACs of Conv2d / ConvTranspose2d / Linear for one image, from the shapes hooks see."""
    import torch
    from torch import nn

    macs = [0]

    def hook(mod: nn.Module, args: tuple, out: torch.Tensor) -> None:
        x = args[0]
        n = x.shape[0]
        if isinstance(mod, nn.ConvTranspose2d):  # every input pixel scatters a kernel per out channel
            k = mod.out_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            macs[0] += x.numel() // n * k
        elif isinstance(mod, nn.Conv2d):  # every output pixel gathers a kernel over in channels
            k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            macs[0] += out.numel() // n * k
        elif isinstance(mod, nn.Linear):
            macs[0] += out.numel() // n * mod.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    try:
        with torch.inference_mode():
            module(*[v[:1] for v in inputs.values()])
    finally:
        for h in handles:
            h.remove()
    return 2 * macs[0]


def feeds_for(names: list[str], batch: int, latent: int, classes: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds: dict[str, np.ndarray] = {}
    for name in names:
        if name == "z":
            feeds["z"] = rng.standard_normal((batch, latent), dtype=np.float32)
        elif name == "label":
            feeds["label"] = (np.arange(batch) % max(classes, 1)).astype(np.int64)
        else:
            raise SystemExit(f"unexpected generator input {name!r}")
    return feeds


def ort_variants(rt: Any) -> dict[str, Callable[[Any], None]]:
    """Session option sets tried when onnxruntime misses the target (each applied to fresh options)."""
    level = rt.GraphOptimizationLevel

    def setter(**kw: Any) -> Callable[[Any], None]:
        def apply(opts: Any) -> None:
            for k, v in kw.items():
                if k == "spinning":
                    opts.add_session_config_entry("session.intra_op.allow_spinning", v)
                else:
                    setattr(opts, k, v)
        return apply

    return {
        "gansrv default (ENABLE_ALL, threads 0)": setter(graph_optimization_level=level.ORT_ENABLE_ALL),
        "opt BASIC": setter(graph_optimization_level=level.ORT_ENABLE_BASIC),
        "opt EXTENDED": setter(graph_optimization_level=level.ORT_ENABLE_EXTENDED),
        "opt DISABLE_ALL": setter(graph_optimization_level=level.ORT_DISABLE_ALL),
        "intra_op threads 1": setter(graph_optimization_level=level.ORT_ENABLE_ALL, intra_op_num_threads=1),
        "intra_op threads 2": setter(graph_optimization_level=level.ORT_ENABLE_ALL, intra_op_num_threads=2),
        "allow_spinning 0": setter(graph_optimization_level=level.ORT_ENABLE_ALL, spinning="0"),
        "threads 2 + spinning 0": setter(graph_optimization_level=level.ORT_ENABLE_ALL,
                                         intra_op_num_threads=2, spinning="0"),
        "execution mode PARALLEL": setter(graph_optimization_level=level.ORT_ENABLE_ALL,
                                          execution_mode=rt.ExecutionMode.ORT_PARALLEL),
    }


def tune(onnx_path: Path, feeds: dict[str, np.ndarray], seconds: float,
         device: str = "cpu") -> list[dict[str, Any]]:
    from gansrv.runtime.session import CPU, CUDA, ort

    rt = ort()
    providers = [CUDA, CPU] if device == "cuda" else [CPU]
    rows = []
    for name, apply in ort_variants(rt).items():
        opts = rt.SessionOptions()
        opts.log_severity_level = 3
        apply(opts)
        sess = rt.InferenceSession(str(onnx_path), opts, providers=providers)
        r = timed(lambda s=sess: s.run(["image"], feeds), seconds)
        rows.append({"variant": name, "img_s": len(feeds["z"]) / r["median_s"], **r})
        del sess
    return rows


def speed(family: str, run_dir: Path, onnx_path: Path, seconds: float, peak: float,
          device: str = "cpu") -> dict[str, Any]:
    """torch eager vs onnxruntime at each batch size, and FLOPs per image."""
    import torch

    from gansrv.runtime import session as sessions
    from gansrv.train.load import load_run

    run = load_run(run_dir)
    spec = run.family.export_graphs(run.modules, run.config, run.spec)[0]
    module = spec.module.eval().to(device)
    names = list(spec.inputs)
    latent = int(spec.inputs["z"].shape[1])
    classes = int(getattr(run.config, "num_classes", 0) or getattr(run.spec, "num_classes", 0) or 10)
    flops = flops_per_image(module, {k: torch.as_tensor(v, device=device) for k, v in
                                     feeds_for(names, 1, latent, classes).items()})
    sess = sessions.session(onnx_path, device, cache=False)
    print(f"  {family}: onnxruntime on {sessions.provider_in_use(sess)}, torch on {device}", flush=True)
    rows = []
    for batch in BATCHES:
        feeds = feeds_for(names, batch, latent, classes)
        tfeeds = [torch.from_numpy(feeds[k]) for k in names]
        with torch.inference_mode():
            t = timed(lambda tf=tfeeds: module(*[x.to(device) for x in tf]).cpu(), seconds)
        o = timed(lambda f=feeds: sess.run(["image"], f), seconds)
        row = {"batch": batch, "torch_img_s": batch / t["median_s"], "ort_img_s": batch / o["median_s"],
               "torch_calls": t["calls"], "ort_calls": o["calls"]}
        row["ratio"] = row["ort_img_s"] / row["torch_img_s"]
        row["torch_peak_frac"] = flops * row["torch_img_s"] / peak
        row["ort_peak_frac"] = flops * row["ort_img_s"] / peak
        rows.append(row)
        print(f"  {family} batch {batch}: torch {row['torch_img_s']:.0f} img/s, ort {row['ort_img_s']:.0f} "
              f"img/s, ratio {row['ratio']:.2f}", flush=True)
    out: dict[str, Any] = {"family": family, "flops_per_image": flops, "rows": rows}
    at64 = next(r for r in rows if r["batch"] == 64)
    if at64["ratio"] < TARGET_RATIO:
        print(f"  {family}: ratio {at64['ratio']:.2f} < {TARGET_RATIO} at batch 64: trying session options",
              flush=True)
        out["tuning"] = tune(onnx_path, feeds_for(names, 64, latent, classes), seconds, device)
        out["tuning_torch_img_s"] = at64["torch_img_s"]
    return out


def tables(results: list[dict[str, Any]], gens: list[dict[str, Any]], peak: float) -> str:
    lines = [f"fp32 matmul peak (torch): {peak / 1e9:.1f} GFLOP/s", "",
             "| family | GFLOP/image | batch | torch img/s | ORT img/s | ORT / torch | torch % peak "
             "| ORT % peak |", "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for res in results:
        for r in res["rows"]:
            lines.append(f"| {res['family']} | {res['flops_per_image'] / 1e9:.4f} | {r['batch']} "
                         f"| {r['torch_img_s']:.1f} | {r['ort_img_s']:.1f} | **{r['ratio']:.2f}** "
                         f"| {100 * r['torch_peak_frac']:.1f} % | {100 * r['ort_peak_frac']:.1f} % |")
    for res in results:
        if "tuning" in res:
            lines += ["", f"{res['family']}, batch 64, onnxruntime session options "
                      f"(torch eager: {res['tuning_torch_img_s']:.1f} img/s)", "",
                      "| session options | ORT img/s | ORT / torch |", "|---|--:|--:|"]
            base = res["tuning_torch_img_s"]
            for t in res["tuning"]:
                lines.append(f"| {t['variant']} | {t['img_s']:.1f} | {t['img_s'] / base:.2f} |")
    lines += ["", "| family | images | batch | raw forward img/s | writers, PNG level "
              "| generate in-process img/s | % of raw |", "|---|--:|--:|--:|--:|--:|--:|"]
    for g in gens:
        for w, r in g["workers_sweep"].items():
            lines.append(f"| {g['family']} | {g['n']} | {g['batch']} | {g['raw_img_s']:.1f} | {w} "
                         f"| {r['img_s']:.1f} | **{100 * r['frac']:.1f} %** |")
        lines.append(f"| {g['family']} | {g['n']} | {g['batch']} | {g['raw_img_s']:.1f} | `--format npz` "
                     f"(no PNGs) | {g['npz_img_s']:.1f} | {100 * g['npz_frac']:.1f} % |")
    lines += ["", "| family | generate CLI img/s (wall, start-up included, default workers) | % of raw |",
              "|---|--:|--:|"]
    for g in gens:
        lines.append(f"| {g['family']} ({g['cli_workers']} workers) | {g['cli_img_s']:.1f} "
                     f"| {100 * g['cli_frac']:.1f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--families", nargs="+", default=["dcgan", "cgan"], help="default: %(default)s")
    p.add_argument("--seconds", type=float, default=2.0, help="Timed seconds per measurement (default: 2).")
    p.add_argument("--n", type=int, default=5000, help="Images for the generate comparison (default: 5000).")
    p.add_argument("--gen-batch", type=int, default=256, help="--batch-size of generate (default: 256).")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    p.add_argument("--gen-workers", type=int, nargs="+", default=None,
                   help="generate --workers values to compare in-process (default: generate's default).")
    p.add_argument("--writer-modes", nargs="+", choices=["auto", "threads", "processes"], default=None,
                   help="PNG writer pools to compare in-process (default: auto, generate's choice).")
    p.add_argument("--levels", type=int, nargs="+", default=None, choices=range(10), metavar="0-9",
                   help="generate --compression levels to compare in-process (default: generate's).")
    p.add_argument("--passes", type=int, default=2, choices=range(1, 6), metavar="1-5",
                   help="Passes over the torch/ORT comparison; the last is kept (default: 2). On the "
                        "2-core VM torch's first model in a process ran 40%% slower than later ones.")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="Where the generated datasets go (default: the system's temp folder); e.g. "
                        "/dev/shm to take the disk out of the generate comparison.")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="torch device and onnxruntime provider (default: cpu).")
    args = p.parse_args(argv)

    info = machine_info()
    if args.device == "cuda":
        import torch

        info["gpu"] = torch.cuda.get_device_name(0)
    print_machine(info)
    results, gens = [], []
    with tempfile.TemporaryDirectory(prefix="gansrv-rtspeed-", dir=args.out_dir) as tmp:
        root = Path(tmp)
        exported = {}
        for fam in args.families:
            run_dir, onnx_path = tiny_run(fam, root, args.data), root / f"{fam}.onnx"
            export = ["export", str(run_dir), "--onnx", "-o", str(onnx_path)]
            print(f"$ {shlex.join([*gansrv_command(), *export])}", flush=True)
            run_gansrv(export, quiet=True)
            exported[fam] = (run_dir, onnx_path)
        peak = matmul_peak(args.seconds, args.device)
        print(f"fp32 matmul peak: {peak / 1e9:.1f} GFLOP/s", flush=True)
        for i in range(args.passes):  # the figures of the last pass are kept
            print(f"pass {i + 1} of {args.passes}", flush=True)
            results = [speed(fam, run_dir, onnx_path, args.seconds, peak, args.device)
                       for fam, (run_dir, onnx_path) in exported.items()]
        costs = [file_cost(root)]
        for fam, (_, onnx_path) in exported.items():
            gens.append(end_to_end(fam, onnx_path, root, args.n, args.gen_batch, args.device,
                                   args.gen_workers, args.writer_modes, args.levels))
        costs.append(file_cost(root))
        info["file_cost_s"] = costs
        fs_line = (f"datasets written under {root.parent}: one small file (temp + rename) cost "
                   f"{costs[0] * 1e6:.1f} us of CPU before the generate runs, {costs[1] * 1e6:.1f} us after")
    finish_machine(info)
    print()
    print(f"$ {shlex.join([sys.executable, *sys.argv])}")
    print(f"{info['nproc']} CPUs ({info['cpu']}), torch {info['torch']}, {info['date']}, "
          f"load average end {info['loadavg_end']}; median of >= {args.seconds:g} s per figure; "
          f"device {args.device}{' (' + info['gpu'] + ')' if 'gpu' in info else ''}")
    print(fs_line)
    print()
    print(tables(results, gens, peak))
    print()
    for res in results:
        r64 = next(r for r in res["rows"] if r["batch"] == 64)
        print(f"target ORT >= {TARGET_RATIO}x torch at batch 64, {res['family']}: "
              f"{'met' if r64['ratio'] >= TARGET_RATIO else 'NOT met'} ({r64['ratio']:.2f}x)")
    for g in gens:
        verdict = {k: "met" if g[k] >= TARGET_GENERATE else "NOT met" for k in ("inproc_frac", "cli_frac")}
        print(f"target generate >= {100 * TARGET_GENERATE:.0f} % of raw forward, {g['family']}: in-process "
              f"{verdict['inproc_frac']} ({100 * g['inproc_frac']:.1f} %, {g['inproc_workers']} workers), "
              f"CLI {verdict['cli_frac']} ({100 * g['cli_frac']:.1f} %)")
    if args.json:
        write_json(args.json, {"speed": results, "generate": gens, "peak_flops": peak, "machine": info})
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
