"""``gansrv train <family>``: one subcommand per installed family, generated from its Config.

Every field of the family's Config dataclass becomes an option with its default and help text; the
engine's options (data, length, checkpoints, ...) are shared by all families and generated the same
way from :class:`gansrv.train.options.TrainOptions`, where each is declared once.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import click

from gansrv.errors import UserError
from gansrv.family import Family, config_fields
from gansrv.kinds import DataForm

# image -> image families read a folder of pairs or of two domains, never a named dataset: no default
PAIRS_HELP = {DataForm.PAIRED: "Folder of image pairs: AB images (A left, B right) or A/ and B/ "
                                "subfolders matched by file name; required for a new run.",
              DataForm.UNPAIRED: "Folder with the two domains in trainA/ and trainB/; required for "
                                 "a new run."}


def _common_options(form: DataForm = DataForm.IMAGES) -> list[click.Option]:
    """The engine's options, generated from gansrv.train.options.TrainOptions (declared there once)."""
    # gansrv.train is torch-free, but serving commands must not even load it (tests check that)
    from gansrv.train.options import TrainOptions, option_fields

    hints = typing.get_type_hints(TrainOptions)
    return [_engine_option(f, hints[f.name], form) for f in option_fields()]


def _engine_option(f: dataclasses.Field, tp: Any, form: DataForm) -> click.Option:
    meta, flag = f.metadata, "--" + f.name.replace("_", "-")
    if meta.get("many"):
        if form is not DataForm.IMAGES:  # no default: the pairs folder is required for a new run
            return click.Option([flag], multiple=True, default=(), help=PAIRS_HELP[form])
        return click.Option([flag], multiple=True, default=f.default, show_default=True,
                            help=meta["help"])
    if meta.get("choices"):
        ctype = click.Choice(list(meta["choices"]))
    elif meta.get("folder"):
        ctype = click.Path(file_okay=False)
    else:
        ctype, is_flag = _click_type(tp, meta if meta.get("click_checks") else {})
        if is_flag:
            return click.Option([f"{flag}/--no-{flag[2:]}"], default=f.default, show_default=True,
                                help=meta["help"])
    return click.Option([flag], type=ctype, default=f.default, show_default=f.default is not None,
                        help=meta["help"])


def _click_type(tp: Any, meta: Any) -> tuple[Any, bool]:
    """Map a dataclass field type to a click type; second value: is it a bool flag."""
    if meta.get("choices"):
        return click.Choice([str(c) for c in meta["choices"]]), False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else str
    if tp is bool:
        return bool, True
    if tp in (int, float) and ("min" in meta or "max" in meta):
        ranged = click.IntRange if tp is int else click.FloatRange
        return ranged(meta.get("min"), meta.get("max")), False
    return {int: click.INT, float: click.FLOAT, str: click.STRING}.get(tp, click.STRING), False


def _config_options(family: Family) -> list[click.Option]:
    hints = typing.get_type_hints(family.Config)
    common_names = {o.name for o in _common_options()} | {"config"}
    opts = []
    for f in config_fields(family.Config):
        if f.name in common_names:
            raise UserError(f"family {family.name!r}: config field {f.name!r} clashes with a "
                            f"common training option")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        ctype, is_flag = _click_type(hints.get(f.name, str), f.metadata)
        flag = "--" + f.name.replace("_", "-")
        decl = [f"{flag}/--no-{flag[2:]}"] if is_flag else [flag]
        opt = click.Option(decl, type=None if is_flag else ctype, default=default,
                           show_default=True, help=f.metadata.get("help", ""))
        opt.gansrv_family_field = True
        opts.append(opt)
    return opts


def _load_config_file(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if not value:
        return
    from gansrv.cli.configfile import read_config_file

    values = read_config_file(value)
    known = {p.name for p in ctx.command.params}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{value}: unknown setting(s) {', '.join(unknown)} for "
                        f"'gansrv train {ctx.command.name}'")
    if isinstance(values.get("data"), str):
        values["data"] = [values["data"]]
    ctx.default_map = {**(ctx.default_map or {}), **values}


class FamilyCommand(click.Command):
    """Lists hyperparameters and training options under separate headings."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        fam, common = [], []
        for p in self.get_params(ctx):
            rec = p.get_help_record(ctx)
            if rec:
                (fam if getattr(p, "gansrv_family_field", False) else common).append(rec)
        if fam:
            with formatter.section("Hyperparameters"):
                formatter.write_dl(fam)
        with formatter.section("Training options"):
            formatter.write_dl(common)


def family_command(family: Family) -> click.Command:
    config_opt = click.Option(["--config"], type=click.Path(dir_okay=False), is_eager=True,
                              expose_value=False, callback=_load_config_file,
                              help="TOML or YAML file of settings; flags given here override it.")
    form = family.data_form(family.Config())
    params = [*_config_options(family), config_opt, *_common_options(form)]
    field_names = [f.name for f in config_fields(family.Config)]

    def callback(**kw: Any) -> None:
        if form is not DataForm.IMAGES and not kw["data"] and not kw["resume"]:
            raise click.UsageError(f"gansrv train {family.name} needs --data: {PAIRS_HELP[form]}")
        _run_training(family, {k: kw.pop(k) for k in field_names}, kw)

    return FamilyCommand(family.name, params=params, callback=callback,
                         help=f"{family.description}\n\nKind: {family.kind.value}.",
                         short_help=family.description)


def _run_training(family: Family, fields: dict[str, Any], common: dict[str, Any]) -> None:
    from gansrv.extras import require
    from gansrv.plugins import registry

    require("train", what="gansrv train")
    from gansrv.train import TrainOptions
    from gansrv.train.api import train as run_train

    hints = typing.get_type_hints(family.Config)
    for key, value in fields.items():  # choices arrive as strings; give the field its own type
        if isinstance(value, str) and hints.get(key) in (int, float):
            fields[key] = hints[key](value)
    try:
        config = family.Config(**fields)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{family.name}: invalid setting ({exc})") from None
    opts = TrainOptions(**{**common, "data": tuple(common["data"])})
    if _launched(family, config, opts):
        return
    named = {name: loader for name, (loader, _) in registry().datasets.items()}
    from gansrv.cli.launch import report_status

    def report(summary: dict[str, Any]) -> None:  # under torchrun, process 0 speaks for all
        click.echo(f"{summary['reason']}: step {summary['step']} in "
                   f"{summary['elapsed']:.1f}s; checkpoint {summary['checkpoint']}; "
                   f"samples {summary['grid']}")
        if summary["reason"] == "interrupted":
            click.echo(f"interrupted: resume with 'gansrv train {family.name} --resume "
                       f"{summary['checkpoint'].rsplit('/checkpoints/', 1)[0]}'", err=True)

    with report_status():
        summary = run_train(family, config, opts, named=named,
                            log=lambda m: click.echo(m, err=True), report=report)
        if summary["reason"] == "interrupted":
            raise click.exceptions.Exit(130)


def _launched(family: Family, config: Any, opts: Any) -> bool:
    """--nproc N > 1 outside torchrun: run this command under torchrun and end with its code."""
    from gansrv.train.group import check_family, env_world

    if opts.nproc <= 1:
        return False
    if env_world() > 1:
        if opts.nproc != env_world():
            raise UserError(f"--nproc {opts.nproc} under a torchrun job of {env_world()} "
                            f"processes; torchrun sets the count")
        return False
    from gansrv.cli.launch import command_args, torchrun

    check_family(opts.nproc, family, config)  # refuse in one line, before N processes start
    if opts.resume:  # and a run of another process count before any
        from pathlib import Path

        from gansrv.train.group import check_resume_count
        from gansrv.train.rundir import read_config

        check_resume_count(opts.nproc, read_config(Path(opts.resume))["train"], Path(opts.resume))
    code = torchrun(family.name, opts.nproc, command_args(click.get_current_context()))
    if code:
        raise click.exceptions.Exit(code)
    return True


class TrainGroup(click.Group):
    """Subcommands are the installed families, built only when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from gansrv.plugins import registry

        return sorted(registry().families)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from gansrv.plugins import registry

        fam = registry().families.get(name)
        return None if fam is None else family_command(fam)


@click.group(cls=TrainGroup)
def train() -> None:
    """Train a GAN family: 'gansrv train <family> --help' lists its hyperparameters."""
