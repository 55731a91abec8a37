"""The PNG writers that encode and write while the model runs: threads or processes, and the one
task each runs (:func:`save_pngs`).

Writer threads share the GIL: on a 16-core GPU machine 2 threads wrote ~6,700-9,000 PNGs/s and 16
threads fewer (4,300-4,500), while the model made ~50,000 img/s. More writers than that, for jobs
big enough to repay starting them, are processes.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from gansrv import atomic
from gansrv.generate.png import DEFAULT_LEVEL, encode_pngs

PROCESS_WRITERS_FROM = 3  # workers
PROCESS_MIN_IMAGES = 4096
MIN_TASK_IMAGES = 32  # per process task: IPC costs ~0.1 ms a call


def save_pngs(out: str, names: list[str], images: np.ndarray, level: int = DEFAULT_LEVEL) -> int:
    """Encode and write one chunk of a batch (runs in a writer thread or process).

    Renamed into place but not fsynced one by one (that cost ~5x the throughput): a kill leaves
    whole files; a power loss may leave empty ones, which complete_png() catches on resume, and
    sync_filesystem() makes the finished set durable before its metadata is written.
    """
    for name, data in zip(names, encode_pngs(images, level)):
        atomic.write_bytes(f"{out}/{name}", data, durable=False)
    return len(names)


def _writer_init(main_pid: int) -> None:
    """Ctrl-C goes to the whole process group: the main process handles it, the writers finish.

    A SIGKILLed main process would leave its writers (and the forkserver) waiting forever on a queue
    they also hold the write end of, so each writer watches the main process and exits with it; a
    PNG it was writing stays a temporary file, which the next run removes.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(main_pid,), daemon=True).start()


def _exit_with(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)  # Linux >= 5.3: readable once the process has ended
        select.select([fd], [], [])
    except (AttributeError, OSError):
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(0.5)
    os._exit(0)


def writer_pool(workers: int, images: int) -> tuple[Executor, bool]:
    """Threads for small jobs and few workers, else processes; returns (pool, is_processes)."""
    if workers >= PROCESS_WRITERS_FROM and images >= PROCESS_MIN_IMAGES:
        # forkserver: the model's onnxruntime threads must not be forked along
        ctx = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_writer_init,
                                   initargs=(os.getpid(),)), True
    return ThreadPoolExecutor(max_workers=workers), False
