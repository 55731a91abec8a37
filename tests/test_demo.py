"""``gansrv demo`` through its real API: gradio_client against the app served on loopback.

Images are checked against gansrv.runtime's Generator (same model, seed and labels), so a test fails
if the demo shows other pictures than ``gansrv generate`` would write, not only if it shows none.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import re
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from gansrv.demo import actions
from gansrv.demo.limits import DEFAULT_THREADS
from gansrv.demo.models import load_models
from tests.conftest import REPO, one_line_error, run
from tests.demo_server import demo_server, free_port, model_files, wait_for_client  # noqa: F401 - fixtures
from tests.torch_free import run_torch_free

gradio_client = pytest.importorskip("gradio_client")
# gradio's queue calls pandas with options pandas 3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")
AppError = gradio_client.exceptions.AppError


@pytest.fixture(scope="module")
def client(demo_server):  # noqa: F811
    return gradio_client.Client(demo_server.url, verbose=False)


def pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im)


def test_generate_returns_the_runtime_images(client, demo_server):  # noqa: F811
    out = client.predict("digits", 5, 6, 0, "3", api_name="/generate")
    assert len(out) == 6
    got = np.stack([pixels(item["image"]) for item in out])
    assert got.shape == (6, 28, 28) and got.dtype == np.uint8  # grey PNG, mode L
    expected = demo_server.models["digits"].generator.generate(6, seed=5, labels=3)[..., 0]
    np.testing.assert_array_equal(got, expected)
    assert [item["caption"] for item in out] == [f"#{i} class 3" for i in range(6)]  # index and class


def test_unconditional_model_with_truncation(client, demo_server):  # noqa: F811
    out = client.predict("dcgan-digits", 1, 3, 0.5, actions.ALL_CLASSES, api_name="/generate")
    got = np.stack([pixels(item["image"]) for item in out])
    expected = demo_server.models["dcgan-digits"].generator.generate(3, seed=1, truncation=0.5)[..., 0]
    np.testing.assert_array_equal(got, expected)
    assert [item["caption"] for item in out] == ["#0", "#1", "#2"]  # no class: the index alone


@pytest.mark.parametrize("args, message", [
    (("digits", 0, 33, 0, "3"), "greater than maximum value 32"),   # count over --max-images
    (("digits", 0, 0, 0, "3"), "less than minimum value 1"),
    (("digits", -1, 2, 0, "3"), "less than minimum value 0"),        # seed
    (("digits", 0, 2, 0.01, "3"), "truncation must be 0"),
    (("digits", 0, 2, 0, "ten"), "not in the list of choices"),      # class outside every model's
    (("../digits.onnx", 0, 2, 0, "3"), "not in the list of choices"),  # no path, only served names
])
def test_out_of_range_input_is_an_error(client, args, message):
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(*args, api_name="/generate")


def test_one_of_each_class_is_captioned_in_label_order(client, demo_server):  # noqa: F811
    out = client.predict("digits", 2, 0, api_name="/one_of_each")
    assert [item["caption"] for item in out] == [f"#{i} class {i}" for i in range(10)]
    expected = demo_server.models["digits"].generator.generate(10, seed=2)[..., 0]
    np.testing.assert_array_equal(np.stack([pixels(item["image"]) for item in out]), expected)
    with pytest.raises(AppError, match="unconditional"):
        client.predict("dcgan-digits", 2, 0, api_name="/one_of_each")


def test_interpolation_strip_runs_from_seed_a_to_seed_b(client, demo_server):  # noqa: F811
    strip = pixels(client.predict("digits", 4, 9, 5, 0, "7", api_name="/interpolate"))
    assert strip.shape == (28, 5 * 28)
    gen = demo_server.models["digits"].generator
    first, last = gen.generate(1, seed=4, labels=7)[0, ..., 0], gen.generate(1, seed=9, labels=7)[0, ..., 0]
    np.testing.assert_array_equal(strip[:, :28], first)
    assert np.abs(strip[:, -28:].astype(int) - last).max() <= 1  # slerp at t=1 equals z_b up to float error
    with pytest.raises(AppError, match="greater than maximum value 8"):
        client.predict("digits", 4, 9, 9, 0, "7", api_name="/interpolate")


def test_zip_holds_the_same_pngs_and_the_request(client, demo_server):  # noqa: F811
    path = client.predict("digits", 3, 4, 0, actions.ALL_CLASSES, api_name="/download_zip")
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        assert names == ["0000_0.png", "0001_1.png", "0002_2.png", "0003_3.png", "request.json"]
        request = json.loads(zf.read("request.json"))
        got = np.stack([np.asarray(Image.open(io.BytesIO(zf.read(n)))) for n in names[:4]])
    assert request["model"] == "digits" and request["seed"] == 3 and request["count"] == 4
    assert request["sha256"] == demo_server.models["digits"].sha256
    np.testing.assert_array_equal(got, demo_server.models["digits"].generator.generate(4, seed=3)[..., 0])


def test_model_card_and_ping(client, demo_server):  # noqa: F811
    card = client.predict("digits", api_name="/model_card")
    info = demo_server.models["digits"].generator.info
    assert card["family"] == "cgan" and card["kind"] == "conditional"
    assert card["class_names"] == [str(i) for i in range(10)] and card["image_shape"] == [1, 28, 28]
    assert card["parity_max_abs_error"] == info.parity_max_abs_error < 1e-4
    assert "metrics" in card and card["provider"] == "CPUExecutionProvider"
    with pytest.raises(AppError, match="unknown model"):
        client.predict("/etc/passwd", api_name="/model_card")
    assert client.predict(api_name="/ping") == "pong"


def test_api_names_are_stable(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert names == {"/generate", "/one_of_each", "/interpolate", "/download_zip", "/generate_codes",
                     "/translate", "/model_card", "/ping"}


def test_uploads_over_the_limit_are_refused(demo_server):  # noqa: F811
    big = b"0" * (demo_server.limits.max_upload_bytes + 1)
    response = httpx.post(demo_server.url + "gradio_api/upload", files={"files": ("x.png", big)})
    assert response.status_code == 413


def test_readme_client_example_runs(demo_server):  # noqa: F811
    readme = (REPO / "README.md").read_text()
    code = readme.split("<!-- demo-client-example -->", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 5
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code.replace("http://127.0.0.1:7860/", demo_server.url), {})  # noqa: S102 - our README
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("Loaded as API")]
    assert lines[0].startswith("16 ") and lines[0].endswith(".png")
    assert float(lines[1]) < 1e-4


def test_bad_command_lines_fail_before_serving(exports, tmp_path: Path):  # noqa: F811
    assert "missing.onnx: no such file" in one_line_error(run("demo", tmp_path / "missing.onnx", expect=None))
    assert "not a generator" in one_line_error(run("demo", exports("cgan").discriminator, expect=None))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no servable .onnx" in one_line_error(run("demo", "--models-dir", empty, expect=None))
    folder = model_files(exports, tmp_path / "m")
    line = one_line_error(run("demo", folder / "digits.onnx", folder / "digits.onnx", expect=None))
    assert "two models named 'digits'" in line
    assert "0 is not in the range" in one_line_error(run("demo", "--port", "0", folder / "digits.onnx",
                                                         expect=None))
    line = one_line_error(run("demo", "--examples", empty, folder / "digits.onnx", expect=None))
    assert "no image files" in line


def test_checkout_entry_serves_on_loopback(exports, tmp_path: Path):  # noqa: F811
    """`python demos/app.py --models-dir DIR` (the checkout entry) starts, skips the discriminator
    and answers on 127.0.0.1 by default."""
    folder = model_files(exports, tmp_path / "m")
    import shutil

    shutil.copy(exports("cgan").discriminator, folder / "digits.discriminator.onnx")
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "demos" / "app.py"), "--models-dir", str(folder),
                             "--port", str(port), "--provider", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        client = wait_for_client(f"http://127.0.0.1:{port}/", proc)
        assert client.predict(api_name="/ping") == "pong"
        assert client.predict("dcgan-digits", 0, 2, 0, actions.ALL_CLASSES, api_name="/generate")[1]["image"]
        # bound to loopback only, read from the kernel's socket table (no second interface needed)
        assert _listening_addresses(port) == {"127.0.0.1"}
        other = _non_loopback_address()
        if other:  # and another interface of this machine refuses the connection
            with pytest.raises(OSError), socket.create_connection((other, port), timeout=2):
                pass
        # the serving process (a fresh interpreter) never loaded torch: no torch library is mapped
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "libtorch" not in maps and "/torch/" not in maps
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "skipped digits.discriminator.onnx: a discriminator graph" in err
    assert f"serving dcgan-digits, digits on http://127.0.0.1:{port}" in err


def _listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (Linux /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(addr)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host order
                found.add(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6,
                                           words))
    assert found, f"nothing listens on port {port}"
    return found


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (the one a default route would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_app_and_generation_never_import_torch(exports, tmp_path: Path):  # noqa: F811
    folder = model_files(exports, tmp_path / "m")
    code = (
        "import sys\n"
        "from gansrv.demo.app import build_app\n"
        "from gansrv.demo.models import load_models, Limits\n"
        "from gansrv.demo import actions\n"
        f"models, _ = load_models([], __import__('pathlib').Path({str(folder)!r}), 'cpu')\n"
        "build_app(models)\n"
        "ims = actions.generate(models['digits'], Limits(), 0, 2, 0, '1')\n"
        "assert len(ims) == 2 and ims[0].shape == (28, 28)\n"
        "print('ok')\n")
    done = run_torch_free(code)
    assert done.stdout.strip() == "ok"


def test_command_module_and_help_import_nothing_heavy():
    code = ("import sys\nimport gansrv.cli.demo\n"
            "assert not {'numpy', 'onnxruntime', 'gradio'} & set(sys.modules)\n"
            "from click.testing import CliRunner\nfrom gansrv.cli import cli\n"
            "r = CliRunner().invoke(cli, ['demo', '--help'])\nassert r.exit_code == 0, r.output\n"
            "assert '--models-dir' in r.output and '127.0.0.1' in r.output\n"
            "assert 'gradio' not in sys.modules\nprint('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr


# The demo's settings that keep the server's CPU per call low (docs/benchmarks.md, "Where the demo's
# time goes"): onnxruntime's default thread pool (one spinning thread per core) and Gradio's pandas
# summary of its last 10,000 events, rebuilt after every event, each cost more server CPU per
# one-image call than the demo's own work. These tests fail if either comes back.

def _benchmark_module(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def threads_of(model) -> int:
    return model.loaded.session.get_session_options().intra_op_num_threads


def test_served_models_run_on_one_onnxruntime_thread(demo_server):  # noqa: F811
    assert DEFAULT_THREADS == 1
    assert {name: threads_of(m) for name, m in demo_server.models.items()} == {"digits": 1, "dcgan-digits": 1}


def test_threads_option_reaches_the_sessions_and_is_bounded(exports, tmp_path):  # noqa: F811
    folder = model_files(exports, tmp_path / "m")
    models, _ = load_models([folder / "digits.onnx"], provider="cpu", threads=2)
    assert threads_of(models["digits"]) == 2
    result = run("demo", "--threads", "65", folder / "digits.onnx", expect=None)
    assert result.exit_code == 2 and "65 is not in the range 0<=x<=64" in one_line_error(result)


def test_gradio_does_not_rebuild_its_analytics_summary_per_call(demo_server):  # noqa: F811
    queue = demo_server.app._queue
    client = gradio_client.Client(demo_server.url, verbose=False)
    recorded, rebuilt_at = queue.events_recorded, queue.event_count_at_last_cache
    for _ in range(3):
        assert client.predict(api_name="/ping") == "pong"
    assert queue.events_recorded >= recorded + 3  # the calls went through Gradio's queue
    assert queue.event_count_at_last_cache == rebuilt_at  # ... and no pandas summary was rebuilt
    assert queue.ANALYTICS_MAX_EVENTS == 1000


def test_benchmark_rest_client_gets_the_runtime_images(demo_server):  # noqa: F811
    """The benchmark's light client makes real calls: same images as the runtime, errors raised."""
    rest = _benchmark_module("demo_rest")
    latencies, wall = rest.measure(demo_server.url, 2, 2, "generate",
                                   lambda i: ["digits", i, 1, 0, "7"], download=True)
    assert len(latencies) == 4 and 0 < max(latencies) <= wall

    async def one() -> list[np.ndarray]:
        async with httpx.AsyncClient(timeout=60) as http:
            out = await rest.call(http, demo_server.url, "generate", ["digits", 9, 2, 0, "7"], "t", False)
            files = [await http.get(url) for url in rest.image_urls(out)]
        return [np.asarray(Image.open(io.BytesIO(f.content))) for f in files]

    expected = demo_server.models["digits"].generator.generate(2, seed=9, labels=7)[..., 0]
    np.testing.assert_array_equal(np.stack(asyncio.run(one())), expected)
    with pytest.raises(rest.CallFailed, match="greater than maximum value 32"):
        rest.measure(demo_server.url, 1, 1, "generate", lambda i: ["digits", i, 1000, 0, actions.ALL_CLASSES])



def test_private_first_batch_event_checks_its_inputs(demo_server):  # noqa: F811
    """The page's own first-batch event (no API name) is reachable by anyone who can post to the
    queue: it takes only served model names and in-range values, like the named routes."""
    fn_index = next(i for i, fn in demo_server.app.fns.items() if getattr(fn.fn, "__name__", "") == "first")

    def call(*data) -> dict:
        """The queue's process_completed message for one call of the event."""
        session = f"first-{abs(hash(data))}"
        with httpx.Client(base_url=demo_server.url, timeout=60) as http:
            http.post("gradio_api/queue/join", json={"data": list(data), "fn_index": fn_index,
                                                      "session_hash": session}).raise_for_status()
            body = http.get("gradio_api/queue/data", params={"session_hash": session}).text
        messages = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
        return next(m for m in messages if m.get("msg") == "process_completed")

    codes = [0] * 8
    done = call("digits", 0, 4, 0, *codes)
    assert done["success"] and len(done["output"]["data"][0]) == 4
    for data, why in ((("../digits.onnx", 0, 4, 0, *codes), "not in the list of choices"),
                      (("digits", 0, 1000, 0, *codes), "greater than maximum value"),
                      (("digits", -5, 4, 0, *codes), "less than minimum value")):
        done = call(*data)
        assert not done["success"] and why in json.dumps(done["output"]), (data, done)
