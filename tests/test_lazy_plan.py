"""The plan is a rule of the index, not a list: the same (index, label) pairs as the list it replaced,
a 10^9-image plan in constant memory, and shard slices computed without walking the whole plan."""

from __future__ import annotations

import tracemalloc

import pytest

from gansrv.errors import UserError
from gansrv.generate.plan import MAX_SHARDED_IMAGES, Shard, balance_plan, make_plan, with_codes
from gansrv.runtime.codes import Sweep

NAMES = [f"c{k}" for k in range(5)]


def test_the_rules_give_the_pairs_of_the_old_lists() -> None:
    plan = make_plan(n=17, per_class=None, classes=[3, 1], class_names=NAMES, conditional=True)
    assert list(plan.entries) == [(i, [3, 1][i % 2]) for i in range(17)]
    plan = make_plan(n=6, per_class=None, classes=None, class_names=[], conditional=False)
    assert list(plan.entries) == [(i, -1) for i in range(6)]
    plan = make_plan(n=None, per_class=4, classes=[2, 0, 4], class_names=NAMES, conditional=True)
    assert list(plan.entries) == [(pos * 4 + m, c) for pos, c in enumerate([2, 0, 4]) for m in range(4)]
    assert plan.entries[5] == (5, 0) and plan.entries[-1] == (11, 4) and plan.entries[3:6] == [
        (3, 2), (4, 0), (5, 0)]
    with pytest.raises(IndexError):
        plan.entries[12]
    swept = with_codes(plan, None, Sweep(1, (-1.0, 0.0, 1.0)))
    assert list(swept.entries) == [(i * 3 + t, c) for i, c in plan.entries for t in range(3)]
    balanced = balance_plan({"c0": 5, "c1": 2, "c2": 5, "c3": 0}, NAMES, "real")
    assert list(balanced.entries) == [(0, 1), (1, 1), (2, 1), (3, 3), (4, 3), (5, 3), (6, 3), (7, 3)]


def test_a_shard_of_the_plan_is_every_nth_image() -> None:
    plan = make_plan(n=None, per_class=7, classes=None, class_names=NAMES, conditional=True)
    for n in (1, 2, 3, 40):
        for k in range(1, n + 1):
            assert plan.shard(Shard(k, n)) == [e for e in plan.entries if e[0] % n == k - 1]


def test_a_billion_image_plan_is_as_small_as_a_short_one() -> None:
    tracemalloc.start()
    try:
        plan = make_plan(n=MAX_SHARDED_IMAGES, per_class=None, classes=None, class_names=NAMES,
                         conditional=True, limit=MAX_SHARDED_IMAGES)
        per_class = make_plan(n=None, per_class=MAX_SHARDED_IMAGES // 5, classes=None,
                              class_names=NAMES, conditional=True, limit=MAX_SHARDED_IMAGES)
        last = plan.entries[MAX_SHARDED_IMAGES - 1], per_class.entries[MAX_SHARDED_IMAGES - 1]
        window = per_class.entries[10**9 - 3:10**9]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(plan.entries) == len(per_class.entries) == 10**9
    assert last == ((10**9 - 1, (10**9 - 1) % 5), (10**9 - 1, 4))
    assert window == [(10**9 - 3, 4), (10**9 - 2, 4), (10**9 - 1, 4)]
    assert peak < 1 << 20  # bytes: no list of the images


def test_the_one_file_per_image_formats_keep_their_ceiling() -> None:
    with pytest.raises(UserError, match="between 1 and 1,000,000"):
        make_plan(n=10**6 + 1, per_class=None, classes=None, class_names=NAMES, conditional=True)
    with pytest.raises(UserError, match="at most 1,000,000,000 images"):
        make_plan(n=None, per_class=10**9, classes=None, class_names=NAMES, conditional=True,
                  limit=MAX_SHARDED_IMAGES)
