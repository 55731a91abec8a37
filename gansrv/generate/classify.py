"""Labelling image files with an exported classifier (gansrv.runtime, no torch): the library under
``gansrv classify`` (and a filter of generated datasets by confidence), usable without click.

Every input's header is read and bounded before the first inference (:func:`check_headers`), so a
bad file costs no work and writes nothing.
"""

from __future__ import annotations

from pathlib import Path


def collect(inputs: tuple[Path, ...], recursive: bool) -> list[Path]:
    """Files as given and the images inside folders (sorted; sub-folders too with `recursive`)."""
    from gansrv.data.folder import collect_inputs

    return collect_inputs(inputs, recursive,
                          hint="" if recursive else " (--recursive looks into sub-folders)")


def check_headers(paths: list[Path]) -> None:
    """Refuse unreadable files and oversized images before any work (header only, cheap)."""
    from gansrv.data.folder import image_size

    for path in paths:
        image_size(path)


def classify_files(classifier, paths: list[Path], batch_size: int):
    """Yield (path, label, confidence, probs) per file; images are centre-cut and resized."""
    import numpy as np

    from gansrv.data.folder import open_square

    side = classifier.size[0]
    for lo in range(0, len(paths), batch_size):
        chunk = paths[lo:lo + batch_size]
        arrays = [np.asarray(open_square(p, side)) for p in chunk]
        images = np.stack([a[..., None] if a.ndim == 2 else a for a in same_channels(arrays)])
        pred = classifier.predict(images, batch_size)
        yield from zip(chunk, pred.labels, pred.confidence, pred.probs)


def same_channels(arrays: list) -> list:
    """Grey and RGB files may share a batch: promote grey ones when the batch mixes both."""
    import numpy as np

    if len({a.ndim for a in arrays}) == 1:
        return arrays
    return [np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a for a in arrays]
