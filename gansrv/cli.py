"""The ``gansrv`` command line. Commands stay thin; heavy imports happen inside them only, so
``gansrv --help`` and shell completion never pay for torch."""

from __future__ import annotations

import errno
import os
import sys

import click

from gansrv import __version__
from gansrv.errors import UserError


class _OneLine(UserError):
    """An unexpected failure (disk full, a bug): one line, exit code 1."""

    exit_code = 1


class GansrvGroup(click.Group):
    """Adds plugin commands on demand and turns unexpected exceptions into one line."""

    _plugin_commands_loaded = False

    def _load_plugin_commands(self) -> None:
        if not self._plugin_commands_loaded:
            self._plugin_commands_loaded = True
            from gansrv.plugins import registry

            reg = registry()
            for impl in reg.manager.hook.gansrv_register_commands.get_hookimpls():
                try:
                    impl.function(cli=self)
                except Exception as exc:
                    click.echo(f"warning: plugin {impl.plugin_name!r} failed to add commands: "
                               f"{type(exc).__name__}: {exc}", err=True)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None:
            self._load_plugin_commands()
            cmd = super().get_command(ctx, name)
        return cmd

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """Like click's, but every error (usage errors too) is one 'error:' line on stderr."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            click.echo(f"error: {exc.format_message()}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `gansrv info m.onnx | head`: the reader left; so do we
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise click.exceptions.Exit(141) from None
            if os.environ.get("GANSRV_DEBUG"):
                raise
            what = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            where = f": {exc.filename}" if exc.filename else ""
            raise _OneLine(f"{what}{where}") from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if os.environ.get("GANSRV_DEBUG"):
                raise
            raise _OneLine(
                f"internal error: {type(exc).__name__}: {exc} "
                f"(set GANSRV_DEBUG=1 for the traceback and please report it)") from None


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


def _register_builtin_commands() -> None:
    from gansrv.cli_classify import classify
    from gansrv.cli_eval import eval_command
    from gansrv.cli_export import export, info
    from gansrv.cli_train import train
    from gansrv.cli_translate import translate
    from gansrv.demo.command import demo
    from gansrv.generate.command import generate

    cli.add_command(train)
    cli.add_command(export)
    cli.add_command(info)
    cli.add_command(generate)
    cli.add_command(demo)
    cli.add_command(eval_command)
    cli.add_command(translate)
    cli.add_command(classify)


_register_builtin_commands()


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="gansrv")
    except UserError as exc:  # raised outside a command (e.g. while building the train group)
        exc.show()
        sys.exit(exc.exit_code)


__all__ = ["cli", "main", "UserError"]
