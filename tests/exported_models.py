"""A session fixture that trains each built-in family for a few steps and exports it once.

Training and exporting cost seconds per family, so test_export and test_runtime share one export
per family (both graphs, to the default destination ``exported/`` under a temporary folder).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gansrv.family import Kind
from gansrv.plugins import registry
from tests.conftest import run

# Every installed family gets the contract tests; its `smoke_args` (small widths) keep the export and
# parity checks quick; the graphs are the same. Image -> image families cannot train on digits: they
# have their own export/translate tests (tests/test_pix2pix.py).
FAMILIES = tuple(sorted(n for n, f in registry().families.items() if f.kind is not Kind.IMAGE))


@dataclass
class ExportedRun:
    family: str
    run_dir: Path
    generator: Path
    discriminator: Path
    stdout: str

    @property
    def classifier(self) -> Path:
        """The image classifier that classifier-guided families (acgan, wgan-c) export too."""
        return self.generator.with_name(f"{self.generator.stem}.classifier.onnx")


def train_and_export(root: Path, family: str) -> ExportedRun:
    run_dir = root / f"run-{family}"
    run("train", family, "--data", "digits", "--steps", "3", "--limit", "256", "--batch-size", "32",
        "--no-progress", "--out", run_dir, *registry().families[family].smoke_args)
    cwd = os.getcwd()
    os.chdir(root)  # the default destination is exported/ under the current folder
    try:
        result = run("export", run_dir, "--onnx", "--with-discriminator")
    finally:
        os.chdir(cwd)
    out = root / "exported"
    return ExportedRun(family, run_dir, out / f"run-{family}.onnx",
                       out / f"run-{family}.discriminator.onnx", result.stdout)


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ExportedRun]:
    """exports(family) -> its ExportedRun, trained and exported on first use."""
    cache: dict[str, ExportedRun] = {}

    def get(family: str) -> ExportedRun:
        if family not in cache:
            cache[family] = train_and_export(tmp_path_factory.mktemp(family), family)
        return cache[family]

    return get
