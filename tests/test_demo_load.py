"""The demo under load: 50 concurrent gradio_client clients on loopback for a bounded time.

Promises (docs/reliability.md): zero errors, every client answered during the measured round (none
starved or left hanging behind the queue), server memory that stays flat, and oversize requests
refused with a message while the load runs. Latencies are printed, not asserted (timings belong in
benchmarks/). The server is a `gansrv demo` process, so its resident set is measured apart from the
50 clients'.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gansrv.demo import actions
from tests.demo_server import free_port, model_files, wait_for_client

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")

CLIENTS, SECONDS = 50, 20.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def loaded_server(exports, tmp_path_factory):  # noqa: F811
    """`gansrv demo` in its own process (so its memory is its own), bounds raised for 50 clients."""
    folder = model_files(exports, tmp_path_factory.mktemp("load-models"))
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gansrv")), "demo", "--models-dir",
                             str(folder), "--port", str(port), "--provider", "cpu", "--max-images", "16",
                             "--concurrency", "4", "--queue-size", str(CLIENTS * 2)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_client(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}/", proc.pid
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def hammer(client, stop_at: float, latencies: list[float], errors: list[str], seed: int,
           served: list[int]) -> None:
    rng = np.random.default_rng(seed)
    while time.monotonic() < stop_at:
        conditional = rng.random() < 0.5
        model = "digits" if conditional else "dcgan-digits"
        cls = str(rng.integers(10)) if conditional else actions.ALL_CLASSES
        t0 = time.monotonic()
        try:
            out = client.predict(model, int(rng.integers(1000)), 1, 0, cls, api_name="/generate")
            assert len(out) == 1
        except Exception as exc:  # every failure counts; the test lists them
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.monotonic() - t0)
        served.append(seed)


def load_round(clients: list, seconds: float, latencies: list[float], errors: list[str],
               served: list[int] | None = None) -> None:
    """Every client calls in a loop for ``seconds``; ``served`` gets a client's index per answer."""
    stop_at = time.monotonic() + seconds
    served = [] if served is None else served
    threads = [threading.Thread(target=hammer, args=(c, stop_at, latencies, errors, i, served))
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    assert not any(t.is_alive() for t in threads)


def test_fifty_clients_no_errors_bounded_latency_flat_memory(loaded_server):
    url, pid = loaded_server
    clients = [gradio_client.Client(url, verbose=False) for _ in range(CLIENTS)]
    latencies: list[float] = []
    errors: list[str] = []
    load_round(clients, SECONDS / 2, latencies, errors)  # first round: gradio's caches fill up
    before, calls_before = rss_mb(pid), len(latencies)
    # an oversize request while the load runs is refused with the reason, not queued forever
    served: list[int] = []
    watcher = threading.Thread(target=load_round,
                               args=(clients, SECONDS / 2, latencies, errors, served))
    watcher.start()
    with pytest.raises(gradio_client.exceptions.AppError, match=re.escape("greater than maximum value 16")):
        clients[0].predict("digits", 0, 1000, 0, "3", api_name="/generate")
    watcher.join()
    grown = rss_mb(pid) - before
    assert errors == [], errors[:5]
    assert len(latencies) - calls_before >= CLIENTS, len(latencies)
    p95 = float(np.percentile(latencies, 95))
    print(f"\n{len(latencies)} calls from {CLIENTS} clients in {SECONDS:.0f} s; p50 "
          f"{np.percentile(latencies, 50) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms; RSS in the second "
          f"round +{grown:.0f} MB over {len(latencies) - calls_before} calls")
    # every client got answers while 49 others kept the queue full: the queue serves in turn
    assert sorted(set(served)) == list(range(CLIENTS)), sorted(set(range(CLIENTS)) - set(served))
    assert grown < 50, grown  # the server's own memory: a leak per request would grow with the calls
