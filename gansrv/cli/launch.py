"""``gansrv train <family> --nproc N``: the same command under ``torchrun`` on this machine.

The launcher re-runs the command line the user typed (without ``--nproc``) as
``python -m torch.distributed.run --standalone --nproc-per-node N -m gansrv train ...`` and exits
with process 0's exit code (torchrun itself reports any worker failure as 1, and a signal to it as
a traceback): 0, 1 (diverged, a process lost), 2 (bad input) or 130 (stopped by Ctrl-C/SIGTERM,
checkpoint written). A signal to the launcher is passed on to torchrun, which passes it on to the
workers; they stop together at the next step boundary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.core import ParameterSource

STATUS_ENV = "GANSRV_LAUNCH_STATUS"  # where process 0 writes its exit code for the launcher
INTERRUPTED = 130


def command_args(ctx: click.Context) -> list[str]:
    """The options the user gave (on the command line or in --config), as flags again."""
    args: list[str] = []
    for p in ctx.command.params:
        if not isinstance(p, click.Option) or p.name in ("nproc", None) or not p.expose_value:
            continue
        if ctx.get_parameter_source(p.name) in (ParameterSource.DEFAULT, None):
            continue
        value = ctx.params.get(p.name)
        if value is None:
            continue
        if p.is_flag:
            args.append(p.opts[0] if value else p.secondary_opts[0])
        elif p.multiple:
            for v in value:
                args += [p.opts[0], str(v)]
        else:
            args += [p.opts[0], str(value)]
    return args


def torchrun(family: str, nproc: int, args: list[str]) -> int:
    """Run the training under torchrun; returns the exit code to end with."""
    with tempfile.TemporaryDirectory(prefix="gansrv-launch-") as tmp:
        status = Path(tmp) / "status"
        env = {**os.environ, STATUS_ENV: str(status)}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "gansrv", "train", family, *args]
        proc = subprocess.Popen(cmd, env=env)
        got: list[int] = []

        def forward(signum, frame):
            got.append(signum)
            if proc.poll() is None:  # torchrun passes SIGTERM on to every worker
                proc.send_signal(signal.SIGTERM)

        old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            rc = proc.wait()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        if status.is_file():
            text = status.read_text().strip()
            if text.lstrip("-").isdigit():
                return int(text)
        return INTERRUPTED if got else (rc if rc >= 0 else 128 - rc)


@contextmanager
def report_status() -> Iterator[None]:
    """In process 0 of a job the launcher started: leave the exit code where it reads it."""
    path = os.environ.get(STATUS_ENV)
    main = os.environ.get("RANK", "0") == "0"
    code = 1
    try:
        yield
        code = 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
        raise
    except click.ClickException as exc:
        code = exc.exit_code
        raise
    finally:
        if path and main:
            from gansrv import atomic

            atomic.write_text(Path(path), f"{code}\n")
