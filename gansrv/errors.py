"""The one exception type that means "the user gave us something we cannot use".

The CLI turns it into a one-line message and exit code 2, never a traceback; anything else that
escapes is a bug and is reported as such.
"""

from __future__ import annotations

import click


class UserError(click.ClickException):
    """Bad input from the user: a one-line message, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: D102 - click's API
        click.echo(f"error: {self.format_message()}", err=True, file=file)
