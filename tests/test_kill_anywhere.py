"""SIGKILL at random moments, then resume: nothing is lost but the current checkpoint interval, no
checkpoint is ever unreadable, and the finished result equals an uninterrupted run's.

The moments are drawn from a seeded generator (reproducible), after the process has shown that it
got past start-up (a metrics row, a first PNG), so that the kills land in the work itself: steps,
checkpoint writes, PNG writes, renames.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gansrv.generate.writer import complete_png

GANSRV = str(Path(sys.executable).with_name("gansrv"))
KILLS = 5
TINY = ("--d-hidden", "32", "--limit", "256", "--batch-size", "16", "--no-progress",
        "--sample-every", "0", "--log-every", "1")


def start_and_kill(argv: list[str], ready: Callable[[], bool], delay: float) -> int | None:
    """Start `gansrv ARGV`, wait until ready(), sleep `delay`, SIGKILL it; returns its exit code if
    it finished before the kill (None if it was killed)."""
    proc = subprocess.Popen([GANSRV, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    if proc.poll() is not None:
        err = proc.stderr.read().decode()
        assert proc.returncode == 0, err
        return 0
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return None


def weights(run_dir: Path) -> dict:
    from safetensors.torch import load_file

    latest = (run_dir / "checkpoints" / "latest").read_text().strip()
    return load_file(str(run_dir / "checkpoints" / latest / "weights.safetensors"))


def check_checkpoint_loads(run_dir: Path) -> int:
    """The checkpoint resume would use is whole: weights and state load. Returns its step."""
    import torch

    from gansrv.train.checkpoint import STATE, WEIGHTS, latest_checkpoint

    ckpt = latest_checkpoint(run_dir)
    if ckpt is None:
        return 0
    from safetensors.torch import load_file

    load_file(str(ckpt / WEIGHTS))
    state = torch.load(ckpt / STATE, map_location="cpu", weights_only=True)
    assert int(ckpt.name.split("-")[1]) == state["step"]
    return int(state["step"])


def mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


def last_logged_step(run_dir: Path) -> int:
    import json

    path = run_dir / "metrics.jsonl"
    rows = [ln for ln in path.read_text().splitlines() if ln.strip()] if path.is_file() else []
    steps = []
    for ln in rows:
        with contextlib.suppress(ValueError):  # the line being written when the kill came
            steps.append(json.loads(ln)["step"])
    return max(steps, default=0)


def test_training_killed_anywhere_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    steps, every = 300, 3
    full, part = tmp_path / "full", tmp_path / "part"
    common = [*TINY, "--g-hidden", "32", "--checkpoint-every", str(every), "--keep-checkpoints", "1"]
    subprocess.run([GANSRV, "train", "gan", "--steps", str(steps), "--out", str(full), *common],
                   check=True, capture_output=True, timeout=300)
    rng = random.Random(0)
    argv = ["train", "gan", "--steps", str(steps), "--out", str(part), *common]
    kills = 0
    for _ in range(KILLS):
        before = check_checkpoint_loads(part) if part.exists() else 0
        if before >= steps:  # the kill came after the final checkpoint (while writing pictures)
            break
        stamp = mtime(part / "metrics.jsonl")

        def ready(b: int = before, s: int = stamp) -> bool:  # a new row past the checkpoint
            return mtime(part / "metrics.jsonl") != s and last_logged_step(part) > b

        if start_and_kill(argv, ready, rng.uniform(0, 0.4)) == 0:
            break
        kills += 1
        saved = check_checkpoint_loads(part)
        # at most one checkpoint interval is lost (rows after it are re-done on resume)
        assert saved >= last_logged_step(part) - every, (saved, last_logged_step(part))
        assert not list((part / "checkpoints").glob("step-*/.tmp*"))
        argv = ["train", "gan", "--resume", str(part), "--no-progress"]
    else:
        if check_checkpoint_loads(part) < steps:
            subprocess.run([GANSRV, *argv], check=True, capture_output=True, timeout=300)
    assert kills >= 2, "the kills came too late to test anything"
    a, b = weights(full), weights(part)
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
    # every step logged once: rows a kill left past the last checkpoint were dropped on resume
    assert logged_steps(part) == logged_steps(full) == list(range(1, steps + 1))


def logged_steps(run_dir: Path) -> list[int]:
    from gansrv.train.pictures import read_metrics

    return [r["step"] for r in read_metrics(run_dir / "metrics.jsonl")]


# 2 writers are threads; 4 writers on 10,000 images are processes (gansrv.generate.writer)
@pytest.mark.parametrize("workers", ["2", "4"])
def test_generate_killed_anywhere_ends_byte_identical(exports, tmp_path: Path,  # noqa: F811
                                                      workers: str) -> None:
    model = exports("cgan").generator
    n = "10000"
    full, part = tmp_path / "full", tmp_path / "part"
    subprocess.run([GANSRV, "generate", str(model), "--n", n, "--out", str(full), "--no-progress",
                    "--workers", "1"], check=True, capture_output=True, timeout=300)
    rng = random.Random(1)
    argv = ["generate", str(model), "--n", n, "--out", str(part), "--no-progress", "--workers", workers]
    kills = 0
    for _ in range(KILLS):
        have = len(list(part.rglob("*.png"))) if part.exists() else 0
        if start_and_kill(argv, lambda h=have: len(list(part.rglob("*.png"))) > h,
                          rng.uniform(0, 0.3)) == 0:
            break
        kills += 1
    else:
        subprocess.run([GANSRV, *argv], check=True, capture_output=True, timeout=300)
    assert kills >= 2, "the kills came too late to test anything"
    assert tree(part) == tree(full)
    assert not leftover_writers(), "writer processes outlived their killed generate"


def leftover_writers(wait: float = 5.0) -> list[str]:
    """Forkserver/writer processes of this virtualenv still running after ``wait`` seconds."""
    venv = str(Path(sys.executable).parent.parent)
    deadline = time.time() + wait
    while True:
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if "multiprocessing.forkserver" in text and venv in text:
                    found.append(text[:120])
        if not found or time.time() > deadline:
            return found
        time.sleep(0.2)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A tmpfs of 1.5 MB (root only); skipped where mounting is not allowed, except under CI
    (``CI`` set; CI runs as root), where not running the full-disk tests is a failure."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(mnt)],
                             capture_output=True, text=True)
        why = res.stderr.strip() if res.returncode else ""
    except FileNotFoundError:
        why = "no mount command"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs ({why}); CI must run the full-disk tests as root")
        pytest.skip(f"cannot mount a tmpfs here: {why}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("workers", ["2", "4"])
def test_generate_on_a_full_disk_is_one_line_and_keeps_whole_files(exports, tiny_disk,  # noqa: F811
                                                                   workers: str):
    from PIL import Image

    keep = tiny_disk / "keep.txt"
    keep.write_text("mine\n")
    res = subprocess.run([GANSRV, "generate", str(exports("cgan").generator), "--n", "20000", "--out",
                          str(tiny_disk / "ds"), "--no-progress", "--workers", workers],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: disk full"), lines
    assert keep.read_text() == "mine\n"
    pngs = list((tiny_disk / "ds").rglob("*.png"))
    assert pngs and not list((tiny_disk / "ds").rglob("*.tmp"))
    for p in pngs:
        Image.open(p).load()  # every file that is there is whole


def test_training_on_a_full_disk_keeps_the_last_good_checkpoint(tiny_disk):
    out = tiny_disk / "run"
    res = subprocess.run([GANSRV, "train", "gan", "--steps", "40", "--out", str(out), *TINY,
                          "--checkpoint-every", "1", "--keep-checkpoints", "2", "--g-hidden", "64"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("error: disk full"), lines
    assert "Traceback" not in res.stderr
    assert check_checkpoint_loads(out) >= 1
    assert not list((out / "checkpoints").glob(".tmp-*")), "a half-written checkpoint was left"


def _file_size_limit(limit: int) -> Callable[[], None]:
    """For a child process: any write past ``limit`` bytes of one file fails (EFBIG) instead."""
    import resource

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the error, not the default kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_checkpoint_that_fails_half_written_is_never_the_one_resumed(tmp_path: Path) -> None:
    """A write that fails between a checkpoint's two files (here: a file-size limit that lets the
    weights through, not the larger optimizer state; no root needed, unlike the full disk) leaves
    no checkpoint that resume would pick and cannot load, and the resumed run ends as a straight
    one: the folder is renamed into place only once whole, and ``latest`` updated after it."""
    full, part = tmp_path / "full", tmp_path / "part"
    common = [*TINY, "--g-hidden", "32", "--checkpoint-every", "2", "--steps", "4"]
    subprocess.run([GANSRV, "train", "gan", "--out", str(full), *common], check=True,
                   capture_output=True, timeout=300)
    sizes = [p.stat().st_size for p in (full / "checkpoints" / "step-00000004").iterdir()]
    assert min(sizes) < 300_000 < max(sizes), sizes  # the limit falls between the two files
    res = subprocess.run([GANSRV, "train", "gan", "--out", str(part), *common], text=True,
                         capture_output=True, timeout=300, preexec_fn=_file_size_limit(300_000))
    assert res.returncode == 1 and res.stderr.strip().splitlines()[-1].startswith("error:"), res.stderr
    assert "Traceback" not in res.stderr
    assert check_checkpoint_loads(part) == 0  # nothing resumable was written, and nothing broken
    assert not list((part / "checkpoints").glob(".tmp-*")), "a half-written checkpoint was left"
    subprocess.run([GANSRV, "train", "gan", "--resume", str(part), "--no-progress"], check=True,
                   capture_output=True, timeout=300)
    a, b = weights(full), weights(part)
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)


@pytest.mark.parametrize("workers", ["2", "4"])  # writer threads; writer processes
def test_generate_writes_that_fail_leave_no_partial_png(exports, tmp_path: Path,  # noqa: F811
                                                        workers: str) -> None:
    """Every PNG write failing part-way (a file-size limit of 860 bytes: above the manifest, below
    a stored 28x28 PNG's 880; no root needed) leaves no PNG on disk that is not whole: each is
    written to a temporary name and renamed, in writer processes too (4,096 images take them)."""
    out = tmp_path / "ds"
    res = subprocess.run([GANSRV, "generate", str(exports("cgan").generator), "--n", "4096",
                          "--out", str(out), "--no-progress", "--workers", workers,
                          "--compression", "0"], capture_output=True, text=True, timeout=300,
                         preexec_fn=_file_size_limit(860))
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error:") and "Traceback" not in res.stderr
    assert (out / "gansrv-dataset.json").stat().st_size < 860  # the limit let the manifest through
    partial = [p for p in out.rglob("*.png") if not complete_png(p)]
    assert not partial, partial[:3]
    assert not leftover_writers(), "writer processes outlived the failed generate"
