"""gansrv export: checked files, metadata round-trip, parity, dynamic batch, nothing left on failure."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from gansrv.export.onnx_export import RANDOM_OPS, prepare
from gansrv.family import Kind
from gansrv.plugins import registry
from gansrv.runtime import read_info
from gansrv.runtime.session import session
from gansrv.train.load import load_run
from tests.conftest import one_line_error, run
from tests.exported_models import FAMILIES


def _conditional(family: str, saved: dict) -> bool:
    """Whether this run is conditional: the family's kind for the config it was trained with."""
    fam = registry().families[family]
    return fam.kind_for(fam.Config(**saved["config"])) is Kind.CONDITIONAL


@pytest.mark.parametrize("family", FAMILIES)
def test_export_writes_checked_self_contained_files(exports, family):  # noqa: F811
    ex = exports(family)
    for graph, path in (("generator", ex.generator), ("discriminator", ex.discriminator)):
        assert path.is_file()
        onnx.checker.check_model(str(path), full_check=True)
        proto = onnx.load(str(path))
        assert not {n.op_type for n in proto.graph.node} & RANDOM_OPS
        assert [i.type.tensor_type.shape.dim[0].dim_param for i in proto.graph.input] == \
            ["batch"] * len(proto.graph.input)
        assert f"{graph}: exported/{path.name}  (parity max abs error" in ex.stdout
    assert not list(ex.generator.parent.glob("*.tmp")) and not list(ex.generator.parent.glob("*.data"))


@pytest.mark.parametrize("family", FAMILIES)
def test_metadata_round_trips_and_carries_the_run(exports, family):  # noqa: F811
    ex = exports(family)
    info = read_info(ex.generator)
    saved = json.loads((ex.run_dir / "config.json").read_text())
    conditional = _conditional(family, saved)
    kind = registry().families[family].kind_for(registry().families[family].Config(**saved["config"]))
    if kind is Kind.CODE:  # z, any continuous codes and the categorical code, named by the family
        cfg = saved["config"]
        assert info.kind == "code" and info.input_names() in (["z", "code", "label"], ["z", "label"])
        assert len(info.class_names) == info.num_classes >= 2
        if "code" in info.input_names():  # infogan
            assert info.num_classes == cfg["categories"]
            assert info.inputs[1].shape == ["batch", cfg["continuous"]]
            assert json.loads(info.extra["code_range"])[0] < json.loads(info.extra["code_range"])[1]
    else:
        assert (info.family, info.graph, info.num_classes) == (family, "generator", 10 * conditional)
        assert info.kind == ("conditional" if conditional else "noise")
        assert info.input_names() == (["z", "label"] if conditional else ["z"])
        assert info.class_names == (saved["data"]["class_names"] if conditional else [])
    assert (info.family, info.graph) == (family, "generator")
    # the family's latent_dim hook: the config's field, or more where z packs several networks' noise
    fam = registry().families[family]
    latent = fam.latent_dim(fam.Config(**saved["config"]))
    assert info.inputs[0].shape == ["batch", latent] and info.latent_dim == latent
    assert info.image_shape == (1, 28, 28) and info.channels == 1
    assert info.output_range == (-1.0, 1.0) and info.opset == 20
    assert info.data_fingerprint == saved["data"]["fingerprint"]
    assert info.run == f"run-{family}" and info.step == 3 and info.config == saved["config"]
    assert 0 <= info.parity_max_abs_error <= 1e-4 and info.parity_batch_sizes == [1, 7]
    assert f"parity max abs error {info.parity_max_abs_error:.3g}" in ex.stdout
    proto = onnx.load(str(ex.generator))
    assert read_info(ex.generator).to_props() == {p.key: p.value for p in proto.metadata_props}
    disc = read_info(ex.discriminator)
    assert disc.graph == "discriminator" and disc.outputs[0].name in ("logit", "energy")
    assert [t.name for t in disc.outputs] == [o.name for o in onnx.load(str(ex.discriminator)).graph.output]
    # A family that exports a classifier has D predict the class (acgan) or leaves it to C (wgan-c):
    # its D takes no label; a semi-supervised one's D judges (image, label) pairs (triplegan).
    semi = registry().families[family].semi_supervised
    takes_label = conditional and (semi or not ex.classifier.is_file())
    assert disc.input_names() == (["image", "label"] if takes_label else ["image"])


def _random_feeds(info, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    feeds = {}
    for t in info.inputs:
        shape = (batch, *t.shape[1:])
        if t.dtype == "int64":
            feeds[t.name] = rng.integers(0, info.num_classes, shape, dtype=np.int64)
        else:
            feeds[t.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    return feeds


@pytest.mark.parametrize("family", FAMILIES)
def test_dynamic_batch_matches_torch(exports, family):  # noqa: F811
    ex = exports(family)
    loaded = load_run(ex.run_dir)
    rng = np.random.default_rng(0)
    # The exported modules, which need not be the trained ones (cgan exports G's weight average).
    specs = loaded.family.export_graphs(loaded.modules, loaded.config, loaded.spec)
    graphs = {s.name: s.module for s in specs}
    for path, module in ((ex.generator, specs[0].module), (ex.discriminator, graphs["discriminator"])):
        info, sess = read_info(path), session(path, "cpu")
        for batch in (1, 7, 64):
            feeds = _random_feeds(info, batch, rng)
            outs = sess.run(None, feeds)
            with torch.no_grad():
                want = module(*(torch.from_numpy(v) for v in feeds.values()))
            want = want if isinstance(want, tuple) else (want,)  # e.g. (energy, reconstruction)
            assert len(outs) == len(want)
            for got, w in zip(outs, want):
                assert got.shape == w.shape and got.shape[0] == batch
                assert np.abs(got - w.numpy()).max() <= 1e-4


def test_tolerance_below_the_measured_error_fails_and_leaves_nothing(exports, tmp_path):  # noqa: F811
    ex = exports("cgan")
    if read_info(ex.generator).parity_max_abs_error == 0:
        pytest.skip("parity is exactly 0 here: no tolerance below it to test")
    out = tmp_path / "new" / "m.onnx"
    result = run("export", ex.run_dir, "-o", out, "--tolerance", "0", "--with-discriminator", expect=None)
    assert "above --tolerance" in one_line_error(result, code=1)
    assert not out.parent.exists()


@pytest.mark.parametrize("args, message", [
    (["--tolerance", "-1"], "--tolerance"),
    (["--opset", "7"], "--opset"),
    (["-o", "model.txt"], ".onnx"),
])
def test_bad_export_options_exit_2(exports, tmp_path, args, message):  # noqa: F811
    result = run("export", exports("gan").run_dir, *args, expect=None)
    assert message in one_line_error(result)
    assert not (tmp_path / "exported").exists()


def test_export_of_a_folder_that_is_not_a_run(tmp_path):
    result = run("export", tmp_path, "-o", tmp_path / "m.onnx", expect=None)
    assert "not a gansrv run directory" in one_line_error(result)
    assert list(tmp_path.iterdir()) == []


def test_prepare_folds_spectral_norm_and_keeps_the_function():
    torch.manual_seed(0)
    conv = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Conv2d(3, 4, 3))
    net = torch.nn.Sequential(conv, torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5))
    for _ in range(3):
        net(torch.randn(8, 3, 8, 8))  # power iterations and running stats move in train mode
    net.eval()
    folded = prepare(net)
    assert not torch.nn.utils.parametrize.is_parametrized(folded[0])
    assert torch.nn.utils.parametrize.is_parametrized(net[0])  # the original is untouched
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(folded(x), net(x), atol=1e-6)
    assert not folded.training


def _trained_bn(seq: torch.nn.Sequential, shape: tuple) -> torch.nn.Sequential:
    for _ in range(3):
        seq(torch.randn(*shape))  # running statistics away from (0, 1)
    return seq.eval()


def test_stem_rewrite_is_exact_and_folds_the_batchnorm():
    """A transposed conv on a 1x1 input becomes one matrix product (BatchNorm folded in); a
    transposed conv on a larger input, or with a stride, is left alone."""
    from gansrv.export.rewrite import PointConvTranspose

    torch.manual_seed(0)
    stem = torch.nn.Sequential(torch.nn.ConvTranspose2d(12, 6, 7, 1, 0, bias=False),
                               torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
                               torch.nn.ConvTranspose2d(6, 3, 4, 2, 1))
    for m in stem.modules():  # the default init is ~0 for a 1x1 input; make the check sensitive
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(m.weight, 0.5, 2.0)
            torch.nn.init.uniform_(m.bias, -1.0, 1.0)
    _trained_bn(stem, (16, 12, 1, 1))
    z = torch.randn(5, 12, 1, 1)
    fast = prepare(stem, {"z": z})
    assert isinstance(fast[0], PointConvTranspose) and isinstance(fast[1], torch.nn.Identity)
    assert type(fast[3]) is torch.nn.ConvTranspose2d  # stride 2: not a matrix product
    assert type(stem[0]) is torch.nn.ConvTranspose2d  # the original is untouched
    with torch.no_grad():
        expected, got = stem(z), fast(z)
        assert expected.abs().max() > 0.1
        assert torch.allclose(got, expected, atol=1e-5)
    wide = prepare(stem, {"z": torch.randn(2, 12, 2, 2)})  # seen on 2x2: left alone
    assert type(wide[0]) is torch.nn.ConvTranspose2d


@pytest.mark.parametrize("family", ["dcgan", "cgan"])
def test_exported_stem_is_a_matmul_and_matches_torch(exports, family):  # noqa: F811
    """The noise -> feature-map stem runs as one Gemm/MatMul over the batch in the exported graph
    (that the graph still equals torch at several batch sizes: test_dynamic_batch_matches_torch)."""
    exported = exports(family)
    ops = [n.op_type for n in onnx.load(str(exported.generator)).graph.node]
    assert ops.count("ConvTranspose") == 2 and ("Gemm" in ops or "MatMul" in ops)
    assert "BatchNormalization" not in ops


class _OffByInExport(torch.nn.Module):
    """The wrapped generator of z, plus ``shift`` in eager torch only: its export differs by
    exactly that. (``forward`` names its input: export keys dynamic shapes by parameter name.)"""

    def __init__(self, inner: torch.nn.Module, shift: float):
        super().__init__()
        self.inner, self.shift = inner, shift

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.inner(z)
        return out if torch.compiler.is_exporting() else out + self.shift


def test_parity_measures_a_known_difference_and_refuses_above_tolerance(exports, tmp_path):  # noqa: F811
    """The parity figure is a measurement (an eager/export gap of 0.25 reads 0.25), and a gap
    above --tolerance stops the export: neither depends on the real error being nonzero."""
    import dataclasses

    from gansrv.export.onnx_export import DEFAULT_OPSET, ExportError, export_graph

    loaded = load_run(exports("gan").run_dir)
    spec = loaded.family.export_graphs(loaded.modules, loaded.config, loaded.spec)[0]
    assert list(spec.inputs) == ["z"]
    off = dataclasses.replace(spec, module=_OffByInExport(spec.module, 0.25))
    err = export_graph(loaded, off, tmp_path / "loose.onnx", DEFAULT_OPSET, tolerance=1.0)
    assert abs(err - 0.25) < 1e-5
    assert abs(read_info(tmp_path / "loose.onnx").parity_max_abs_error - 0.25) < 1e-5
    with pytest.raises(ExportError, match=r"differs from torch by 0\.25 .*above --tolerance 0\.1"):
        export_graph(loaded, off, tmp_path / "strict.onnx", DEFAULT_OPSET, tolerance=0.1)
