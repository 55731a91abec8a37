"""The demo serving a multi-domain (stargan) export beside a one-way image model: /translate takes the
target domain by name, and in a real headless browser the image tab shows a domain picker for the
stargan model only and the picture it shows is the runtime's translation to the picked domain."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gansrv.demo.models import Limits, load_models
from gansrv.runtime import Translator
from tests.conftest import run
from tests.demo_server import free_port

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")
AppError = gradio_client.exceptions.AppError
DOMAINS = ("dark", "inverted", "plain")
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def served(tmp_path_factory, translator_model):
    from gansrv.demo.app import build_app, launch

    root = tmp_path_factory.mktemp("stargan-demo")
    rng = np.random.default_rng(0)
    for name in DOMAINS:
        (root / "data" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(
                root / "data" / name / f"{i}.png")
    run("train", "stargan", "--data", root / "data", "--steps", "2", "--out", root / "run",
        "--image-size", "16", "--g-width", "4", "--d-width", "4", "--blocks", "1", "--n-critic", "1",
        "--batch-size", "3", "--no-progress")
    run("export", root / "run", "-o", root / "stargan.onnx")
    upload = root / "upload.png"
    Image.fromarray(rng.integers(0, 256, (24, 20), dtype=np.uint8)).save(upload)
    models, _ = load_models([root / "stargan.onnx", translator_model], provider="cpu")
    app = build_app(models, Limits(max_upload_pixels=64 * 64))
    _, url, _ = launch(app, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url, root / "stargan.onnx", upload
    finally:
        app.close()


def runtime_translation(model: Path, seen: np.ndarray, domain: str) -> np.ndarray:
    return Translator.from_file(model, "cpu").translate(seen[..., None], to=domain)[..., 0]


def test_translate_api_takes_the_domain_by_name(served):
    url, model, upload = served
    client = gradio_client.Client(url, verbose=False)
    for domain in ("inverted", "plain"):
        seen_path, out_path = client.predict("stargan", gradio_client.handle_file(str(upload)), domain,
                                             api_name="/translate")
        seen, out = np.asarray(Image.open(seen_path)), np.asarray(Image.open(out_path))
        assert seen.shape == out.shape == (24, 20)  # any multiple of 4: the upload's own size
        np.testing.assert_array_equal(out, runtime_translation(model, seen, domain))
    card = client.predict("stargan", api_name="/model_card")
    assert card["domains"] == list(DOMAINS)


def test_translate_api_domain_errors(served):
    url, _, upload = served
    client = gradio_client.Client(url, verbose=False)
    with pytest.raises(AppError, match="choose one"):
        client.predict("stargan", gradio_client.handle_file(str(upload)), None, api_name="/translate")
    with pytest.raises(AppError, match="not in the list of choices"):  # Gradio's own check, first
        client.predict("stargan", gradio_client.handle_file(str(upload)), "zebra", api_name="/translate")
    with pytest.raises(AppError, match="translates one way only"):
        client.predict("invert", gradio_client.handle_file(str(upload)), "plain", api_name="/translate")


def test_domain_picker_in_the_browser(served):
    if not CHROMIUM.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found; CI must run the browser test")
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, model, upload = served
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.wait_for_selector("#domain input", state="visible")
            assert page.input_value("#domain input") == DOMAINS[0]  # the first domain is preselected
            page.click("#domain input")
            page.get_by_role("option", name="inverted", exact=True).click()
            assert page.input_value("#domain input") == "inverted"
            page.set_input_files("#upload input[type=file]", str(upload))
            page.wait_for_selector("#upload a, #upload .file-name, #upload td", state="attached")
            page.click("#translate")
            page.wait_for_function("() => { const im = document.querySelector('#translate-output img');"
                                   " return im && im.complete && im.naturalWidth === 20; }")
            shown = [_fetch(page, f"#translate-{w} img") for w in ("input", "output")]
            np.testing.assert_array_equal(shown[1], runtime_translation(model, shown[0], "inverted"))
            assert "Output: to inverted" in page.inner_text("#translate-output")  # the domain, shown
            page.click("#model input")  # the one-way model: no domain picker
            page.get_by_role("option", name="invert", exact=True).click()
            page.wait_for_selector("#domain", state="hidden")
            page.close()
        finally:
            browser.close()


def _fetch(page, selector: str) -> np.ndarray:
    src = page.get_attribute(selector, "src")
    data = page.evaluate("async (u) => { const r = await fetch(u); const b = new Uint8Array(await "
                         "r.arrayBuffer()); let s = ''; for (const x of b) s += String.fromCharCode(x);"
                         " return btoa(s); }", src)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
