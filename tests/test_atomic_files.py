"""gansrv.atomic on real files: exact bytes and text, umask permissions, the temporary name, and that
a failed or cut-short write leaves the old file and no temporary file.

Written from the surviving mutants of a mutation run (docs/reliability.md, "Mutation testing").
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import threading
from pathlib import Path

import pytest

from gansrv import atomic
from tests.conftest import file_size_limit


def umask() -> int:
    """The process umask, read without changing it where Linux shows it (other threads may be
    creating files)."""
    with contextlib.suppress(OSError, StopIteration):
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("Umask:")).split()[1], 8)
    old = os.umask(0)
    os.umask(old)
    return old


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_bytes_replaces_the_file_whole_with_umask_permissions(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"old contents, longer than the new ones")
    atomic.write_bytes(path, b"\x00new\xff")
    assert path.read_bytes() == b"\x00new\xff"
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask()
    assert leftovers(tmp_path) == []
    atomic.write_bytes(str(tmp_path / "g.bin"), b"x" * 100_000, durable=False)  # str paths too
    assert (tmp_path / "g.bin").read_bytes() == b"x" * 100_000


def test_a_stale_temporary_file_of_the_same_name_is_truncated(tmp_path: Path) -> None:
    """A killed writer's temporary file can carry this process's name (pids are reused)."""
    path = tmp_path / "f.png"
    stale = tmp_path / f".f.png.{os.getpid()}-{threading.get_ident()}.tmp"
    stale.write_bytes(b"a much longer half-written file from a killed run")
    atomic.write_bytes(path, b"new", durable=False)
    assert path.read_bytes() == b"new" and not stale.exists()


def test_write_bytes_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.png"
    atomic.write_bytes(path, b"png")
    assert path.read_bytes() == b"png"
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask()
    atomic.write_bytes(path.with_name("d.png"), b"more", durable=False)  # folder there now
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.png", "d.png"]


def test_write_bytes_into_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    atomic.write_bytes("here.txt", b"here")
    assert (tmp_path / "here.txt").read_bytes() == b"here"


def test_a_failed_rename_keeps_the_target_and_removes_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("kept")
    with pytest.raises(IsADirectoryError):
        atomic.write_bytes(target, b"data")
    assert (target / "inside").read_text() == "kept"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("durable", [True, False])
def test_a_write_cut_short_keeps_the_old_file(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"old")
    with file_size_limit(4096), pytest.raises(OSError) as caught:
        atomic.write_bytes(path, b"y" * 10_000, durable=durable)
    assert caught.value.errno == errno.EFBIG
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_text_is_utf8_and_json_is_sorted_indented_with_a_newline(tmp_path: Path) -> None:
    atomic.write_text(tmp_path / "t.txt", "Grüße ✓\n")
    assert (tmp_path / "t.txt").read_bytes() == "Grüße ✓\n".encode()
    atomic.write_json(tmp_path / "j.json", {"b": [1, 2], "a": "é"})
    text = (tmp_path / "j.json").read_text(encoding="utf-8")
    assert text == '{\n  "a": "\\u00e9",\n  "b": [\n    1,\n    2\n  ]\n}\n'
    assert json.loads(text) == {"a": "é", "b": [1, 2]}


def test_write_with_hands_the_writer_a_binary_file_and_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "data.npz"
    atomic.write_with(path, lambda fh: fh.write(b"\x01\x02"))
    assert path.read_bytes() == b"\x01\x02"
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask()

    def broken(fh) -> None:
        fh.write(b"half")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        atomic.write_with(path, broken)
    assert path.read_bytes() == b"\x01\x02"
    assert leftovers(path.parent) == []


def test_atomic_path_names_its_temporary_file_beside_the_target(tmp_path: Path) -> None:
    path = tmp_path / "new" / "model.onnx"
    with atomic.atomic_path(path) as tmp:
        assert tmp.parent == path.parent
        assert re.fullmatch(rf"\.model\.onnx\.{os.getpid()}-{threading.get_ident()}\.tmp", tmp.name)
        assert tmp.is_file() and not path.exists()
        tmp.write_bytes(b"graph")
    assert path.read_bytes() == b"graph" and not tmp.exists()
    with pytest.raises(KeyError), atomic.atomic_path(path, durable=False) as tmp:
        tmp.write_bytes(b"other")
        raise KeyError("stop")
    assert path.read_bytes() == b"graph" and leftovers(path.parent) == []


def test_append_line_adds_exactly_one_newline(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text("first\n", encoding="utf-8")
    atomic.append_line(path, "\nsecond X\n")
    atomic.append_line(path, "third  ")
    atomic.append_line(path, "vierte Zeile ü")
    assert path.read_bytes() == "first\n\nsecond X\nthird  \nvierte Zeile ü\n".encode()


def test_sync_filesystem_and_directory_sync_are_best_effort(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    atomic.sync_filesystem(tmp_path)
    atomic.sync_filesystem(tmp_path / "f")
    atomic.fsync_dir(tmp_path / "missing")  # a folder that cannot be opened is skipped, not an error
    assert (tmp_path / "f").read_bytes() == b"x"
