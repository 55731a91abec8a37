"""The demo's code-controlled and image→image kinds, on tiny hand-built ONNX graphs with gansrv
metadata (no family exports these kinds yet), through gradio_client against a loopback server.

The graphs compute something numpy can repeat exactly (tanh of a linear map; a negation), so the
tests check the pictures, not only their count.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from gansrv.demo.models import Limits, load_models
from gansrv.errors import UserError
from gansrv.runtime import noise, to_uint8
from gansrv.runtime.metadata import ModelInfo, TensorInfo
from tests.demo_server import free_port

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword)")
AppError = gradio_client.exceptions.AppError

LATENT, CODES, SIDE = 4, 2, 8
LIMITS = Limits(max_images=8, max_upload_pixels=64 * 64)
RNG = np.random.default_rng(0)
WZ, WC, EMB = (RNG.standard_normal(s).astype(np.float32) * 0.5
               for s in ((LATENT, SIDE * SIDE), (CODES, SIDE * SIDE), (3, SIDE * SIDE)))


def info(kind: str, inputs: list[TensorInfo], output: TensorInfo, **kw) -> ModelInfo:
    c, h, w = (d if isinstance(d, int) else 16 for d in output.shape[1:])
    fields = dict(version="0.1.0", family=f"handmade-{kind}", kind=kind, graph="generator", inputs=inputs,
                  outputs=[output], latent_dim=0, num_classes=0, class_names=[], image_shape=(c, h, w),
                  channels=c, output_range=(-1.0, 1.0), opset=17, parity_max_abs_error=0.0,
                  parity_batch_sizes=[1], data_fingerprint="handmade")
    return ModelInfo(**{**fields, **kw})


def save(path: Path, nodes, inputs, outputs, inits, meta: ModelInfo) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, [numpy_helper.from_array(a, n)
                                                                   for n, a in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, meta.to_props())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def code_model(path: Path, code_range: str = "[-1.0, 1.0]") -> Path:
    """image = tanh(z Wz + code Wc + E[label]) as (batch, 1, 8, 8); categorical code: a, b, c."""
    vi = {"z": helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", LATENT]),
          "code": helper.make_tensor_value_info("code", TensorProto.FLOAT, ["batch", CODES]),
          "label": helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])}
    ti = {"z": TensorInfo("z", "float32", ["batch", LATENT]),
          "code": TensorInfo("code", "float32", ["batch", CODES]),
          "label": TensorInfo("label", "int64", ["batch"])}
    nodes = [helper.make_node(op, ins, [out]) for op, ins, out in (
        ("MatMul", ["z", "Wz"], "hz"), ("MatMul", ["code", "Wc"], "hc"), ("Gather", ["E", "label"], "he"),
        ("Add", ["hz", "hc"], "h1"), ("Add", ["h1", "he"], "h"), ("Tanh", ["h"], "t"),
        ("Reshape", ["t", "shape"], "image"))]
    out = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, SIDE, SIDE])
    meta = info("code", list(ti.values()), TensorInfo("image", "float32", ["batch", 1, SIDE, SIDE]),
                latent_dim=LATENT, num_classes=3, class_names=["a", "b", "c"],
                extra={"code_range": code_range, "fid": "12.5"})
    inits = {"Wz": WZ, "Wc": WC, "E": EMB, "shape": np.array([-1, 1, SIDE, SIDE], dtype=np.int64)}
    return save(path, nodes, list(vi.values()), [out], inits, meta)


def invert_model(path: Path, kind: str = "image", multiple: int = 0) -> Path:
    """output = -image on (batch, 3, 16, 16), or (batch, 3, H, W) with H, W multiples of `multiple`:
    uint8 v comes back as 255 - v."""
    shape = ["batch", 3, "height", "width"] if multiple else ["batch", 3, 16, 16]
    meta = info(kind, [TensorInfo("image", "float32", shape)], TensorInfo("output", "float32", shape),
                size_multiple=multiple, image_shape=(3, 16, 16), channels=3)
    return save(path, [helper.make_node("Neg", ["image"], ["output"])],
                [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                [helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)], {}, meta)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    from gansrv.demo.app import build_app, launch

    root = tmp_path_factory.mktemp("kinds")
    example = root / "example.png"
    Image.fromarray(RNG.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(example)
    models, _ = load_models([code_model(root / "info.onnx"), invert_model(root / "invert.onnx"),
                             invert_model(root / "anysize.onnx", multiple=8)], provider="cpu")
    app = build_app(models, LIMITS, examples=[example])
    _, url, _ = launch(app, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield gradio_client.Client(url, verbose=False), root
    finally:
        app.close()


def test_codes_and_categorical_code_drive_the_graph(served):
    client, _ = served
    out = client.predict("info", 3, 4, 0, "b", 0.5, -0.25, api_name="/generate_codes")
    got = np.stack([np.asarray(Image.open(item["image"])) for item in out])
    z = noise(3, np.arange(4), LATENT)
    h = np.tanh(z @ WZ + np.array([0.5, -0.25], dtype=np.float32) @ WC + EMB[1])
    expected = to_uint8(h.reshape(4, 1, SIDE, SIDE), (-1.0, 1.0))[..., 0]
    assert got.shape == (4, SIDE, SIDE)
    assert np.abs(got.astype(int) - expected).max() <= 1  # float summation order may differ
    assert [item["caption"] for item in out] == [f"#{i} code b codes 0.5, -0.25" for i in range(4)]


def test_code_model_bounds_and_kind_errors(served):
    client, _ = served
    with pytest.raises(AppError, match="greater than maximum value 1"):  # the model's code_range
        client.predict("info", 0, 2, 0, "a", 1.5, 0, api_name="/generate_codes")
    with pytest.raises(AppError, match=re.escape("use /generate_codes")):
        client.predict("info", 0, 2, 0, "a", api_name="/generate")
    with pytest.raises(AppError, match="takes no codes"):
        client.predict("invert", 0, 2, 0, "a", 0, 0, api_name="/generate_codes")
    card = client.predict("info", api_name="/model_card")
    assert card["kind"] == "code" and card["code_dim"] == CODES and card["metrics"]["fid"] == "12.5"


def test_translate_shows_input_beside_output(served, tmp_path: Path):
    client, root = served
    seen_path, out_path = client.predict("invert", gradio_client.handle_file(str(root / "example.png")),
                                         api_name="/translate")
    seen, out = np.asarray(Image.open(seen_path)), np.asarray(Image.open(out_path))
    assert seen.shape == out.shape == (16, 16, 3)  # centre-cropped 40x30 -> resized to the input's 16x16
    assert np.abs(out.astype(int) - (255 - seen.astype(int))).max() <= 1


def test_dynamic_size_model_gets_the_upload_rounded_to_its_multiple(served):
    """pix2pix/cyclegan export any H, W that are multiples of size_multiple: a 40x30 upload is cut to
    40x24 (height x width: 40 and 24 are the multiples of 8 below 40 and 30), not resized to 16x16."""
    client, root = served
    seen_path, out_path = client.predict("anysize", gradio_client.handle_file(str(root / "example.png")),
                                         api_name="/translate")
    seen, out = np.asarray(Image.open(seen_path)), np.asarray(Image.open(out_path))
    assert seen.shape == out.shape == (40, 24, 3)
    assert np.abs(out.astype(int) - (255 - seen.astype(int))).max() <= 1


def test_translate_refuses_large_or_broken_uploads(served, tmp_path: Path):
    client, _ = served
    big = tmp_path / "big.png"
    Image.new("RGB", (65, 64)).save(big)
    with pytest.raises(AppError, match="65×64 pixels is larger than the demo accepts"):
        client.predict("invert", gradio_client.handle_file(str(big)), api_name="/translate")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    with pytest.raises(AppError, match="not an image"):
        client.predict("invert", gradio_client.handle_file(str(broken)), api_name="/translate")
    with pytest.raises(AppError, match="takes no image"):
        client.predict("info", gradio_client.handle_file(str(big)), api_name="/translate")


def test_a_graph_off_the_input_contract_is_refused(tmp_path: Path):
    path = invert_model(tmp_path / "nocode.onnx", kind="code")  # a code model must take z and code
    with pytest.raises(UserError, match="the demo expects z, code"):
        load_models([path], provider="cpu")
    with pytest.raises(UserError, match="code_range must be JSON"):
        load_models([code_model(tmp_path / "badrange.onnx", code_range="wide")], provider="cpu")
    with pytest.raises(UserError, match="is empty"):
        load_models([code_model(tmp_path / "empty.onnx", code_range="[1, -1]")], provider="cpu")
