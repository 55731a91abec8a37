"""The CLI in a shell pipeline: a reader that leaves early (`| head`) ends gansrv quietly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_closed_stdout_is_a_quiet_exit_141() -> None:
    gansrv = Path(sys.executable).with_name("gansrv")
    proc = subprocess.Popen([str(gansrv), "families"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the interpreter has started: every write hits a broken pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert err == "", err
