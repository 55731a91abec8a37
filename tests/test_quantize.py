"""Reduced-precision exports (`gansrv export --precision int8|fp16`): the exact sub-pixel rewrite,
the quality check at export (figures in the metadata, refusal above the thresholds, nothing written),
and the runtime, `generate`, `eval` and `info` serving the files unchanged. Real training, the real
CLI, real onnxruntime."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from gansrv.export.subpixel import fold_shuffles, rewritable, subpixel_convtransposes
from gansrv.runtime import Generator, read_info
from tests.conftest import EVAL_FAST, one_line_error, run

SMALL = ("--data", "digits", "--limit", "256", "--batch-size", "32", "--no-progress",
         "--g-width", "16", "--d-width", "16")
FID = ("--data", "digits", "--train-limit", "1500")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("quantize")
    out = {}
    for family in ("cgan", "dcgan"):
        out[family] = root / family
        run("train", family, "--steps", "12", "--out", out[family], *SMALL)
    return out


@pytest.fixture(scope="module")
def int8(runs, tmp_path_factory, evaluator_cache) -> tuple[Path, str]:
    """cgan exported at int8 with the FID check (a private evaluator cache)."""
    path = tmp_path_factory.mktemp("int8") / "cgan-int8.onnx"
    result = run("export", runs["cgan"], "-o", path, "--precision", "int8", *FID)
    return path, result.stdout


def _ops(path: Path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("k,s,p,op", [(4, 2, 1, 0), (3, 2, 1, 1), (5, 2, 2, 1), (4, 4, 0, 0),
                                      (3, 3, 0, 0), (2, 2, 0, 0)])
def test_subpixel_rewrite_is_exact_with_batchnorm_folded(k, s, p, op):
    torch.manual_seed(k * 10 + s)
    m = nn.Sequential(nn.ConvTranspose2d(5, 3, k, s, p, output_padding=op), nn.BatchNorm2d(3)).eval()
    m[1].running_mean.uniform_()
    m[1].running_var.uniform_(0.5, 2)
    x = torch.randn(2, 5, 7, 6)
    rewritten = copy.deepcopy(m)
    assert rewritable(m[0]) and subpixel_convtransposes(rewritten) == 1
    assert not any(isinstance(c, (nn.ConvTranspose2d, nn.BatchNorm2d)) for c in rewritten.modules())
    assert torch.allclose(rewritten(x), m(x), atol=1e-5)
    assert torch.allclose(rewritten(x[:, :, :3, :4]), m(x[:, :, :3, :4]), atol=1e-5)  # any size


def test_rewrite_leaves_what_it_cannot_express():
    odd = nn.ConvTranspose2d(2, 2, 6, 3, 1, output_padding=1)  # 3H + 1: not whole phases
    assert not rewritable(odd) and not rewritable(nn.ConvTranspose2d(2, 2, 4, 1, 0))
    assert subpixel_convtransposes(nn.Sequential(odd)) == 0


FOLDABLE = [(4, 2, 1, 0), (3, 2, 1, 1), (5, 2, 2, 1), (4, 4, 0, 0), (6, 2, 0, 0)]


@pytest.mark.parametrize("first", FOLDABLE)
@pytest.mark.parametrize("second", FOLDABLE)
def test_folded_shuffle_is_exact_at_any_size(first, second):
    k1, s1, p1, o1 = first
    k2, s2, p2, o2 = second
    torch.manual_seed(k1 * 7 + k2)
    m = nn.Sequential(nn.ConvTranspose2d(6, 8, k1, s1, p1, output_padding=o1), nn.BatchNorm2d(8),
                      nn.LeakyReLU(0.2), nn.ConvTranspose2d(8, 3, k2, s2, p2, output_padding=o2),
                      nn.Tanh()).eval()
    m[1].running_mean.uniform_()
    m[1].running_var.uniform_(0.5, 2)
    folded = copy.deepcopy(m)
    subpixel_convtransposes(folded)
    whole = (k2 - 2 * p2 + o2 - s2) % (s1 * s2) == 0  # the output is whole cells of the coarse grid
    assert fold_shuffles(folded) == int(whole)
    assert sum(isinstance(c, nn.PixelShuffle) for c in folded.modules()) == 2 - whole
    for hw in ((5, 4), (3, 3), (1, 2)):
        x = torch.randn(2, 6, *hw)
        assert torch.allclose(folded(x), m(x), atol=1e-5)


def test_fold_keeps_wide_layers_and_non_elementwise_gaps():
    wide = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(8, 16, 4, 2, 1))
    gap = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 2, 1), nn.MaxPool2d(1), nn.ConvTranspose2d(8, 1, 4, 2, 1))
    grown = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 2, 1), nn.ConvTranspose2d(8, 1, 4, 2, 0))
    for m in (wide, gap, grown):  # 16 channels; a pool between; 2(2H) + 2 is not whole coarse cells
        assert subpixel_convtransposes(m) == 2 and fold_shuffles(m) == 0


def test_int8_export_quantizes_measures_and_records(int8):
    path, stdout = int8
    assert "generator:" in stdout and "int8: mean pixel error" in stdout and "FID vs fp32" in stdout
    ops = _ops(path)
    assert "ConvTranspose" not in ops and {"Conv", "DepthToSpace", "QuantizeLinear"} <= ops
    shuffles = [n for n in onnx.load(str(path)).graph.node if n.op_type == "DepthToSpace"]
    assert len(shuffles) == 1  # 7 -> 14 -> 28: the feature map's shuffle folded into the image's
    extra = read_info(path).extra
    assert extra["precision"] == "int8" and extra["quality_images"] == "1000"
    assert 0 <= float(extra["mean_pixel_error"]) <= 4.0
    assert float(extra["mean_pixel_error"]) <= float(extra["max_pixel_error"]) <= 255
    assert 0 <= float(extra["fid_vs_fp32"]) <= 0.5
    shown = run("info", path).stdout
    assert "precision     int8" in shown and "quality loss  mean pixel error" in shown
    assert "(of the fp32 graph)" in shown


def test_int8_file_is_served_unchanged(int8, runs, tmp_path):
    path, _ = int8
    images = Generator.from_file(path, "cpu").generate(20, seed=3, labels=7)
    assert images.shape == (20, 28, 28, 1) and images.dtype == np.uint8
    run("generate", path, "--per-class", "2", "--out", tmp_path / "ds", "--no-progress")
    assert len(list((tmp_path / "ds").rglob("*.png"))) == 20
    scored = run("eval", path, *FID, "--resize", "--metrics", "fid,class-acc", *EVAL_FAST).stdout
    assert "FID" in scored and "class-acc" in scored


def test_fp32_and_int8_images_agree_image_by_image(int8, runs, tmp_path):
    fp32 = tmp_path / "fp32.onnx"
    run("export", runs["cgan"], "-o", fp32)
    a = Generator.from_file(fp32, "cpu").generate(50, seed=0).astype(int)
    b = Generator.from_file(int8[0], "cpu").generate(50, seed=0).astype(int)
    assert np.abs(a - b).mean() <= float(read_info(int8[0]).extra["mean_pixel_error"]) * 2 + 0.5


def test_export_fails_above_threshold_and_writes_nothing(runs, tmp_path, evaluator_cache):
    out = tmp_path / "models" / "m.onnx"
    result = run("export", runs["dcgan"], "-o", out, "--precision", "int8", *FID,
                 "--max-fid-delta", "0", expect=None)
    assert "above --max-fid-delta 0; nothing written" in one_line_error(result, 1)
    assert not out.parent.exists()
    result = run("export", runs["dcgan"], "-o", tmp_path / "m.onnx", "--precision", "int8",
                 "--max-pixel-error", "0", expect=None)
    assert "above --max-pixel-error 0" in one_line_error(result, 1)
    assert not any(tmp_path.iterdir())


def test_fp16_export_keeps_float32_io_and_runs_on_cpu(runs, tmp_path):
    path = tmp_path / "dcgan-fp16.onnx"
    stdout = run("export", runs["dcgan"], "-o", path, "--precision", "fp16").stdout
    assert "fp16: mean pixel error" in stdout and "FID not measured" in stdout
    proto = onnx.load(str(path))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in proto.graph.initializer)
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for i in proto.graph.input)
    info = read_info(path)
    assert info.extra["precision"] == "fp16" and float(info.extra["mean_pixel_error"]) < 1.0
    images = Generator.from_file(path, "cpu").generate(8, seed=1)
    assert images.shape == (8, 28, 28, 1)


@pytest.mark.parametrize("args,message", [
    (("--data", "digits"), "judge --precision int8 or fp16 only"),
    (("--precision", "int8", "--max-fid-delta", "1"), "--max-fid-delta needs --data"),
    (("--precision", "int4"), "--precision"),
])
def test_bad_precision_options_are_usage_errors(runs, tmp_path, args, message):
    result = run("export", runs["dcgan"], "-o", tmp_path / "m.onnx", *args, expect=None)
    assert message in one_line_error(result, 2)
    assert not any(tmp_path.iterdir())


def test_demo_serves_the_int8_file(int8):
    from gansrv.demo.actions import generate, one_of_each
    from gansrv.demo.limits import Limits
    from gansrv.demo.models import model_card, open_model

    model = open_model("q", int8[0], "cpu")
    assert len(generate(model, Limits(), 5, 4, class_name="3")) == 4
    assert [name for _, name in one_of_each(model, 1)] == [str(i) for i in range(10)]
    assert model_card(model)
