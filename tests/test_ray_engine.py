"""``gansrv generate --engine ray`` on a real local Ray cluster that the test starts and stops: a
worker process killed mid-shard, the job still completes, each shard is counted once and the
dataset is byte-identical to a single-process run; a cluster that does not answer is one error line
with nothing written."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, generate
from tests.test_writer_datasets import tiny_generator

pytest.importorskip("ray")  # gansrv[ray]; the dev extra installs it, so CI runs this
RAY = Path(sys.executable).with_name("ray")
# a throwaway loopback cluster: no token (else Ray writes one to ~/.ray and every driver needs it)
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
COMMON = ("--n", "20000", "--format", "webdataset", "--shard-size", "4000", "--seed", "3")
TEMP = re.compile(r"\.data-\d{6}\.tar\.(\d+)-\d+\.tmp")


@pytest.fixture(scope="module")
def cluster():
    """A 2-CPU Ray head on this machine (its own temp dir and process group), stopped afterwards."""
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay short
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                             "--node-ip-address=127.0.0.1",
                             "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.monotonic() < deadline, "the Ray head did not start"
                time.sleep(0.5)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # --block: the head stops its raylet and workers
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def everything(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def test_a_worker_killed_mid_shard_changes_no_byte(cluster, tmp_path: Path) -> None:
    model = tmp_path / "tiny.onnx"
    tiny_generator(model, "conditional")
    generate(model, tmp_path / "local", *COMMON)
    out = tmp_path / "ray"
    cmd = [sys.executable, "-m", "gansrv", "generate", str(model), *COMMON, "--engine", "ray",
           "--address", cluster, "--out", str(out), "--no-progress"]
    job = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and job.poll() is None and time.monotonic() < deadline:
        names = os.listdir(out) if out.is_dir() else []
        for name in names:  # a shard being written: its temporary file names the worker's pid
            m = TEMP.fullmatch(name)
            if m and int(m.group(1)) != job.pid:
                os.kill(int(m.group(1)), signal.SIGKILL)
                killed = name
                break
        time.sleep(0.002)
    stdout, stderr = job.communicate(timeout=300)
    assert job.returncode == 0, stderr[-3000:]
    assert killed is not None, "no shard was caught mid-write"
    assert "20,000 images in 5 shard file(s) written, 0 file(s)" in stdout  # each shard counted once
    assert everything(out) == everything(tmp_path / "local")  # no temporary left, same bytes


def test_a_ray_address_that_does_not_answer_is_one_error_line(tmp_path: Path) -> None:
    model = tmp_path / "tiny.onnx"
    tiny_generator(model, "conditional")
    out = tmp_path / "never"
    result = generate(model, out, "--n", "5", "--format", "webdataset", "--engine", "ray",
                      "--address", f"127.0.0.1:{free_port()}", expect=2)
    assert result.stderr.startswith("error: --address 127.0.0.1:")
    assert "no Ray cluster answers" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not out.exists()
    result = generate(model, out, "--n", "5", "--engine", "ray", expect=2)
    assert result.stderr == "error: --engine ray writes shard files: use --format webdataset or parquet\n"
    assert not out.exists()
