"""Helpers the benchmark scripts share: where things are, how to call gansrv, what machine this is.

Benchmarks run the real ``gansrv`` command in a subprocess (not the Python API) so that what they
time is exactly what a user runs, start-up and data loading included in the wall-clock figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
TRAIN_COUNT = 8000  # canonical MNIST split: the first 8,000 train, the rest are held out


def gansrv_command() -> list[str]:
    """The ``gansrv`` executable of the running interpreter's environment (not whatever PATH finds
    first), so a benchmark started with ``.venv/bin/python`` times this checkout's code."""
    exe = Path(sys.executable).parent / "gansrv"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("gansrv")
    return [found] if found else [sys.executable, "-m", "gansrv"]


def run_gansrv(args: list[str], quiet: bool = False) -> tuple[float, str]:
    """Run ``gansrv ARGS``; returns (wall seconds, its stdout). Exits with its code if it fails.

    stderr (the training log) goes straight to the terminal unless ``quiet``; it is kept and shown
    when the command fails either way.
    """
    cmd = [*gansrv_command(), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE if quiet else None,
                          text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        if quiet and proc.stderr:
            sys.stderr.write(proc.stderr)
        sys.stderr.write(proc.stdout or "")
        raise SystemExit(f"command failed with exit code {proc.returncode}: {shlex.join(cmd)}")
    return wall, proc.stdout


def tiny_run(family: str, root: Path, data: Path) -> Path:
    """``gansrv train FAMILY`` for 2 steps on 256 images into ``root/FAMILY``: for speed figures,
    where the weights do not matter and the defaults' shapes do."""
    run_dir = root / family
    args = ["train", family, "--data", str(data), "--limit", "256", "--steps", "2", "--no-progress",
            "--out", str(run_dir)]
    print(f"$ {shlex.join([*gansrv_command(), *args])}", flush=True)
    run_gansrv(args, quiet=True)
    return run_dir


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Rows of the run's metrics.jsonl: ``step``, cumulative training seconds ``time``, losses."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path}: missing; did the training run log anything?")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Date, CPUs and versions: a figure without them cannot be compared with another one."""
    import torch

    import gansrv

    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 0
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "nproc": nproc,
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gansrv": gansrv.__version__,
        "python": platform.python_version(),
        "loadavg_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    """Load average: other work on a 2-core machine changes every timing here, so record it."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def print_machine(info: dict[str, Any]) -> None:
    load = info.get("loadavg_start")
    print(f"date:    {info['date']}")
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), load average at start "
          f"{' '.join(map(str, load)) if load else 'n/a'}")
    print(f"versions: torch {info['torch']} ({info['torch_threads']} threads), gansrv {info['gansrv']}, "
          f"python {info['python']}")


def finish_machine(info: dict[str, Any]) -> None:
    info["loadavg_end"] = _loadavg()


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def translation_parser(doc: str, family: str, budget: float, budget_help: str,
                       train_help: str) -> argparse.ArgumentParser:
    """The options every MNIST image-to-image benchmark takes, declared once; a script adds its own."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--budget", type=float, default=budget, help=budget_help)
    p.add_argument("--train", type=int, default=TRAIN_COUNT, help=train_help)
    p.add_argument("--json", help="Also write the figures to this JSON file.")
    p.add_argument("extra", nargs="*", help=f"After --: extra 'gansrv train {family}' arguments.")
    return p


def add_extra_option(p: argparse.ArgumentParser, example: str) -> None:
    """``--extra RUN=ARGS`` (repeatable): more ``gansrv train`` arguments for one named run of a
    benchmark, for trials; read back with :func:`extra_args`."""
    p.add_argument("--extra", action="append", default=[], metavar="RUN=ARGS",
                   help=f"More train arguments for one run, e.g. {example}.")


def extra_args(values: list[str], runs: set[str]) -> dict[str, list[str]]:
    """``--extra`` values as run name -> argument list; a value without ``=``, or naming no run in
    ``runs`` (a typo would otherwise be ignored silently), is refused."""
    bad = [v for v in values if "=" not in v]
    if bad:
        raise SystemExit(f"--extra takes RUN=ARGS, got {bad[0]!r}")
    extra = {k: shlex.split(v) for k, v in (e.split("=", 1) for e in values)}
    unknown = sorted(set(extra) - runs)
    if unknown:
        names = ", ".join(sorted(runs))
        raise SystemExit(f"--extra names no run of this benchmark: {unknown[0]} (runs: {names})")
    return extra


def parse_train_count(p: argparse.ArgumentParser, argv: list[str] | None, low: int) -> argparse.Namespace:
    """Parse, refusing a --train count the split cannot give (below ``low`` leaves a domain empty)."""
    a = p.parse_args(argv)
    if not low <= a.train <= TRAIN_COUNT:
        raise SystemExit(f"--train must be between {low} and {TRAIN_COUNT}")
    return a
