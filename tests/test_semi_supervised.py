"""The engine's semi-supervised data (issue 19): a seeded, balanced labelled subset recorded in
config.json and the data fingerprint, an unlabelled main stream beside a labelled stream that
resumes exactly, and one-line refusals that leave nothing on disk."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
from safetensors.torch import load_file

from gansrv import Family, Kind
from gansrv.data import load_dataset
from gansrv.data.labelled import choose_labelled
from gansrv.errors import UserError
from gansrv.train import TrainOptions
from gansrv.train.api import train
from gansrv.train.checkpoint import latest_checkpoint, load_state
from tests.conftest import one_line_error, run, train_and_resume

SMALL = ("--g-width", "8", "--d-width", "8", "--c-width", "8", "--c-pretrain", "2", "--warmup", "4")
DIGITS = ("--data", "digits", "--limit", "300", "--batch-size", "16", "--no-progress",
          "--sample-every", "0", "--log-every", "1")


def _config(run_dir) -> dict:
    return json.loads((run_dir / "config.json").read_text())


def _train(out, *args) -> dict:
    run("train", "triplegan", "--steps", "2", "--out", out, *DIGITS, *SMALL, *args)
    return _config(out)


def test_subset_is_balanced_seeded_and_recorded(tmp_path):
    a = _train(tmp_path / "a", "--labels-per-class", "3")
    b = _train(tmp_path / "b", "--labels-per-class", "3")
    c = _train(tmp_path / "c", "--labels-per-class", "3", "--label-seed", "5")
    labels = load_dataset(["digits"], limit=300).labels
    idx = a["labelled"]["indices"]
    assert a["labelled"]["count"] == 30 and a["labelled"]["label_seed"] == 0
    assert Counter(labels[idx].tolist()) == {k: 3 for k in range(10)}
    assert idx == b["labelled"]["indices"] and idx != c["labelled"]["indices"]
    assert c["labelled"]["label_seed"] == 5 and c["train"]["label_seed"] == 5
    assert a["data"]["labelled_count"] == 30 and a["train"]["labels_per_class"] == 3
    # the fingerprint ties the run to its subset: same data, another subset, another fingerprint
    assert a["data"]["fingerprint"] == b["data"]["fingerprint"] != c["data"]["fingerprint"]
    full = _train(tmp_path / "full")
    assert "labelled" not in full and full["data"]["labelled_count"] == 0
    assert full["data"]["fingerprint"] not in (a["data"]["fingerprint"], c["data"]["fingerprint"])


def test_labelled_total_is_spread_evenly_over_the_classes():
    labels = np.repeat(np.arange(4), 10)
    idx = choose_labelled(labels, list("abcd"), total=6, seed=1)
    counts = sorted(Counter(labels[idx].tolist()).values())
    assert counts == [1, 1, 2, 2] and len(set(idx.tolist())) == 6
    assert np.array_equal(idx, choose_labelled(labels, list("abcd"), total=6, seed=1))


@pytest.mark.parametrize("args, message", [
    (("triplegan", "--labels-per-class", "40", "--limit", "300"), "class '.*' has only"),
    (("triplegan", "--labelled", "5", "--limit", "300"), "fewer labels than"),
    (("triplegan", "--labelled", "50", "--labels-per-class", "5"), "give one of them"),
    (("cgan", "--labels-per-class", "10"), "cgan does not train semi-supervised"),
    (("gan", "--label-seed", "3"), "gan does not train semi-supervised"),
])
def test_bad_requests_are_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "run"
    result = run("train", *args[:1], "--data", "digits", "--out", out, "--no-progress", *args[1:],
                 expect=None)
    import re

    assert re.search(message, one_line_error(result)), result.stderr
    assert not out.exists()


def test_unlabelled_data_is_refused(tmp_path, mnist):
    """An IDX images file without its labels: nothing to keep a subset of."""
    out = tmp_path / "run"
    images = next(mnist.glob("*images*"))
    result = run("train", "triplegan", "--data", images, "--labels-per-class", "10", "--out", out,
                 expect=None)
    assert "labels" in one_line_error(result)
    assert not out.exists()


def test_resume_repeats_the_labelled_stream_exactly(tmp_path):
    full, part = train_and_resume("triplegan", tmp_path, 8, *DIGITS, *SMALL, "--labels-per-class", "4",
                                  "--checkpoint-every", "4")
    a = load_file(str(full / "checkpoints" / "step-00000008" / "weights.safetensors"))
    b = load_file(str(part / "checkpoints" / "step-00000008" / "weights.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    state = load_state(latest_checkpoint(part))
    assert state["labelled_consumed"] == 8  # one labelled batch per step, counted across the resume
    assert _config(part)["labelled"] == _config(full)["labelled"]


@dataclass
class _Cfg:
    latent_dim: int = 2


class _Recorder(Family):
    """A family that trains nothing and records what the engine hands it."""

    name, description, kind, Config = "recorder", "test", Kind.CONDITIONAL, _Cfg
    semi_supervised = True

    def __init__(self):
        self.main, self.labelled = [], []

    def build(self, config, data):
        import torch

        return {"G": torch.nn.Linear(1, 1)}

    def optimizers(self, config, modules):
        return {}

    def train_step(self, batch, ctx):
        self.main.append(batch[1])
        x, y = ctx.next_labelled()
        self.labelled.append((x.clone(), y.clone()))
        return {"loss": 0.0}

    def sample(self, modules, inputs, labels=None):
        import torch

        return torch.zeros(len(inputs), 1, 8, 8)


def test_main_stream_has_no_labels_and_the_labelled_stream_only_the_subset(tmp_path):
    fam = _Recorder()
    opts = TrainOptions(data=("digits",), limit=200, steps=6, batch_size=8, out=str(tmp_path / "r"),
                        progress=False, labels_per_class=2, sample_every=0)
    train(fam, fam.Config(), opts, log=lambda m: None)
    assert fam.main == [None] * 6
    cfg = _config(tmp_path / "r")
    ds = load_dataset(["digits"], limit=200)
    idx = cfg["labelled"]["indices"]
    known = {ds.images[i].tobytes(): int(ds.labels[i]) for i in idx}
    for x, y in fam.labelled:
        pixels = ((x + 1) * 127.5).round().byte().numpy()
        assert len(x) == 8
        for img, label in zip(pixels, y.tolist()):
            assert known[img.tobytes()] == label


def test_labelled_stream_needs_a_semi_supervised_family(tmp_path):
    fam = _Recorder()
    fam.semi_supervised = False
    opts = TrainOptions(data=("digits",), limit=50, steps=1, out=str(tmp_path / "r"), progress=False)
    with pytest.raises(RuntimeError, match="no labelled stream"):
        train(fam, fam.Config(), opts, log=lambda m: None)
    with pytest.raises(UserError, match="does not train semi-supervised"):
        train(fam, fam.Config(), TrainOptions(data=("digits",), labelled=20,
                                              out=str(tmp_path / "s")), log=lambda m: None)
