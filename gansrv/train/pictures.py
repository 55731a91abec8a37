"""Pictures a run leaves behind: labelled sample grids and the loss-curve plot."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gansrv import atomic

MIN_CELL = 56  # upscale small images (28 px digits) so a grid is readable without zooming


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float (N, C, H, W) -> uint8 (N, H, W, C)."""
    arr = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return arr.transpose(0, 2, 3, 1)


def grid_image(images: np.ndarray, cols: int, row_labels: list[str] | None = None,
               title: str = "") -> Image.Image:
    """Tile uint8 (N, H, W, C) images; one row per label when labels are given."""
    n, h, w, c = images.shape
    scale = max(1, -(-MIN_CELL // max(h, w)))
    ch, cw = h * scale, w * scale
    rows = -(-n // cols)
    font = ImageFont.load_default()
    margin = 8 + (max(len(s) for s in row_labels) * 7 if row_labels else 0)
    top = 22 if title else 4
    pad = 2
    canvas = Image.new("RGB", (margin + cols * (cw + pad) + pad, top + rows * (ch + pad) + pad),
                       "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((4, 4), title, fill="black", font=font)
    for i in range(n):
        r, col = divmod(i, cols)
        tile = Image.fromarray(images[i, :, :, 0] if c == 1 else images[i]).convert("RGB")
        tile = tile.resize((cw, ch), Image.Resampling.NEAREST)
        canvas.paste(tile, (margin + pad + col * (cw + pad), top + pad + r * (ch + pad)))
    for r, label in enumerate(row_labels or []):
        draw.text((4, top + pad + r * (ch + pad) + ch // 2 - 6), label, fill="black", font=font)
    return canvas


def save_png(path: Path, image: Image.Image) -> None:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    atomic.write_bytes(path, buf.getvalue())


def read_metrics(path: Path) -> list[dict]:
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a kill; the checkpointed rows are intact
    return rows


def loss_curves(rows: list[dict], path: Path, title: str) -> None:
    """One small panel per logged quantity (losses, Wasserstein estimates, ...) against step.

    Drawn at every grid and at the end of every run, so it is kept cheap: a bare Figure (no
    pyplot state), margins fixed in inches instead of tight_layout (which drew the figure once
    more to measure it) and at most 5 ticks an axis: 0.24 instead of 0.42 CPU s a six-panel plot
    (benchmarks/loss_curves.py; docs/benchmarks.md, "Default test suite time")."""
    keys = [k for k in rows[0] if k not in ("step", "epoch", "time", "it_s")] if rows else []
    if not keys:
        return
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    ncols = min(3, len(keys))
    nrows = -(-len(keys) // ncols)
    width, height = 4 * ncols, 2.6 * nrows  # inches: 360 x 234 px a panel at 90 dpi
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    steps = [r["step"] for r in rows]
    for ax, key in zip(axes.flat, keys):
        ax.plot(steps, [r.get(key, np.nan) for r in rows], lw=1)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    # inches of margin: tick labels left, the x label below, the title and a panel title above
    fig.subplots_adjust(left=0.55 / width, right=1 - 0.15 / width, bottom=0.42 / height,
                        top=1 - 0.5 / height, wspace=0.2, hspace=0.5)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    atomic.write_bytes(path, buf.getvalue())


def domain_rows(labels: np.ndarray, num_classes: int, rows: int) -> np.ndarray:
    """Indices of the input images of a domain grid (labelled image -> image data), one per row:
    the domains taken in turn (each one's first image, then each one's second, ...), skipping a
    domain that has run out, so every domain appears as an input; fewer rows only when the data
    has fewer images."""
    by_domain = [np.flatnonzero(labels == k) for k in range(num_classes)]
    picked: list[int] = []
    for i in range(max((len(d) for d in by_domain), default=0)):
        picked += [int(d[i]) for d in by_domain if i < len(d)]
        if len(picked) >= rows:
            break
    return np.asarray(picked[:rows], dtype=np.int64)


def domain_grid_cells(inputs: np.ndarray, outputs: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows of (input, its translation to each of the K domains): inputs (R, ...) and outputs
    (R * K, ...), row-major, -> (R * (K + 1), ...) in grid order (K + 1 columns)."""
    out = outputs.reshape(len(inputs), num_classes, *outputs.shape[1:])
    return np.concatenate([inputs[:, None], out], 1).reshape(-1, *outputs.shape[1:])
