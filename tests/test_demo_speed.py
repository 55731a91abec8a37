"""The demo's settings that keep the server's CPU per call low (docs/benchmarks.md, "Where the demo's
time goes"), and the REST client the latency benchmark drives it with.

Measured on 2 cores: onnxruntime's default thread pool (one spinning thread per core) and Gradio's
pandas summary of its last 10,000 events, rebuilt after every event, each cost more server CPU per
one-image call than the demo's own work. These tests fail if either comes back.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from gansrv.demo import actions
from gansrv.demo.limits import DEFAULT_THREADS
from gansrv.demo.models import load_models
from tests.conftest import REPO, one_line_error, run
from tests.demo_server import demo_server, model_files  # noqa: F401 - fixtures
from tests.exported_models import exports  # noqa: F401 - the session fixture

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")


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
            files = [await http.get(url) for url in rest._image_urls(out)]
        return [np.asarray(Image.open(io.BytesIO(f.content))) for f in files]

    expected = demo_server.models["digits"].generator.generate(2, seed=9, labels=7)[..., 0]
    np.testing.assert_array_equal(np.stack(asyncio.run(one())), expected)
    with pytest.raises(rest.CallFailed, match="greater than maximum value 32"):
        rest.measure(demo_server.url, 1, 1, "generate", lambda i: ["digits", i, 1000, 0, actions.ALL_CLASSES])
