"""Options several commands share, declared once (a command module never imports another's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

PROVIDER_CHOICE = click.Choice(["auto", "cpu", "cuda"])


def provider_option(help: str | None = None) -> Callable[[Any], Any]:
    """``--provider auto|cpu|cuda``: the onnxruntime provider of a serving command."""
    return click.option("--provider", type=PROVIDER_CHOICE, default="auto", show_default=True, help=help)


def progress_option() -> Callable[[Any], Any]:
    """``--progress/--no-progress`` (default on): the progress bar on stderr."""
    return click.option("--progress/--no-progress", default=True, show_default=True,
                        help="Show the progress bar.")
