"""The data-efficient D mechanism: DiffAugment ops (differentiable, seeded), the ADA controller of p,
exact resume, what config.json records, and older runs loading as they were saved."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from gansrv.kits import data_efficient as de
from gansrv.nn.augment import translate
from gansrv.plugins import registry
from gansrv.train.load import load_run
from tests.conftest import assert_same_weights, one_line_error, run, train_and_resume
from tests.paired_tasks import mnist_digits, write_pair_folders

SMALL = ("--limit", "256", "--batch-size", "32", "--no-progress", "--sample-every", "0")


class Ctx(SimpleNamespace):
    """The parts of a StepContext the mechanism reads: config, state, step, seeded draws."""

    def rand(self, *shape):
        return torch.rand(*shape, generator=self.generator)

    def randint(self, high, *shape):
        return torch.randint(high, shape, generator=self.generator)


def ctx(seed=0, images=100, **config):
    options = de.AugmentOptions(**{"augment": "on", **config})
    return Ctx(config=options, state={}, step=0, generator=torch.Generator().manual_seed(seed),
               stream=SimpleNamespace(images=range(images)))


def test_ops_are_seeded_and_differentiable():
    x = (torch.rand(6, 3, 16, 16) * 2 - 1).requires_grad_(True)
    a = de.apply(x, de.OPS, 1.0, ctx(seed=3))
    b = de.apply(x, de.OPS, 1.0, ctx(seed=3))
    assert torch.equal(a, b) and not torch.equal(a, de.apply(x, de.OPS, 1.0, ctx(seed=4)))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # G gets gradients through T


def test_cutout_blanks_half_the_side_and_colour_skips_grey():
    x = torch.ones(64, 1, 16, 16)
    out = de.cutout(x, ctx())
    blanked = (out == 0).flatten(1).sum(1)
    assert blanked.max() == 64 and blanked.min() >= 1  # an 8x8 square, clipped at the border
    grey = torch.rand(4, 1, 8, 8)
    assert torch.equal(de.apply(grey, ("colour",), 1.0, ctx()), grey)


def test_translation_draws_as_cgans_former_augment():
    x = torch.rand(5, 1, 12, 12)
    assert torch.equal(de.translation(x, ctx(seed=1), 2), translate(x, 2, ctx(seed=1)))


def test_probability_masks_images_and_zero_is_identity():
    x = torch.rand(400, 1, 8, 8)
    assert torch.equal(de.apply(x, ("cutout",), 0.0, ctx()), x)
    changed = (de.apply(x, ("cutout",), 0.25, ctx()) != x).flatten(1).any(1).float().mean()
    assert 0.15 < changed < 0.35


def test_ada_controller_moves_p_with_the_overfitting_signal():
    c = ctx()
    sure = torch.ones(32)  # D calls every real image real: r_t = 1 > 0.6
    for step in range(8):
        c.step = step
        row = de.observe(c, sure)
    assert row["augment_p"] == pytest.approx(2 * de.INTERVAL / de.RAMP_STEPS)
    for step in range(8, 16):
        c.step = step
        row = de.observe(c, -sure)
    assert row["augment_p"] == 0.0  # down again, never below 0
    plain = ctx(augment_target=0.0)
    assert de.observe(plain, sure) == {"augment_p": 1.0} and de.probability(plain) == 1.0
    assert de.observe(ctx(augment="off"), sure) == {}


def test_auto_is_decided_by_the_training_set_size():
    spec = SimpleNamespace(count=de.SMALL_DATA - 1)
    assert de.AugmentOptions().for_data(spec).augment == "on"
    assert de.AugmentOptions().for_data(SimpleNamespace(count=de.SMALL_DATA)).augment == "off"
    assert de.AugmentOptions(augment="off").for_data(spec).augment == "off"


def test_a_family_that_opted_out_stays_off_under_auto():
    spec = SimpleNamespace(count=de.SMALL_DATA - 1)
    cgan, acgan = (registry().families[f].Config for f in ("cgan", "acgan"))
    assert cgan().for_data(spec).augment == "off" and cgan(augment="on").for_data(spec).augment == "on"
    assert acgan().for_data(spec).augment == "on"


# In 12 smoke steps the D of ebgan, began and infogan is not yet sure of the real images (r_t < 0),
# so ADA's p rightly stays 0 and T would be the identity: they run plain DiffAugment (p = 1), so
# that the resume must repeat every draw of every op. The controller's state is the same code.
PLAIN = ("--augment-target", "0")


@pytest.mark.parametrize("family, extra", [("cgan", ()), ("acgan", ()), ("wgan-gp", ()),
                                           ("ebgan", PLAIN), ("began", PLAIN),
                                           ("infogan", PLAIN), ("gman", PLAIN),
                                           ("madgan", PLAIN)])
def test_resume_augments_exactly(tmp_path, family, extra):
    smoke = registry().families[family].smoke_args
    common = ("--checkpoint-every", "4", "--augment", "on", *extra, *smoke, *SMALL)
    full, part = train_and_resume(family, tmp_path, 12, *common)
    a = load_file(str(full / "checkpoints" / "step-00000012" / "weights.safetensors"))
    b = load_file(str(part / "checkpoints" / "step-00000012" / "weights.safetensors"))
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    last = [json.loads((d / "metrics.jsonl").read_text().splitlines()[-1]) for d in (full, part)]
    assert last[0]["augment_p"] > 0  # p moved, and the resumed run moved it the same way
    assert last[0]["augment_p"] == last[1]["augment_p"]


def test_config_json_records_the_decision(tmp_path):
    small, forced = tmp_path / "small", tmp_path / "off"
    run("train", "dcgan", "--steps", 1, "--out", small, "--g-width", "8", "--d-width", "8", *SMALL)
    run("train", "dcgan", "--steps", 1, "--out", forced, "--augment", "off", "--g-width", "8",
        "--d-width", "8", *SMALL)
    assert json.loads((small / "config.json").read_text())["config"]["augment"] == "on"
    assert json.loads((forced / "config.json").read_text())["config"]["augment"] == "off"
    assert "augment_p" not in (forced / "metrics.jsonl").read_text()


@pytest.mark.parametrize("family", ["ebgan", "began", "infogan", "gman", "madgan"])
def test_families_with_their_own_loop_record_and_follow_the_decision(tmp_path, family):
    smoke = registry().families[family].smoke_args
    on, off = tmp_path / "auto", tmp_path / "off"
    run("train", family, "--steps", 1, "--out", on, *smoke, *SMALL)
    run("train", family, "--steps", 1, "--out", off, "--augment", "off", *smoke, *SMALL)
    assert json.loads((on / "config.json").read_text())["config"]["augment"] == "on"
    assert "augment_p" in (on / "metrics.jsonl").read_text()
    assert json.loads((off / "config.json").read_text())["config"]["augment"] == "off"
    assert "augment_p" not in (off / "metrics.jsonl").read_text()
    saved = json.loads((on / "config.json").read_text())
    for key in ("augment", "augment_policy", "augment_target", "augment_shift"):
        saved["config"].pop(key)
    (on / "config.json").write_text(json.dumps(saved))
    assert load_run(on).config.augment == "off"  # a run saved before the mechanism trained without


def test_pix2pix_augments_its_pairs_and_resumes_exactly(tmp_path, mnist_dir):
    """One T on each joined (input, output) pair (plain DiffAugment, p = 1, so every draw counts);
    the resumed run repeats them all, and `auto` turned it on for 32 pairs."""
    pairs = write_pair_folders(tmp_path / "pairs", mnist_digits(mnist_dir, 0, 32))
    common = ("--data", pairs, "--image-size", "20", "--crop-size", "16", "--ngf", "8", "--ndf", "8",
              "--patch", "16", "--batch-size", "16", "--no-progress", "--augment-target", "0")
    full, part = train_and_resume("pix2pix", tmp_path, 4, *common)
    assert_same_weights(full, part, ("G", "D"))
    assert json.loads((full / "config.json").read_text())["config"]["augment"] == "on"
    assert json.loads((full / "metrics.jsonl").read_text().splitlines()[-1])["augment_p"] == 1.0
    saved = json.loads((full / "config.json").read_text())
    for key in ("augment", "augment_policy", "augment_target", "augment_shift"):
        saved["config"].pop(key)
    (full / "config.json").write_text(json.dumps(saved))
    assert load_run(full).config.augment == "off"  # a run saved before the mechanism


def test_bad_policy_is_one_line_error(tmp_path):
    result = run("train", "cgan", "--augment-policy", "translation,zoom", "--steps", 1, "--out",
                 tmp_path / "r", *SMALL, expect=None)
    assert "zoom" in one_line_error(result, 2)
    assert not (tmp_path / "r").exists()


def test_runs_saved_before_the_mechanism_load_as_they_trained(tmp_path):
    out = tmp_path / "old"
    run("train", "cgan", "--steps", 2, "--out", out, "--g-width", "8", "--d-width", "8", *SMALL)
    path = out / "config.json"
    saved = json.loads(path.read_text())
    for key in ("augment", "augment_policy", "augment_target", "augment_shift"):
        saved["config"].pop(key)
    saved["config"]["augment"] = 2  # cgan's former pixel count
    path.write_text(json.dumps(saved))
    config = load_run(out).config
    assert (config.augment, config.augment_policy, config.augment_target, config.augment_shift) == \
        ("on", "translation", 0.0, 2)
    saved["config"].pop("augment")  # a run from before cgan had --augment at all
    path.write_text(json.dumps(saved))
    assert load_run(out).config.augment == "off"
    run("train", "cgan", "--resume", out, "--steps", 3, "--no-progress")
