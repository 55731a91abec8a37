"""Latency of ``gansrv demo`` through its API: one-image ``/generate`` beside the trivial ``/ping``.

Gradio's own cost per call (queue, JSON, server-sent events, file download for images) dwarfs a
28x28 generator, so a figure for ``/generate`` alone says little; the demo's share is the difference
to ``/ping`` of the same app, measured in the same run. In order:

1. a tiny cgan run is trained and exported (``--model`` skips it: weights do not matter for speed);
2. ``gansrv demo MODEL --port P`` starts in a subprocess (the server does not share this process's
   GIL with the clients);
3. for 1 and then ``--clients`` concurrent ``gradio_client.Client`` objects (one session each, one
   thread each, all created and warmed up before the clock starts): ``/ping`` calls, then
   ``/generate`` calls of one image (seed = call number), then the same with clients that take the
   image's URL without downloading the file; p50/p95 per call, and throughput = calls / wall time;
4. in-process reference: ``actions.generate`` of one image + PNG encoding (the demo's own work,
   without Gradio), median and p95.

    python benchmarks/demo_latency.py                                   # 40 calls, 20 clients x 5
    python benchmarks/demo_latency.py --calls 10 --per-client 2        # smoke test
    python benchmarks/demo_latency.py --model exported/digits.onnx --json demo.json

Clients and server share the machine's cores: on 2 cores, 20 client threads compete with the server
they measure. Compare figures only between runs on the same, otherwise idle machine.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import finish_machine, gansrv_command, machine_info, print_machine, run_gansrv, write_json

ALL = "(all classes)"


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


def start_server(model: Path, port: int, concurrency: int) -> subprocess.Popen:
    cmd = [*gansrv_command(), "demo", str(model), "--port", str(port), "--provider", "cpu",
           "--concurrency", str(concurrency), "--queue-size", "1000"]
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


def measure(url: str, n_clients: int, calls_each: int, call: Callable[[Any, int], Any],
            download: bool = True) -> dict[str, Any]:
    """n_clients threads, one Client each, calls_each calls after one warm-up call per client.

    ``download=False``: the client gets the images' URLs and does not fetch the files.
    """
    from gradio_client import Client

    clients = [Client(url, verbose=False, download_files=download) for _ in range(n_clients)]
    for c in clients:
        call(c, 0)
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
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": n_clients, "calls": len(latencies), "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95), "throughput_per_s": len(latencies) / wall}


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
    ap.add_argument("--concurrency", type=int, default=4, help="the server's --concurrency")
    ap.add_argument("--port", type=int, default=7871)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    info = machine_info()
    print_machine(info)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or tiny_model(Path(tmp))
        url = f"http://127.0.0.1:{args.port}/"
        proc = start_server(model, args.port, args.concurrency)
        try:
            wait_until_up(url, proc)
            ping = lambda c, i: c.predict(api_name="/ping")  # noqa: E731
            gen = lambda c, i: c.predict(model.stem, i, 1, 0, ALL, api_name="/generate")  # noqa: E731
            endpoints = (("ping", ping, True), ("generate 1 image", gen, True),
                         ("generate 1 image, URL only", gen, False))
            rows = []
            for n, each in ((1, args.calls), (args.clients, args.per_client)):
                for name, call, download in endpoints:
                    rows.append({"endpoint": name, **measure(url, n, each, call, download)})
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        own = own_work(model, args.calls)
    finish_machine(info)
    report(rows, own, args, info)


def report(rows: list[dict], own: dict, args: argparse.Namespace, info: dict) -> None:
    print(f"\nserver: gansrv demo --concurrency {args.concurrency}; clients: gradio_client, one thread each")
    print("\n| endpoint | clients | calls | p50 ms | p95 ms | calls/s |\n|---|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['endpoint']} | {r['clients']} | {r['calls']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} "
              f"| {r['throughput_per_s']:.1f} |")
    by = {(r["endpoint"], r["clients"]): r for r in rows}
    gen1, ping1 = by[("generate 1 image", 1)], by[("ping", 1)]
    genn = by[("generate 1 image", args.clients)]
    print(f"\n/generate over /ping, 1 client: +{gen1['p50_ms'] - ping1['p50_ms']:.0f} ms p50, "
          f"+{gen1['p95_ms'] - ping1['p95_ms']:.0f} ms p95 (target: <= 20 ms p95)")
    print(f"/generate throughput, {args.clients} clients vs 1: "
          f"{genn['throughput_per_s'] / gen1['throughput_per_s']:.1f}x (target: >= 5x)")
    print(f"in-process, generate 1 image + PNG encode: {own['p50_ms']:.2f} ms p50, "
          f"{own['p95_ms']:.2f} ms p95")
    print(f"load average at end: {' '.join(map(str, info.get('loadavg_end') or []))}")
    if args.json:
        write_json(args.json, {"machine": info, "rows": rows, "own_work": own, "args": {
            k: str(v) for k, v in vars(args).items()}})


if __name__ == "__main__":
    sys.exit(main())
