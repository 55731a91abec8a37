"""Running Hugging Face's real `datasets` loaders on generated output, offline, in a child process
(a fresh HF_HOME per test, so no cache of another test's dataset is read back)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_loader(code: str, folder: Path, tmp_path: Path) -> Any:
    """Run ``code`` (it reads ``sys.argv[1]`` and prints one JSON line last) on ``folder``."""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
