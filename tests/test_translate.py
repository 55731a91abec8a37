"""``gansrv translate --shard K/N`` and resume with changed inputs, through the real CLI and a real
onnxruntime session of a tiny hand-built image -> image graph (output = -input, so that uint8 v
comes back as 255 - v and every output can be checked exactly)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import one_line_error, run


@pytest.fixture(scope="module")
def model(translator_model: Path) -> Path:
    return translator_model


def _inputs(folder: Path, n: int = 7) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        h, w = (8, 16) if i % 3 else (16, 8)  # two sizes: batches split by size
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"im{i}.png")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.png")}


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(folder.glob("metadata*.jsonl"))
            for line in f.read_text().splitlines()]


def test_shards_union_to_exactly_the_single_run(model, tmp_path):
    inputs = _inputs(tmp_path / "in")
    single = tmp_path / "single"
    run("translate", model, inputs, "--out", single, "--batch-size", "2", "--no-progress")
    whole, rows = _files(single), _rows(single)
    assert len(whole) == 7 and len(rows) == 7
    merged, merged_rows, shared = {}, [], tmp_path / "shared"
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}"
        res = run("translate", model, inputs, "--out", out, "--shard", f"{k}/3", "--no-progress")
        assert f"metadata-shard-{k}-of-3.jsonl" in res.stdout
        part = _files(out)
        assert not set(part) & set(merged)  # disjoint
        merged.update(part)
        merged_rows += _rows(out)
        assert (out / "gansrv-translate.json").read_bytes() == \
            (single / "gansrv-translate.json").read_bytes()
        run("translate", model, inputs, "--out", shared, "--shard", f"{k}/3", "--no-progress")
    assert merged == whole  # the same names and the same bytes
    assert sorted(map(json.dumps, merged_rows)) == sorted(map(json.dumps, rows))
    assert _files(shared) == whole  # shards may also share one folder (one manifest)
    got = np.asarray(Image.open(single / "im0.png"))
    assert np.array_equal(got, 255 - np.asarray(Image.open(inputs / "im0.png")))


def test_resume_translates_changed_inputs_again(model, tmp_path):
    inputs, out = _inputs(tmp_path / "in"), tmp_path / "out"
    run("translate", model, inputs, "--out", out, "--no-progress")
    before = _files(out)
    same = run("translate", model, inputs, "--out", out, "--no-progress")
    assert "0 images translated, 7 already there" in same.stdout and _files(out) == before
    edited = np.full((8, 16, 3), 40, dtype=np.uint8)  # same name and size, other pixels
    Image.fromarray(edited).save(inputs / "im1.png")
    Image.fromarray(np.zeros((16, 8, 3), np.uint8)).save(out / "im3.png")  # no recorded source
    again = run("translate", model, inputs, "--out", out, "--no-progress")
    assert "2 images translated, 5 already there" in again.stdout
    after = _files(out)
    assert np.array_equal(np.asarray(Image.open(out / "im1.png")), 255 - edited)
    assert after["im3.png"] == before["im3.png"]  # the original translation, restored
    assert {k: v for k, v in after.items() if k != "im1.png"} == \
        {k: v for k, v in before.items() if k != "im1.png"}
    row = next(r for r in _rows(out) if r["file_name"] == "im1.png")

    assert row["source_sha256"] == hashlib.sha256((inputs / "im1.png").read_bytes()).hexdigest()


@pytest.mark.parametrize("shard", ["3/2", "0/4", "1-2", "1/0"])
def test_bad_shard_is_one_line_and_writes_nothing(model, tmp_path, shard):
    inputs, out = _inputs(tmp_path / "in", 2), tmp_path / "out"
    res = run("translate", model, inputs, "--out", out, "--shard", shard, expect=None)
    assert "--shard" in one_line_error(res) and not out.exists()
