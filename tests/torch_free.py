"""Running serving code in a fresh interpreter and proving it never imported the training stack:
the promise that a serving box needs no torch (a module imported by this test process does not count)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

HEAVY = ("torch", "gansrv.train", "gansrv.export")


def run_torch_free(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a child Python, then fail if any of HEAVY is in its ``sys.modules``.

    Asserts exit 0 (stderr shown otherwise) and returns the finished process for the caller's
    own assertions on its output."""
    check = f"\nimport sys\nheavy = [m for m in {HEAVY!r} if m in sys.modules]\nassert not heavy, heavy\n"
    done = subprocess.run([sys.executable, "-c", code + check], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done
