"""Every serving command runs without importing torch (nor gansrv.train / gansrv.export): each is
run for real, through the CLI, in a fresh interpreter, and its modules are listed at the end.

A serving machine installs ``gansrv[serve]``, which has no torch; a stray import there is an
ImportError for the user. ``eval`` (it needs a cached evaluator) and ``demo`` (a server) are run
the same way in their own test files; the first test keeps this list complete.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest

from gansrv.cli import cli
from tests.conftest import REPO

NEEDS_TORCH = {"train", "export"}
HERE = ("classify", "datasets", "families", "generate", "info", "translate")
ELSEWHERE = {
    "eval": "tests/test_eval.py::test_eval_is_deterministic_and_needs_no_torch_with_a_cached_evaluator",
    "demo": "tests/test_demo.py::test_checkout_entry_serves_on_loopback",
    "runs": "tests/test_runs.py::test_runs_needs_no_torch",  # it reads run dirs: gansrv.train.runlist
}
HEAVY = ("torch", "gansrv.train", "gansrv.export")


def test_every_command_needs_torch_or_is_checked_torch_free():
    commands = set(cli.list_commands(click.Context(cli)))
    assert commands == NEEDS_TORCH | set(HERE) | set(ELSEWHERE)
    for test in ELSEWHERE.values():
        path, name = test.split("::")
        assert f"def {name}(" in (REPO / path).read_text(), test


def _argv(command: str, exports, translator: Path, tmp: Path) -> list[str]:  # noqa: F811
    from PIL import Image

    images = tmp / "in"
    images.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(images / f"{i}.png")
    return {
        "classify": ["classify", str(exports("wgan-c").classifier), str(images)],
        "datasets": ["datasets"],
        "families": ["families"],
        "generate": ["generate", str(exports("cgan").generator), "--n", "3", "--no-progress",
                     "--out", str(tmp / "ds")],
        "info": ["info", str(exports("cgan").generator)],
        "translate": ["translate", str(translator), str(images), "--out", str(tmp / "tr"),
                      "--no-progress"],
    }[command]


@pytest.mark.parametrize("command", HERE)
def test_serving_command_never_imports_torch(command, exports, translator_model, tmp_path):
    argv = _argv(command, exports, translator_model, tmp_path)
    code = ("import sys\nfrom click.testing import CliRunner\nfrom gansrv.cli import cli\n"
            f"r = CliRunner().invoke(cli, {argv!r})\n"
            "assert r.exit_code == 0, r.output\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
