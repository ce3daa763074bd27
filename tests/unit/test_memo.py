"""Memoising by identity: a result is reused only for the very same inputs, never for an
equal copy or a changed config (a stale lookup would plan on the wrong sleeve)."""

from __future__ import annotations

from console.core.memo import by_identity
from tests import factories as f


def test_reused_for_the_same_object_recomputed_for_another():
    calls = []

    @by_identity()
    def total(xs: tuple[float, ...]) -> float:
        calls.append(xs)
        return sum(xs)

    a = (1.0, 2.0)
    assert total(a) == 3.0 and total(a) == 3.0
    assert len(calls) == 1
    b = tuple([1.0, 2.0])  # equal, but another object: its own entry
    assert total(b) == 3.0 and len(calls) == 2


def test_a_full_cache_is_cleared_and_still_answers_right():
    @by_identity(maxsize=2)
    def neg(xs: tuple[int, ...]) -> int:
        return -sum(xs)

    keep = [tuple([i]) for i in range(5)]
    assert [neg(x) for x in keep] == [0, -1, -2, -3, -4]
    assert [neg(x) for x in keep] == [0, -1, -2, -3, -4]


def test_sleeve_lookup_follows_a_copied_config():
    cfg = f.config('[[sleeves]]\nname = "BTC"\nassets = ["BTC"]\ntarget = 0.6\n'
                   '[[sleeves]]\nname = "USD"\nassets = ["USDT"]\ntarget = 0.4\n')
    assert cfg.sleeve("BTC").target == 0.6
    moved = cfg.model_copy(update={"sleeves": (cfg.sleeves[0].model_copy(update={"target": 0.5}), cfg.sleeves[1])})
    assert moved.sleeve("BTC").target == 0.5
    assert cfg.sleeve("BTC").target == 0.6
