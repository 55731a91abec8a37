"""``gansrv runs [DIR]``: the table of runs, their states as the run directories record them, and
one-line errors for a folder that holds none."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import metrics_rows, one_line_error, run

SMALL = ("--data", "digits", "--limit", "128", "--batch-size", "16", "--log-every", "2", "--no-progress")


def gansrv(*args: object) -> list[str]:
    return [str(Path(sys.executable).with_name("gansrv")), *(str(a) for a in args)]


def stopped_run(out: Path) -> None:
    """A real Ctrl-C: SIGTERM once the run has logged a row; it checkpoints and exits 130."""
    proc = subprocess.Popen(gansrv("train", "gan", *SMALL, "--steps", "100000", "--out", out),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not ((out / "metrics.jsonl").is_file() and (out / "metrics.jsonl").read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 130
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    run("train", "gan", *SMALL, "--steps", "6", "--out", root / "a-finished")
    run("train", "gan", *SMALL, "--max-seconds", "0.5", "--out", root / "b-budget")
    stopped_run(root / "c-stopped")
    # killed after its step-4 checkpoint: rows to step 8 logged, the step-8 checkpoint never written
    run("train", "gan", *SMALL, "--steps", "8", "--checkpoint-every", "4", "--out", root / "d-crashed")
    shutil.rmtree(root / "d-crashed" / "checkpoints" / "step-00000008")
    (root / "d-crashed" / "checkpoints" / "latest").write_text("step-00000004\n")  # as a kill leaves it
    (root / "e-no-checkpoint").mkdir()
    shutil.copy(root / "a-finished" / "config.json", root / "e-no-checkpoint" / "config.json")
    (root / "notes").mkdir()  # not a run: ignored
    return root


def test_table_lists_each_run_with_its_state(runs_dir: Path):
    result = run("runs", runs_dir)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["RUN", "FAMILY", "DATA", "STEPS", "CHECKPOINT", "LAST", "LOSSES", "STATE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"a-finished", "b-budget", "c-stopped", "d-crashed", "e-no-checkpoint"}
    assert rows["a-finished"].split()[1:5] == ["gan", "digits", "6/6", "step-00000006"]
    last = metrics_rows(runs_dir / "a-finished")[-1]
    assert f"loss_d={last['loss_d']:.4g}" in rows["a-finished"]
    states = {name: line.split()[-1] for name, line in rows.items()}
    assert states == {"a-finished": "finished", "b-budget": "finished", "c-stopped": "stopped",
                      "d-crashed": "crashed", "e-no-checkpoint": "crashed"}
    assert "step-00000004" in rows["d-crashed"] and "4/8" in rows["d-crashed"]


def test_json_rows_and_a_single_run_folder(runs_dir: Path):
    rows = [json.loads(line) for line in run("runs", runs_dir, "--json").stdout.splitlines()]
    stopped = next(r for r in rows if r["run"].endswith("c-stopped"))
    steps = [r["step"] for r in metrics_rows(runs_dir / "c-stopped")]
    assert stopped["state"] == "stopped" and stopped["step"] == steps[-1] and stopped["total_steps"] == 100000
    one = run("runs", runs_dir / "a-finished").stdout.splitlines()
    assert len(one) == 2 and one[1].split()[-1] == "finished"


def test_a_bad_config_is_a_note_and_bad_folders_are_one_line_errors(runs_dir: Path, tmp_path: Path):
    broken = runs_dir / "f-broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    try:
        result = run("runs", runs_dir)
        assert "note: skipped f-broken:" in result.stderr and "f-broken" not in result.stdout
    finally:
        shutil.rmtree(broken)
    assert "no such folder" in one_line_error(run("runs", tmp_path / "missing", expect=None))
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert "not a folder" in one_line_error(run("runs", afile, expect=None))
    assert "no gansrv runs" in one_line_error(run("runs", tmp_path, expect=None))


def test_runs_needs_no_torch(runs_dir: Path):
    code = ("import sys\nfrom gansrv.cli import main\nsys.argv = ['gansrv', 'runs', sys.argv[1]]\n"
            "try:\n    main()\nfinally:\n    assert 'torch' not in sys.modules, 'torch imported'\n")
    done = subprocess.run([sys.executable, "-c", code, str(runs_dir)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    assert "a-finished" in done.stdout
