"""Finding families: a plugin-manager factory over the built-in family folders and the ``gansrv``
entry-point group.

Built-in families are the sub-packages of ``gansrv_plugins`` (the checkout's ``plugins/`` folder),
found by scanning that package: adding a built-in family is adding its folder, with no line to edit
in pyproject.toml. Each is registered as its own plugin, named like its folder with ``-`` for ``_``
(``wgan_gp`` -> ``wgan-gp``), before any entry point, so a third-party plugin can never take their
names. Third-party plugins are found through the ``gansrv`` entry-point group; both kinds register
their families through the same hook, ``gansrv_register_families``.

Plugins are loaded one by one (not with pluggy's bulk loader) so that a broken plugin costs a
one-line warning, not the whole CLI. Set ``GANSRV_TRACE_HOOKS=1`` to print every hook call.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import pkgutil
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import click
import pluggy

from gansrv import hookspecs
from gansrv.errors import UserError
from gansrv.family import Family, Kind

GROUP = "gansrv"
BUILTIN_PACKAGE = "gansrv_plugins"  # the plugins/ folder, installed under this name
BUILTIN_DIST = "gansrv"  # the distribution that ships it


@dataclass
class Registry:
    """What the loaded plugins provide, plus the problems met while loading them."""

    families: dict[str, Family] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)  # family name -> distribution
    datasets: dict[str, tuple[Any, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    manager: pluggy.PluginManager | None = None

    def family(self, name: str) -> Family:
        if name not in self.families:
            known = ", ".join(sorted(self.families)) or "none installed"
            raise UserError(f"unknown family {name!r} (known: {known})")
        return self.families[name]


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("GANSRV_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda msg: sys.stderr.write(msg))
        pm.enable_tracing()
    return pm


def builtin_plugins() -> list[tuple[str, str]]:
    """(plugin name, module) of every family folder in ``gansrv_plugins``, sorted by folder name."""
    spec = importlib.util.find_spec(BUILTIN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    folders = sorted(m.name for m in pkgutil.iter_modules(spec.submodule_search_locations) if m.ispkg)
    return [(folder.replace("_", "-"), f"{BUILTIN_PACKAGE}.{folder}") for folder in folders]


def _register(pm: pluggy.PluginManager, name: str, load: Any, dist: str, problems: list[str]) -> bool:
    """Import one plugin module and register it under ``name``; a failure is one problem line."""
    try:
        module = load()
        pm.register(module, name=name)
        pm.check_pending()
    except Exception as exc:  # a plugin's bug must not take the CLI down
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
        problems.append(f"plugin {name!r} from {dist} failed to load: {type(exc).__name__}: {exc}")
        return False
    return True


def _load_builtins(pm: pluggy.PluginManager, problems: list[str]) -> dict[str, str]:
    """Register each built-in family folder; returns plugin name -> providing distribution."""
    dists: dict[str, str] = {}
    for name, module in builtin_plugins():
        if pm.is_blocked(name) or pm.get_plugin(name) is not None:
            continue
        if _register(pm, name, lambda m=module: importlib.import_module(m), BUILTIN_DIST, problems):
            dists[name] = BUILTIN_DIST
    return dists


def _builtin_first(ep) -> tuple[bool, str]:
    """gansrv's own entry points (none since issue 18; an older install may list some) first."""
    return ((ep.dist.name if ep.dist is not None else "?") != BUILTIN_DIST, ep.name)


def _load_entry_points(pm: pluggy.PluginManager, problems: list[str],
                       dists: dict[str, str]) -> dict[str, str]:
    """Register each entry point's module after the built-ins (``dists``, extended and returned)."""
    seen: set[tuple[str, str]] = {(name, module) for name, module in builtin_plugins()}
    for ep in sorted(entry_points(group=GROUP), key=_builtin_first):
        dist = ep.dist.name if ep.dist is not None else "?"
        if (ep.name, ep.value) in seen or pm.is_blocked(ep.name):
            continue  # the same distribution seen twice on sys.path, or a built-in listed again
        seen.add((ep.name, ep.value))
        if ep.name in dists or pm.get_plugin(ep.name) is not None:
            problems.append(f"plugin {ep.name!r} from {dist} ignored: the entry point name "
                            f"{ep.name!r} is already used by {dists.get(ep.name, 'another plugin')}")
            continue
        if _register(pm, ep.name, ep.load, dist, problems):
            dists[ep.name] = dist
    return dists


def _collect_families(pm: pluggy.PluginManager, reg: Registry, dists: dict[str, str]) -> None:
    for impl in pm.hook.gansrv_register_families.get_hookimpls():
        plugin_name = impl.plugin_name
        found: list[Any] = []
        try:
            impl.function(register=found.append)
        except Exception as exc:
            reg.problems.append(f"plugin {plugin_name!r} failed to register families: "
                                f"{type(exc).__name__}: {exc}")
            continue
        for fam in found:
            problem = _family_problem(fam)
            if problem:
                reg.problems.append(f"plugin {plugin_name!r}: {problem}")
            elif fam.name in reg.families:
                reg.problems.append(
                    f"plugin {plugin_name!r}: family {fam.name!r} is already provided by "
                    f"{reg.providers[fam.name]}; ignoring the duplicate")
            else:
                reg.families[fam.name] = fam
                reg.providers[fam.name] = dists.get(plugin_name, plugin_name)


def _collect_datasets(pm: pluggy.PluginManager, reg: Registry) -> None:
    def register(name: str, loader: Any, description: str = "") -> None:
        reg.datasets.setdefault(name, (loader, description))

    for impl in pm.hook.gansrv_register_datasets.get_hookimpls():
        try:
            impl.function(register=register)
        except Exception as exc:
            reg.problems.append(f"plugin {impl.plugin_name!r} failed to register datasets: "
                                f"{type(exc).__name__}: {exc}")


def _family_problem(fam: Any) -> str | None:
    if not isinstance(fam, Family):
        return f"registered {type(fam).__name__}, which is not a gansrv.family.Family"
    for attr in ("name", "description", "kind", "Config"):
        if not hasattr(fam, attr):
            return f"family {type(fam).__name__} lacks the attribute {attr!r}"
    if not isinstance(fam.kind, Kind):
        return f"family {fam.name!r} has kind {fam.kind!r}, not a gansrv.family.Kind"
    if fam.kind is Kind.CLASSIFIER:
        return f"family {fam.name!r} has kind classifier, which names an exported graph, not a family"
    if not (isinstance(fam.Config, type) and dataclasses.is_dataclass(fam.Config)):
        return f"family {fam.name!r}: its Config is not a dataclass"
    return None


def load_registry(extra_plugins: list[Any] | None = None) -> Registry:
    """Build a fresh plugin manager and collect families and datasets from every plugin."""
    reg = Registry()
    pm = make_plugin_manager()
    for plugin in extra_plugins or []:
        pm.register(plugin)
    dists = _load_entry_points(pm, reg.problems, _load_builtins(pm, reg.problems))
    _collect_families(pm, reg, dists)
    _collect_datasets(pm, reg)
    reg.manager = pm
    return reg


_cached: Registry | None = None


def registry() -> Registry:
    """The process-wide registry, built on first use (not at import) and reported once."""
    global _cached
    if _cached is None:
        _cached = load_registry()
        for problem in _cached.problems:
            click.echo(f"warning: {problem}", err=True)
    return _cached
