"""Safe loading, checked over the whole source tree and on real files: nothing untrusted is ever
unpickled, and ONNX files cannot make the runtime read files outside themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gansrv.errors import UserError
from tests.conftest import REPO, one_line_error, run

SOURCES = [p for root in ("gansrv", "plugins", "demos") for p in (REPO / root).rglob("*.py")]


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            owner = getattr(f.value, "id", "") if isinstance(f, ast.Attribute) else ""
            yield owner, name, {k.arg: k.value for k in node.keywords}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_unsafe_deserialisation_in_the_source(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert not imported & {"pickle", "dill", "cloudpickle", "marshal", "shelve"}, imported
    for owner, name, kw in calls(tree):
        if owner == "torch" and name == "load":
            assert isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
        if owner in ("np", "numpy") and name == "load":
            assert isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False
        if owner == "yaml":
            assert name != "load" and name != "unsafe_load", "use yaml.safe_load"


def test_torch_state_files_with_pickled_objects_are_refused(tmp_path: Path) -> None:
    """A checkpoint's state.pt holding an arbitrary object (what an attacker's pickle would) fails
    to load as weights-only state, in one line."""
    import torch

    from gansrv.train.checkpoint import load_state

    ckpt = tmp_path / "step-00000001"
    ckpt.mkdir()
    torch.save({"step": 1, "payload": Path("/etc/passwd")}, ckpt / "state.pt")
    with pytest.raises(UserError, match="unreadable checkpoint state"):
        load_state(ckpt)


def test_onnx_external_data_outside_the_folder_is_refused(exports, tmp_path: Path) -> None:  # noqa: F811
    """External data could point anywhere (../../etc/shadow); the runtime refuses external data."""
    import onnx
    from onnx import external_data_helper

    model = onnx.load(str(exports("dcgan").generator))
    external_data_helper.convert_model_to_external_data(model, all_tensors_to_one_file=True,
                                                        location="weights.bin", size_threshold=0)
    out = tmp_path / "m.onnx"
    onnx.save_model(model, str(out))
    for tensor in external_data_helper._get_all_tensors(model):
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../../../etc/hostname"
    onnx.save_model(model, str(out))  # keeps the external references, now pointing outside
    assert "external" in one_line_error(run("info", out, expect=None))
    assert out.exists()  # refusing leaves the user's file alone
