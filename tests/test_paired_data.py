"""Paired data for image -> image families: AB images, A/ + B/ folders, and their one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gansrv.data.paired import load_pairs
from gansrv.errors import UserError
from tests.conftest import one_line_error, run


def test_facades_ab_images_split_into_full_size_pairs(facades):
    ab = load_pairs([str(facades / "train")], "AtoB")
    ba = load_pairs([str(facades / "train")], "BtoA")
    assert ab.images.shape == ab.targets.shape == (2, 3, 256, 256)
    whole = np.asarray(Image.open(facades / "train" / "1.jpg").convert("RGB")).transpose(2, 0, 1)
    assert np.array_equal(ab.images[0], whole[:, :, :256])  # A is the left half (the photo)
    assert np.array_equal(ab.targets[0], whole[:, :, 256:])
    assert np.array_equal(ba.images, ab.targets) and np.array_equal(ba.targets, ab.images)
    spec = ab.spec()
    assert (spec.channels, spec.target_channels, spec.size, spec.count) == (3, 3, 256, 2)
    assert ab.fingerprint() != ba.fingerprint()
    small = load_pairs([str(facades / "test")], "AtoB", size=64, limit=1)
    assert small.images.shape == small.targets.shape == (1, 3, 64, 64)


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_a_b_folders_pair_by_name_with_their_own_channels(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("x", "y"):
        _save(tmp_path / "A" / f"{name}.png", rng.integers(0, 255, (8, 12), dtype=np.uint8))
        _save(tmp_path / "B" / f"{name}.png", rng.integers(0, 255, (8, 12, 3), dtype=np.uint8))
    ds = load_pairs([str(tmp_path)], "AtoB")
    assert ds.images.shape == (2, 1, 8, 12) and ds.targets.shape == (2, 3, 8, 12)
    b_of_y = np.asarray(Image.open(tmp_path / "B" / "y.png")).transpose(2, 0, 1)
    assert np.array_equal(ds.targets[1], b_of_y)
    assert ds.spec().target_channels == 3


def _pairs(tmp_path, case: str):
    """A broken pair folder -> (folder, the file the error must name)."""
    img = np.zeros((8, 8), dtype=np.uint8)
    for name in ("a", "b"):
        _save(tmp_path / "A" / f"{name}.png", img)
        _save(tmp_path / "B" / f"{name}.png", img)
    if case == "mismatched":
        _save(tmp_path / "A" / "c.png", img)
        return tmp_path, "c.png"
    if case == "unreadable":
        (tmp_path / "B" / "b.png").write_bytes(b"not a png")
        return tmp_path, "b.png"
    if case == "sizes":
        _save(tmp_path / "B" / "b.png", np.zeros((8, 10), dtype=np.uint8))
        return tmp_path, "b.png"
    if case == "odd_width":
        flat = tmp_path / "ab"
        _save(flat / "1.png", np.zeros((8, 16), dtype=np.uint8))
        _save(flat / "2.png", np.zeros((8, 15), dtype=np.uint8))
        return flat, "2.png"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["mismatched", "unreadable", "sizes", "odd_width"])
def test_bad_pairs_are_one_line_naming_the_file(tmp_path, case):
    folder, name = _pairs(tmp_path, case)
    with pytest.raises(UserError, match=name):
        load_pairs([str(folder)], "AtoB")
    out = tmp_path / "run"
    result = run("train", "pix2pix", "--data", folder, "--image-size", "8", "--patch", "16", "--steps", "1",
                 "--no-progress", "--out", out, expect=None)
    assert name in one_line_error(result)
    assert not out.exists()


def test_pix2pix_on_unpaired_data_says_what_it_needs(tmp_path):
    result = run("train", "pix2pix", "--data", "digits", "--out", tmp_path / "run", expect=None)
    assert "paired data must be a folder" in one_line_error(result)
    result = run("train", "pix2pix", "--out", tmp_path / "run", expect=None)  # no default to fall to
    assert "needs --data" in one_line_error(result) and not (tmp_path / "run").exists()
