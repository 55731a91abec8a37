"""gansrv.train.checkpoint on real files: the folder layout, the ``latest`` pointer, pruning, the
safetensors header, strict loading and the one-line errors, and a write cut short by a file-size
limit leaving the previous checkpoint as it was.

Written from the surviving mutants of a mutation run (docs/reliability.md, "Mutation testing").
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from gansrv import __version__
from gansrv.errors import UserError
from gansrv.train.checkpoint import (
    STATE,
    WEIGHTS,
    latest_checkpoint,
    load_state,
    load_weights,
    save_checkpoint,
)
from tests.conftest import file_size_limit


def modules(seed: int) -> dict[str, torch.nn.Module]:
    torch.manual_seed(seed)
    return {"G": torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)),
            "D": torch.nn.Linear(4, 1)}


def save(run_dir: Path, step: int, seed: int = 0, **kw) -> Path:
    state = {"step": step, "opt": {"lr": torch.tensor([0.5, 0.25])}}
    return save_checkpoint(run_dir, step, modules(seed), state, {"family": "toy"}, **kw)


def names(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir())


def test_layout_pointer_header_and_round_trip(tmp_path: Path) -> None:
    run_dir = tmp_path / "new" / "run"  # parents made
    ckpt = save(run_dir, 7, seed=1)
    assert ckpt == run_dir / "checkpoints" / "step-00000007"
    assert names(run_dir) == ["latest", "step-00000007"]
    assert sorted(p.name for p in ckpt.iterdir()) == sorted([WEIGHTS, STATE])
    assert (run_dir / "checkpoints" / "latest").read_bytes() == b"step-00000007\n"
    with safe_open(str(ckpt / WEIGHTS), framework="pt") as fh:
        assert sorted(fh.keys()) == ["D.bias", "D.weight", "G.0.bias", "G.0.weight", "G.1.bias",
                                     "G.1.num_batches_tracked", "G.1.running_mean", "G.1.running_var",
                                     "G.1.weight"]
    fresh = modules(2)
    meta = load_weights(ckpt, fresh)
    assert meta == {"family": "toy", "step": "7", "gansrv_version": __version__}
    for role, module in modules(1).items():
        for (key, want), got in zip(module.state_dict().items(), fresh[role].state_dict().values()):
            assert torch.equal(want, got), (role, key)
    state = load_state(ckpt)
    assert state["step"] == 7 and torch.equal(state["opt"]["lr"], torch.tensor([0.5, 0.25]))


def test_two_checkpoints_are_kept_by_default_and_a_rewrite_replaces(tmp_path: Path) -> None:
    for step in (1, 2, 3):
        save(tmp_path, step)
    assert names(tmp_path) == ["latest", "step-00000002", "step-00000003"]
    save(tmp_path, 3, seed=5)  # the same step again (a resumed run): the new weights win
    fresh = modules(0)
    load_weights(tmp_path / "checkpoints" / "step-00000003", fresh)
    assert torch.equal(fresh["D"].weight, modules(5)["D"].weight)
    assert names(tmp_path) == ["latest", "step-00000002", "step-00000003"]


def test_pruning_spares_the_newest_and_other_folders(tmp_path: Path) -> None:
    save(tmp_path, 20, keep=0)
    (tmp_path / "checkpoints" / "archive").mkdir()
    save(tmp_path, 10, keep=0)  # keep 0: nothing pruned
    assert names(tmp_path) == ["archive", "latest", "step-00000010", "step-00000020"]
    save(tmp_path, 15, keep=1)  # sorts between: the newest is kept though it is not the last
    assert names(tmp_path) == ["archive", "latest", "step-00000015", "step-00000020"]
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "step-00000015"
    save(tmp_path, 30, keep=1)
    assert names(tmp_path) == ["archive", "latest", "step-00000030"]


def test_a_half_written_folder_of_a_killed_run_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "checkpoints" / ".tmp-step-00000005"
    stale.mkdir(parents=True)
    (stale / WEIGHTS).write_bytes(b"cut")
    save(tmp_path, 5)
    assert names(tmp_path) == ["latest", "step-00000005"]
    load_weights(tmp_path / "checkpoints" / "step-00000005", modules(3))


def test_a_write_cut_short_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    save(tmp_path, 1)
    big = {"G": torch.nn.Linear(400, 400), "D": torch.nn.Linear(4, 1)}  # 640 kB of weights
    with file_size_limit(64 * 1024), pytest.raises(OSError) as caught:
        save_checkpoint(tmp_path, 2, big, {"step": 2}, {})
    assert caught.value.errno == errno.EFBIG
    assert names(tmp_path) == ["latest", "step-00000001"]
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "step-00000001"


def test_latest_follows_the_pointer_else_the_newest_complete(tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path) is None
    root = tmp_path / "checkpoints"
    for step in (1, 2, 3):
        save(tmp_path, step, keep=0)
    (root / "latest").write_text("step-00000001\n")  # an older complete one: the pointer wins
    assert latest_checkpoint(tmp_path) == root / "step-00000001"
    (root / "step-00000003" / STATE).unlink()  # the newest lacks its state
    (root / "step-00000002" / WEIGHTS).unlink()  # the one before lacks its weights
    (root / "latest").write_text("step-00000003\n")
    assert latest_checkpoint(tmp_path) == root / "step-00000001"
    (root / "latest").unlink()
    assert latest_checkpoint(tmp_path) == root / "step-00000001"
    (root / "step-00000001" / STATE).unlink()
    assert latest_checkpoint(tmp_path) is None


def test_weights_of_another_shape_or_a_broken_file_are_one_line_errors(tmp_path: Path) -> None:
    ckpt = save(tmp_path, 1)
    other = {"G": torch.nn.Linear(3, 4), "D": torch.nn.Linear(4, 1)}
    with pytest.raises(UserError) as caught:
        load_weights(ckpt, other)
    message = str(caught.value)
    assert message.startswith(f"{ckpt / WEIGHTS}: weights do not fit module 'G' (")
    assert "Error(s) in loading state_dict" in message and "\n" not in message
    extra = {**modules(0), "E": torch.nn.Linear(1, 1)}
    with pytest.raises(UserError, match="weights do not fit module 'E'"):
        load_weights(ckpt, extra)
    (ckpt / WEIGHTS).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    with pytest.raises(UserError, match=re.escape(f"{ckpt / WEIGHTS}: unreadable checkpoint weights (")):
        load_weights(ckpt, modules(0))
    (ckpt / STATE).write_bytes(b"not a torch file")
    with pytest.raises(UserError) as caught:
        load_state(ckpt)
    assert re.fullmatch(re.escape(f"{ckpt / STATE}: unreadable checkpoint state (") + r"\w+\)",
                        str(caught.value))
    assert "NoneType" not in str(caught.value)


def test_a_header_without_metadata_loads_as_an_empty_header(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    ckpt = tmp_path / "step-00000001"
    ckpt.mkdir()
    toy = {"D": torch.nn.Linear(2, 1)}
    save_file({f"D.{k}": v for k, v in toy["D"].state_dict().items()}, str(ckpt / WEIGHTS))
    assert load_weights(ckpt, toy) == {}
