"""acgan's TAC-GAN option (``--twin-weight``): the twin head learns the labels of fakes, G's loss
subtracts its CE, resume stays exact with the twin head and its Adam state, and the exported
classifier and discriminator graphs are the same as without it."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from gansrv.data import DataSpec
from gansrv.kits.classifier import classifier_gan_step, d_updates, g_updates
from gansrv.plugins import registry
from gansrv.runtime import read_info
from gansrv.step import StepContext
from gansrv.train.checkpoint import latest_checkpoint, load_state
from gansrv.train.context import BatchStream
from tests.conftest import run, train_and_resume

SMALL = ("--data", "digits", "--limit", "256", "--g-width", "8", "--d-width", "8", "--no-progress",
         "--sample-every", "0")


def _ctx(twin_weight: float, seed: int = 0) -> StepContext:
    """A real acgan step context on random 28x28 'images' (the step never looks at their content)."""
    family = registry().families["acgan"]
    config = family.Config(g_width=8, d_width=8, latent_dim=16, twin_weight=twin_weight)
    spec = DataSpec(channels=1, size=28, num_classes=10, class_names=[str(i) for i in range(10)],
                    count=128, fingerprint="x")
    torch.manual_seed(seed)
    modules = family.build(config, spec)
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (128, 1, 28, 28), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (128,), generator=gen)
    stream = BatchStream(images, labels, 32, seed, torch.device("cpu"))
    return StepContext(modules, family.optimizers(config, modules), config, torch.device("cpu"), 10,
                       stream, torch.Generator().manual_seed(seed + 1))


def test_twin_head_exists_only_when_asked_and_is_moved_by_ds_optimizer():
    off, on = _ctx(0.0), _ctx(1.0)
    assert off.modules["D"].twin is None
    assert not any(k.startswith("twin.") for k in off.modules["D"].state_dict())
    twin = on.modules["D"].twin
    in_d = {id(p) for g in on.optimizers["D"].param_groups for p in g["params"]}
    in_c = {id(p) for g in on.optimizers["C"].param_groups for p in g["params"]}
    assert {id(p) for p in twin.parameters()} <= in_d  # checkpointed with D's optimizer
    assert not {id(p) for p in twin.parameters()} & in_c  # the real classifier never sees fakes


class _TemplateG(nn.Module):
    """A stand-in G whose images clearly depend on the label: one fixed random pattern per class,
    brightened by z. (A freshly initialised G barely varies with y, so its labels take hundreds of
    steps to become learnable; this checks the twin's training, not G's.)"""

    def __init__(self):
        super().__init__()
        self.templates = torch.randn(10, 1, 28, 28, generator=torch.Generator().manual_seed(3)).tanh()

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.templates[y] + 0.5 * z[:, :1, None, None]).clamp(-1, 1)


def test_twin_head_learns_the_labels_of_fakes():
    """D's updates train the twin head on the fakes they see, with the labels they were made with:
    its CE on a fixed set of fakes falls from chance (ln 10 = 2.30), its logged accuracy rises."""
    ctx = _ctx(1.0)
    ctx.modules = {**ctx.modules, "G": _TemplateG()}
    D = ctx.modules["D"]
    gen = torch.Generator().manual_seed(7)
    z, y = torch.randn(256, 16, generator=gen), torch.randint(0, 10, (256,), generator=gen)
    fakes = ctx.modules["G"](z, y)

    def twin_ce() -> float:
        with torch.no_grad():
            return F.cross_entropy(D.heads(fakes)[2], y).item()

    before = twin_ce()
    rows = [d_updates(ctx, ctx.next_batch(), 16, 1, False, None, twin=True)[0] for _ in range(20)]
    after = twin_ce()
    # measured 2.40 -> 0.43 (CPU, seed 0)
    assert before > 2.0 and after < 1.2, (before, after)
    assert {"loss_d", "loss_twin", "twin_acc"} <= set(rows[-1])
    assert rows[0]["twin_acc"] < 0.5 < rows[-1]["twin_acc"]
    assert rows[-1]["loss_twin"] < rows[0]["loss_twin"] - 0.5


def test_generators_loss_subtracts_the_twin_ce():
    """Same state, same draws: loss_g with twin_weight w is loss_g without the twin term minus
    w * CE(C_twin(G(z, y)), y)."""
    losses = {}
    for w in (0.0, 1.0, 2.5):
        ctx = _ctx(1.0)  # the same modules every time (the twin head exists, weighted w)
        losses[w] = g_updates(ctx, 32, 16, 1, False, 1.0, twin_weight=w)
    base = losses[0.0]["loss_g"]
    assert "loss_g_twin" not in losses[0.0]
    for w in (1.0, 2.5):
        row = losses[w]
        assert row["loss_g_class"] == losses[0.0]["loss_g_class"]
        assert row["loss_g"] == pytest.approx(base - w * row["loss_g_twin"], abs=1e-5)
        assert row["loss_g_twin"] > 1.0


def test_twin_off_is_the_plain_acgan_step_and_twin_needs_the_head():
    """twin_weight 0 draws and updates exactly as before (no twin keys, no twin logs); a twin weight
    without a twin head is refused."""
    row = classifier_gan_step(_ctx(0.0), _ctx(0.0).next_batch(), 16)
    assert not {"loss_twin", "twin_acc", "loss_g_twin"} & set(row)
    with pytest.raises(ValueError, match="twin class head"):
        classifier_gan_step(_ctx(0.0), _ctx(0.0).next_batch(), 16, twin_weight=1.0)
    ctx = _ctx(1.0)
    row = classifier_gan_step(ctx, ctx.next_batch(), 16, twin_weight=1.0)
    assert {"loss_twin", "twin_acc", "loss_g_twin"} <= set(row)


def test_resume_with_twin_is_exact(tmp_path):
    common = ("--checkpoint-every", "3", "--twin-weight", "1", *SMALL)
    full, part = train_and_resume("acgan", tmp_path, 6, *common)
    a = load_file(str(full / "checkpoints" / "step-00000006" / "weights.safetensors"))
    b = load_file(str(part / "checkpoints" / "step-00000006" / "weights.safetensors"))
    assert any(k.startswith("D.twin.") for k in a) and set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    opts = load_state(latest_checkpoint(full))["optimizers"]
    assert len(opts["D"]["state"]) == len(list(_ctx(1.0).modules["D"].adversarial_parameters()))
    rows = [json.loads(ln) for ln in (part / "metrics.jsonl").read_text().splitlines()]
    assert all("loss_twin" in r and "twin_acc" in r and "loss_g_twin" in r for r in rows)


def test_export_with_twin_keeps_the_classifier_and_discriminator_graphs(tmp_path):
    infos = {}
    for w in ("0", "1"):
        out = tmp_path / f"w{w}"
        run("train", "acgan", "--steps", 2, "--out", out / "run", "--twin-weight", w, *SMALL)
        run("export", out / "run", "-o", out / "m.onnx", "--with-discriminator")
        infos[w] = {g: read_info(out / f"m.{g}.onnx") for g in ("classifier", "discriminator")}
    for graph in ("classifier", "discriminator"):
        off, on = infos["0"][graph], infos["1"][graph]
        assert on.input_names() == off.input_names() == ["image"]
        assert [(t.name, t.shape) for t in on.outputs] == [(t.name, t.shape) for t in off.outputs]
        assert 0 <= on.parity_max_abs_error <= 1e-4
    assert [t.name for t in infos["1"]["classifier"].outputs] == ["logits", "probs"]
    assert [t.name for t in infos["1"]["discriminator"].outputs] == ["logit", "class_logits"]


def test_run_saved_before_the_option_loads_resumes_and_exports_without_twin(tmp_path):
    """A config.json written before ``twin_weight`` existed gets acgan's ``legacy_config`` value
    (0: no twin head, as its checkpoint), not the new default, through load, resume and export."""
    from gansrv.train.load import load_run

    family = registry().families["acgan"]
    assert family.legacy_config == {"twin_weight": 0.0}
    assert family.saved_config({}).twin_weight == 0.0
    assert family.saved_config({"twin_weight": 2.0}).twin_weight == 2.0
    out = tmp_path / "old"
    run("train", "acgan", "--steps", 2, "--out", out, "--twin-weight", "0", "--checkpoint-every", "2",
        *SMALL)
    cfg = json.loads((out / "config.json").read_text())
    del cfg["config"]["twin_weight"]  # as an older gansrv wrote it
    (out / "config.json").write_text(json.dumps(cfg))
    loaded = load_run(out)
    assert loaded.config.twin_weight == 0.0 and loaded.modules["D"].twin is None
    run("train", "acgan", "--resume", out, "--steps", 3, "--no-progress")
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 3 and "loss_twin" not in rows[-1]
    run("export", out, "-o", tmp_path / "m.onnx")
    assert read_info(tmp_path / "m.classifier.onnx").parity_max_abs_error <= 1e-4
