"""cyclegan --variant dualgan|discogan: the variant's defaults resolved and recorded, its own losses
(critic clipping, the Wasserstein estimate), exact resume, both directions exported with parity;
and colour jitter, seeded and exact on resume."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from gansrv.nn.augment import colour_jitter
from gansrv.runtime import Translator, read_info
from gansrv.train.load import load_run
from tests.conftest import assert_same_weights, one_line_error, run

SMALL = ("--image-size", "32", "--ngf", "4", "--ndf", "4", "--blocks", "1", "--batch-size", "2",
         "--no-progress", "--sample-every", "0")


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unpaired")
    rng = np.random.default_rng(0)
    for side, n in (("trainA", 4), ("trainB", 3)):
        (root / side).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
                root / side / f"{i}.png")
    return root


def _config(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())["config"]


def _export_checks(run_dir: Path, model: Path, variant: str) -> None:
    """Both directions exported, variant in the metadata, ORT == torch at a second size."""
    run("export", run_dir, "-o", model)
    modules = load_run(run_dir).modules
    rng = np.random.default_rng(1)
    for path, role, direction in ((model, "G_AB", "AtoB"),
                                  (model.with_name(f"{model.stem}.generator_ba.onnx"), "G_BA", "BtoA")):
        info = read_info(path)
        assert info.extra["variant"] == variant and info.extra["direction"] == direction
        assert info.config["variant"] == variant
        assert 0 <= info.parity_max_abs_error <= 1e-4
        images = rng.integers(0, 256, (2, 40, 48, 3), dtype=np.uint8)
        with torch.no_grad():
            x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1)
            want = np.clip(np.rint((modules[role](x).numpy() + 1) * 127.5), 0, 255)
        got = Translator.from_file(path, provider="cpu").translate(images)
        assert np.abs(got.astype(int) - want.transpose(0, 2, 3, 1)).max() <= 1


def test_dualgan_clips_critics_resumes_exactly_with_jitter_and_exports(domains, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    args = ("--variant", "dualgan", "--jitter", "0.3", "--data", domains, *SMALL)
    run("train", "cyclegan", "--steps", "2", "--out", straight, *args)
    config = _config(straight)
    assert config["variant"] == "dualgan" and {"cycle_weight": 100.0, "identity_weight": 0.0,
                                               "pool_size": 0, "lr": 5e-5}.items() <= config.items()
    run("train", "cyclegan", "--steps", "1", "--out", split, *args)
    run("train", "cyclegan", "--resume", split, "--steps", "2", "--no-progress")
    # fresh critic batches, clipping and colour jitter included
    assert_same_weights(straight, split, ("G_AB", "G_BA", "D_A", "D_B"))
    row = json.loads((straight / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"d_a", "d_b", "g_gan", "cycle", "wasserstein"} <= set(row)
    loaded = load_run(straight)
    for role in ("D_A", "D_B"):  # clipped after every critic update
        assert max(p.abs().max().item() for p in loaded.modules[role].parameters()) <= 0.01 + 1e-7
    opts = loaded.family.optimizers(loaded.config, loaded.modules)
    assert all(isinstance(o, torch.optim.RMSprop) for o in opts.values())
    _export_checks(straight, tmp_path / "dual.onnx", "dualgan")


def test_discogan_records_its_recipe_and_exports(domains, tmp_path):
    out = tmp_path / "run"
    run("train", "cyclegan", "--variant", "discogan", "--data", domains, "--steps", "2", "--out",
        out, *SMALL)
    config = _config(out)
    assert config["variant"] == "discogan" and {"cycle_weight": 1.0, "identity_weight": 0.0,
                                                "pool_size": 0, "lr": 2e-4}.items() <= config.items()
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"d_a", "d_b", "g_gan", "cycle"} <= set(row) and "wasserstein" not in row
    _export_checks(out, tmp_path / "disco.onnx", "discogan")


def test_variant_defaults_yield_to_flags_and_unknown_variants_are_refused(domains, tmp_path):
    out = tmp_path / "run"
    run("train", "cyclegan", "--variant", "dualgan", "--cycle-weight", "7", "--pool-size", "2",
        "--data", domains, "--steps", "1", "--out", out, *SMALL)
    config = _config(out)
    assert (config["cycle_weight"], config["pool_size"], config["lr"]) == (7.0, 2, 5e-5)
    res = run("train", "cyclegan", "--variant", "stargan", "--data", domains, "--steps", "1",
              "--out", tmp_path / "bad", *SMALL, expect=None)
    assert "--variant" in one_line_error(res) and not (tmp_path / "bad").exists()


def test_default_variant_is_cyclegan_with_its_recipe():
    from gansrv_plugins.cyclegan import Config

    c = Config()
    assert (c.variant, c.cycle_weight, c.identity_weight, c.pool_size, c.lr) == \
        ("cyclegan", 10.0, 0.5, 50, 2e-4)
    saved = Config(variant="discogan", cycle_weight=3.0)  # what resume rebuilds from config.json
    assert Config(**vars(saved)) == saved and saved.pool_size == 0


def _ctx(seed: int) -> SimpleNamespace:
    """What colour_jitter takes from the step context: its seeded ``rand``."""
    gen = torch.Generator().manual_seed(seed)
    return SimpleNamespace(rand=lambda *shape: torch.rand(*shape, generator=gen), config=None)


def test_colour_jitter_is_seeded_bounded_and_off_at_zero():
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert colour_jitter(x, 0.0, _ctx(0)) is x
    a, b = colour_jitter(x, 0.4, _ctx(5)), colour_jitter(x, 0.4, _ctx(5))
    assert torch.equal(a, b) and not torch.equal(a, colour_jitter(x, 0.4, _ctx(6)))
    assert a.shape == x.shape and a.min() >= -1 and a.max() <= 1 and not torch.equal(a, x)
    grey = torch.zeros(2, 1, 8, 8)  # mid-grey: contrast and saturation pivot on it
    ctx = _ctx(1)
    factors = torch.rand(2, 3, generator=torch.Generator().manual_seed(1))
    want = ((0.5 * (1 + 0.4 * (2 * factors[:, 0] - 1))).clamp(0, 1) * 2 - 1).view(2, 1, 1, 1)
    assert torch.allclose(colour_jitter(grey, 0.4, ctx), want.expand(2, 1, 8, 8), atol=1e-6)


def test_cyclegan_variants_jitter_their_training_images():
    from gansrv_plugins.cyclegan import Config
    from gansrv_plugins.cyclegan.variants import real_pair

    a, b = torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8)
    ctx = _ctx(0)
    ctx.config = Config(variant="discogan", flip=False, jitter=0.5)
    ja, jb = real_pair((a, b), ctx)
    assert not torch.equal(ja, a) and not torch.equal(jb, b) and not torch.equal(ja, jb)
    ctx.config = Config(flip=False)
    assert real_pair((a, b), ctx) == (a, b)
