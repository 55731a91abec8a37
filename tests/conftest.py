"""Shared test helpers: the real CLI through click's runner, paths to the shared data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from gansrv.cli import cli

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST = SHARED_DATA / "mnist"


def run(*args: str, expect: int | None = 0) -> Result:
    """Invoke `gansrv ARGS` in-process; check the exit code unless expect is None."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, (result.exit_code, result.output, result.stderr)
    return result


def train_and_resume(family: str, root: Path, steps: int, *common: object) -> tuple[Path, Path]:
    """The same run twice: straight to ``steps``, and stopped at ``steps // 2`` then resumed to
    ``steps``; returns the two run directories (straight, resumed) for an exact-resume check."""
    full, part = root / "full", root / "part"
    run("train", family, "--steps", steps, "--out", full, *common)
    run("train", family, "--steps", steps // 2, "--out", part, *common)
    run("train", family, "--resume", part, "--steps", steps, "--no-progress")
    return full, part


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


@pytest.fixture
def mnist() -> Path:
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST}")
    return MNIST
