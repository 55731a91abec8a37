"""gansrv generate for training sets: rows marked synthetic, the manifest's mixing advice (which
older datasets resume without), and --balance-to topping every class up to the largest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gansrv.metrics.recipe import RECOMMENDED_MIX
from tests.conftest import generate, one_line_error


@pytest.fixture(scope="module")
def cgan(exports) -> Path:  # noqa: F811
    return exports("cgan").generator


def labelled(path: Path, counts: dict[str, int]) -> Path:
    labels = np.concatenate([np.full(k, i) for i, k in enumerate(counts.values())]).astype(np.int64)
    images = np.zeros((len(labels), 1, 28, 28), dtype=np.uint8)
    np.savez(path, images=images, labels=labels, class_names=np.array(list(counts), dtype=np.str_))
    return path


def test_rows_are_synthetic_and_the_manifest_recommends_a_mix(cgan, tmp_path):
    out = tmp_path / "ds"
    generate(cgan, out, "--n", 12)
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(r["synthetic"] is True for r in rows)
    manifest = json.loads((out / "gansrv-dataset.json").read_text())
    assert manifest["usage"]["recommended_mix"] == RECOMMENDED_MIX
    assert manifest["usage"]["synthetic"] is True


def test_a_dataset_written_before_the_advice_still_resumes(cgan, tmp_path):
    out = tmp_path / "ds"
    generate(cgan, out, "--n", 6)
    path = out / "gansrv-dataset.json"
    old = json.loads(path.read_text())
    del old["usage"]
    path.write_text(json.dumps(old))
    result = generate(cgan, out, "--n", 6)
    assert "0 images written, 6 already there" in result.stdout
    assert "usage" in json.loads(path.read_text())


def test_balance_to_tops_every_class_up_to_the_largest(cgan, tmp_path):
    data = labelled(tmp_path / "real.npz", {"0": 5, "1": 2, "2": 4})
    out = tmp_path / "ds"
    generate(cgan, out, "--balance-to", data)
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    per_class = {name: sum(r["class_name"] == name for r in rows) for name in ("0", "1", "2")}
    assert per_class == {"0": 0, "1": 3, "2": 1}
    assert sorted(r["index"] for r in rows) == [0, 1, 2, 3]
    balance = json.loads((out / "gansrv-dataset.json").read_text())["plan"]["balance_to"]
    assert balance["real_counts"] == {"0": 5, "1": 2, "2": 4} and balance["target"] == 5
    assert balance["generated"] == {"0": 0, "1": 3, "2": 1}
    again = generate(cgan, out, "--balance-to", data)  # same data, same plan: a resume
    assert "0 images written, 4 already there" in again.stdout


@pytest.mark.parametrize("counts, args, expected", [
    ({"0": 3, "1": 3}, (), "already balanced"),
    ({"0": 3, "cat": 1}, (), "class cat"),
    ({"0": 3, "1": 1}, ("--n", "4"), "leave out --n"),
])
def test_balance_to_bad_inputs_are_one_line(cgan, tmp_path, counts, args, expected):
    data = labelled(tmp_path / "real.npz", counts)
    line = one_line_error(generate(cgan, tmp_path / "ds", "--balance-to", data, *args, expect=None))
    assert expected in line, line
    assert not (tmp_path / "ds").exists()


def test_balance_to_needs_a_conditional_model(exports, tmp_path):  # noqa: F811
    data = labelled(tmp_path / "real.npz", {"0": 3, "1": 1})
    line = one_line_error(generate(exports("gan").generator, tmp_path / "ds", "--balance-to", data,
                              expect=None))
    assert "conditional" in line
