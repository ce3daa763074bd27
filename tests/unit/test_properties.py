"""Hypothesis properties of the allocation core and the overlay legs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.core.allocation import compute_allocation
from console.core.config import Goal
from console.core.overlay import Scope, apply_legs, plan_overlay
from tests import factories as f

ASSETS = ("BTC", "ETH", "SOL")
STEP = {"BTC": 0.001, "ETH": 0.01, "SOL": 1.0}


@st.composite
def books(draw):
    prices = {a: draw(st.floats(min_value=5, max_value=100_000)) for a in ASSETS}
    qty = {a: draw(st.floats(min_value=0, max_value=1e6 / prices[a])) for a in ASSETS}
    usdt = draw(st.floats(min_value=0, max_value=1e6))
    raw = [draw(st.floats(min_value=0.05, max_value=1)) for _ in range(len(ASSETS) + 1)]
    targets = [round(r / sum(raw), 6) for r in raw]
    targets[-1] = round(1 - sum(targets[:-1]), 6)
    pos = {a: draw(st.floats(min_value=-1e5, max_value=1e5)) / prices[a] for a in ASSETS}
    pos = {a: round(v / STEP[a]) * STEP[a] for a, v in pos.items()}
    goal = draw(st.sampled_from([Goal.TARGET, Goal.BAND]))
    return prices, qty, usdt, targets, pos, goal


PROXY = "IDX/USDT:USDT"  # an index perp no sleeve holds


def build(prices, qty, usdt, targets, pos, proxy: tuple[float, float] | None = None):
    """``proxy`` = (ratio, price): SOL's sleeve opens through the index perp at that hedge ratio
    (its SOL perp positions are still reduced first)."""
    toml = "[portfolio]\nweight_tolerance = 0.00001\n[limits]\nmin_trade_notional = 0\n"
    for a, t in zip(ASSETS, targets, strict=False):
        hedges = f'"{a}/USDT:USDT"'
        if proxy is not None and a == "SOL":
            hedges = f'{{ symbol = "{PROXY}", ratio = {proxy[0]!r}, proxy = true }}, ' + hedges
        toml += f'[[sleeves]]\nname = "{a}"\nassets = ["{a}"]\ntarget = {t}\nhedges = [{hedges}]\n'
    toml += f'[[sleeves]]\nname = "CASH"\nassets = ["USDT"]\ntarget = {targets[-1]}\n'
    cfg = f.config(toml)
    snap = f.snapshot(
        f.account("spot", "binance", balance={**qty, "USDT": usdt}, tickers=[f.ticker(f"{a}/USDT", prices[a]) for a in ASSETS]),
        f.account("fut", "binanceusdm", balance={"USDT": 1_000},
                  markets=[f.market(f"{a}/USDT:USDT", step=STEP[a]) for a in ASSETS] + [f.market(PROXY, step=1.0)],
                  tickers=[f.ticker(f"{a}/USDT:USDT", prices[a]) for a in ASSETS]
                  + ([f.ticker(PROXY, proxy[1])] if proxy else []),
                  positions=[f.position(f"{a}/USDT:USDT", pos[a], mark=prices[a]) for a in ASSETS if pos[a]]),
    )
    return cfg, snap


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_after_the_legs_every_sleeve_sits_at_its_goal_within_one_lot(case):
    prices, qty, usdt, targets, pos, goal = case
    cfg, snap = build(prices, qty, usdt, targets, pos)
    before = compute_allocation(cfg, snap)
    plan = plan_overlay(cfg, snap, before, goal, Scope.ALL)
    after = compute_allocation(cfg, apply_legs(snap, plan.legs))
    assert abs(after.nav - before.nav) <= 1e-6 * max(1.0, abs(before.nav))  # legs move exposure, not NAV
    for a in ASSETS:
        lot = STEP[a] * prices[a]
        row = after.row(a)
        if before.nav > 0:
            assert abs(row.delta(goal)) <= lot + 1e-6 * before.nav, (a, row.delta(goal), lot)


@settings(max_examples=100, deadline=None)
@given(books())
def test_weights_always_add_up_to_one(case):
    prices, qty, usdt, targets, pos, _ = case
    cfg, snap = build(prices, qty, usdt, targets, pos)
    a = compute_allocation(cfg, snap)
    if abs(a.nav) > 1e-6:
        assert abs(sum(r.weight for r in a.rows) - 1.0) < 1e-9


@settings(max_examples=150, deadline=None)
@given(books())
def test_a_leg_never_grows_an_opposite_position_when_reducing_it_suffices(case):
    prices, qty, usdt, targets, pos, goal = case
    cfg, snap = build(prices, qty, usdt, targets, pos)
    alloc = compute_allocation(cfg, snap)
    plan = plan_overlay(cfg, snap, alloc, goal, Scope.ALL)
    for a in ASSETS:
        legs = [leg for leg in plan.legs if leg.sleeve == a]
        delta = alloc.row(a).delta(goal)
        existing = pos[a] * prices[a]
        if existing and (existing > 0) != (delta > 0) and abs(existing) >= abs(delta):
            assert all(leg.reduce_only for leg in legs), legs
        for leg in legs:
            if leg.reduce_only:
                assert leg.contracts <= abs(pos[a]) + 1e-12


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.floats(min_value=0.2, max_value=3), st.floats(min_value=5, max_value=5_000))
def test_a_proxy_hedge_ratio_sizes_the_leg_and_counts_the_position_alike(case, ratio, idx_price):
    """Allocation counts a proxy position as notional / ratio; the overlay sizes its leg as
    Δ × ratio. Once the legs fill, a re-plan shows the sleeve at its goal within one lot of
    the proxy in sleeve exposure (step × price / ratio), and each leg's claimed move is the
    move the allocation shows."""
    prices, qty, usdt, targets, pos, goal = case
    cfg, snap = build(prices, qty, usdt, targets, pos, (ratio, idx_price))
    before = compute_allocation(cfg, snap)
    plan = plan_overlay(cfg, snap, before, goal, Scope.ALL)
    after = compute_allocation(cfg, apply_legs(snap, plan.legs))
    if before.nav <= 0:
        return
    row_b, row_a = before.row("SOL"), after.row("SOL")
    claimed = sum(leg.sleeve_exposure for leg in plan.legs if leg.sleeve == "SOL")
    assert row_a.net - row_b.net == pytest.approx(claimed, rel=1e-9, abs=1e-6 * before.nav)
    lot = max(STEP["SOL"] * prices["SOL"], 1.0 * idx_price / ratio)
    assert abs(row_a.delta(goal)) <= lot + 1e-6 * before.nav, (row_a.delta(goal), lot)
