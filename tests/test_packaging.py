"""Packaging: every built-in family is found from the editable install and from a built wheel,
by scanning the ``gansrv_plugins`` package (a new family is a new folder under ``plugins/`` and
nothing else: no line in pyproject.toml), and nothing named ``plugins`` lands in site-packages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PLUGINS_DIR = REPO / "plugins"
IMPORT_ROOTS = {"gansrv": REPO / "gansrv", "gansrv_plugins": PLUGINS_DIR}  # import name -> folder

# Run in a child interpreter: what the registry finds, and where each family's module comes from.
PROBE = """
import importlib.util, json, sys
import gansrv
from gansrv.plugins import load_registry
reg = load_registry()
print(json.dumps({
    "gansrv": gansrv.__file__,
    "problems": reg.problems,
    "families": {name: {"module": type(fam).__module__,
                        "file": sys.modules[type(fam).__module__].__file__,
                        "package": reg.providers[name]}
                 for name, fam in reg.families.items()},
    "plugins_spec": repr(importlib.util.find_spec("plugins")),
}))
"""


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def family_folders() -> list[str]:
    """plugins/<family>/ folders that are packages: each one is a built-in family plugin."""
    return sorted(p.parent.name for p in PLUGINS_DIR.glob("*/__init__.py"))


def source_packages() -> dict[str, Path]:
    """Every package (folder with __init__.py) under the import roots, by dotted import name."""
    found = {}
    for name, root in IMPORT_ROOTS.items():
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            if "__pycache__" not in rel.parts:
                found[".".join((name, *rel.parts))] = init.parent
    return found


def source_modules() -> set[str]:
    """Every .py file under the import roots, as the path it must have inside a wheel."""
    files = set()
    for name, root in IMPORT_ROOTS.items():
        for py in root.rglob("*.py"):
            rel = py.relative_to(root)
            if "__pycache__" not in rel.parts:
                files.add("/".join((name, *rel.parts)))
    return files


def probe(env: dict[str, str] | None, cwd: Path) -> dict:
    # cwd is outside the checkout, so the checkout's own folders are not importable by accident.
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                         cwd=cwd, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def check_builtins_found(found: dict, module_root: Path) -> None:
    """Every family folder is loaded as gansrv_plugins.<folder>, from module_root, by gansrv."""
    assert found["problems"] == []
    assert found["plugins_spec"] == "None", "a top-level module named 'plugins' is importable"
    by_module = {info["module"]: info for info in found["families"].values()}
    for folder in family_folders():
        info = by_module.get(f"gansrv_plugins.{folder}")
        assert info is not None, f"no family from plugins/{folder}/ (found {sorted(by_module)})"
        assert info["package"] == "gansrv"
        assert Path(info["file"]).resolve() == (module_root / folder / "__init__.py").resolve()


# -- pyproject.toml ------------------------------------------------------------------------------

def test_pyproject_names_no_family():
    """A built-in family is its folder alone: no entry point and no package line per family."""
    meta = pyproject()
    assert family_folders(), "no family folders found under plugins/"
    assert "gansrv" not in meta["project"].get("entry-points", {})
    assert "packages" not in meta["tool"]["setuptools"]  # computed in setup.py from the folders
    text = (REPO / "pyproject.toml").read_text()
    for folder in family_folders():
        assert f"gansrv_plugins.{folder}" not in text, f"pyproject.toml names plugins/{folder}/"


def test_builtin_plugins_are_the_family_folders():
    from gansrv.plugins import builtin_plugins

    assert [module for _, module in builtin_plugins()] == \
        [f"gansrv_plugins.{folder}" for folder in family_folders()]


def test_package_dir_maps_plugins_to_a_namespaced_name():
    mapping = pyproject()["tool"]["setuptools"]["package-dir"]
    assert mapping.get("gansrv_plugins") == "plugins"
    assert "plugins" not in mapping


# -- editable install (the test environment) ----------------------------------------------------

def test_editable_install_finds_every_builtin_family(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = probe(env, tmp_path)
    assert Path(found["gansrv"]).resolve() == (REPO / "gansrv" / "__init__.py").resolve()
    check_builtins_found(found, PLUGINS_DIR)


def test_nothing_named_plugins_in_site_packages():
    for key in ("purelib", "platlib"):
        site = Path(sysconfig.get_path(key))
        assert not (site / "plugins").exists() and not (site / "plugins.py").exists()
        for pth in site.glob("*.pth"):  # a path line (e.g. a legacy editable install's) adds a dir
            for line in pth.read_text().splitlines():
                if line.strip() and not line.startswith(("#", "import")):
                    assert not (Path(line.strip()) / "plugins" / "__init__.py").exists(), \
                        f"{pth} makes a top-level 'plugins' importable"
        for finder in site.glob("__editable__*finder.py"):
            assert "'plugins':" not in finder.read_text(), f"{finder} maps a top-level 'plugins'"


def test_console_script_lists_builtin_families(tmp_path):
    script = Path(sys.executable).with_name("gansrv.exe" if sys.platform == "win32" else "gansrv")
    res = subprocess.run([str(script), "families"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    from gansrv.plugins import load_registry

    reg = load_registry()
    listed = {ln.split()[0]: ln.split()[-1] for ln in res.stdout.splitlines()[2:] if ln.strip()}
    builtin = {name for name, dist in reg.providers.items() if dist == "gansrv"}
    assert builtin and all(listed.get(name) == "gansrv" for name in builtin), res.stdout


# -- a built wheel --------------------------------------------------------------------------------

def copy_project(dest: Path) -> None:
    """What a build reads, copied from the checkout (a build writes build/ and egg-info into it)."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.pyc")
    for name in ("gansrv", "plugins"):
        shutil.copytree(REPO / name, dest / name, ignore=skip)
    for f in REPO.iterdir():
        wanted = f.name in ("pyproject.toml", "setup.py") or f.name.startswith(("README", "LICENSE"))
        if f.is_file() and wanted:
            shutil.copy2(f, dest / f.name)


def build_wheel(src: Path, dist: Path) -> Path:
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--no-index", "--disable-pip-version-check", "-w", str(dist), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    [whl] = dist.glob("gansrv-*.whl")
    return whl


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the project's wheel from a copy of the checkout (the build writes build/, egg-info)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    copy_project(src)
    return build_wheel(src, tmp / "dist")


@pytest.fixture(scope="module")
def wheel_site(wheel, tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("wheel-site") / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                          "--disable-pip-version-check", "--target", str(site), str(wheel)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    return site


def test_wheel_has_namespaced_families_and_no_top_level_plugins(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for folder in family_folders():
        assert f"gansrv_plugins/{folder}/__init__.py" in names
    assert not [n for n in names if n.split("/")[0] in ("plugins", "plugins.py")]
    [top] = [n for n in names if n.endswith(".dist-info/top_level.txt")] or [None]
    if top is not None:
        assert "plugins" not in zipfile.ZipFile(wheel).read(top).decode().split()


def test_wheel_declares_no_family_entry_point(wheel):
    """Built-ins are found by scanning gansrv_plugins, so the wheel declares no 'gansrv' group."""
    with zipfile.ZipFile(wheel) as zf:
        [ep_file] = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = zf.read(ep_file).decode()
    assert "[gansrv]" not in text and "gansrv_plugins" not in text, text


def test_wheel_contains_every_source_module(wheel):
    """A subpackage left out of the package list (setup.py) would work editable but not from the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(source_modules() - names)
    assert missing == [], f"modules missing from the wheel: {missing}"


def test_installed_wheel_finds_every_builtin_family(wheel_site, tmp_path):
    assert not (wheel_site / "plugins").exists()
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}  # ahead of the editable install
    found = probe(env, tmp_path)
    assert Path(found["gansrv"]).resolve() == (wheel_site / "gansrv" / "__init__.py").resolve()
    check_builtins_found(found, wheel_site / "gansrv_plugins")


def test_installed_wheel_cli_lists_families(wheel_site, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}
    res = subprocess.run([sys.executable, "-m", "gansrv", "families"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=120)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    listed = {ln.split()[0]: ln.split()[-1] for ln in res.stdout.splitlines()[2:] if ln.strip()}
    assert len([p for p in listed.values() if p == "gansrv"]) >= len(family_folders()), res.stdout


# -- a new family is one folder ----------------------------------------------------------------

TEMPLATE = "wgan"  # a small family folder to copy; the copy's family is renamed NEW_FAMILY
NEW_FOLDER, NEW_FAMILY = "wgan_copy", "wgan-copy"


@pytest.fixture(scope="module")
def project_with_new_family(tmp_path_factory) -> Path:
    """A copy of the project with one more family folder (copied from TEMPLATE), nothing else."""
    src = tmp_path_factory.mktemp("new-family") / "src"
    src.mkdir()
    copy_project(src)
    shutil.copytree(src / "plugins" / TEMPLATE, src / "plugins" / NEW_FOLDER)
    init = src / "plugins" / NEW_FOLDER / "__init__.py"
    text, renamed = re.subn(rf"""\bname\s*=\s*["']{TEMPLATE}["']""", f'name = "{NEW_FAMILY}"',
                            init.read_text(), count=1)
    assert renamed == 1, f"no 'name = \"{TEMPLATE}\"' in plugins/{TEMPLATE}/__init__.py"
    init.write_text(text)
    return src


def bare_venv(where: Path) -> Path:
    """A venv without pip whose one .pth line makes this environment's packages (pip, setuptools,
    click, pluggy, numpy, ...) importable: offline, and no gansrv of its own until installed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    py = where / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return py


def families_listed(py: Path, cwd: Path) -> dict[str, str]:
    """`gansrv families` in that interpreter: family -> providing package."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([str(py), "-m", "gansrv", "families"], capture_output=True, text=True,
                         env=env, cwd=cwd, timeout=120)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    return {ln.split()[0]: ln.split()[-1] for ln in res.stdout.splitlines()[2:] if ln.strip()}


@pytest.mark.parametrize("how", ["editable", "wheel"])
def test_a_new_family_folder_is_listed_after_install(how, project_with_new_family, tmp_path):
    src = project_with_new_family
    py = bare_venv(tmp_path / "venv")
    target = ["-e", str(src)] if how == "editable" else [str(build_wheel(src, tmp_path / "dist"))]
    res = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                          "--no-index", "--disable-pip-version-check", *target],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    listed = families_listed(py, tmp_path)
    assert listed.get(NEW_FAMILY) == "gansrv", listed
    assert listed.get(TEMPLATE) == "gansrv", listed  # the folder it was copied from stays too


# -- dependency sets: the base and the serving extras are torch-free ------------------------------

TRAIN_ONLY = {"torch", "onnxscript", "safetensors", "matplotlib", "scikit-learn"}


def requirements(wheel: Path) -> dict[str, set[str]]:
    """Requires-Dist of the wheel by extra ('' = the base install): extra -> project names."""
    with zipfile.ZipFile(wheel) as zf:
        [meta] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        lines = [ln.split(":", 1)[1].strip() for ln in zf.read(meta).decode().splitlines()
                 if ln.startswith("Requires-Dist:")]
    by_extra: dict[str, set[str]] = {}
    for line in lines:
        name = re.split(r"[\s<>=!~;\[(]", line, maxsplit=1)[0].lower()
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", line)
        by_extra.setdefault(extra.group(1) if extra else "", set()).add(name)
    return by_extra


def test_base_and_serving_sets_are_torch_free(wheel):
    reqs = requirements(wheel)
    for extra in ("", "serve", "gpu"):
        assert not reqs[extra] & TRAIN_ONLY, (extra, reqs[extra])
    assert reqs["train"] >= TRAIN_ONLY
    assert "onnxruntime" in reqs["serve"] and "onnxruntime-gpu" not in reqs["serve"]
    assert "onnxruntime-gpu" in reqs["gpu"] and "gradio" in reqs["serve"] & reqs["gpu"]
    # neither flavour of onnxruntime in the base or in train: `train,gpu` must not install both
    assert not {"onnxruntime", "onnxruntime-gpu"} & (reqs[""] | reqs["train"])


def test_extras_module_matches_pyproject(wheel):
    """gansrv.extras names the packages each command checks for; they must be the declared ones."""
    from gansrv.extras import EXTRAS

    reqs = requirements(wheel)
    assert {pip for _, pip in EXTRAS["train"]} <= reqs["train"]
    assert {pip for _, pip in EXTRAS["demo"]} <= reqs["serve"] & reqs["gpu"]


def without(modules: tuple[str, ...], argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI as if `modules` were not installed (sys.modules[m] = None makes imports and
    importlib.util.find_spec fail, as on a machine without them)."""
    code = (f"import sys\nfor m in {modules!r}: sys.modules[m] = None\n"
            f"from gansrv.cli import main\nsys.argv = ['gansrv', *{argv!r}]\nmain()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("argv", [["train", "gan", "--steps", "1"], ["export", "runs/x"]])
def test_training_commands_without_torch_say_what_to_install(argv, tmp_path):
    res = without(("torch",), argv, tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "torch" in res.stderr and "gansrv[train," in res.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_serving_commands_without_onnxruntime_say_what_to_install(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not used")
    res = without(("onnxruntime",), ["generate", str(model), "--n", "1", "--out", "ds"], tmp_path)
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "gansrv[serve]" in res.stderr, res.stderr
    assert not (tmp_path / "ds").exists()


@pytest.mark.slow
def test_serve_install_in_a_fresh_venv_has_no_torch(wheel, exports, tmp_path):  # noqa: F811
    """The real thing (needs the package index): `pip install gansrv[serve]` into an empty venv
    brings no torch, and info + generate run there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    res = subprocess.run([str(py), "-m", "pip", "install", "-q", f"{wheel}[serve]"],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    listed = subprocess.run([str(py), "-m", "pip", "list"], capture_output=True, text=True).stdout
    assert not re.search(r"^torch\s", listed, re.M), listed
    model = exports("cgan").generator
    for argv in (["info", str(model)], ["generate", str(model), "--n", "5", "--out", str(tmp_path / "ds"),
                                        "--no-progress"]):
        res = subprocess.run([str(venv / "bin" / "gansrv"), *argv], capture_output=True, text=True,
                             timeout=300)
        assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "ds").rglob("*.png"))) == 5
