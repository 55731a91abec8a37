"""Shared test helpers and fixtures: the real CLI through click's runner, paths to the shared data
(skipping when it is absent), a file-size limit, and the session fixture of exported smoke models
(``exports``, from tests/exported_models.py) for every test module."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from gansrv.cli import cli

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST = SHARED_DATA / "mnist"
FACADES = SHARED_DATA / "facades-mini"


def run(*args: str, expect: int | None = 0) -> Result:
    """Invoke `gansrv ARGS` in-process; check the exit code unless expect is None."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, (result.exit_code, result.output, result.stderr)
    return result


def generate(model: Path, out: Path, *args: object, expect: int | None = 0) -> Result:
    """`gansrv generate MODEL --out OUT --no-progress ARGS` (see run)."""
    return run("generate", model, "--out", out, "--no-progress", *args, expect=expect)


def metrics_rows(run_dir: Path) -> list[dict]:
    """A run's metrics.jsonl, one dict per logged row."""
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server or a rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def file_size_limit(limit: int):
    """RLIMIT_FSIZE: a write past ``limit`` bytes is cut short, then fails with EFBIG (as on a full
    quota), instead of the SIGXFSZ that would end the test process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def train_and_resume(family: str, root: Path, steps: int, *common: object) -> tuple[Path, Path]:
    """The same run twice: straight to ``steps``, and stopped at ``steps // 2`` then resumed to
    ``steps``; returns the two run directories (straight, resumed) for an exact-resume check."""
    full, part = root / "full", root / "part"
    run("train", family, "--steps", steps, "--out", full, *common)
    run("train", family, "--steps", steps // 2, "--out", part, *common)
    run("train", family, "--resume", part, "--steps", steps, "--no-progress")
    return full, part


def assert_same_weights(a: Path, b: Path, roles: tuple[str, ...]) -> None:
    """The saved networks of two runs hold the same tensors, role by role (exact-resume checks)."""
    import torch

    from gansrv.train.load import load_run

    ma, mb = load_run(a).modules, load_run(b).modules
    for role in roles:
        sa, sb = ma[role].state_dict(), mb[role].state_dict()
        assert sa.keys() == sb.keys(), role
        for name, x in sa.items():
            assert torch.equal(x, sb[name]), (role, name)


def assert_loss_plot(run_dir: Path) -> None:
    """loss.png has one panel per quantity in metrics.jsonl (3 to a row, 360 x 234 px each at the
    engine's 90 dpi) and each panel holds its curve (matplotlib's first colour); spare panels none.
    Needs at least two logged rows: a single point draws no line."""
    from PIL import Image

    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    keys = [k for k in rows[0] if k not in ("step", "epoch", "time", "it_s")]
    ncols = min(3, len(keys))
    nrows = -(-len(keys) // ncols)
    img = np.asarray(Image.open(run_dir / "loss.png").convert("RGB")).astype(int)
    assert img.shape[:2] == (round(234 * nrows), 360 * ncols), (img.shape, keys)
    curve = np.abs(img - np.array([31, 119, 180])).sum(axis=2) < 60
    h, w = img.shape[0] // nrows, img.shape[1] // ncols
    for i in range(nrows * ncols):
        r, c = divmod(i, ncols)
        drawn = int(curve[r * h:(r + 1) * h, c * w:(c + 1) * w].sum())
        if i < len(keys):
            assert drawn > 20, f"no curve for {keys[i]!r} in loss.png"
        else:
            assert drawn == 0, "a spare panel has a curve"


def one_line_error(result: Result, code: int = 2) -> str:
    """A bad input must end in exactly one 'error: ...' line and no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    err = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


def _shared_mnist() -> Path:
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    return MNIST


@pytest.fixture
def mnist() -> Path:
    return _shared_mnist()


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The shared MNIST folder, for module- and session-scoped fixtures (skips when absent)."""
    return _shared_mnist()


@pytest.fixture
def facades() -> Path:
    if not (FACADES / "train").is_dir():
        pytest.skip(f"shared facades data not found at {FACADES}")
    return FACADES


# last: exported_models imports this module's helpers
from tests.exported_models import exports  # noqa: E402, F401 - the session fixture, for every module

# -- gansrv eval: a private evaluator cache, and the figures' cheap settings ------------------------

EVAL_FAST = ("--classifier-epochs", "1", "--n", "200", "--test-limit", "400")
QUIET = lambda msg: None  # noqa: E731 - a log callback that drops the message


@pytest.fixture(scope="module")
def evaluator_cache(tmp_path_factory: pytest.TempPathFactory):
    """A private evaluator cache per test module (never the user's ~/.cache)."""
    old = os.environ.get("GANSRV_CACHE")
    path = tmp_path_factory.mktemp("cache")
    os.environ["GANSRV_CACHE"] = str(path)
    yield path
    if old is None:
        del os.environ["GANSRV_CACHE"]
    else:
        os.environ["GANSRV_CACHE"] = old


# -- a hand-built image -> image model (no training): translate's and the torch-free tests' -------

TRANSLATOR_SHAPE = ["batch", 3, "height", "width"]


@pytest.fixture(scope="module")
def translator_model(tmp_path_factory) -> Path:
    """An ONNX "translator" that negates its input, with real gansrv metadata (size multiple 8)."""
    import onnx
    from onnx import TensorProto, helper

    from gansrv.runtime.metadata import ModelInfo, TensorInfo

    shape = TRANSLATOR_SHAPE
    path = tmp_path_factory.mktemp("model") / "invert.onnx"
    meta = ModelInfo(version="0.1.0", family="handmade", kind="image", graph="generator",
                     inputs=[TensorInfo("image", "float32", shape)],
                     outputs=[TensorInfo("translated", "float32", shape)], latent_dim=0,
                     num_classes=0, class_names=[], image_shape=(3, 8, 8), channels=3,
                     output_range=(-1.0, 1.0), opset=17, parity_max_abs_error=0.0,
                     parity_batch_sizes=[1], data_fingerprint="handmade", size_multiple=8)
    graph = helper.make_graph([helper.make_node("Neg", ["image"], ["translated"])], "invert",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("translated", TensorProto.FLOAT, shape)])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    helper.set_model_props(proto, meta.to_props())
    onnx.save(proto, str(path))
    return path
