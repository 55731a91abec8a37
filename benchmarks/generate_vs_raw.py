"""``gansrv generate`` end to end against the raw forward it wraps (part of runtime_speed.py).

Kept apart from the torch/onnxruntime comparison because it measures something else: what writing
one PNG per image (encode, create, rename, manifest) costs on top of the model, and how much of that
belongs to the file system.
"""

from __future__ import annotations

import shlex
import tempfile
import time
from pathlib import Path
from typing import Any

from common import gansrv_command, run_gansrv


def forced_writers(mode: str) -> dict[str, int]:
    """Writer-pool thresholds that force ``threads`` or ``processes`` (``auto``: generate's own)."""
    from gansrv.generate import writer

    if mode == "threads":
        return {"PROCESS_WRITERS_FROM": 10**9, "PROCESS_MIN_IMAGES": 10**9}
    if mode == "processes":
        return {"PROCESS_WRITERS_FROM": 1, "PROCESS_MIN_IMAGES": 0}
    return {"PROCESS_WRITERS_FROM": writer.PROCESS_WRITERS_FROM,
            "PROCESS_MIN_IMAGES": writer.PROCESS_MIN_IMAGES}


def file_cost(folder: Path, count: int = 2000) -> float:
    """CPU seconds (user + system) per small file created the way generate does (write a temp
    file, rename it), in ``folder``: the part of generate's cost that belongs to the file system.
    On this VM's ext4 it ranged from ~40 to ~500 us within one afternoon, so every run measures it.
    """
    import os

    from gansrv import atomic

    data = bytes(200)
    probe = Path(tempfile.mkdtemp(prefix="file-cost-", dir=folder))
    try:
        t0 = time.process_time()
        for i in range(count):
            atomic.write_bytes(f"{probe}/{i:06d}.png", data, durable=False)
        return (time.process_time() - t0) / count
    finally:
        for name in os.listdir(probe):
            os.unlink(probe / name)
        probe.rmdir()


def end_to_end(family: str, onnx_path: Path, root: Path, n: int, batch: int,
               device: str = "cpu", workers: list[int] | None = None,
               modes: list[str] | None = None, levels: list[int] | None = None) -> dict[str, Any]:
    """Raw forward of Generator.generate vs gansrv generate (in a subprocess and in-process), and
    in-process with ``--format npz`` (one file instead of one PNG per image: a separate row, never
    the PNG figure the target is about).

    The raw forward is timed twice and the faster kept, so a hiccup cannot flatter the ratio.
    """
    from gansrv.runtime import Generator

    gen = Generator.from_file(onnx_path, device)
    gen.generate(min(n, batch * 2), seed=0, batch_size=batch)  # warm-up
    raw_s = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        gen.generate(n, seed=0, batch_size=batch)
        raw_s = min(raw_s, time.perf_counter() - t0)

    args = ["generate", str(onnx_path), "--n", str(n), "--out", str(root / f"{family}-cli"),
            "--batch-size", str(batch), "--no-progress", "--provider", device]
    command = shlex.join([*gansrv_command(), *args])
    print(f"$ {command}", flush=True)
    cli_s, _ = run_gansrv(args, quiet=True)

    from gansrv.cli.generate import generate as generate_cmd
    from gansrv.generate import writer
    from gansrv.generate.plan import DEFAULT_LEVEL, default_workers

    sweep = {}
    saved = forced_writers("auto")
    runs = [(m, w, z) for m in modes or ["auto"] for w in workers or [default_workers()]
            for z in levels or [DEFAULT_LEVEL]]
    for mode, w, level in runs:
        inproc_args = [*args[1:], "--workers", str(w), "--compression", str(level)]
        inproc_args[inproc_args.index("--out") + 1] = str(root / f"{family}-inproc-{mode}-{w}-{level}")
        for k, v in forced_writers(mode).items():
            setattr(writer, k, v)
        t0 = time.perf_counter()
        try:
            generate_cmd.main(inproc_args, standalone_mode=False)
        finally:
            for k, v in saved.items():
                setattr(writer, k, v)
        sweep[f"{w} {mode}, level {level}"] = time.perf_counter() - t0
    best = min(sweep, key=sweep.get)
    inproc_s = sweep[best]
    npz_args = [*args[1:], "--format", "npz"]
    npz_args[npz_args.index("--out") + 1] = str(root / f"{family}-inproc-npz")
    t0 = time.perf_counter()
    generate_cmd.main(npz_args, standalone_mode=False)
    npz_s = time.perf_counter() - t0
    return {"npz_img_s": n / npz_s, "npz_frac": raw_s / npz_s,
            "family": family, "n": n, "batch": batch, "raw_s": raw_s, "raw_img_s": n / raw_s,
            "cli_s": cli_s, "cli_img_s": n / cli_s, "inproc_s": inproc_s, "inproc_img_s": n / inproc_s,
            "cli_frac": raw_s / cli_s, "inproc_frac": raw_s / inproc_s, "command": command,
            "cli_workers": default_workers(), "inproc_workers": best,
            "workers_sweep": {str(w): {"s": t, "img_s": n / t, "frac": raw_s / t} for w, t in sweep.items()}}
