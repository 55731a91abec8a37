"""The mechanics the recipes share (update, frozen), the exporter's example inputs from the input
vocabulary, and the contract's answers for families written against its older names."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gansrv import DataForm, ExportSpec, Family, Kind
from gansrv.export.examples import example_inputs
from gansrv.nn.optim import frozen, update


def test_frozen_restores_every_flag_also_when_the_block_raises():
    D, C = nn.Linear(2, 1), nn.Linear(2, 3)
    C.bias.requires_grad_(False)  # frozen before: must stay frozen after
    with pytest.raises(RuntimeError, match="boom"), frozen(D, C, D):
        assert not any(p.requires_grad for p in [*D.parameters(), *C.parameters()])
        raise RuntimeError("boom")
    assert D.weight.requires_grad and D.bias.requires_grad and C.weight.requires_grad
    assert not C.bias.requires_grad


def test_update_steps_the_player_and_frozen_players_get_no_gradient():
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    opt = torch.optim.SGD(G.parameters(), lr=0.1)
    before = G.weight.detach().clone()
    with frozen(D):
        update(opt, D(G(torch.ones(4, 2))).mean())
    assert not torch.equal(before, G.weight) and D.weight.grad is None


def _run(num_classes=10, channels=1, size=28, latent=16):
    family = SimpleNamespace(name="t", latent_dim=lambda c: latent, image_size=lambda c: size)
    spec = SimpleNamespace(channels=channels, size=size, num_classes=num_classes, target_channels=3)
    return SimpleNamespace(family=family, config=None, spec=spec)


def test_example_inputs_follow_the_vocabulary_and_a_seed():
    spec = ExportSpec("g", nn.Identity(), ("z", "code", "label", "image", "target"),
                      shapes={"code": (2,)})
    a, b = example_inputs(spec, _run()), example_inputs(spec, _run())
    assert list(a) == ["z", "code", "label", "image", "target"]
    assert a["z"].shape == (2, 16) and a["code"].shape == (2, 2)
    assert a["label"].tolist() == [0, 1] and a["label"].dtype == torch.int64
    assert a["image"].shape == (2, 1, 28, 28) and a["target"].shape == (2, 3, 28, 28)
    assert all(torch.equal(a[k], b[k]) for k in a)  # repeatable
    assert a["image"].min() >= -1 and a["image"].max() <= 1


def test_an_input_outside_the_vocabulary_is_refused_by_name():
    from gansrv.errors import UserError

    with pytest.raises(UserError, match="'style'"):
        example_inputs(ExportSpec("g", nn.Identity(), ("style",)), _run())


class _Old(Family):  # written against the one-string pairing() and latent_dim() == 0
    kind = Kind.IMAGE

    def pairing(self, config):
        return config.side

    def latent_dim(self, config):
        return 0


def test_older_pairing_answers_are_read_by_data_form_and_direction():
    old = _Old()
    assert old.data_form(SimpleNamespace(side="BtoA")) is DataForm.PAIRED
    assert old.direction(SimpleNamespace(side="BtoA")) == "BtoA"
    assert old.data_form(SimpleNamespace(side="unpaired")) is DataForm.UNPAIRED
    assert not old.takes_noise(None)


def test_new_answers_make_the_older_pairing_string():
    class New(Family):
        kind = Kind.IMAGE

        def data_form(self, config):
            return DataForm.PAIRED

    assert New().pairing(SimpleNamespace(direction="BtoA")) == "BtoA"
    assert Family().pairing(None) is None and Family().data_form(None) is DataForm.IMAGES
