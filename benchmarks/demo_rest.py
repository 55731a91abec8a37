"""A light client of the demo's API for the latency benchmark: Gradio's REST routes, asyncio + httpx.

Why not only gradio_client: on this 2-core machine it costs ~45 ms of client CPU per call, more than
half of it building an SSL context (CA bundle included) for each call's new httpx client, though the
URL is plain HTTP on loopback; 20 such clients in one process measure themselves, not the server.
This client makes the same calls through the same public routes (Gradio 6), one ``session_hash`` per
simulated client as a ``gradio_client.Client`` holds one:

1. ``POST /gradio_api/call/<api_name>`` with ``{"data": [...], "session_hash": ...}`` -> an event id;
2. ``GET /gradio_api/call/<api_name>/<event_id>``: the server-sent events until ``complete``;
3. for an image result, ``GET`` each image's URL (what gradio_client's ``download_files`` does).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

PNG_MAGIC = b"\x89PNG"


class CallFailed(RuntimeError):
    """The stream ended with an ``error`` event (or none): a benchmark must not count it as a call."""


async def call(http: httpx.AsyncClient, url: str, api: str, data: list, session: str,
               download: bool) -> Any:
    """One call of ``/api``, as gradio_client makes it; returns the decoded output list."""
    r = await http.post(f"{url}gradio_api/call/{api}", json={"data": data, "session_hash": session})
    r.raise_for_status()
    r = await http.get(f"{url}gradio_api/call/{api}/{r.json()['event_id']}")
    r.raise_for_status()
    event = payload = None
    for line in r.text.splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            payload = line[5:].strip()
    if event != "complete" or payload is None:
        raise CallFailed(f"/{api}: {event} {payload}")
    out = json.loads(payload)
    if download:
        for image_url in image_urls(out):
            f = await http.get(image_url)
            f.raise_for_status()
            if not f.content.startswith(PNG_MAGIC):
                raise CallFailed(f"/{api}: {image_url} is not a PNG")
    return out


def image_urls(out: Any) -> list[str]:
    """The URLs of a gallery's images ([[{"image": {"url": ...}}, ...]]); none for other outputs."""
    first = out[0] if out else None
    if not isinstance(first, list):
        return []
    return [item["image"]["url"] for item in first if isinstance(item, dict) and "image" in item]


async def _measure(url: str, n_clients: int, calls_each: int, api: str, data: Callable[[int], list],
                   download: bool, on_start: Callable[[], None],
                   on_stop: Callable[[], None]) -> tuple[list[float], float]:
    limits = httpx.Limits(max_connections=2 * n_clients + 2, max_keepalive_connections=2 * n_clients + 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        sessions = [f"bench-{api}-{n_clients}-{k}-{time.monotonic_ns()}" for k in range(n_clients)]
        # warm-up: one call per client (distinct seeds: Gradio writes equal images to one cache path)
        await asyncio.gather(*(call(http, url, api, data(10**6 + k), s, download)
                               for k, s in enumerate(sessions)))
        latencies: list[float] = []

        async def client(k: int) -> None:
            for j in range(calls_each):
                t0 = time.perf_counter()
                await call(http, url, api, data(1 + k * calls_each + j), sessions[k], download)
                latencies.append(time.perf_counter() - t0)

        on_start()
        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(n_clients)))
        wall = time.perf_counter() - t0
        on_stop()
        return latencies, wall


def measure(url: str, n_clients: int, calls_each: int, api: str, data: Callable[[int], list],
            download: bool = True, on_start: Callable[[], None] = lambda: None,
            on_stop: Callable[[], None] = lambda: None) -> tuple[list[float], float]:
    """``n_clients`` concurrent clients in one event loop, ``calls_each`` calls each after one warm-up
    call per client; returns (latency of every call in s, wall time of the timed calls in s).
    ``on_start`` / ``on_stop`` run just before and after the timed calls (a CPU meter)."""
    return asyncio.run(_measure(url, n_clients, calls_each, api, data, download, on_start, on_stop))
