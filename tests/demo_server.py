"""A session fixture: the demo app over the exported cgan ("digits") and dcgan ("dcgan-digits") models,
served on a free loopback port in this process, shared by the API and the browser tests.

The models are the 3-step smoke exports (grey noise to look at). ``GANSRV_DEMO_MODELS=DIR`` serves
DIR/digits.onnx and DIR/dcgan-digits.onnx instead (trained ones), which is how the README's
screenshot was taken; every assertion holds for any such pair.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio_client
import httpx
import pytest

from gansrv.demo.models import DemoModel, Limits, load_models
from tests.conftest import free_port  # also imported from here by the demo tests

LIMITS = Limits(max_images=32, max_steps=8, concurrency=4, queue_size=32, max_upload_bytes=1024**2)


@dataclass
class DemoServer:
    url: str
    models: dict[str, DemoModel]
    limits: Limits
    app: Any  # the gradio Blocks, for tests of the server's own state


def model_files(exports, folder: Path) -> Path:  # noqa: F811
    """digits.onnx (cgan, conditional) and dcgan-digits.onnx (dcgan, noise) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(exports("cgan").generator, folder / "digits.onnx")
    shutil.copy(exports("dcgan").generator, folder / "dcgan-digits.onnx")
    return folder


@pytest.fixture(scope="session")
def demo_server(exports, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:  # noqa: F811
    from gansrv.demo.app import build_app, launch

    trained = os.environ.get("GANSRV_DEMO_MODELS")
    folder = Path(trained) if trained else model_files(exports, tmp_path_factory.mktemp("demo-models"))
    models, _ = load_models([folder / "digits.onnx", folder / "dcgan-digits.onnx"], provider="cpu")
    app = build_app(models, LIMITS)
    _, url, _ = launch(app, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield DemoServer(url, models, LIMITS, app)
    finally:
        app.close()


def wait_for_client(url: str, proc: subprocess.Popen, timeout: float = 90, **client_kwargs: Any):
    """A gradio_client for the demo process ``proc`` serves at ``url``, once it answers.

    ``client_kwargs`` go to the Client (``auth=``, ``ssl_verify=``); with a login the wait polls the
    page shell, the one route that answers before it."""
    deadline = time.monotonic() + timeout
    probe = url if "auth" in client_kwargs else url + "gradio_api/info"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"demo exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            httpx.get(probe, timeout=2, verify=client_kwargs.get("ssl_verify", True)).raise_for_status()
            return gradio_client.Client(url, verbose=False, **client_kwargs)
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("demo did not answer within 90 s")
