"""The one exception type that means "the user gave us something we cannot use".

The CLI turns it into a one-line message and exit code 2, never a traceback; anything else that
escapes is a bug and is reported as such.
"""

from __future__ import annotations

import os

import click


class UserError(click.ClickException):
    """Bad input from the user: a one-line message, exit code 2."""

    exit_code = 2
    shown = False  # True once said: process 0 of a job may say it before the job ends (group.py)

    def show(self, file=None) -> None:  # noqa: D102 - click's API
        if self.shown:
            return
        if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and os.environ.get("RANK", "0") != "0":
            return  # under torchrun every process fails alike: only process 0 says why
        click.echo(f"error: {self.format_message()}", err=True, file=file)
