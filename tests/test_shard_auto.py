"""``--shard auto`` with the environment Slurm job arrays and Kubernetes Indexed Jobs set: the
README's sbatch script and Job manifest run as written (smaller), every index, and their union is
the single run; outside an array job it is one error line and nothing written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from gansrv.errors import UserError
from gansrv.generate.cluster import resolve_shard
from gansrv.generate.plan import Shard
from tests.conftest import REPO, run
from tests.test_writer_datasets import tiny_generator

SLURM = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_TASK_COUNT",
         "JOB_COMPLETION_INDEX", "GANSRV_SHARD_COUNT"}


def block(lang: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)
    assert len(found) == 1, lang
    return found[0]


def shrink(argv: list[str], model: Path, out: Path) -> list[str]:
    """The README's command on the tiny model, 60 images in files of 7, into ``out``."""
    argv = list(argv)
    argv[argv.index("generate") + 1] = str(model)
    argv[argv.index("--n") + 1] = "60"
    argv[argv.index("--out") + 1] = str(out)
    return [*argv[argv.index("generate"):], "--shard-size", "7", "--workers", "1", "--no-progress"]


def files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    tiny_generator(tmp_path / "tiny.onnx", "conditional")
    return tmp_path / "tiny.onnx"


@pytest.fixture()
def clean_env(monkeypatch):
    for name in SLURM:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_readme_sbatch_array_and_indexed_job_write_the_single_run(model, tmp_path, clean_env) -> None:
    script = block("slurm")
    lo, hi = map(int, re.search(r"#SBATCH -a (\d+)-(\d+)", script).group(1, 2))
    line = next(ln for ln in script.splitlines() if ln.startswith("gansrv "))
    argv = shrink(shlex.split(line), model, tmp_path / "slurm")
    for task in range(lo, hi + 1):
        clean_env.setenv("SLURM_ARRAY_TASK_ID", str(task))
        clean_env.setenv("SLURM_ARRAY_TASK_MIN", str(lo))
        clean_env.setenv("SLURM_ARRAY_TASK_COUNT", str(hi - lo + 1))
        run(*argv)
    job = yaml.safe_load(block("yaml"))
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert job["spec"]["completionMode"] == "Indexed"
    count = job["spec"]["completions"]
    assert {e["name"]: e["value"] for e in container["env"]} == {"GANSRV_SHARD_COUNT": str(count)}
    argv = shrink(container["command"], model, tmp_path / "k8s")
    for name in SLURM:
        clean_env.delenv(name, raising=False)
    for index in range(count):
        clean_env.setenv("JOB_COMPLETION_INDEX", str(index))
        clean_env.setenv("GANSRV_SHARD_COUNT", str(count))
        run(*argv)
    clean_env.delenv("JOB_COMPLETION_INDEX")
    clean_env.delenv("GANSRV_SHARD_COUNT")
    run(*[a for a in shrink(shlex.split(line), model, tmp_path / "single") if a not in ("--shard", "auto")])
    single = files(tmp_path / "single")
    assert len(single) == 9 + 1  # 60 images in files of 7, and the manifest
    assert files(tmp_path / "slurm") == single == files(tmp_path / "k8s")


@pytest.mark.parametrize("env, want", [
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "8"}, Shard(4, 8)),
    ({"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "8"}, Shard(8, 8)),
    ({"SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "2",
      "SLURM_ARRAY_TASK_COUNT": "3"}, Shard(3, 3)),
    ({"JOB_COMPLETION_INDEX": "0", "GANSRV_SHARD_COUNT": "5"}, Shard(1, 5)),
])
def test_auto_reads_the_schedulers_index_and_count(env, want) -> None:
    assert resolve_shard("auto", env) == want
    assert resolve_shard("2/3", env) == Shard(2, 3)  # given K/N wins over the environment


@pytest.mark.parametrize("env, message", [
    ({}, "not in a Slurm job array"),
    ({"JOB_COMPLETION_INDEX": "2"}, "needs GANSRV_SHARD_COUNT"),
    ({"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2",
      "SLURM_ARRAY_TASK_COUNT": "4"}, "not on the range"),
    ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"}, "is not a whole number"),
    ({"JOB_COMPLETION_INDEX": "7", "GANSRV_SHARD_COUNT": "4"}, "need 1 <= K <= N"),
])
def test_auto_outside_an_array_job_is_refused(env, message) -> None:
    with pytest.raises(UserError, match=message):
        resolve_shard("auto", env)


def test_auto_outside_an_array_job_is_one_error_line_and_writes_nothing(model, tmp_path, clean_env) -> None:
    out = tmp_path / "never"
    result = run("generate", model, "--n", "5", "--format", "webdataset", "--shard", "auto", "--out", out,
                 expect=2)
    assert result.stderr.startswith("error: --shard auto: not in a Slurm job array")
    assert len(result.stderr.splitlines()) == 1 and not out.exists()
