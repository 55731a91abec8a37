"""``gansrv train --tensorboard``: the run's log as TensorBoard event files in ``RUN/tensorboard/``.

Written beside ``metrics.jsonl`` and the sample grids, from the same calls (so from the one process
that writes those): every quantity of each metrics row as a scalar at its step, each sample grid as
an image, and the hyperparameters (family config and engine options) once, when the log starts.

Resume: a resumed run continues from its last checkpoint, and a run killed after it may have logged
steps past it. The writer then opens with ``purge_step`` = checkpoint step + 1, a SessionLog START
marker that tells TensorBoard's reader to drop the earlier events at or past that step, so each
step appears once, with the values that ``metrics.jsonl`` (truncated the same way) keeps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gansrv.errors import UserError

FOLDER = "tensorboard"
IMAGE_TAG = "samples"
FLUSH_SECONDS = 10  # a killed run loses at most this much of its TensorBoard log (metrics.jsonl: none)


class TensorBoardLog:
    """One run's event writer (torch's SummaryWriter, which needs the tensorboard package).

    The event file is opened on the first row or grid, not here: a process that never writes the
    run's metrics (a training rank other than the writer) leaves no file of its own."""

    def __init__(self, run_dir: Path, step: int, hparams: dict[str, Any]) -> None:
        require_tensorboard()
        self.folder, self.step, self.hparams = run_dir / FOLDER, step, hparams
        self._open: Any = None
        self._grid_step: int | None = None

    @property
    def writer(self) -> Any:
        if self._open is None:
            from torch.utils.tensorboard import SummaryWriter

            resumed = self.folder.is_dir() and any(self.folder.iterdir())
            self._open = SummaryWriter(str(self.folder), flush_secs=FLUSH_SECONDS,
                                       purge_step=self.step + 1 if resumed else None)
            if not resumed:
                self._write_hparams(self.hparams)
        return self._open

    def _write_hparams(self, values: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        flat = {k: _hparam_value(v) for k, v in values.items()}
        for summary in hparams(flat, {}):
            self._open.file_writer.add_summary(summary)

    def row(self, row: dict[str, Any]) -> None:
        """A metrics.jsonl row: each quantity but ``step`` as a scalar at ``step``."""
        step = int(row["step"])
        for key, value in row.items():
            if key != "step" and isinstance(value, (int, float)):
                self.writer.add_scalar(key, float(value), step)

    def grid(self, step: int, image: Any) -> None:
        """A sample grid (a PIL image, as written to samples/step-NNNNNN.png). The engine writes the
        last step's grid twice when a run ends on a sampling step; the event is kept once."""
        if step == self._grid_step:
            return
        self._grid_step = step
        pixels = np.asarray(image.convert("RGB"))
        self.writer.add_image(IMAGE_TAG, pixels, step, dataformats="HWC")

    def close(self) -> None:
        if self._open is not None:
            self._open.close()


def require_tensorboard() -> None:
    """One UserError line when torch's SummaryWriter cannot load (no tensorboard package)."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise UserError("--tensorboard needs the tensorboard package (not installed): "
                        "pip install 'gansrv[tensorboard]'") from None


def _hparam_value(value: Any) -> bool | int | float | str:
    """TensorBoard's hparams take bool, number or string: anything else becomes its JSON text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=str)
