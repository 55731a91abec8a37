"""Latency and throughput of ``gansrv demo`` through its API: one-image ``/generate`` beside ``/ping``.

Gradio's own cost per call (queue, JSON, server-sent events, file download for images) dwarfs a
28x28 generator, so a figure for ``/generate`` alone says little; the demo's share is the difference
to ``/ping`` of the same app, measured in the same run. In order:

1. a tiny cgan run is trained and exported (``--model`` skips it: weights do not matter for speed);
2. ``gansrv demo MODEL --port P`` starts in a subprocess (the server does not share this process's
   GIL with the clients); its idle CPU (Gradio's queue polls every millisecond) is measured;
3. for each client kind, 1 and then ``--clients`` concurrent clients (one session each, all created
   and warmed up before the clock starts) make ``/ping`` calls, then ``/generate`` calls of one image
   (seed = call number), then the same without downloading the PNG ("URL only"); p50/p95 per call,
   throughput = calls / wall time, and CPU per call of the server process (``/proc/PID/stat``) and of
   this process (the clients), both over the timed calls only. Client kinds:

   - ``gradio_client``: ``gradio_client.Client`` objects, one thread each (the README's client);
   - ``gradio_client_procs``: the same clients spread over ``--procs`` worker processes
     (``demo_procs.py``), so that they do not share one GIL; client CPU is the workers' own;
   - ``rest``: the same calls through Gradio's REST routes with asyncio + httpx in one thread
     (``demo_rest.py``), ~10x less client CPU per call;
4. in-process reference: ``actions.generate`` of one image + PNG encoding (the demo's own work,
   without Gradio), median and p95.

    python benchmarks/demo_latency.py                                   # 40 calls, 20 clients x 5
    python benchmarks/demo_latency.py --calls 10 --per-client 2        # smoke test
    python benchmarks/demo_latency.py --model exported/digits.onnx --json demo.json

Clients and server share the machine's cores: the "CPU ceiling" line is the throughput at which
server + client CPU per call would keep every core busy. Compare figures only between runs on the
same, otherwise idle machine.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import demo_procs
import demo_rest
from common import finish_machine, gansrv_command, machine_info, print_machine, run_gansrv, write_json

ALL = "(all classes)"
TICK = os.sysconf("SC_CLK_TCK")
CLIENT_KINDS = ("gradio_client", "gradio_client_procs", "rest")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a measured call)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def tiny_model(folder: Path) -> Path:
    run_dir = folder / "run"
    run_gansrv(["train", "cgan", "--data", "digits", "--steps", "2", "--limit", "256", "--batch-size", "32",
                "--no-progress", "--out", str(run_dir)], quiet=True)
    out = folder / "digits.onnx"
    run_gansrv(["export", str(run_dir), "--onnx", "-o", str(out)], quiet=True)
    return out


def start_server(model: Path, port: int, concurrency: int, threads: int) -> subprocess.Popen:
    cmd = [*gansrv_command(), "demo", str(model), "--port", str(port), "--provider", "cpu",
           "--concurrency", str(concurrency), "--threads", str(threads), "--queue-size", "1000"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gansrv demo exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            httpx.get(url + "gradio_api/info", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit("gansrv demo did not answer in time")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def own_cpu() -> float:
    """CPU seconds of this process, every thread (the clients)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class CpuWindow:
    """Server and client CPU over the timed calls only (not client creation or warm-up)."""

    def __init__(self, server_pid: int):
        self.pid = server_pid

    def start(self) -> None:
        self.s0, self.c0 = cpu_of(self.pid), own_cpu()

    def stop(self) -> None:
        self.server, self.client = cpu_of(self.pid) - self.s0, own_cpu() - self.c0


def measure_gradio_client(url: str, n_clients: int, calls_each: int, call: Callable[[Any, int], Any],
                          download: bool, cpu: CpuWindow) -> tuple[list[float], float]:
    """n_clients threads, one Client each, calls_each calls after one warm-up call per client.

    ``download=False``: the client gets the images' URLs and does not fetch the files.
    """
    from gradio_client import Client

    clients = [Client(url, verbose=False, download_files=download) for _ in range(n_clients)]
    for k, c in enumerate(clients):
        call(c, 10**6 + k)
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(n_clients + 1)

    def worker(k: int) -> None:
        start.wait()
        for j in range(calls_each):
            t0 = time.perf_counter()
            call(clients[k], 1 + k * calls_each + j)
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    cpu.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu.stop()
    return latencies, wall


def measure_rest(url: str, n_clients: int, calls_each: int, api: str, data: Callable[[int], list],
                 download: bool, cpu: CpuWindow) -> tuple[list[float], float]:
    """The same round with demo_rest's asyncio clients (CPU over the timed calls, as above)."""
    return demo_rest.measure(url, n_clients, calls_each, api, data, download, cpu.start, cpu.stop)


def row(kind: str, endpoint: str, n_clients: int, latencies: list[float], wall: float,
        cpu: CpuWindow) -> dict[str, Any]:
    n = len(latencies)
    return {"client": kind, "endpoint": endpoint, "clients": n_clients, "calls": n,
            "p50_ms": 1000 * percentile(latencies, 50), "p95_ms": 1000 * percentile(latencies, 95),
            "throughput_per_s": n / wall, "server_cpu_ms": 1000 * cpu.server / n,
            "client_cpu_ms": 1000 * cpu.client / n}


def run_rounds(url: str, model: str, pid: int, kinds: tuple[str, ...],
               rounds: tuple[tuple[int, int], ...], procs: int, folder: Path) -> list[dict[str, Any]]:
    """Every client kind x (clients, calls each) x endpoint; one row each."""
    args = lambda i: [model, i, 1, 0, ALL]  # noqa: E731 - seed = call number, one image
    endpoints = (("ping", "ping", True), ("generate 1 image", "generate", True),
                 ("generate 1 image, URL only", "generate", False))
    rows = []
    for kind in kinds:
        for n, each in rounds:
            for name, api, download in endpoints:
                cpu = CpuWindow(pid)
                if kind == "gradio_client_procs":
                    lat, wall = demo_procs.measure(url, n, min(procs, n), each, api, download, model,
                                                   folder, cpu)
                elif kind == "gradio_client":
                    call = ((lambda c, i: c.predict(api_name="/ping")) if api == "ping"  # noqa: E731
                            else (lambda c, i: c.predict(*args(i), api_name="/generate")))
                    lat, wall = measure_gradio_client(url, n, each, call, download, cpu)
                else:
                    data = (lambda i: []) if api == "ping" else args  # noqa: E731
                    lat, wall = measure_rest(url, n, each, api, data, download, cpu)
                rows.append(row(kind, name, n, lat, wall, cpu))
    return rows


def idle_cpu_ms_per_s(pid: int, seconds: float = 3.0) -> float:
    """The server's CPU while nobody calls it (Gradio's queue loop wakes every millisecond)."""
    c0, t0 = cpu_of(pid), time.monotonic()
    time.sleep(seconds)
    return 1000 * (cpu_of(pid) - c0) / (time.monotonic() - t0)


def own_work(model: Path, calls: int) -> dict[str, float]:
    """The demo's own work for one image, in-process: generate + PNG encode, no Gradio."""
    from PIL import Image

    from gansrv.demo import actions
    from gansrv.demo.models import Limits, load_models

    models, _ = load_models([model], provider="cpu")
    m = next(iter(models.values()))
    times = []
    for i in range(calls + 3):
        t0 = time.perf_counter()
        (im,) = actions.generate(m, Limits(), i, 1, 0, ALL)
        Image.fromarray(im).save(io.BytesIO(), format="PNG")
        times.append(time.perf_counter() - t0)
    times = times[3:]
    return {"p50_ms": 1000 * statistics.median(times), "p95_ms": 1000 * percentile(times, 95)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="an exported generator (default: train a tiny cgan)")
    ap.add_argument("--calls", type=int, default=40, help="calls of each endpoint with 1 client")
    ap.add_argument("--clients", type=int, default=20, help="concurrent clients of the second round")
    ap.add_argument("--per-client", type=int, default=5, help="calls per client in that round")
    ap.add_argument("--client", choices=[*CLIENT_KINDS, "all"], default="all",
                    help="which client kind makes the calls")
    ap.add_argument("--procs", type=int, default=4,
                    help="client processes of the gradio_client_procs kind (the clients spread over them)")
    ap.add_argument("--concurrency", type=int, default=4, help="the server's --concurrency")
    ap.add_argument("--threads", type=int, default=1, help="the server's --threads (onnxruntime)")
    ap.add_argument("--port", type=int, default=7871)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    kinds = CLIENT_KINDS if args.client == "all" else (args.client,)

    info = machine_info()
    print_machine(info)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or tiny_model(Path(tmp))
        url = f"http://127.0.0.1:{args.port}/"
        proc = start_server(model, args.port, args.concurrency, args.threads)
        try:
            wait_until_up(url, proc)
            idle = idle_cpu_ms_per_s(proc.pid)
            rows = run_rounds(url, model.stem, proc.pid, kinds,
                              ((1, args.calls), (args.clients, args.per_client)), args.procs, Path(tmp))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        own = own_work(model, args.calls)
    finish_machine(info)
    report(rows, own, idle, args, info)


def report(rows: list[dict], own: dict, idle: float, args: argparse.Namespace, info: dict) -> None:
    print(f"\nserver: gansrv demo --concurrency {args.concurrency} --threads {args.threads}, idle CPU "
          f"{idle:.0f} ms/s; CPU columns: ms per call over the timed calls, server process and client "
          f"processes (gradio_client: one thread per client; _procs: over {args.procs} processes; "
          f"rest: asyncio, one thread)")
    print("\n| client | endpoint | clients | calls | p50 ms | p95 ms | calls/s | server CPU ms | "
          "client CPU ms |\n|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['client']} | {r['endpoint']} | {r['clients']} | {r['calls']} | {r['p50_ms']:.0f} "
              f"| {r['p95_ms']:.0f} | {r['throughput_per_s']:.1f} | {r['server_cpu_ms']:.1f} "
              f"| {r['client_cpu_ms']:.1f} |")
    by = {(r["client"], r["endpoint"], r["clients"]): r for r in rows}
    nproc = info["nproc"]
    for kind in dict.fromkeys(r["client"] for r in rows):
        gen1, ping1 = by[(kind, "generate 1 image", 1)], by[(kind, "ping", 1)]
        genn = by[(kind, "generate 1 image", args.clients)]
        ceiling = 1000 * nproc / (genn["server_cpu_ms"] + genn["client_cpu_ms"])
        print(f"\n{kind}: /generate over /ping, 1 client: +{gen1['p50_ms'] - ping1['p50_ms']:.0f} ms p50, "
              f"+{gen1['p95_ms'] - ping1['p95_ms']:.0f} ms p95 (target: <= 20 ms p95)")
        print(f"{kind}: /generate throughput, {args.clients} clients vs 1: "
              f"{genn['throughput_per_s'] / gen1['throughput_per_s']:.1f}x (target: >= 5x); CPU ceiling "
              f"{ceiling:.0f} calls/s = {nproc} cores / ({genn['server_cpu_ms']:.1f} server + "
              f"{genn['client_cpu_ms']:.1f} client ms per call) = {ceiling / gen1['throughput_per_s']:.1f}x "
              f"one client")
    print(f"\nin-process, generate 1 image + PNG encode: {own['p50_ms']:.2f} ms p50, "
          f"{own['p95_ms']:.2f} ms p95")
    print(f"load average at end: {' '.join(map(str, info.get('loadavg_end') or []))}")
    if args.json:
        write_json(args.json, {"machine": info, "rows": rows, "own_work": own,
                               "server_idle_cpu_ms_per_s": idle,
                               "args": {k: str(v) for k, v in vars(args).items()}})


if __name__ == "__main__":
    sys.exit(main())
