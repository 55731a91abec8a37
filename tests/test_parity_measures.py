"""gansrv.export.parity measures what it claims: real ONNX graphs (built with onnx.helper) run by real
onnxruntime against torch references that agree, differ by a known amount, differ only at some
batch or image sizes, return other shapes or NaN; and the random inputs have the promised shapes,
dtypes and ranges.

Written from the surviving mutants of a mutation run (docs/reliability.md, "Mutation testing").
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from gansrv.export import parity
from gansrv.family import ExportSpec


def save_graph(path: Path, nodes, inputs, outputs, scale: float = 2.0) -> Path:
    """A model of the given nodes with the constants ``scale`` (for Mul), ``axis1`` (= [1]) and
    ``start`` (= [0])."""
    consts = [helper.make_tensor("scale", TensorProto.FLOAT, [], [scale]),
              helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
              helper.make_tensor("start", TensorProto.INT64, [1], [0])]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def doubling(path: Path, scale: float = 2.0) -> Path:
    """z (N, 3) -> image = scale * z."""
    return save_graph(path, [helper.make_node("Mul", ["z", "scale"], ["image"])],
                      [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3])],
                      [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3])], scale)


class Ref(torch.nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def z_spec(outputs=("image",)) -> ExportSpec:
    return ExportSpec("generator", Ref(lambda z: z), {"z": torch.zeros(2, 3)}, list(outputs))


def error(path: Path, fn, spec: ExportSpec, classes: int = 0, **kw) -> float:
    return parity.max_abs_error(path, Ref(fn), spec, classes, **kw)


def test_agreeing_graphs_measure_zero_and_a_known_offset_measures_itself(tmp_path: Path) -> None:
    path = doubling(tmp_path / "m.onnx")
    assert error(path, lambda z: 2 * z, z_spec()) <= 1e-6
    assert 0.2499 <= error(path, lambda z: 2 * z + 0.25, z_spec()) <= 0.2501
    assert 0.0624 <= error(path, lambda z: 2 * z - 0.0625, z_spec()) <= 0.0626


def test_every_batch_size_is_checked(tmp_path: Path) -> None:
    path = doubling(tmp_path / "m.onnx")
    only_batch_7 = lambda z: 2 * z + (z.shape[0] == 7)  # noqa: E731
    only_batch_1 = lambda z: 2 * z + (z.shape[0] == 1)  # noqa: E731
    assert 0.999 <= error(path, only_batch_7, z_spec()) <= 1.001
    assert 0.999 <= error(path, only_batch_1, z_spec()) <= 1.001
    assert error(path, only_batch_7, z_spec(), batch_sizes=(1, 3)) <= 1e-6


def test_other_shapes_and_nan_are_infinite(tmp_path: Path) -> None:
    path = doubling(tmp_path / "m.onnx")
    assert error(path, lambda z: 2 * z[:, :2], z_spec()) == float("inf")
    assert error(path, lambda z: 2 * z[:1], z_spec()) == float("inf")
    assert error(path, lambda z: torch.full_like(z, float("nan")), z_spec()) == float("inf")


def test_an_empty_output_measures_zero(tmp_path: Path) -> None:
    """A zero-width output (no values to compare) agrees, rather than failing on max() of nothing."""
    path = save_graph(tmp_path / "empty.onnx",
                      [helper.make_node("Slice", ["z", "start", "start", "axis1"], ["image"])],
                      [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3])],
                      [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 0])])
    assert error(path, lambda z: z[:, :0], z_spec()) == 0.0


def test_outputs_are_compared_by_name_in_the_specs_order(tmp_path: Path) -> None:
    path = save_graph(
        tmp_path / "two.onnx",
        [helper.make_node("Mul", ["z", "scale"], ["image"]),
         helper.make_node("ReduceSum", ["z", "axis1"], ["energy"], keepdims=1),
         helper.make_node("Cast", ["label"], ["label_f"], to=TensorProto.FLOAT)],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("energy", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("label_f", TensorProto.FLOAT, ["N"])])
    spec = ExportSpec("discriminator", Ref(lambda z, y: z), {"z": torch.zeros(2, 3),
                                                            "label": torch.tensor([0, 9])},
                      ["energy", "image"])  # a subset, not in the graph's order
    want = lambda z, y: (z.sum(1, keepdim=True), 2 * z)  # noqa: E731
    assert error(path, want, spec, classes=10) <= 1e-5
    off = lambda z, y: (z.sum(1, keepdim=True) + 0.5, 2 * z)  # noqa: E731
    assert 0.499 <= error(path, off, spec, classes=10) <= 0.501
    labels = ExportSpec("g", Ref(lambda z, y: z), spec.inputs, ["label_f"])
    assert error(path, lambda z, y: y.float(), labels, classes=10) == 0.0
    assert 0.999 <= error(path, lambda z, y: y.float() + 1, labels, classes=10) <= 1.001


def test_every_image_size_is_checked(tmp_path: Path) -> None:
    path = save_graph(tmp_path / "img.onnx", [helper.make_node("Mul", ["image", "scale"], ["translated"])],
                      [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, "H", "W"])],
                      [helper.make_tensor_value_info("translated", TensorProto.FLOAT, ["N", 1, "H", "W"])])
    spec = ExportSpec("generator", Ref(lambda x: x), {"image": torch.zeros(2, 1, 16, 16)}, ["translated"],
                      size_multiple=16)
    sizes = parity.check_sizes(spec)
    assert sizes == [(16, 16), (32, 48)]
    wrong_when_big = lambda x: 2 * x + (x.shape[3] == 48)  # noqa: E731
    assert error(path, wrong_when_big, spec) <= 1e-6  # the example size only, by default
    assert 0.999 <= error(path, wrong_when_big, spec, sizes=sizes) <= 1.001


def test_parity_runs_the_file_as_it_is_now_not_a_cached_session(tmp_path: Path) -> None:
    path = doubling(tmp_path / "m.onnx", 2.0)
    assert error(path, lambda z: 2 * z, z_spec()) <= 1e-6
    stamp = os.stat(path).st_mtime_ns
    doubling(path, 3.0)  # rewritten in place, same size; same mtime as on a coarse-clock file system
    os.utime(path, ns=(stamp, stamp))
    assert error(path, lambda z: 3 * z, z_spec()) <= 1e-6


def test_check_sizes_rules() -> None:
    image = torch.zeros(2, 3, 16, 32)
    spec = ExportSpec("g", Ref(lambda z, x: x), {"z": torch.zeros(2, 8), "image": image}, size_multiple=16)
    assert parity.check_sizes(spec) == [(16, 32), (32, 64)]
    assert parity.check_sizes(ExportSpec("g", Ref(lambda x: x), {"image": image})) == [None]  # fixed size
    assert parity.check_sizes(ExportSpec("g", Ref(lambda z: z), {"z": torch.zeros(2, 8)},
                                         size_multiple=16)) == [None]  # no image input


def test_random_inputs_shapes_dtypes_and_ranges() -> None:
    spec = ExportSpec("g", Ref(lambda *x: x[0]), {
        "z": torch.zeros(2, 5), "label": torch.tensor([0, 3]), "image": torch.zeros(2, 1, 8, 12),
        "target": torch.zeros(2, 3, 8, 12), "code": torch.zeros(2, 2)})
    rng = np.random.default_rng(0)
    feeds = parity.random_inputs(spec, 400, 10, rng)
    assert {k: (v.shape, v.dtype) for k, v in feeds.items()} == {
        "z": ((400, 5), np.float32), "label": ((400,), np.int64), "image": ((400, 1, 8, 12), np.float32),
        "target": ((400, 3, 8, 12), np.float32), "code": ((400, 2), np.float32)}
    for name in ("image", "target"):  # pixels: uniform over [-1, 1]
        assert -1 <= feeds[name].min() < -0.99 and 0.99 < feeds[name].max() <= 1
    for name in ("z", "code"):  # latent values: standard normal, so beyond [-1, 1] too
        assert feeds[name].min() < -1.5 and feeds[name].max() > 1.5
        assert abs(float(feeds[name].std()) - 1) < 0.2
    assert sorted(set(feeds["label"].tolist())) == list(range(10))
    sized = parity.random_inputs(spec, 3, 10, rng, size=(16, 24))
    assert sized["image"].shape == (3, 1, 16, 24) and sized["target"].shape == (3, 3, 16, 24)
    assert sized["z"].shape == (3, 5) and sized["label"].shape == (3,)
    # without a class count, labels stay below the example's largest label + 1
    assert sorted(set(parity.random_inputs(spec, 400, 0, rng)["label"].tolist())) == [0, 1, 2, 3]
    assert set(parity.random_inputs(spec, 50, 1, rng)["label"].tolist()) == {0}


@pytest.mark.parametrize("many", [False, True])
def test_torch_outputs_is_a_list_of_arrays(many: bool) -> None:
    fn = (lambda z: (z + 1, z * 0)) if many else (lambda z: z + 1)
    outs = parity.torch_outputs(Ref(fn), {"z": np.ones((2, 3), dtype=np.float32)})
    assert isinstance(outs, list) and len(outs) == (2 if many else 1)
    np.testing.assert_array_equal(outs[0], np.full((2, 3), 2, dtype=np.float32))
