"""gradio_client clients spread over several processes, for the demo latency benchmark.

Why: 20 gradio_client threads in one process share one GIL, and each call costs ~45 ms of client
CPU; in separate processes the clients can use every core, so the round shows what the CPU allows
rather than what one interpreter allows. Each worker is a plain ``subprocess`` (no multiprocessing
Manager or Barrier: an earlier attempt with them deadlocked) that creates and warms up its clients,
prints ``ready``, waits for a start time written to a file, makes its calls and prints one JSON line:
its latencies, its CPU seconds over the calls, and when its calls ended.

    python benchmarks/demo_procs.py --worker URL START_FILE THREADS CALLS_EACH SEED0 API DOWNLOAD MODEL
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ALL = "(all classes)"
START_DELAY_S = 0.5  # the start time is this far ahead, so every worker is waiting when it comes


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker(url: str, start_file: Path, threads: int, calls_each: int, seed0: int, api: str,
           download: bool, model: str) -> None:
    """One process: ``threads`` Clients, one thread each; see the module docstring."""
    from gradio_client import Client

    def call(c: Any, i: int) -> Any:
        if api == "ping":
            return c.predict(api_name="/ping")
        return c.predict(model, i, 1, 0, ALL, api_name="/generate")

    clients = [Client(url, verbose=False, download_files=download) for _ in range(threads)]
    for k, c in enumerate(clients):
        call(c, 10**6 + seed0 + k)
    print("ready", flush=True)
    while not start_file.exists():
        time.sleep(0.005)
    time.sleep(max(0.0, float(start_file.read_text()) - time.time()))
    latencies: list[float] = []
    lock = threading.Lock()

    def run(k: int) -> None:
        for j in range(calls_each):
            t0 = time.perf_counter()
            call(clients[k], seed0 + k * calls_each + j)
            with lock:
                latencies.append(time.perf_counter() - t0)

    c0 = _cpu()
    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(json.dumps({"latencies": latencies, "cpu_s": _cpu() - c0, "end": time.time()}), flush=True)


def measure(url: str, n_clients: int, procs: int, calls_each: int, api: str, download: bool,
            model: str, folder: Path, cpu: Any) -> tuple[list[float], float]:
    """``n_clients`` gradio_client clients over ``procs`` worker processes (as even as possible);
    returns (latencies in s, wall time in s). ``cpu``: demo_latency's CpuWindow; its client figure
    becomes the workers' CPU over their calls."""
    start_file = folder / f"start-{time.monotonic_ns()}"
    sizes = [n_clients // procs + (i < n_clients % procs) for i in range(procs)]
    workers, seed0 = [], 1
    for size in (s for s in sizes if s):
        cmd = [sys.executable, __file__, "--worker", url, str(start_file), str(size), str(calls_each),
               str(seed0), api, str(int(download)), model]
        workers.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        seed0 += size * calls_each
    try:
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise SystemExit(f"a client worker failed before its calls (exit {w.wait()})")
        start = time.time() + START_DELAY_S
        start_file.write_text(repr(start))
        time.sleep(max(0.0, start - time.time()))
        cpu.start()
        results = [json.loads(w.stdout.readline()) for w in workers]
        cpu.stop()
    finally:
        for w in workers:
            if w.wait(timeout=600) != 0:
                raise SystemExit(f"a client worker exited with {w.returncode}")
        start_file.unlink(missing_ok=True)
    cpu.client = sum(r["cpu_s"] for r in results)
    return [x for r in results for x in r["latencies"]], max(r["end"] for r in results) - start


if __name__ == "__main__":
    if len(sys.argv) != 10 or sys.argv[1] != "--worker":
        raise SystemExit(__doc__)
    a = sys.argv[2:]
    worker(a[0], Path(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5], a[6] == "1", a[7])
