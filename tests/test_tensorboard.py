"""``gansrv train --tensorboard``: the event files, read back with TensorBoard's own reader
(EventAccumulator), hold every metrics.jsonl quantity at its steps, the sample grids and the
hyperparameters; a run resumed after a kill keeps each step once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from gansrv.plugins import registry
from tests.conftest import metrics_rows, run

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def train(*args: object) -> None:
    run("train", "cgan", "--data", "digits", "--limit", "256", "--batch-size", "32", "--log-every", "5",
        "--sample-every", "10", "--checkpoint-every", "10", "--no-progress",
        *registry().families["cgan"].smoke_args, *args)


def read_events(run_dir: Path):
    acc = event_accumulator.EventAccumulator(str(run_dir / "tensorboard"),
                                             size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def assert_matches_metrics(run_dir: Path) -> None:
    acc = read_events(run_dir)
    rows = metrics_rows(run_dir)
    keys = {k for r in rows for k in r} - {"step"}
    assert keys and keys <= set(acc.Tags()["scalars"]), (keys, acc.Tags()["scalars"])
    for key in keys:
        events = acc.Scalars(key)
        want = [(r["step"], r[key]) for r in rows if key in r]
        assert [e.step for e in events] == [s for s, _ in want], key  # each step once, in order
        np.testing.assert_allclose([e.value for e in events], [v for _, v in want], rtol=1e-6, atol=1e-6)
    grids = sorted(int(p.stem.split("-")[1]) for p in (run_dir / "samples").glob("step-*.png"))
    assert [e.step for e in acc.Images("samples")] == grids
    assert "_hparams_/experiment" in acc.PluginTagToContent("hparams")


def test_events_match_metrics_and_resume_keeps_each_step_once(tmp_path: Path):
    out = tmp_path / "run"
    train("--steps", "20", "--tensorboard", "--out", out)
    assert_matches_metrics(out)
    assert max(e.step for e in read_events(out).Scalars("time")) == 20
    # as if the run had been killed after its step-10 checkpoint: steps 11..20 are in the logs but
    # not in any checkpoint, so the resumed run logs them again
    shutil.rmtree(out / "checkpoints" / "step-00000020")
    (out / "samples" / "step-000020.png").unlink()
    run("train", "cgan", "--resume", out, "--steps", "30", "--no-progress")  # --tensorboard is kept
    assert_matches_metrics(out)
    assert [r["step"] for r in metrics_rows(out)] == [5, 10, 15, 20, 25, 30]


def test_hyperparameters_are_logged(tmp_path: Path):
    from tensorboard.plugins.hparams import plugin_data_pb2

    out = tmp_path / "run"
    train("--steps", "5", "--tensorboard", "--out", out, "--seed", "7")
    content = read_events(out).PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert info.hparams["seed"].number_value == 7
    assert info.hparams["batch_size"].number_value == 32
    assert info.hparams["tensorboard"].number_value == 1  # torch stores a bool as a number
    assert info.hparams["data"].string_value == "[\"digits\"]"  # a tuple: its JSON text


def test_without_the_flag_no_log_is_written(tmp_path: Path):
    out = tmp_path / "run"
    train("--steps", "5", "--out", out)
    assert not (out / "tensorboard").exists()


def test_missing_tensorboard_is_one_line(tmp_path: Path):
    """As on a machine without the tensorboard package (sys.modules[name] = None fails its import)."""
    import subprocess
    import sys

    code = ("import sys\nsys.modules['tensorboard'] = None\nfrom gansrv.cli import main\n"
            f"sys.argv = ['gansrv', 'train', 'gan', '--steps', '2', '--limit', '64', '--no-progress', "
            f"'--tensorboard', '--out', {str(tmp_path / 'run')!r}]\nmain()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == ("error: --tensorboard needs the tensorboard package "
                                                    "(not installed): pip install 'gansrv[tensorboard]'")
    assert not (tmp_path / "run").exists()  # refused before the run directory is made
