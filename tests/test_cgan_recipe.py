"""cgan's recipe helpers: the moving average of G's weights (formula, what gets exported, exact resume)
and the translation applied before D (shifts, gradients, seeded)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from gansrv.nn.augment import translate
from gansrv.nn.ema import effective_decay, ema_copy, ema_update
from gansrv.runtime import Generator, noise
from gansrv.train.load import load_run
from gansrv_plugins.cgan import EMA
from tests.conftest import run, train_and_resume

SMALL = ("--g-width", "16", "--d-width", "16", "--limit", "256", "--batch-size", "32",
         "--no-progress", "--sample-every", "0")


def test_update_averages_parameters_and_copies_buffers():
    torch.manual_seed(0)
    live = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    avg = ema_copy(live)
    before = [p.clone() for p in avg.parameters()]
    with torch.no_grad():
        for p in live.parameters():
            p.add_(1.0)
    live(torch.randn(8, 3))  # moves BatchNorm's running statistics
    ema_update(avg, live, 0.9, step=1000)
    for a, b, p in zip(avg.parameters(), before, live.parameters()):
        torch.testing.assert_close(a, 0.9 * b + 0.1 * p)
        assert not a.requires_grad
    for a, b in zip(avg.buffers(), live.buffers()):
        assert torch.equal(a, b)
    assert effective_decay(0.999, 0) == pytest.approx(0.1)  # early weights fade fast
    assert effective_decay(0.999, 10**6) == 0.999
    assert effective_decay(0.5, 100) == 0.5


def test_export_and_sample_grid_use_the_average(tmp_path):
    out = tmp_path / "run"
    run("train", "cgan", "--ema", "0.999", "--steps", 3, "--out", out, *SMALL)
    model = tmp_path / "cgan.onnx"
    run("export", out, "-o", model)
    loaded = load_run(out)
    G, avg = loaded.modules["G"], loaded.modules[EMA]
    assert not all(torch.equal(a, b) for a, b in zip(avg.parameters(), G.parameters()))
    assert loaded.family.export_graphs(loaded.modules, loaded.config, loaded.spec)[0].module is avg
    gen = Generator.from_file(model, provider="cpu")
    z, y = torch.from_numpy(noise(3, range(6), gen.info.latent_dim)), torch.arange(6) % 10
    with torch.no_grad():
        sampled = loaded.family.sample(loaded.modules, z, y)  # what the training grids show
        assert torch.equal(sampled, avg(z, y)) and not torch.equal(sampled, G(z, y))
    want = np.clip(np.rint((sampled.numpy() + 1) * 127.5), 0, 255).transpose(0, 2, 3, 1)
    assert np.abs(gen.generate(6, seed=3).astype(int) - want).max() <= 1


def test_by_default_no_copy_is_kept_and_g_is_exported(exports):  # noqa: F811
    out = exports("cgan").run_dir
    ckpt = out / "checkpoints" / (out / "checkpoints" / "latest").read_text().strip()
    assert not any(k.startswith(EMA + ".") for k in load_file(str(ckpt / "weights.safetensors")))
    loaded = load_run(out)
    assert set(loaded.modules) == {"G", "D"}
    assert loaded.family.export_graphs(loaded.modules, loaded.config, loaded.spec)[0].module is \
        loaded.modules["G"]


def test_resume_continues_the_average_and_the_shifts_exactly(tmp_path):
    common = ("--checkpoint-every", "4", "--ema", "0.999", "--augment", "on", *SMALL)
    full, part = train_and_resume("cgan", tmp_path, 8, *common)
    a = load_file(str(full / "checkpoints" / "step-00000008" / "weights.safetensors"))
    b = load_file(str(part / "checkpoints" / "step-00000008" / "weights.safetensors"))
    ema_keys = [k for k in a if k.startswith(EMA + ".")]
    assert ema_keys and set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


class _Ctx:
    """The one thing translate takes from a step context: seeded integers."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)

    def randint(self, high: int, *shape: int) -> torch.Tensor:
        return torch.randint(high, shape, generator=self.generator)


def test_translate_shifts_each_image_within_bounds_and_passes_gradients():
    x = torch.full((64, 1, 6, 6), -1.0)
    x[:, :, 2:4, 2:4] = torch.arange(64.0)[:, None, None, None]  # a 2x2 blob, one value per image
    x.requires_grad_(True)
    out = translate(x, 2, _Ctx(0))
    assert out.shape == x.shape
    offsets = set()
    for i in range(64):
        ys, xs = torch.nonzero(out[i, 0] == i, as_tuple=True)
        assert len(ys) == 4 and (out[i, 0] == -1).sum() == 32  # moved whole, background filled
        offsets.add((int(ys.min()) - 2, int(xs.min()) - 2))
    assert offsets <= {(a, b) for a in range(-2, 3) for b in range(-2, 3)} and len(offsets) > 10
    out.sum().backward()
    assert x.grad[:, :, 2:4, 2:4].eq(1).all()  # every blob pixel reaches the output once
    assert torch.equal(translate(x, 2, _Ctx(0)), out) and not torch.equal(translate(x, 2, _Ctx(1)), out)
    assert translate(x, 0, _Ctx(0)) is x
