"""The margin rule's fast path (``planner._carries``): a linear leg adds at most its symbol's
notional after it as initial margin (every leverage is ≥ 1), so when the pool's free margin
covers that the account carries the leg without evaluating the pool after it. It must never
say "can carry" where the exact rule says "not enough margin".

World (tests/planner/world.py): the "fut" account lists BTC/USDT:USDT at 60,000, the dated BTC
future and ETH/USDT:USDT at 3,000, with positions, leverages, margin modes, entries and a USDT
balance drawn at random (seeded) for each case.
"""

from __future__ import annotations

import random

from console.core import planner
from console.core.overlay import Leg
from tests import factories as f
from tests.planner.world import DATED, world

PRICES = {"BTC/USDT:USDT": 60_000.0, DATED: 61_200.0, "ETH/USDT:USDT": 3_000.0}


def _case(rng: random.Random):
    positions = []
    for sym, px in PRICES.items():
        if rng.random() < 0.6:
            q = rng.choice([-1, 1]) * rng.uniform(0.001, 2.0) * 60_000 / px
            positions.append(f.position(sym, q, mark=px, entry=px * rng.uniform(0.8, 1.2),
                                        leverage=rng.choice([1, 2, 5, 20, 125]),
                                        margin_mode=rng.choice(["cross", "isolated"])))
    cfg, snap = world(positions=positions, margin=rng.uniform(0.0, 150_000.0))
    # the leverage a new position gets: 1 makes the bound tight (its initial margin is its notional)
    cfg = cfg.model_validate({**cfg.model_dump(), "limits": {**cfg.limits.model_dump(),
                                                             "max_leverage": rng.choice([1, 5])}})
    sym = rng.choice(list(PRICES))
    q = round(rng.uniform(0.001, 3.0) * 60_000 / PRICES[sym], 3)
    leg = Leg("BTC", "fut", sym, rng.choice(["buy", "sell"]), q, 1.0, True, PRICES[sym], False, "open")
    return planner._Ctx(cfg, snap, None, {}, 7, None, None), leg


def test_the_fast_path_never_carries_a_leg_the_exact_rule_finds_short() -> None:
    rng = random.Random(14)
    fast = short = 0
    for _ in range(400):
        ctx, leg = _case(rng)
        exact = planner._margin_short_exact(ctx, leg)
        carries = planner._carries(ctx, leg)
        assert not (carries and exact is not None), (leg, exact)
        assert planner.margin_short(ctx, leg) == exact  # the rule's answer is the exact one
        fast += carries
        short += exact is not None
    # both answers are common, so the assertion above is tested on both sides
    assert fast > 50 and short > 50, (fast, short)


def test_a_pool_just_short_of_the_bound_goes_to_the_exact_rule() -> None:
    # no position, a new position at 1x: buying 1 BTC perp adds 60,000 of initial margin, all of
    # the bound. 59,999 of free margin is under it: the fast path declines, the exact rule refuses
    cfg, snap = world(margin=59_999)
    cfg = cfg.model_validate({**cfg.model_dump(), "limits": {**cfg.limits.model_dump(), "max_leverage": 1}})
    ctx = planner._Ctx(cfg, snap, None, {}, 7, None, None)
    leg = Leg("BTC", "fut", "BTC/USDT:USDT", "buy", 1.0, 1.0, True, 60_000.0, False, "open")
    assert not planner._carries(ctx, leg)
    assert planner.margin_short(ctx, leg) == "fut: not enough margin (needs 60,000.00, has 59,999.00)"
    # with 60,001 the bound is covered: carried, as the exact rule agrees
    cfg2, snap2 = world(margin=60_001)
    ctx2 = planner._Ctx(cfg, snap2, None, {}, 7, None, None)
    assert planner._carries(ctx2, leg) and planner._margin_short_exact(ctx2, leg) is None
