"""gansrv.runtime and gansrv info: determinism, labels, providers, bad files, and no torch."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from gansrv.errors import UserError
from gansrv.runtime import Generator, noise, read_info
from gansrv.runtime import session as sessions
from tests.conftest import one_line_error, run
from tests.torch_free import run_torch_free


@pytest.fixture(scope="module")
def cgan(exports) -> Generator:  # noqa: F811
    return Generator.from_file(exports("cgan").generator, provider="cpu")


def test_images_depend_on_seed_and_index_only(cgan):
    a = cgan.generate(10, seed=5, batch_size=1)
    b = cgan.generate(70, seed=5, batch_size=64)
    assert a.dtype == np.uint8 and a.shape == (10, 28, 28, 1)
    assert np.array_equal(a, b[:10])
    assert np.array_equal(cgan.generate(5, seed=5, start=3), b[3:8])
    assert not np.array_equal(cgan.generate(10, seed=6), a)


def test_images_match_torch(exports, cgan):  # noqa: F811
    import torch

    from gansrv.train.load import load_run

    loaded = load_run(exports("cgan").run_dir)
    G = loaded.family.export_graphs(loaded.modules, loaded.config, loaded.spec)[0].module  # the exported G
    z, y = noise(1, range(9), cgan.info.latent_dim), np.arange(9) % 10
    with torch.no_grad():
        want = G(torch.from_numpy(z), torch.from_numpy(y)).numpy()
    want = np.clip(np.rint((want + 1) * 127.5), 0, 255).transpose(0, 2, 3, 1)
    assert np.abs(cgan.generate(9, seed=1).astype(int) - want).max() <= 1


def test_labels_default_balanced_explicit_and_validated(cgan):
    assert list(cgan.labels_for(12, None)) == [*range(10), 0, 1]
    assert list(cgan.labels_for(3, 7)) == [7, 7, 7]
    assert np.array_equal(cgan.generate(4, seed=0, labels=[0, 1, 2, 3]), cgan.generate(4, seed=0))
    for bad in (-1, 10, [0, 10], [0.5, 1.0]):
        with pytest.raises(UserError):
            cgan.generate(2, seed=0, labels=bad)
    with pytest.raises(UserError, match="3 integers"):
        cgan.generate(3, seed=0, labels=[1, 2])
    assert cgan.class_index("3") == 3
    with pytest.raises(UserError):
        cgan.class_index("cat")


def test_unconditional_model_refuses_labels(exports):  # noqa: F811
    gen = Generator.from_file(exports("dcgan").generator, provider="cpu")
    assert gen.generate(3, seed=0).shape == (3, 28, 28, 1)
    with pytest.raises(UserError, match="unconditional"):
        gen.generate(3, seed=0, labels=1)


def test_truncation_bounds_noise_and_stays_deterministic(cgan):
    z = noise(3, range(50), 64, truncation=0.5)
    assert np.abs(z).max() <= 0.5
    assert np.array_equal(z[7:9], noise(3, [7, 8], 64, truncation=0.5))
    a = cgan.generate(6, seed=2, truncation=0.7, batch_size=4)
    assert np.array_equal(a, cgan.generate(6, seed=2, truncation=0.7, batch_size=6))


@pytest.mark.parametrize("kw", [{"n": 0}, {"n": 1_000_001}, {"batch_size": 0}, {"seed": -1},
                                {"truncation": 0.0}, {"batch_size": 100_000}])
def test_out_of_bounds_arguments(cgan, kw):
    args = {"n": 2, "seed": 0, **kw}
    with pytest.raises(UserError):
        cgan.generate(**args)


def test_discriminator_file_is_not_a_generator(exports):  # noqa: F811
    with pytest.raises(UserError, match="generator file"):
        Generator.from_file(exports("gan").discriminator, provider="cpu")


def test_runtime_never_imports_torch(exports):  # noqa: F811
    code = (
        "import sys\n"
        "from gansrv.runtime import Generator\n"
        f"g = Generator.from_file({str(exports('cgan').generator)!r})\n"
        "x = g.generate(5, seed=1, labels=[1, 2, 3, 4, 5], truncation=1.0, batch_size=2)\n"
        "assert x.shape == (5, 28, 28, 1), x.shape\n"
        "print('ok', g.provider)\n")
    done = run_torch_free(code)
    assert done.stdout.startswith("ok ")
    assert done.stderr == ""  # the CUDA probe stays quiet on a machine without CUDA


def test_info_shows_metadata_shapes_parity_and_provider(exports):  # noqa: F811
    path = exports("cgan").generator
    out = run("info", path, "--provider", "cpu").stdout
    assert "CPUExecutionProvider" in out and "parity" in out and "max abs error" in out
    assert "z  tensor(float)  ['batch', 64]" in out and "label  tensor(int64)  ['batch']" in out
    assert "image  tensor(float)  ['batch', 1, 28, 28]" in out
    data = json.loads(run("info", path, "--json", "--provider", "cpu").stdout)
    assert data["metadata"]["family"] == "cgan" and data["provider"] == "CPUExecutionProvider"
    assert float(data["metadata"]["parity_max_abs_error"]) == read_info(path).parity_max_abs_error


def _plain_onnx(path, props: dict[str, str] | None = None) -> None:
    x = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 4])
    graph = helper.make_graph([helper.make_node("Identity", ["z"], ["image"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, props or {})
    onnx.save(model, str(path))


def _bad_files(tmp_path, exports):  # noqa: F811
    text = tmp_path / "notes.onnx"
    text.write_text("hello, not a model\n")
    truncated = tmp_path / "cut.onnx"
    data = exports("gan").generator.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    plain, partial = tmp_path / "plain.onnx", tmp_path / "partial.onnx"
    _plain_onnx(plain)
    _plain_onnx(partial, {"gansrv.family": "gan", "gansrv.version": "0.1.0"})
    return {"not onnx": (text, "not an ONNX model"), "truncated": (truncated, "truncated"),
            "no metadata": (plain, "without gansrv metadata"),
            "partial": (partial, "missing gansrv.format"),
            "missing": (tmp_path / "nope.onnx", "no such file")}


@pytest.mark.parametrize("case", ["not onnx", "truncated", "no metadata", "partial", "missing"])
def test_bad_model_files_one_line_exit_2(exports, tmp_path, case):  # noqa: F811
    path, message = _bad_files(tmp_path, exports)[case]
    before = sorted(tmp_path.iterdir())
    line = one_line_error(run("info", path, expect=None))
    assert message in line
    if case in ("no metadata", "partial"):
        assert "gansrv export RUN_DIR --onnx" in line
    with pytest.raises(UserError):
        Generator.from_file(path, provider="cpu")
    assert sorted(tmp_path.iterdir()) == before


def test_external_data_is_refused(tmp_path):
    from onnx import numpy_helper
    from onnx.external_data_helper import convert_model_to_external_data

    w = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 4])
    init = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["z", "w"], ["image"])], "g", [w], [y], [init])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    convert_model_to_external_data(model, location="../outside.bin", size_threshold=0)
    (tmp_path / "ext.onnx").write_bytes(model.SerializeToString())  # onnx.save would write the data
    with pytest.raises(UserError, match="external file"):
        read_info(tmp_path / "ext.onnx")


def test_provider_choice():
    assert sessions.resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert sessions.resolve_providers("auto")[-1] == "CPUExecutionProvider"
    with pytest.raises(UserError):
        sessions.resolve_providers("tpu")
    if not sessions.cuda_usable():
        with pytest.raises(UserError, match="CUDA is not usable"):
            sessions.resolve_providers("cuda")


@pytest.mark.skipif(not sessions.cuda_usable(), reason="needs a GPU that onnxruntime can use")
def test_cuda_provider_matches_cpu(exports):  # noqa: F811
    """Runs only where CUDA works (checked on an H100 lent to a session; CI has no GPU)."""
    path = exports("cgan").generator
    on_gpu = Generator.from_file(path, "cuda")
    assert sessions.provider_in_use(sessions.session(path, "cuda")) == sessions.CUDA
    gpu = on_gpu.generate(50, seed=3).astype(int)
    cpu = Generator.from_file(path, "cpu").generate(50, seed=3).astype(int)
    assert np.abs(gpu - cpu).max() <= 1  # float rounding may move a pixel by one level


def test_sessions_are_cached(exports):  # noqa: F811
    path = exports("gan").generator
    assert sessions.session(path, "cpu") is sessions.session(path, "cpu")
    assert sessions.session(path, "cpu", threads=1) is not sessions.session(path, "cpu")


def test_double_onnxruntime_install_is_explained(monkeypatch):
    monkeypatch.setattr(sessions, "installed_ort_distributions", lambda: ["onnxruntime", "onnxruntime-gpu"])
    with pytest.raises(UserError, match="pip uninstall -y onnxruntime onnxruntime-gpu"):
        sessions.ort()
