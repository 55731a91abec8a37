"""The ``gansrv`` click group: built-in commands imported on first use, plugin commands added on
demand, and every failure turned into one ``error:`` line (exit 2 for usage, 1 for the rest)."""

from __future__ import annotations

import errno
import importlib
import os
import sys

import click

from gansrv.errors import UserError

# command name -> "module:attribute"; imported only when the command is asked for, so that importing
# one command module (or `gansrv --help` of one command) never pays for the others' imports
BUILTIN_COMMANDS = {
    "train": "gansrv.cli.train:train",
    "export": "gansrv.cli.export:export",
    "info": "gansrv.cli.export:info",
    "generate": "gansrv.cli.generate:generate",
    "demo": "gansrv.cli.demo:demo",
    "eval": "gansrv.cli.eval:eval_command",
    "translate": "gansrv.cli.translate:translate",
    "classify": "gansrv.cli.classify:classify",
    "runs": "gansrv.cli.runs:runs",
}


class _OneLine(UserError):
    """An unexpected failure (disk full, a bug): one line, exit code 1."""

    exit_code = 1


class GansrvGroup(click.Group):
    """Adds built-in and plugin commands on demand and turns unexpected exceptions into one line."""

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

    def _load_builtin(self, name: str) -> None:
        if name in BUILTIN_COMMANDS and name not in self.commands:
            module, _, attr = BUILTIN_COMMANDS[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(set(super().list_commands(ctx)) | set(BUILTIN_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_builtin(name)
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
