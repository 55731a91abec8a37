"""The bounds of one demo: what a request may ask for, how many run and wait, how big an upload is.

Kept apart from the models and the app so that the ``gansrv demo`` command can show the defaults in
its ``--help`` without importing numpy, onnxruntime or gradio.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansrv.errors import UserError

# onnxruntime intra-op threads per served model. 1: a 28x28 generator gains nothing from a parallel
# kernel, and the demo already runs --concurrency requests in threads of its own; onnxruntime's
# default (a pool of one thread per core that spins after each run) made every request burn the
# cores the server needs for Gradio's own work (docs/benchmarks.md, "Where the demo's time goes").
DEFAULT_THREADS = 1
MAX_THREADS = 64


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for (the CLI can lower or raise them within reason)."""

    max_images: int = 64  # per generate / zip request
    max_steps: int = 16  # images in an interpolation strip
    concurrency: int = 4  # requests the queue runs at once (onnxruntime sessions are thread-safe)
    queue_size: int = 64  # requests waiting; more are refused by Gradio with "queue full"
    max_upload_bytes: int = 5 * 1024**2  # Gradio's upload route refuses larger files
    max_upload_pixels: int = 4096 * 4096  # an image→image upload is refused above (before decoding)

    def check(self) -> Limits:
        bounds = (("max images", self.max_images, 1024), ("max steps", self.max_steps, 64),
                  ("concurrency", self.concurrency, 64), ("queue size", self.queue_size, 10_000),
                  ("max upload bytes", self.max_upload_bytes, 1024**3),
                  ("max upload pixels", self.max_upload_pixels, 16384**2))
        for name, value, hi in bounds:
            if not 1 <= value <= hi:
                raise UserError(f"{name} must be between 1 and {hi:,}, got {value}")
        return self
