"""Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never half.

Everything gansrv writes to disk goes through here: temp file in the same folder, fsync, rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, else remove it.

    ``durable=False`` skips the fsyncs: the rename still guarantees that a killed process leaves the
    old file or the new one, but after a power loss the new file may be empty. Only for writers
    that check their files on resume and sync once at the end (thousands of small PNGs).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = Path(_temp_name(os.fspath(path)))
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))  # umask permissions
    try:
        yield tmp_path
        if durable:
            _fsync_file(tmp_path)
        os.replace(tmp_path, path)
        if durable:
            fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place.

    Made for many small files: ``gansrv generate`` pays it once per image (``durable=False``, one
    sync of the file system at the end instead). Hence string paths and bare syscalls: pathlib
    objects and a general write loop cost as much CPU as the kernel's create + write + rename (61
    vs 38 us per 200-byte file on the 2-core machine), CPU the model needs for the next batch. The
    folder is created only when missing and the temporary name needs no retries
    (:func:`_temp_name`). A kill leaves the old file or the new one, plus at most a ``.*.tmp`` that
    the writers' clean-up removes.
    """
    path = os.fspath(path)
    tmp = _temp_name(path)
    try:
        fd = os.open(tmp, _WRITE_FLAGS, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(tmp, _WRITE_FLAGS, 0o666)
    try:
        try:
            done = os.write(fd, data)  # one call for a small file
            if done < len(data):
                view = memoryview(data)[done:]
                while view:
                    view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(Path(path).parent)


def _temp_name(path: str) -> str:
    """``.<name>.<pid>-<thread>.tmp`` beside ``path``: unique among live writers without mkstemp's
    random retries, created with the umask's permissions (mkstemp's are 0600), and matched by the
    writers' clean-up pattern ``.*.tmp``."""
    head, name = os.path.split(path)
    return os.path.join(head, f".{name}.{os.getpid()}-{threading.get_ident()}.tmp")


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_with(path: str | os.PathLike, writer: Callable[[BinaryIO], None]) -> None:
    """Atomically write whatever `writer` puts into the open binary file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        writer(fh)


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one line and flush it to disk: a killed run loses at most the line being written."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line.rstrip("\n") + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def sync_filesystem(path: str | os.PathLike) -> None:
    """Flush the file system that holds ``path`` (Linux syncfs(2); elsewhere a global sync).

    Writers that skip per-file fsyncs call this once before writing what vouches for the files
    (the metadata): one flush of this disk instead of os.sync() of every disk on the machine.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
