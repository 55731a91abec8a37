"""write_imagefolder and write_npz with a real onnxruntime generator, made in milliseconds: a tiny ONNX
graph (onnx.helper, no training) carrying real gansrv metadata. Checked: every PNG holds the image
the runtime's own ``Generator.generate`` makes for that index, label, seed and truncation; the
metadata rows; resume, shards, batch sizes and thread or process writers change no byte; npz arrays.

Written from the surviving mutants of a mutation run (docs/reliability.md, "Mutation testing").
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from gansrv.generate import writer
from gansrv.generate.plan import Shard, make_plan, with_codes
from gansrv.runtime.codes import Sweep, codes_for
from gansrv.runtime.generator import Generator
from gansrv.runtime.metadata import ModelInfo, TensorInfo

Z, H, W = 4, 2, 3
NAMES = ["cat", "dog", "eel"]


def tiny_generator(path: Path, kind: str) -> Generator:
    """image = tanh(z @ A [+ E[label]] [+ code @ C]) as (N, 1, 2, 3): every pixel depends on z, the
    label and the codes. ``kind``: noise, conditional, or code (label and two continuous codes)."""
    conditional, coded = kind != "noise", kind == "code"
    rng = np.random.default_rng(0)
    consts = [helper.make_tensor("A", TensorProto.FLOAT, [Z, H * W], rng.normal(0, 1, Z * H * W)),
              helper.make_tensor("E", TensorProto.FLOAT, [len(NAMES), H * W], rng.normal(0, 1, 3 * H * W)),
              helper.make_tensor("C", TensorProto.FLOAT, [2, H * W], rng.normal(0, 1, 2 * H * W)),
              helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 1, H, W])]
    nodes = [helper.make_node("MatMul", ["z", "A"], ["s0"])]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", Z])]
    if conditional:
        inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
        nodes += [helper.make_node("Gather", ["E", "label"], ["e"]),
                  helper.make_node("Add", ["s0", "e"], ["s1"])]
    if coded:
        inputs.append(helper.make_tensor_value_info("code", TensorProto.FLOAT, ["batch", 2]))
        nodes += [helper.make_node("MatMul", ["code", "C"], ["c"]),
                  helper.make_node("Add", ["s1", "c"], ["s2"])]
    nodes += [helper.make_node("Tanh", [f"s{int(conditional) + int(coded)}"], ["t"]),
              helper.make_node("Reshape", ["t", "shape"], ["image"])]
    out = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, H, W])
    model = helper.make_model(helper.make_graph(nodes, "tiny", inputs, [out], initializer=consts),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    ins = [TensorInfo("z", "float32", ["batch", Z])]
    if conditional:
        ins.append(TensorInfo("label", "int64", ["batch"]))
    if coded:
        ins.append(TensorInfo("code", "float32", ["batch", 2]))
    info = ModelInfo(version="test", family="tiny", kind=kind,
                     graph="generator", inputs=ins,
                     outputs=[TensorInfo("image", "float32", ["batch", 1, H, W])],
                     latent_dim=Z, num_classes=len(NAMES) if conditional else 0,
                     class_names=NAMES if conditional else [], image_shape=(1, H, W), channels=1,
                     output_range=(-1.0, 1.0), opset=17, parity_max_abs_error=0.0, parity_batch_sizes=[1, 7],
                     data_fingerprint="none")
    helper.set_model_props(model, info.to_props())
    onnx.save(model, str(path))
    return Generator.from_file(path, "cpu")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Generator]:
    root = tmp_path_factory.mktemp("tiny")
    return {kind: tiny_generator(root / f"{kind}.onnx", kind) for kind in ("conditional", "noise", "code")}


def plan_for(gen: Generator, n: int):
    return make_plan(n=n, per_class=None, classes=None, class_names=gen.info.class_names or ["0"],
                     conditional=gen.conditional)


def everything(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write(gen: Generator, out: Path, n: int = 10, shard: Shard | None = None, seed: int = 5,
          truncation=None, batch_size: int = 4, workers: int = 2, level: int = 6):
    shard = shard or Shard()
    return writer.write_imagefolder(gen, plan_for(gen, n), shard, out, seed, truncation, batch_size, "m.onnx",
                                    False, workers, level)


@pytest.mark.parametrize("kind", ["conditional", "noise", "code"])
@pytest.mark.parametrize("truncation", [None, 0.5])
def test_each_png_is_the_runtimes_image_for_its_index(models, tmp_path: Path, kind: str, truncation) -> None:
    gen = models[kind]
    assert write(gen, tmp_path, n=10, truncation=truncation) == (10, 0)
    want = gen.generate(10, seed=5, truncation=truncation)  # image i: class i mod 3 when conditional
    plan = plan_for(gen, 10)
    for i, label in plan.entries:
        data = (tmp_path / plan.file_name(i, label)).read_bytes()
        assert data == writer.encode_png(want[i])
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))).reshape(H, W, 1), want[i])
    rows = [json.loads(line) for line in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    assert rows == sorted(rows, key=json.dumps) and len(rows) == 10
    assert {r["file_name"] for r in rows} == {plan.file_name(i, label) for i, label in plan.entries}
    assert all(r["seed"] == 5 and r["model"] == "m.onnx" for r in rows)
    if kind != "noise":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cat", "dog", "eel", "metadata.jsonl"]
        assert all(NAMES[r["label"]] == r["class_name"] and r["label"] == r["index"] % 3 for r in rows)
    else:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "metadata.jsonl"]


def test_batch_size_workers_and_process_writers_change_no_byte(models, tmp_path: Path) -> None:
    gen = models["conditional"]
    n = writer.PROCESS_MIN_IMAGES  # with 3 workers: writer processes, tasks of MIN_TASK_IMAGES and more
    write(gen, tmp_path / "a", n=n, batch_size=256, workers=1)
    write(gen, tmp_path / "b", n=n, batch_size=100, workers=3)
    write(gen, tmp_path / "c", n=50, batch_size=7, workers=2)
    a = everything(tmp_path / "a")
    assert len(a) == n + 1 and a == everything(tmp_path / "b")
    small = everything(tmp_path / "c")
    assert all(a[k] == v for k, v in small.items() if k.endswith(".png"))
    write(gen, tmp_path / "level1", n=5, level=1)  # the level reaches the writers
    plan = plan_for(gen, 5)
    want = gen.generate(5, seed=5)
    for i, label in plan.entries:
        got = (tmp_path / "level1" / plan.file_name(i, label)).read_bytes()
        assert got == writer.encode_png(want[i], level=1)


def test_a_resume_writes_only_what_is_missing_or_cut(models, tmp_path: Path) -> None:
    gen = models["conditional"]
    write(gen, tmp_path / "full", n=12)
    out = tmp_path / "resumed"
    write(gen, out, n=12)
    (out / "cat" / "000003.png").unlink()
    cut = out / "dog" / "000004.png"
    cut.write_bytes(cut.read_bytes()[:-5])
    (out / "eel" / ".000005.png.1-2.tmp").write_bytes(b"left by a kill")
    (out / "metadata.jsonl").unlink()
    assert write(gen, out, n=12) == (2, 10)
    assert everything(out) == everything(tmp_path / "full")
    assert write(gen, out, n=12) == (0, 12)


def test_shards_write_their_own_images_and_metadata(models, tmp_path: Path) -> None:
    gen = models["noise"]
    write(gen, tmp_path / "whole", n=9)
    for k in (1, 2):
        assert write(gen, tmp_path / "shards", n=9, shard=Shard(k, 2)) == ((5, 0) if k == 1 else (4, 0))
    whole, shards = everything(tmp_path / "whole"), everything(tmp_path / "shards")
    assert {k: v for k, v in shards.items() if k.endswith(".png")} == {
        k: v for k, v in whole.items() if k.endswith(".png")}
    rows = [json.loads(line) for name in ("metadata-shard-1-of-2.jsonl", "metadata-shard-2-of-2.jsonl")
            for line in shards[name].decode().splitlines()]
    assert sorted(r["index"] for r in rows) == list(range(9))
    assert "metadata.jsonl" not in shards


def test_npz_holds_the_same_images_labels_and_indices(models, tmp_path: Path) -> None:
    gen = models["conditional"]
    plan = plan_for(gen, 7)
    assert writer.write_npz(gen, plan, Shard(2, 2), tmp_path, 5, None, 2, False) == 3
    with np.load(tmp_path / "data-shard-2-of-2.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["class_names", "images", "indices", "labels", "synthetic"]
        assert npz["synthetic"].dtype == np.bool_ and npz["synthetic"].all()
        assert npz["indices"].tolist() == [1, 3, 5] and npz["labels"].tolist() == [1, 0, 2]
        assert npz["indices"].dtype == np.int64 and npz["labels"].dtype == np.int64
        assert npz["class_names"].tolist() == NAMES
        want = gen.generate(7, seed=5)
        assert npz["images"].dtype == np.uint8 and np.array_equal(npz["images"], want[[1, 3, 5]])
    writer.write_npz(gen, plan, Shard(), tmp_path, 5, 0.3, 4, False)
    with np.load(tmp_path / "data.npz", allow_pickle=False) as npz:
        assert np.array_equal(npz["images"], gen.generate(7, seed=5, truncation=0.3))


def test_code_models_write_their_codes_and_sweep_rows(models, tmp_path: Path) -> None:
    gen = models["code"]
    sweep = Sweep(1, (-1.0, 0.0, 1.0))
    for codes, swept in (((0.5, -0.25), None), (None, sweep), (None, None)):
        out = tmp_path / f"{codes}-{swept is not None}"
        plan = with_codes(plan_for(gen, 4), codes, swept)
        n = len(plan.entries)
        assert writer.write_imagefolder(gen, plan, Shard(), out, 5, None, 5, "m.onnx", False) == (n, 0)
        labels = [label for _, label in plan.entries]
        want = gen.generate(n, seed=5, labels=labels, codes=codes, sweep=swept)
        want_codes = codes_for(5, np.arange(n), gen.code_spec,
                               None if codes is None else np.asarray(codes, dtype=np.float32), swept)
        rows = {}
        for line in (out / "metadata.jsonl").read_text().splitlines():
            row = json.loads(line)
            rows[row["index"]] = row
        for i, label in plan.entries:
            assert (out / plan.file_name(i, label)).read_bytes() == writer.encode_png(want[i])
            assert rows[i]["codes"] == [float(v) for v in want_codes[i]]
            assert rows[i].get("sweep_row") == (None if swept is None else i // 3)
        if codes is not None:
            assert all(rows[i]["codes"] == [0.5, -0.25] for i in rows)
        assert writer.write_npz(gen, plan, Shard(), out, 5, None, 3, False) == n
        with np.load(out / "data.npz", allow_pickle=False) as npz:
            assert np.array_equal(npz["codes"], want_codes) and np.array_equal(npz["images"], want)


def frames(err: str) -> list[str]:
    """The progress bar's frames on stderr (tqdm redraws with a carriage return)."""
    return [f.strip() for f in err.split("\r") if f.strip()]


def test_the_progress_bar_counts_the_images_written_and_stays_off_when_asked(models, tmp_path: Path,
                                                                            capsys) -> None:
    gen = models["conditional"]
    plan = plan_for(gen, 10)
    writer.write_imagefolder(gen, plan, Shard(), tmp_path / "a", 5, None, 4, "m.onnx", True)
    shown = frames(capsys.readouterr().err)
    assert shown[0].startswith("0%") and "| 0/10 [" in shown[0]
    assert shown[-1].startswith("100%") and "| 10/10 [" in shown[-1] and shown[-1].endswith("img/s]")
    (tmp_path / "a" / "cat" / "000003.png").unlink()  # a resume counts only what it writes
    writer.write_imagefolder(gen, plan, Shard(), tmp_path / "a", 5, None, 4, "m.onnx", True)
    assert "| 1/1 [" in frames(capsys.readouterr().err)[-1]
    assert writer.write_npz(gen, plan, Shard(), tmp_path / "b", 5, None, 4, True) == 10
    shown = frames(capsys.readouterr().err)
    assert "| 0/10 [" in shown[0] and "| 10/10 [" in shown[-1] and shown[-1].endswith("img/s]")
    writer.write_imagefolder(gen, plan, Shard(), tmp_path / "c", 5, None, 4, "m.onnx", False)
    writer.write_npz(gen, plan, Shard(), tmp_path / "c", 5, None, 4, False)
    assert capsys.readouterr().err == ""


def test_an_empty_shard_writes_arrays_of_the_same_dtypes(models, tmp_path: Path) -> None:
    gen = models["conditional"]  # --n 2 --shard 3/3: no image falls in the shard
    assert writer.write_npz(gen, plan_for(gen, 2), Shard(3, 3), tmp_path, 5, None, 4, False) == 0
    with np.load(tmp_path / "data-shard-3-of-3.npz", allow_pickle=False) as npz:
        assert npz["images"].shape == (0, H, W, 1) and npz["images"].dtype == np.uint8
        assert npz["labels"].shape == npz["indices"].shape == (0,)
        assert npz["labels"].dtype == npz["indices"].dtype == np.int64  # as in every other shard
        assert npz["class_names"].tolist() == NAMES
    assert writer.write_imagefolder(gen, plan_for(gen, 2), Shard(3, 3), tmp_path, 5, None, 4, "m.onnx",
                                    False) == (0, 0)
    assert (tmp_path / "metadata-shard-3-of-3.jsonl").read_bytes() == b""
    swept = with_codes(plan_for(models["code"], 1), None, Sweep(1, (-1.0, 0.0, 1.0)))
    empty = Shard(len(swept.entries) + 1, len(swept.entries) + 1)
    out = tmp_path / "swept"
    assert writer.write_npz(models["code"], swept, empty, out, 5, None, 4, False) == 0
    with np.load(out / f"data{empty.suffix}.npz", allow_pickle=False) as npz:
        assert npz["codes"].shape == (0, 2) and npz["codes"].dtype == np.float32
    assert writer.write_imagefolder(models["code"], swept, empty, out, 5, None, 4, "m.onnx", False) == (0, 0)
