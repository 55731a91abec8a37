"""Multi-process training, launched as a user would: ``torchrun --standalone --nproc-per-node 2 -m
gansrv train ...`` (gloo on CPU), and the ``gansrv train --nproc 2`` shortcut.

Every launch starts two Python processes that import torch, so the runs are tiny (smoke-size
networks, 256 digits, a few steps); the families' runs are shared by the tests through a module
fixture.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gansrv.plugins import registry
from gansrv.train.checkpoint import STATE, WEIGHTS, latest_checkpoint
from tests import diverging_plugin
from tests.conftest import free_port, metrics_rows, one_line_error, run

BIN = Path(sys.executable).parent
TORCHRUN = [str(BIN / "torchrun"), "--standalone", "--nproc-per-node", "2", "-m", "gansrv"]
GANSRV = str(BIN / "gansrv")
FAMILIES = ("dcgan", "acgan", "infogan", "wgan-gp", "sngan")
STEPS = 4
TINY = ("--limit", "256", "--batch-size", "16", "--log-every", "1", "--checkpoint-every", "2",
        "--sample-every", "2", "--no-progress")


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def torchrun(*args: object, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*TORCHRUN, *map(str, args)], capture_output=True, text=True,
                          env=_env(), timeout=timeout)


def train_args(family: str) -> list[str]:
    return ["train", family, *registry().families[family].smoke_args, *TINY]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Each family trained STEPS steps by 2 processes into its own --out (in an empty folder)."""
    out = {}
    for family in FAMILIES:
        root = tmp_path_factory.mktemp(family)
        done = torchrun(*train_args(family), "--steps", STEPS, "--out", root / "run")
        assert done.returncode == 0, done.stderr[-3000:]
        out[family] = (root / "run", done)
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_two_processes_train_one_run(runs, family):
    run_dir, done = runs[family]
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["run"]  # one run directory
    assert done.stdout.count("done: step 4") == 1  # process 0 speaks for both
    assert json.loads((run_dir / "config.json").read_text())["train"]["processes"] == 2
    assert [r["step"] for r in metrics_rows(run_dir)] == [1, 2, 3, 4]  # one row per logged step
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == [
        "step-000002.png", "step-000004.png"]
    for step in (2, 4):
        state = torch.load(run_dir / "checkpoints" / f"step-{step:08d}" / STATE, weights_only=True)
        ranks = state["weights_digest_ranks"]  # each process hashed its own weights and buffers
        assert len(ranks) == 2 and ranks[0] == ranks[1], (family, step, ranks)
        assert state["processes"] == 2 and len(state["rng_noise_ranks"]) == 2
        # each process draws its own noise (else the two halves of a batch would repeat each other)
        assert not torch.equal(*state["rng_noise_ranks"])


def test_stop_and_resume_equals_straight(runs, tmp_path):
    straight, _ = runs["dcgan"]
    part = tmp_path / "part"
    first = torchrun(*train_args("dcgan"), "--steps", 2, "--out", part)
    assert first.returncode == 0, first.stderr[-3000:]
    again = torchrun("train", "dcgan", "--resume", part, "--steps", STEPS, "--no-progress")
    assert again.returncode == 0, again.stderr[-3000:]
    a = load_file(straight / "checkpoints" / "step-00000004" / WEIGHTS)
    b = load_file(part / "checkpoints" / "step-00000004" / WEIGHTS)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = [[{k: v for k, v in r.items() if k not in ("time", "it_s")} for r in metrics_rows(d)]
            for d in (straight, part)]
    assert rows[0] == rows[1]


def test_other_process_count_cannot_resume(runs, tmp_path):
    """Both ways, in one line and before any training: a 2-process run resumed by one process, and
    a 1-process run resumed with --nproc 2 (refused before the launcher starts a process)."""
    straight, _ = runs["dcgan"]
    result = run("train", "dcgan", "--resume", straight, "--steps", 6, expect=None)
    assert "trained with 2 process(es), this launch has 1" in one_line_error(result)
    alone = tmp_path / "alone"
    run("train", *train_args("dcgan")[1:], "--steps", 1, "--out", alone)
    result = run("train", "dcgan", "--resume", alone, "--nproc", 2, "--steps", 2, expect=None)
    assert "trained with 1 process(es), this launch has 2" in one_line_error(result)
    assert [r["step"] for r in metrics_rows(alone)] == [1]  # nothing trained, nothing written


def _start_and_stop(argv: list[str], run_dir: Path) -> tuple[int, str]:
    """Start a long run, SIGTERM the launcher once a metrics row shows training is under way."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    deadline = time.time() + 180
    while not (run_dir / "metrics.jsonl").is_file() and proc.poll() is None:
        assert time.time() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _assert_intact(run_dir: Path) -> int:
    last = latest_checkpoint(run_dir)
    assert last is not None
    state = torch.load(last / STATE, weights_only=True)
    assert len(load_file(last / WEIGHTS)) > 0
    assert state["weights_digest_ranks"][0] == state["weights_digest_ranks"][1]
    assert metrics_rows(run_dir)[-1]["step"] == state["step"]  # both stopped after the same step
    return int(state["step"])


def test_sigterm_stops_both_at_one_step_and_a_time_budget_resumes_it(tmp_path):
    """SIGTERM to `gansrv train --nproc 2` (which passes it to torchrun, which passes it to the
    workers): exit 130, one checkpoint both processes agree on. Then a resume with --max-seconds:
    the processes average their step times, so they agree on when the budget is spent and end on
    one checkpoint (a disagreement would hang one of them in a collective)."""
    run_dir = tmp_path / "run"
    code, err = _start_and_stop([GANSRV, *train_args("dcgan"), "--nproc", "2", "--steps",
                                 "100000", "--checkpoint-every", "100000", "--out",
                                 str(run_dir)], run_dir)
    assert code == 130, err[-3000:]
    assert err.count("interrupted: resume with") == 1
    step = _assert_intact(run_dir)
    spent = metrics_rows(run_dir)[-1]["time"]
    again = torchrun("train", "dcgan", "--resume", run_dir, "--max-seconds", 1, "--no-progress")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "time budget: step" in again.stdout
    last = _assert_intact(run_dir)
    assert [r["step"] for r in metrics_rows(run_dir)] == list(range(1, last + 1)) and last > step
    assert metrics_rows(run_dir)[-1]["time"] >= spent + 1.0 - 1e-3 and last < 100000  # rounded


def test_a_family_that_cannot_refuses_in_one_line(tmp_path):
    unpaired = Path(__file__).resolve().parents[2] / "shared" / "data" / "horse2zebra-mini"
    if not unpaired.is_dir():
        pytest.skip("shared horse2zebra-mini not found")
    # the shortcut refuses before it starts any process: exactly one line
    result = run("train", "cyclegan", "--nproc", "2", "--data", unpaired, "--out",
                 tmp_path / "a", expect=None)
    assert "pool of past fakes" in one_line_error(result)
    assert result.stderr.strip().count("\n") == 0
    # under torchrun both processes refuse and only process 0 says so
    done = torchrun("train", "cyclegan", "--data", unpaired, "--out", tmp_path / "b")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "pool of past fakes" in lines[0], done.stderr[-3000:]
    assert not (tmp_path / "b").exists()


def test_a_killed_process_is_restarted_by_torchrun_and_the_run_resumes(tmp_path):
    """SIGKILL one worker: the other one says so in one line, torchrun --max-restarts relaunches
    the same command line, which resumes the run from its last checkpoint and finishes it."""
    run_dir = tmp_path / "run"
    argv = [*TORCHRUN[:-2], "--max-restarts", "1", "-m", "gansrv", *train_args("dcgan"),
            "--steps", "30", "--checkpoint-every", "10", "--out", str(run_dir)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    deadline = time.time() + 180
    while len(metrics_rows(run_dir) if (run_dir / "metrics.jsonl").is_file() else []) < 15:
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    os.kill(int(workers.stdout.split()[-1]), signal.SIGKILL)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-3000:]
    assert err.count("error: another training process stopped") == 1
    assert "resuming dcgan from step-00000010" in err
    assert [r["step"] for r in metrics_rows(run_dir)] == list(range(1, 31))


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_needs_cuda(tmp_path, precision):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: bf16 would train")
    result = run("train", "dcgan", "--precision", precision, "--steps", 1, "--out", tmp_path / "r",
                 expect=None)
    assert "needs a CUDA device" in one_line_error(result)
    assert not (tmp_path / "r").exists()


def test_a_nan_loss_in_one_process_stops_both_at_one_step(tmp_path):
    """The loss turns to NaN in process 1 only (tests/diverging_plugin.py, found as an installed
    plugin): the processes average their losses at every step, so process 0 sees the NaN too; both
    stop before step 4 is recorded, the step-2 checkpoint is the one kept, the job exits 1 and
    process 0 says why in one line (before process 1 leaves: torchrun stops the others then)."""
    env = diverging_plugin.install(tmp_path / "site")
    run_dir = tmp_path / "run"
    argv = ["train", "diverging-gan", *registry().families["gan"].smoke_args, *TINY]
    done = subprocess.run([GANSRV, *argv, "--nproc", "2", "--steps", "10", "--out", str(run_dir)],
                          capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: loss loss_g became nan at step {diverging_plugin.NAN_STEP}; training "
                      f"stopped (last good checkpoint: {run_dir}/checkpoints/step-00000002)"], errors
    assert "another training process stopped" not in done.stderr  # nobody waited on a gone peer
    assert [r["step"] for r in metrics_rows(run_dir)] == [1, 2, 3]  # step 4 recorded by neither
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["latest", "step-00000002"]
    state = torch.load(run_dir / "checkpoints" / "step-00000002" / STATE, weights_only=True)
    assert state["step"] == 2 and len(load_file(latest_checkpoint(run_dir) / WEIGHTS)) > 0
    assert state["weights_digest_ranks"][0] == state["weights_digest_ranks"][1]


def test_two_nodes_by_c10d_rendezvous_train_the_same_run_as_one_node(runs, tmp_path):
    """The multi-machine launch of the README (torchrun --nnodes 2 with a c10d rendezvous), both
    'nodes' on this machine with one process each: the same job as --standalone with 2 processes
    on one node, so the same weights bit for bit (a rank's slice depends on its rank only)."""
    run_dir = tmp_path / "run"
    cmd = [str(BIN / "torchrun"), "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend",
           "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}", "--rdzv-id", "gansrv-test",
           "-m", "gansrv", *train_args("dcgan"), "--steps", str(STEPS), "--out", str(run_dir)]
    nodes = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env()) for _ in range(2)]
    done = [node.communicate(timeout=240) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], done[0][1][-2000:] + done[1][1][-2000:]
    assert sum(out.count("done: step 4") for out, _ in done) == 1  # one process speaks
    assert json.loads((run_dir / "config.json").read_text())["train"]["processes"] == 2
    alone, _ = runs["dcgan"]
    last = f"checkpoints/step-{STEPS:08d}/{WEIGHTS}"
    a, b = load_file(str(run_dir / last)), load_file(str(alone / last))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
