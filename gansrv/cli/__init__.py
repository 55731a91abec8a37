"""The ``gansrv`` command line: every click command lives in this package, one module per command
(``train``, ``export``/``info``, ``generate``, ``translate``, ``classify``, ``eval``, ``demo``), with
the options several commands share in :mod:`gansrv.cli.options`.

Commands stay thin: the work is done by library modules usable from Python without click, and heavy
imports happen inside the commands only, so ``gansrv --help`` and shell completion never pay for
torch. A command module is imported only when its command is asked for (:mod:`gansrv.cli.group`).
"""

from __future__ import annotations

import sys

import click

from gansrv import __version__
from gansrv.cli.group import GansrvGroup
from gansrv.errors import UserError


@click.group(cls=GansrvGroup)
@click.version_option(__version__, prog_name="gansrv")
def cli() -> None:
    """Train classic GAN families, export them to ONNX, and generate datasets from them."""


@cli.command()
def families() -> None:
    """List installed GAN families: name, kind, description, providing package."""
    from gansrv.plugins import registry

    reg = registry()
    rows = [(name, fam.kind.value, fam.description, reg.providers[name])
            for name, fam in sorted(reg.families.items())]
    _table(("family", "kind", "description", "package"), rows)


@cli.command()
def datasets() -> None:
    """List the named datasets --data accepts (besides files and folders)."""
    from gansrv.data.named import DESCRIPTIONS
    from gansrv.plugins import registry

    rows = [(name, text) for name, text in DESCRIPTIONS.items()]
    rows += [(name, text) for name, (_, text) in sorted(registry().datasets.items())]
    _table(("name", "description"), rows)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="gansrv")
    except UserError as exc:  # raised outside a command (e.g. while building the train group)
        exc.show()
        sys.exit(exc.exit_code)


__all__ = ["cli", "main", "UserError"]
