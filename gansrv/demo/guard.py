"""The demo's gate: an ASGI middleware in front of every Gradio route.

Gradio's ``auth=`` guards its named routes (``/config``, ``/gradio_api/info``, ``/file=``,
``/upload``, ``/queue/join``, ...) but not all of them: ``/gradio_api/heartbeat``, ``/cancel``,
``/reset``, ``/stream/...``, ``/startup-events``, ``/runs``, ``/run-history/...`` and
``/monitoring/{key}`` answer without a login (read in gradio 6.31's routes.py). So with accounts
configured, this middleware refuses every path outside a short public list (the login page, its
static assets, the login route) unless the request carries a session cookie Gradio issued.

It also slows repeated failed logins from one address and then refuses them for a while, and
bounds how many actions (POST requests: queue joins, calls, uploads, logins) one address may start
per minute. The address is uvicorn's view of the client: behind a reverse proxy on loopback it
honours ``X-Forwarded-For`` (README, "Behind a reverse proxy").
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

# Paths the login page needs before anyone has logged in (the page shell and Gradio's own JS/CSS,
# which are the same for every Gradio app); everything else needs a session. startup-events:
# Gradio's launch() calls it itself, without a session, to start the queue; later calls do nothing.
PUBLIC_EXACT = frozenset({"/", "/login", "/login/", "/logout", "/favicon.ico", "/manifest.json",
                          "/robots.txt", "/theme.css", "/gradio_api/theme.css", "/pwa_icon",
                          "/gradio_api/login_check", "/gradio_api/login_check/",
                          "/gradio_api/startup-events"})
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon/")
LOGIN_PATHS = frozenset({"/login", "/login/"})
MAX_ADDRESSES = 10_000  # addresses tracked at once; the stalest are forgotten beyond it


@dataclass
class Throttle:
    """Failed logins per address: the first ``free`` cost nothing extra, each further one waits
    ``delay`` seconds doubling up to ``max_delay``; after ``lock_after`` failures the address is
    refused for ``lock_seconds``. A success forgets the address's failures."""

    free: int = 3
    delay: float = 1.0
    max_delay: float = 8.0
    lock_after: int = 10
    lock_seconds: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)  # address -> (count, last)

    def retry_after(self, address: str) -> float:
        """Seconds the address stays refused (0: it may try now)."""
        count, last = self._failures.get(address, (0, 0.0))
        if count < self.lock_after:
            return 0.0
        left = last + self.lock_seconds - self.clock()
        if left <= 0:
            self._failures.pop(address, None)
            return 0.0
        return left

    def wait(self, address: str) -> float:
        """Seconds to hold the address's next attempt before checking it."""
        count = self._failures.get(address, (0, 0.0))[0]
        return 0.0 if count < self.free else min(self.max_delay, self.delay * 2 ** (count - self.free))

    def failed(self, address: str) -> None:
        count = self._failures.get(address, (0, 0.0))[0]
        self._failures[address] = (count + 1, self.clock())
        _forget_oldest(self._failures, lambda v: v[1])

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


@dataclass
class RateLimit:
    """At most ``per_minute`` actions per address in any 60-second window."""

    per_minute: int = 120
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque] = field(default_factory=dict)

    def allow(self, address: str) -> bool:
        now = self.clock()
        times = self._seen.setdefault(address, deque())
        while times and times[0] <= now - 60.0:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        _forget_oldest(self._seen, lambda v: v[-1] if v else 0.0)
        return True


def _forget_oldest(table: dict, last_seen: Callable[[Any], float]) -> None:
    if len(table) > MAX_ADDRESSES:
        for key in sorted(table, key=lambda k: last_seen(table[k]))[:len(table) - MAX_ADDRESSES]:
            del table[key]


class Guard:
    """ASGI middleware (``Starlette(middleware=[Middleware(Guard, ...)])``).

    ``login``: whether accounts are configured (False with ``--no-auth`` or on loopback without
    accounts: only the rate limit applies)."""

    def __init__(self, app: Any, login: bool, throttle: Throttle | None = None,
                 rate: RateLimit | None = None) -> None:
        self.app, self.login = app, login
        self.throttle, self.rate = throttle or Throttle(), rate  # rate None: no bound
        self._locks: dict[str, asyncio.Lock] = {}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = _path(scope)
        address = (scope.get("client") or ("unknown", 0))[0]
        post = scope.get("method") == "POST"
        if post and self.rate is not None and not self.rate.allow(address):
            return await _refuse(scope, send, 429, "too many requests from this address; wait a minute",
                                 retry_after=60)
        if self.login and path in LOGIN_PATHS and post:
            return await self._login(scope, receive, send, address)
        if self.login and not _public(path) and not _logged_in(scope):
            return await _refuse(scope, send, 401, "Not authenticated")
        await self.app(scope, receive, send)

    async def _login(self, scope: dict, receive: Callable, send: Callable, address: str) -> None:
        """One login attempt at a time per address, held while it has failed before."""
        lock = self._locks.setdefault(address, asyncio.Lock())
        async with lock:
            left = self.throttle.retry_after(address)
            if left > 0:
                return await _refuse(scope, send, 429, "too many failed logins from this address",
                                     retry_after=int(left) + 1)
            await asyncio.sleep(self.throttle.wait(address))

            async def watch(message: dict) -> None:
                # recorded before the status goes out: the client must not see the answer first
                if message["type"] == "http.response.start":
                    self._record(address, message["status"])
                await send(message)

            await self.app(scope, receive, watch)
        if not lock.locked() and len(self._locks) > MAX_ADDRESSES:
            self._locks.pop(address, None)

    def _record(self, address: str, status: int) -> None:
        if status == 200:
            self.throttle.succeeded(address)
        elif 400 <= status < 500:
            self.throttle.failed(address)


def _path(scope: dict) -> str:
    """The path inside the app (a reverse proxy's root path removed)."""
    path, root = scope.get("path", "/"), scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    return path


def _public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


def _logged_in(scope: dict) -> bool:
    """Whether the request carries a session token the Gradio app issued at /login."""
    app = scope.get("app")
    tokens, cookie_id = getattr(app, "tokens", None), getattr(app, "cookie_id", None)
    if not tokens or cookie_id is None:
        return False
    raw = b"; ".join(v for k, v in scope.get("headers", []) if k == b"cookie").decode("latin-1")
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return False
    for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
        if name in jar and jar[name].value in tokens:
            return True
    return False


async def _refuse(scope: dict, send: Callable, status: int, error: str, retry_after: int | None = None
                  ) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": {"error": error, "auth_message": None}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
