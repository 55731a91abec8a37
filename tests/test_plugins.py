"""Third-party plugins, installed for real with pip: a working one and deliberately broken ones.

The packages live under tests/plugin_packages/. Each is pip-installed into a throw-away venv layered
on top of the test environment (so the shared environment never lists a half-installed test
plugin to whatever else runs beside these tests), used through the CLI in a subprocess, then
uninstalled again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parent / "plugin_packages"
BUILTIN_DIST = "gansrv"


class OverlayEnv:
    """A venv whose site-packages comes first, then the test environment's (torch, gansrv, ...)."""

    def __init__(self, root: Path):
        self.root = root
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        self.python = str(_venv_python(root))
        own = Path(self._run_python("import sysconfig; print(sysconfig.get_path('purelib'))"))
        parent = sysconfig.get_path("purelib")  # processed as a site dir: its .pth files count too
        (own / "_gansrv_test_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
        self.site = own

    def _run_python(self, code: str) -> str:
        return subprocess.run([self.python, "-c", code], check=True, capture_output=True,
                              text=True).stdout.strip()

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        res = subprocess.run([self.python, "-m", "pip", "--disable-pip-version-check", "--no-input",
                              *args], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, f"pip {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
        return res

    def install(self, package: str, tmp: Path) -> None:
        src = tmp / package  # pip builds in place (build/, *.egg-info): never in the source tree
        shutil.copytree(PACKAGES / package, src)
        self.pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(src))

    def uninstall(self, dist: str) -> None:
        self.pip("uninstall", "-y", dist)

    def gansrv(self, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        """``gansrv ARGS`` as the console script runs it (``python -m gansrv`` calls the same main)."""
        return subprocess.run([self.python, "-m", "gansrv", *args], capture_output=True, text=True,
                              cwd=cwd, timeout=300)


def _venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def families_table(stdout: str) -> dict[str, str]:
    """Parse `gansrv families` output into family name -> providing package."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    assert lines and lines[0].split()[0] == "family", stdout
    return {ln.split()[0]: ln.split()[-1] for ln in lines[2:]}


def builtin_families() -> set[str]:
    """Family names the built-in plugins provide, found the same way the CLI finds them."""
    from gansrv.plugins import load_registry

    reg = load_registry()
    names = {name for name, dist in reg.providers.items() if dist == BUILTIN_DIST}
    assert names, f"no built-in family found; problems: {reg.problems}"
    return names


@pytest.fixture(scope="module")
def overlay(tmp_path_factory) -> OverlayEnv:
    return OverlayEnv(tmp_path_factory.mktemp("venv") / "env")


# -- a working third-party plugin --------------------------------------------------------------

@pytest.fixture(scope="module")
def example_runs(overlay, tmp_path_factory) -> dict[str, subprocess.CompletedProcess | Path]:
    """Install gansrv-example, list and train its family, uninstall it; return what happened."""
    tmp = tmp_path_factory.mktemp("example")
    out: dict[str, subprocess.CompletedProcess | Path] = {}
    overlay.install("gansrv-example", tmp)
    try:
        assert (overlay.site / "gansrv_example.py").is_file()
        out["families"] = overlay.gansrv("families", cwd=tmp)
        out["help"] = overlay.gansrv("train", "tinygan", "--help", cwd=tmp)
        out["run_dir"] = tmp / "run"
        out["train"] = overlay.gansrv("train", "tinygan", "--data", "digits", "--steps", "3",
                                      "--batch-size", "16", "--device", "cpu", "--out",
                                      str(out["run_dir"]), "--no-progress", cwd=tmp)
    finally:
        overlay.uninstall("gansrv-example")
    out["after"] = overlay.gansrv("families", cwd=tmp)
    return out


def test_installed_plugin_is_listed_with_its_package(example_runs):
    res = example_runs["families"]
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    table = families_table(res.stdout)
    assert table.get("tinygan") == "gansrv-example"
    assert all(table.get(name) == BUILTIN_DIST for name in builtin_families()), table


def test_installed_plugin_config_becomes_train_options(example_runs):
    res = example_runs["help"]
    assert res.returncode == 0, res.stderr
    for flag in ("--latent-dim", "--image-size", "--hidden", "--lr", "--steps", "--data"):
        assert flag in res.stdout
    assert "Tiny MLP GAN from a third-party package" in res.stdout


def test_installed_plugin_trains(example_runs):
    res, run_dir = example_runs["train"], example_runs["run_dir"]
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    assert "Traceback" not in res.stderr
    assert "step 3" in res.stdout
    assert (run_dir / "config.json").is_file()
    assert '"tinygan"' in (run_dir / "config.json").read_text()
    weights = list((run_dir / "checkpoints").glob("step-*/weights.safetensors"))
    assert weights, sorted(p.name for p in run_dir.rglob("*"))


def test_uninstalled_plugin_is_gone(example_runs, overlay):
    res = example_runs["after"]
    assert res.returncode == 0, res.stderr
    table = families_table(res.stdout)
    assert "tinygan" not in table
    assert builtin_families() <= set(table)
    assert not (overlay.site / "gansrv_example.py").exists()


# -- broken plugins ------------------------------------------------------------------------------

COMMANDS = {"families": ("families",), "train_help": ("train", "--help"), "help": ("--help",)}


def _run_with(overlay: OverlayEnv, package: str, dist: str, tmp: Path
              ) -> dict[str, subprocess.CompletedProcess]:
    """Install a test package, run each of COMMANDS, uninstall it, run `families` once more."""
    out: dict[str, subprocess.CompletedProcess] = {}
    overlay.install(package, tmp)
    try:
        for key, args in COMMANDS.items():
            out[key] = overlay.gansrv(*args, cwd=tmp)
    finally:
        overlay.uninstall(dist)
    out["after"] = overlay.gansrv("families", cwd=tmp)
    return out


@pytest.fixture(scope="module")
def broken_runs(overlay, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """gansrv-broken: an import error, a duplicate family name, a Config that is no dataclass."""
    return _run_with(overlay, "gansrv-broken", "gansrv-broken", tmp_path_factory.mktemp("broken"))


@pytest.fixture(scope="module")
def shadow_runs(overlay, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """gansrv-shadow: its entry point is named 'gan', like the built-in one."""
    return _run_with(overlay, "gansrv-shadow", "gansrv-shadow", tmp_path_factory.mktemp("shadow"))


BROKEN = ("'broken-import'", "'dupgan'", "'badconfig'")  # how each problem's line names its plugin


def _warnings(res: subprocess.CompletedProcess) -> list[str]:
    """The stderr lines, checked to be one-line warnings (no traceback, no other chatter)."""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr, res.stderr
    assert all(ln.startswith("warning: ") for ln in lines), res.stderr
    return lines


@pytest.mark.parametrize("command", COMMANDS)
def test_broken_plugins_do_not_take_the_cli_down(broken_runs, command):
    res = broken_runs[command]
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    _warnings(res)
    if command == "train_help":
        assert builtin_families() <= set(res.stdout.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_each_problem_is_one_warning_line(broken_runs, command):
    lines = _warnings(broken_runs[command])
    for key in BROKEN:
        assert len([ln for ln in lines if key in ln]) == 1, f"{key}:\n{broken_runs[command].stderr}"
    assert len(lines) == len(BROKEN), broken_runs[command].stderr


def test_builtins_survive_broken_plugins(broken_runs):
    """The built-in families stay listed, and stay the built-in ones (not the impostor)."""
    table = families_table(broken_runs["families"].stdout)
    assert {name: table.get(name) for name in builtin_families()} == \
        dict.fromkeys(builtin_families(), BUILTIN_DIST)
    assert "Impostor" not in broken_runs["families"].stdout


def test_import_error_is_reported(broken_runs):
    [line] = [ln for ln in _warnings(broken_runs["families"]) if "'broken-import'" in ln]
    assert "gansrv-broken" in line and "ImportError" in line and "not_installed_anywhere" in line


def test_duplicate_family_name_is_reported_against_the_newcomer(broken_runs):
    lines = [ln for ln in _warnings(broken_runs["families"]) if "'gan'" in ln]
    assert len(lines) == 1, broken_runs["families"].stderr
    assert "'dupgan'" in lines[0] and "already provided by gansrv" in lines[0]


def test_config_that_is_not_a_dataclass_is_reported(broken_runs):
    [line] = [ln for ln in _warnings(broken_runs["families"]) if "'badconfig'" in ln]
    assert "Config" in line
    assert "badconfig" not in families_table(broken_runs["families"].stdout)


def test_uninstalled_broken_plugins_leave_no_trace(broken_runs):
    from gansrv.plugins import load_registry

    res = broken_runs["after"]
    assert res.returncode == 0
    assert "gansrv-broken" not in res.stderr
    assert families_table(res.stdout) == load_registry().providers


def test_entry_point_named_like_a_builtin_neither_shadows_it_nor_vanishes(shadow_runs):
    """Either both plugins load, or the newcomer is refused in one line; the built-in stays."""
    res = shadow_runs["families"]
    assert res.returncode == 0, res.stderr
    table = families_table(res.stdout)
    assert {name: table.get(name) for name in builtin_families()} == \
        dict.fromkeys(builtin_families(), BUILTIN_DIST)
    lines = _warnings(res)
    if table.get("gan2") == "gansrv-shadow":
        assert lines == [], res.stderr
    else:
        assert len(lines) == 1 and "gansrv-shadow" in lines[0], res.stderr
    after = shadow_runs["after"]
    assert "gan2" not in families_table(after.stdout) and "gansrv-shadow" not in after.stderr


def test_a_family_of_kind_classifier_is_refused_with_a_reason():
    """``classifier`` names an exported graph (acgan's C), not what a family trains."""
    from gansrv import Family, Kind, hookimpl
    from gansrv.plugins import load_registry
    from gansrv_plugins.gan import Config as GanConfig

    class Wrong(Family):
        name, description, kind, Config = "wrongkind", "kind classifier", Kind.CLASSIFIER, GanConfig

    class Plugin:
        @hookimpl
        def gansrv_register_families(self, register):
            register(Wrong())

    reg = load_registry([Plugin()])
    assert "wrongkind" not in reg.families
    assert any("wrongkind" in p and "classifier" in p for p in reg.problems), reg.problems
