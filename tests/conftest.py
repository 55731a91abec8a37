"""Shared test helpers: the real CLI through click's runner, paths to the shared data."""

from __future__ import annotations

from pathlib import Path

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
