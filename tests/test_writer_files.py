"""gansrv.generate.writer's file rules on real folders: the PNG bytes chunk by chunk, what counts as
a finished PNG, what a resume regenerates and removes, what --overwrite clears and keeps, when a
folder is refused, the manifest and metadata rows, and the writer pool's choice.

Written from the surviving mutants of a mutation run (docs/reliability.md, "Mutation testing").
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gansrv.digest import sha256_file
from gansrv.errors import UserError
from gansrv.generate import writer
from gansrv.generate.plan import DEFAULT_LEVEL, Plan, Shard, make_plan, with_codes
from gansrv.runtime.codes import Sweep

PNG_HEAD = b"\x89PNG\r\n\x1a\n"
IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk, checking each length and CRC."""
    assert data[:8] == PNG_HEAD
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        out.append((kind, payload))
        pos += 12 + length
    assert pos == len(data)
    return out


@pytest.mark.parametrize("channels, colour", [(1, 0), (3, 2), (4, 6)])
def test_png_chunks_header_rows_and_level(channels: int, colour: int) -> None:
    image = np.random.default_rng(channels).integers(0, 256, (5, 7, channels), dtype=np.uint8)
    for level in (0, 1, DEFAULT_LEVEL, 9):
        data = writer.encode_png(image, level=level)
        parts = chunks(data)
        assert [k for k, _ in parts] == [b"IHDR", b"IDAT", b"IEND"]
        assert parts[0][1] == struct.pack(">IIBBBBB", 7, 5, 8, colour, 0, 0, 0)
        rows = np.zeros((5, 7 * channels + 1), dtype=np.uint8)
        rows[:, 1:] = image.reshape(5, -1)
        assert parts[1][1] == zlib.compress(rows.tobytes(), level)  # filter 0 on every row, this level
        assert data.endswith(IEND)
    assert writer.encode_png(image) == writer.encode_png(image, level=DEFAULT_LEVEL)
    assert writer.encode_pngs(image[None]) == [writer.encode_png(image)]


def test_png_text_chunks_follow_the_header() -> None:
    image = np.zeros((2, 3, 1), dtype=np.uint8)
    data = writer.encode_png(image, {"Software": "gansrv", "Comment": "café"})
    parts = chunks(data)
    assert [k for k, _ in parts] == [b"IHDR", b"tEXt", b"tEXt", b"IDAT", b"IEND"]
    assert parts[1][1] == b"Software\0gansrv" and parts[2][1] == "Comment\0café".encode("latin-1")
    assert Image.open(io.BytesIO(data)).text == {"Software": "gansrv", "Comment": "café"}
    assert writer.encode_png(image, {}) == writer.encode_png(image, None)
    assert len(chunks(writer.encode_png(image, None))) == 3


def test_complete_png_needs_the_signature_and_the_end_chunk(tmp_path: Path) -> None:
    whole = writer.encode_png(np.zeros((4, 4, 1), dtype=np.uint8))
    cases = {"whole": whole, "minimal": PNG_HEAD + IEND, "empty": b"", "cut": whole[:-1],
             "no_end": whole[:-12], "short": (PNG_HEAD + IEND)[1:], "bad_head": b"\x00" + whole[1:],
             "head_only": PNG_HEAD, "end_only": IEND + IEND}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    got = {name: writer.complete_png(tmp_path / name) for name in cases}
    assert got == {"whole": True, "minimal": True, "empty": False, "cut": False, "no_end": False,
                   "short": False, "bad_head": False, "head_only": False, "end_only": False}
    assert writer.complete_png(tmp_path / "missing.png") is False
    assert writer.complete_png(tmp_path) is False  # a folder


def conditional_plan(n: int, names=("cat", "dog")) -> Plan:
    return make_plan(n=n, per_class=None, classes=None, class_names=list(names), conditional=True)


def test_save_pngs_writes_each_named_file(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    names = ["cat/000000.png", "dog/000001.png", "cat/000002.png"]
    assert writer.save_pngs(str(tmp_path), names, images, 1) == 3
    for name, image in zip(names, images):
        assert (tmp_path / name).read_bytes() == writer.encode_png(image, level=1)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["000000.png", "000001.png", "000002.png",
                                                            "cat", "dog"]


def test_missing_finds_what_a_resume_must_write_and_removes_temporaries(tmp_path: Path) -> None:
    plan = conditional_plan(6)  # cat: 0, 2, 4; dog: 1, 3, 5
    png = writer.encode_png(np.zeros((2, 2, 1), dtype=np.uint8))
    (tmp_path / "cat").mkdir()
    for name, data in {"000000.png": png, "000002.png": png[:-3], "notes.tmp": b"mine",
                       ".hidden": b"mine", ".000004.png.77-88.tmp": png[:5], "000004.png": png}.items():
        (tmp_path / "cat" / name).write_bytes(data)
    todo = writer.missing_entries(tmp_path, plan, plan.entries)  # no dog/ folder at all
    assert todo == [(1, 1), (2, 0), (3, 1), (5, 1)]
    assert sorted(os.listdir(tmp_path / "cat")) == [".hidden", "000000.png", "000002.png", "000004.png",
                                                    "notes.tmp"]
    assert writer.missing_entries(tmp_path, plan, [(0, 0), (4, 0)]) == []


def test_clear_dataset_removes_only_what_a_dataset_consists_of(tmp_path: Path) -> None:
    ours = ["gansrv-dataset.json", "metadata.jsonl", "metadata-shard-1-of-2.jsonl", "data.npz",
            "data-shard-2-of-2.npz", "cat/000001.png", "cat/.000002.png.1-2.tmp", "dog/000003.png"]
    theirs = ["metadata.txt", "mydata.npz", "datasheet.csv", "README", "cat/keep.jpg", "cat/0000001.png",
              "cat/000001.PNG", "cat/deeper/000004.png"]
    for name in ours + theirs:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    elsewhere = tmp_path.parent / f"{tmp_path.name}-linked"
    elsewhere.mkdir()
    (elsewhere / "000009.png").write_bytes(b"x")
    (tmp_path / "linked").symlink_to(elsewhere, target_is_directory=True)
    left = writer.clear_dataset(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in left) == sorted(
        [*theirs[:4], "cat/keep.jpg", "cat/0000001.png", "cat/000001.PNG", "cat/deeper", "linked"])
    present = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_symlink() or not p.is_dir())
    assert present == sorted(theirs + ["linked"]) and not (tmp_path / "dog").exists()
    assert (elsewhere / "000009.png").is_file()


def test_check_destination_resumes_refuses_or_clears(tmp_path: Path) -> None:
    manifest = {"seed": 1, "tool": "gansrv generate"}
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(UserError, match=f"--out {afile} exists and is not a folder"):
        writer.check_destination(afile, manifest, True)
    assert writer.check_destination(tmp_path / "new", manifest, False) is False
    (tmp_path / "empty").mkdir()
    assert writer.check_destination(tmp_path / "empty", manifest, False) is False
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "gansrv-dataset.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert writer.check_destination(ds, manifest, False) is False  # same dataset: resume
    assert writer.check_destination(ds, manifest, True) is False
    with pytest.raises(UserError) as caught:
        writer.check_destination(ds, {**manifest, "seed": 2}, False)
    assert str(caught.value) == (f"--out {ds} is not empty and holds another dataset; choose an empty "
                                 "folder or pass --overwrite")
    assert writer.check_destination(ds, {**manifest, "seed": 2}, True) is True
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "photo.jpg").write_bytes(b"x")  # no manifest at all
    with pytest.raises(UserError) as caught:
        writer.check_destination(foreign, manifest, False)
    assert str(caught.value) == (f"--out {foreign} is not empty and holds files that gansrv generate did "
                                 "not write; choose an empty folder or pass --overwrite")
    (ds / "gansrv-dataset.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match="holds files that gansrv translate did not write"):
        writer.check_destination(ds, manifest, False, tool="gansrv translate")
    with pytest.raises(UserError, match="holds files that gansrv generate did not write"):
        writer.check_destination(ds, manifest, False)
    (ds / "other.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert writer.check_destination(ds, manifest, False, name="other.json") is False


def test_manifest_names_the_model_and_records_only_a_non_default_level(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model bytes")
    plan = conditional_plan(4)
    base = {"format_version": writer.FORMAT_VERSION, "tool": "gansrv generate", "format": "imagefolder",
            "model": "m.onnx", "model_sha256": sha256_file(model), "seed": 3, "truncation": 0.5,
            "plan": plan.params, "usage": writer.usage()}
    assert writer.manifest_for(plan, model, 3, 0.5, "imagefolder") == base
    assert writer.manifest_for(plan, model, 3, 0.5, "imagefolder", DEFAULT_LEVEL) == base
    assert writer.manifest_for(plan, model, 3, 0.5, "imagefolder", 9) == {**base, "png_compression": 9}
    assert writer.manifest_for(plan, model, 3, 0.5, "npz", 9) == {**base, "format": "npz"}


def test_usage_advises_the_recommended_mix_and_is_no_part_of_the_identity(tmp_path: Path) -> None:
    from gansrv.metrics.recipe import RECOMMENDED_MIX

    usage = writer.usage()
    assert list(usage) == ["synthetic", "recommended_mix", "how"]
    assert usage["synthetic"] is True and usage["recommended_mix"] == RECOMMENDED_MIX
    assert usage["how"].startswith(f"mix about {RECOMMENDED_MIX:.0%} of these images into every ")
    manifest = {"seed": 1, "tool": "gansrv generate", "usage": usage}
    (tmp_path / "gansrv-dataset.json").write_text(json.dumps({"seed": 1, "tool": "gansrv generate"}))
    assert writer.check_destination(tmp_path, manifest, False) is False  # written before the advice
    (tmp_path / "gansrv-dataset.json").write_text(json.dumps({**manifest, "usage": {"old": "advice"}}))
    assert writer.check_destination(tmp_path, manifest, False) is False
    (tmp_path / "gansrv-dataset.json").write_text(json.dumps({**manifest, "seed": 2}))
    with pytest.raises(UserError, match="holds another dataset"):
        writer.check_destination(tmp_path, manifest, False)


def test_metadata_rows_in_their_fixed_key_order() -> None:
    plan = conditional_plan(4)
    row = writer.meta_row(plan, 3, 1, 7, "m.onnx")
    assert list(row.items()) == [("file_name", "dog/000003.png"), ("label", 1), ("class_name", "dog"),
                                 ("index", 3), ("seed", 7), ("model", "m.onnx"), ("synthetic", True)]
    plain = make_plan(n=2, per_class=None, classes=None, class_names=["0"], conditional=False)
    assert writer.meta_row(plain, 1, -1, 0, "g.onnx") == {"file_name": "images/000001.png", "index": 1,
                                                         "seed": 0, "model": "g.onnx", "synthetic": True}
    codes = np.array([0.25, -1.5], dtype=np.float32)
    swept = with_codes(plan, None, Sweep(0, (-2.0, -1.0, 0.0, 1.0, 2.0)))
    row = writer.meta_row(swept, 13, 0, 7, "m.onnx", codes)
    assert row["codes"] == [0.25, -1.5] and row["sweep_row"] == 2 and isinstance(row["sweep_row"], int)
    assert list(row)[-2:] == ["codes", "sweep_row"]
    assert "sweep_row" not in writer.meta_row(plan, 13, 0, 7, "m.onnx", codes)


def test_batches_cover_the_entries_in_order() -> None:
    entries = [(i, 0) for i in range(7)]
    assert list(writer.batches(entries, 3)) == [entries[0:3], entries[3:6], entries[6:7]]
    assert list(writer.batches(entries, 7)) == [entries]
    assert list(writer.batches([], 4)) == []


@pytest.mark.parametrize("workers, images, processes", [
    (2, 10**6, False), (3, writer.PROCESS_MIN_IMAGES - 1, False), (3, writer.PROCESS_MIN_IMAGES, True),
    (8, 10**5, True), (1, 10, False)])
def test_writer_pool_threads_for_small_jobs_processes_for_big_ones(workers: int, images: int,
                                                                   processes: bool) -> None:
    pool, is_processes = writer.writer_pool(workers, images)
    try:
        assert is_processes is processes
        assert isinstance(pool, ProcessPoolExecutor if processes else ThreadPoolExecutor)
        assert pool._max_workers == workers
        if processes:  # forkserver: onnxruntime's threads are never forked along
            assert pool._mp_context.get_start_method() == "forkserver"
    finally:
        pool.shutdown()


def test_writer_processes_leave_ctrl_c_to_the_main_process() -> None:
    """Ctrl-C reaches the whole process group; writer processes ignore it so that the main process
    decides (and the PNGs in hand are finished); they still end on SIGTERM."""
    pool, processes = writer.writer_pool(3, writer.PROCESS_MIN_IMAGES)
    try:
        assert processes
        assert pool.submit(signal.getsignal, signal.SIGINT).result() == signal.SIG_IGN
        assert pool.submit(signal.getsignal, signal.SIGTERM).result() == signal.SIG_DFL
    finally:
        pool.shutdown()


def test_shard_suffix_names_the_metadata_file() -> None:
    assert Shard().suffix == "" and Shard(2, 3).suffix == "-shard-2-of-3"
