"""Datasets: everything a family trains on, held in memory as uint8 arrays.

``load_dataset`` turns the ``--data`` argument into a :class:`Dataset`: an IDX pair, an image folder
(one subfolder per class, or flat and unlabelled), an ``.npz`` with ``images``/``labels``, or a named
dataset (``digits``, ``mnist``, ...). Image -> image families read (input, target) pairs instead,
through ``gansrv.data.paired.load_pairs`` (AB images or A/ + B/ folders). Every loader validates
what it reads and raises :class:`gansrv.errors.UserError` with the file's name, so bad data ends in
one line, exit 2.
"""

from __future__ import annotations

from gansrv.data.dataset import Dataset, DataSpec, resize_images
from gansrv.data.load import load_dataset

__all__ = ["DataSpec", "Dataset", "load_dataset", "resize_images"]
