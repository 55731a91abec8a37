"""The demo beyond loopback: accounts on every route, failed-login throttling, a per-address bound,
TLS, and the CLI's refusals. Plain HTTP (httpx) and gradio_client against a real server.

Several clients are told apart by ``X-Forwarded-For``: uvicorn trusts it from 127.0.0.1 (its
default ``FORWARDED_ALLOW_IPS``), exactly as it does behind a reverse proxy on the same machine.
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gansrv.cli import cli
from gansrv.demo import actions
from gansrv.demo.auth import ENV, hash_password, parse, verify
from gansrv.demo.guard import PUBLIC_EXACT, PUBLIC_PREFIXES, Throttle
from gansrv.demo.models import load_models
from tests.conftest import one_line_error, run
from tests.demo_server import LIMITS, free_port, model_files, wait_for_client

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")
USER, PASSWORD = "alice", "correct horse battery"
RATE = 40  # actions per minute per address on the test server


@pytest.fixture(scope="module")
def auth_line() -> str:
    return f"{USER}:{hash_password(PASSWORD)}"


@pytest.fixture(scope="module")
def server(exports, auth_line, tmp_path_factory):  # noqa: F811
    """The demo with one account, a quick throttle (lock after 3 failures) and RATE per minute."""
    from gansrv.demo.app import build_app, launch

    folder = model_files(exports, tmp_path_factory.mktemp("auth-models"))
    models, _ = load_models([folder / "digits.onnx", folder / "dcgan-digits.onnx"], provider="cpu")
    app = build_app(models, LIMITS)
    throttle = Throttle(free=1, delay=0.01, max_delay=0.05, lock_after=3, lock_seconds=600)
    fastapi_app, url, _ = launch(app, "127.0.0.1", free_port(), credentials=parse(auth_line, "test"),
                                 throttle=throttle, rate_limit=RATE, prevent_thread_lock=True, quiet=True)
    try:
        yield url, fastapi_app, throttle
    finally:
        app.close()


def client_from(address: str) -> httpx.Client:
    return httpx.Client(headers={"X-Forwarded-For": address}, timeout=60)


def login(http: httpx.Client, url: str, password: str = PASSWORD) -> httpx.Response:
    return http.post(url + "login", data={"username": USER, "password": password})


def concrete(path: str) -> str:
    """A request path for a route pattern: each {parameter} filled with a harmless value."""
    return re.sub(r"\{[^}]+\}", "x", path)


def flat_routes(routes: list, prefix: str = "") -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, through included routers (FastAPI keeps them nested)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += flat_routes(inner.routes, prefix + route.include_context.prefix)
        elif getattr(route, "path", None) is not None:
            out.append((prefix + route.path, set(getattr(route, "methods", None) or {"GET"})))
    return out


def test_every_route_needs_the_login(server):
    """Every route of the served app, Gradio's unguarded ones included, answers 401 without a session;
    only the login page, its static assets and the login route are public."""
    url, fastapi_app, _ = server
    checked = 0
    with client_from("10.0.0.1") as http:
        for path, methods in flat_routes(fastapi_app.routes):
            if path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES):
                continue
            for method in sorted(methods - {"HEAD", "OPTIONS"}):
                r = http.request(method, url.rstrip("/") + concrete(path))
                assert r.status_code == 401, (method, path, r.status_code)
                checked += 1
    assert checked > 40  # the named API, file, upload, queue, stream, heartbeat, monitoring routes...
    with client_from("10.0.0.1") as http:
        assert http.get(url).status_code == 200  # the page shell, which shows the login form
        assert http.get(url + "gradio_api/file=/etc/passwd").status_code == 401


def test_routes_work_after_login_and_refuse_without(server, tmp_path):
    url, _, _ = server
    with client_from("10.0.0.2") as http, client_from("10.0.0.2") as anonymous:
        assert login(http, url).json() == {"success": True}
        assert http.get(url + "config").status_code == 200
        # a named API route over plain HTTP: POST the inputs, stream the result
        event = http.post(url + "gradio_api/call/generate",
                          json={"data": ["digits", 0, 2, 0, actions.ALL_CLASSES]}).json()["event_id"]
        body = http.get(url + f"gradio_api/call/generate/{event}").text
        assert "event: complete" in body
        file_url = re.search(r'"url":\s*"([^"]+)"', body).group(1)
        assert http.get(file_url).status_code == 200  # a file download
        assert anonymous.get(file_url).status_code == 401
        assert anonymous.post(url + "gradio_api/call/generate", json={"data": []}).status_code == 401
        png = tmp_path / "up.png"
        png.write_bytes(b"\x89PNG\r\n\x1a\n")
        assert http.post(url + "gradio_api/upload", files={"files": png.open("rb")}).status_code == 200
        assert anonymous.post(url + "gradio_api/upload", files={"files": png.open("rb")}).status_code == 401
        http.get(url + "logout")
        assert http.get(url + "config").status_code == 401  # the session ends with the logout


def test_gradio_client_with_and_without_credentials(server):
    url, _, _ = server
    headers = {"X-Forwarded-For": "10.0.0.3"}
    client = gradio_client.Client(url, auth=(USER, PASSWORD), headers=headers, verbose=False)
    assert client.predict(api_name="/ping") == "pong"
    assert len(client.predict("digits", 0, 3, 0, "3", api_name="/generate")) == 3
    with pytest.raises(gradio_client.exceptions.AuthenticationError):  # the config route: 401
        gradio_client.Client(url, headers=headers, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):  # the login route: 400
        gradio_client.Client(url, auth=(USER, "wrong"), verbose=False)


def test_failed_logins_are_slowed_then_refused(server):
    url, _, throttle = server
    with client_from("10.0.1.1") as http, client_from("10.0.1.2") as other:
        assert throttle.wait("10.0.1.1") == 0
        assert login(http, url, "wrong").status_code == 400
        assert throttle.wait("10.0.1.1") > 0  # the next attempt from that address is held
        assert [login(http, url, "wrong").status_code for _ in range(2)] == [400, 400]
        refused = login(http, url)  # locked: even the right password is refused for a while
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 500
        assert login(other, url).status_code == 200  # another address is not affected


def test_requests_per_address_are_bounded(server):
    url, _, _ = server
    with client_from("10.0.2.1") as http, client_from("10.0.2.2") as other:
        codes = [http.post(url + "gradio_api/queue/join", json={}).status_code for _ in range(RATE + 1)]
        assert codes[:RATE] == [401] * RATE and codes[RATE] == 429
        assert other.post(url + "gradio_api/queue/join", json={}).status_code == 401


def test_throttle_steps_and_lock_expiry():
    now = [0.0]
    t = Throttle(free=2, delay=1.0, max_delay=4.0, lock_after=6, lock_seconds=60, clock=lambda: now[0])
    waits = []
    for _ in range(6):
        waits.append(t.wait("a"))
        t.failed("a")
    assert waits == [0, 0, 1, 2, 4, 4]
    assert t.retry_after("a") == 60
    now[0] = 61.0
    assert t.retry_after("a") == 0 and t.wait("a") == 0  # the lock ran out and the count with it
    t.failed("b")
    t.succeeded("b")
    assert t.wait("b") == 0


def test_passwords_are_hashed_and_checked():
    line = hash_password("s3cret")
    assert line.startswith("scrypt$") and "s3cret" not in line
    assert verify(line, "s3cret") and not verify(line, "s3creT")
    assert hash_password("s3cret") != line  # a fresh salt each time
    creds = parse(f"# accounts\n\nbob:{line}\n", "test")
    assert creds.check("bob", "s3cret")
    assert not creds.check("bob", "nope") and not creds.check("eve", "s3cret")


def test_hash_password_prints_a_line_for_the_auth_file():
    result = CliRunner().invoke(cli, ["demo", "--hash-password", "carol"], input="pw-1\npw-1\n")
    assert result.exit_code == 0, result.output
    user, _, stored = result.stdout.strip().splitlines()[-1].partition(":")
    assert user == "carol" and verify(stored, "pw-1")
    assert "pw-1" not in result.stdout
    assert "a user name has no ':'" in one_line_error(run("demo", "--hash-password", "a:b", expect=None))


def test_bad_access_options_are_one_line_errors(tmp_path, auth_line, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    empty = tmp_path / "none"
    empty.mkdir()
    line = one_line_error(run("demo", "--host", "0.0.0.0", "--models-dir", empty, expect=None))
    assert "exposes the demo to the network" in line and "--no-auth" in line
    assert "cannot read" in one_line_error(run("demo", "--auth-file", tmp_path / "missing", expect=None))
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "cannot read" in one_line_error(run("demo", "--auth-file", binary, expect=None))
    for text, why in (("alice\n", "line 1: expected user:hash"),
                      (f"{auth_line}\nbob:plaintext\n", "line 2: not a scrypt$"),
                      (f"{auth_line}\n{auth_line}\n", "appears twice"),
                      ("# only a comment\n", "no user:hash lines"),
                      ("eve:scrypt$1048577$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA\n", "out of range")):
        bad = tmp_path / "auth.txt"
        bad.write_text(text)
        assert why in one_line_error(run("demo", "--auth-file", bad, expect=None)), text
    monkeypatch.setenv(ENV, "mallory:hunter2")
    assert f"${ENV} line 1" in one_line_error(run("demo", "--host", "0.0.0.0", expect=None))
    monkeypatch.delenv(ENV)
    good = tmp_path / "good.txt"
    good.write_text(auth_line + "\n")
    assert "contradict" in one_line_error(run("demo", "--no-auth", "--auth-file", good, expect=None))
    assert "go together" in one_line_error(run("demo", "--ssl-certfile", good, expect=None))
    line = one_line_error(run("demo", "--ssl-certfile", tmp_path / "c.pem", "--ssl-keyfile", good,
                              expect=None))
    assert "no such file" in line
    assert "not a certificate" in one_line_error(run("demo", "--ssl-certfile", good, "--ssl-keyfile", good,
                                                     expect=None))
    result = run("demo", "--host", "0.0.0.0", "--no-auth", "--models-dir", empty, expect=2)
    assert "warning: --no-auth: anyone who reaches the port" in result.stderr


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command line (1 day, RSA 2048)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command to make a certificate")
def test_tls_with_a_self_signed_certificate(exports, auth_line, tmp_path):  # noqa: F811
    """`gansrv demo --host 0.0.0.0 --auth-file F --ssl-certfile C --ssl-keyfile K`, the real CLI: HTTPS
    verified against the certificate, the login required over it, plain HTTP not served."""
    folder = model_files(exports, tmp_path / "m")
    cert, key = self_signed(tmp_path)
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(auth_line + "\n")
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gansrv")), "demo", "--models-dir",
                             str(folder), "--host", "0.0.0.0", "--port", str(port), "--provider", "cpu",
                             "--auth-file", str(accounts), "--ssl-certfile", str(cert),
                             "--ssl-keyfile", str(key)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"https://127.0.0.1:{port}/"
    try:
        client = wait_for_client(url, proc, auth=(USER, PASSWORD), ssl_verify=False)
        assert client.predict(api_name="/ping") == "pong"
        with httpx.Client(verify=ssl.create_default_context(cafile=cert), timeout=60) as http:
            assert http.get(url + "config").status_code == 401
            assert http.post(url + "login", data={"username": USER, "password": PASSWORD}).status_code == 200
            assert http.get(url + "config").status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/config", timeout=10)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"on https://0.0.0.0:{port}, login: --auth-file {accounts} (1 accounts)" in err
