"""The mode-coverage measures (gansrv.metrics.modes) and the benchmark's seconds-long blob task,
run for real through benchmarks/stacked_mnist.py (train, export, generate, score)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gansrv.metrics import modes
from tests.conftest import REPO


def test_blobs_are_read_back_at_their_grid_point():
    images, truth = modes.render_blobs(500, seed=3)
    assert images.shape == (500, 1, 28, 28) and images.dtype == np.uint8
    assert np.array_equal(modes.read_blobs(images), truth)
    again, _ = modes.render_blobs(500, seed=3)
    assert np.array_equal(images, again)  # seeded


def test_off_grid_faint_and_double_blobs_have_no_mode():
    images, truth = modes.render_blobs(3, seed=0)
    faint = (images[:1] // 3).astype(np.uint8)
    double = np.maximum(images[1:2], np.roll(images[1:2], 12, axis=-1))
    between = np.roll(images[2:3], 2, axis=-1)  # 2 px off: between grid points (4.75 px apart)
    assert list(modes.read_blobs(np.concatenate([faint, double, between]))) == [-1, -1, -1]
    assert modes.read_blobs(np.zeros((1, 1, 28, 28), np.uint8))[0] == -1


def test_coverage_counts_modes_and_kl_from_uniform():
    uniform = np.repeat(np.arange(25), 4)
    c = modes.coverage(uniform, 25)
    assert (c["modes_covered"], c["off_mode"]) == (25, 0.0) and c["kl"] == pytest.approx(0.0, abs=1e-12)
    collapsed = modes.coverage(np.array([3] * 99 + [-1]), 25)
    assert collapsed["modes_covered"] == 1 and collapsed["kl"] == pytest.approx(np.log(25))
    assert collapsed["off_mode"] == pytest.approx(0.01)


def test_stacked_digits_have_the_triple_as_mode():
    grey = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 1, 28, 28), np.uint8)
    stacked, mode = modes.stack_digits(grey, np.arange(10), 50, seed=1)
    assert stacked.shape == (50, 3, 28, 28)
    read = modes.read_stacked(stacked, lambda ch: ch[:, 0, 0, 0].astype(np.int64))  # pixel = digit
    assert np.array_equal(read, mode) and set(mode) <= set(range(1000))


def test_blob_smoke_task_runs_through_the_benchmark(tmp_path):
    out = tmp_path / "blobs.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "stacked_mnist.py"), "--task", "blobs", "--runs",
           "madgan", "--seconds", "3", "--train-images", "500", "--n", "300", "--g-width", "8",
           "--d-width", "8", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = json.loads(out.read_text())["rows"]
    assert row["run"] == "madgan" and row["modes_total"] == 25 and row["steps"] >= 1
    assert 0 <= row["modes_covered"] <= 25 and 0 <= row["off_mode"] <= 1
    assert "| madgan | madgan | 8 |" in proc.stdout
