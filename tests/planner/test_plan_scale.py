"""A plan at scale: the what-if a preview shows for each ticket of a large book equals the
whole pool added up from scratch (the formulas of console.core.risk, applied to every
position), to 1e-9, while a ticket's preview only works on the positions its legs touch."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from console.core import risk
from console.core.allocation import compute_allocation
from console.core.planner import propose
from console.core.preview import preview
from tests import factories as f
from tests.planner.bigbook import build

MOVES = (-0.30, -0.20, -0.10, 0.10, 0.20, 0.30)


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def plan():
    cfg, snap, books = build(120, seed=11, varied=True)
    alloc = compute_allocation(cfg, snap)
    tickets = propose(cfg, snap, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)
    return cfg, snap, books, alloc, tickets


def whole_pool(snap, account: str, legs, lev: float, *, after: bool, asset: str | None = None, move: float = 0.0):
    """The linear pool of ``account`` from scratch: every open position (after the legs when
    ``after``), ``asset``'s marks moved by ``move``, summed by risk.evaluate's formulas."""
    pos = risk.account_positions(snap, account, lev)
    wallet = risk.wallet_balance(snap.accounts[account], "USDT")
    if after:
        pos, realised = risk.apply_to_positions(pos, legs, account, lev)
        wallet += realised
    pos = [replace(p, mark=p.mark * (1 + move)) if p.base == asset else p for p in pos]
    mm = sum(max(p.size * p.mark * risk.tier_for(risk.DEFAULT_TIERS, p.size * p.mark).mmr
                 - risk.tier_for(risk.DEFAULT_TIERS, p.size * p.mark).cum, 0.0) for p in pos)
    upnl = sum(p.side * p.size * (p.mark - p.entry) for p in pos)
    gross = sum(p.size * p.mark for p in pos)
    return wallet, mm, upnl, gross


def test_the_book_has_a_large_varied_pool(plan):
    cfg, snap, *_ = plan
    pos = risk.account_positions(snap, "futA", cfg.limits.max_leverage)
    assert len(pos) >= 30
    assert any(p.margin_mode == "isolated" for p in pos) and any(p.entry != p.mark for p in pos)


def test_every_preview_margin_and_stress_equal_the_whole_pool_summed_from_scratch(plan):
    cfg, snap, books, alloc, tickets = plan
    lev = cfg.limits.max_leverage
    checked = 0
    for t in tickets:
        pv = preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)
        legs = [tl.leg for tl in t.legs]
        for b, a in zip(pv.what_if.before, pv.what_if.after, strict=True):
            for r, after in ((b, False), (a, True)):
                wallet, mm, upnl, gross = whole_pool(snap, r.account, legs, lev, after=after)
                assert close(r.wallet, wallet) and close(r.maintenance, mm)
                assert close(r.upnl, upnl) and close(r.gross_notional, gross)
                assert close(r.margin_ratio, mm / (wallet + upnl))
        for s in pv.what_if.stress:
            wb, mmb, ub, _ = whole_pool(snap, s.account, legs, lev, after=False, asset=s.asset, move=s.move)
            wa, mma, ua, _ = whole_pool(snap, s.account, legs, lev, after=True, asset=s.asset, move=s.move)
            _, _, ua0, _ = whole_pool(snap, s.account, legs, lev, after=True)
            assert close(s.margin_ratio_before, mmb / (wb + ub))
            assert close(s.margin_ratio_after, mma / (wa + ua))
            assert close(s.futures_pnl_after, ua - ua0)
            checked += 1
    assert checked >= 6 * 50


def test_liquidation_prices_after_equal_a_direct_evaluation(plan):
    cfg, snap, books, alloc, tickets = plan
    lev = cfg.limits.max_leverage
    t = next(t for t in tickets if any(tl.leg.account == "futA" for tl in t.legs))
    pv = preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)
    a = next(r for r in pv.what_if.after if r.account == "futA")
    pos, realised = risk.apply_to_positions(risk.account_positions(snap, "futA", lev), [tl.leg for tl in t.legs],
                                            "futA", lev)
    direct = risk.evaluate("futA", risk.wallet_balance(snap.accounts["futA"], "USDT") + realised, "USDT", pos, None)
    assert [(p.symbol, p.liquidation_price) for p in a.positions] == [
        (p.symbol, p.liquidation_price) for p in direct.positions]
    assert any(p.liquidation_price for p in a.positions)


def test_a_preview_works_on_the_legs_not_the_whole_pool(plan, monkeypatch):
    """Scaling: once the snapshot's pools are summed, a ticket's preview (what-if, stress,
    checks) computes margin for the positions its legs touch, not for every position held."""
    cfg, snap, books, alloc, tickets = plan
    held = len(risk.account_positions(snap, "futA", cfg.limits.max_leverage))
    preview(cfg, snap, tickets[0], books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)  # sums the pools once
    calls = []
    real = risk._share
    monkeypatch.setattr(risk, "_share", lambda *a, **k: calls.append(1) or real(*a, **k))
    for t in tickets[1:11]:
        calls.clear()
        pv = preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)
        # per leg: its after share (what-if, checks), its asset's part, 6 moves × before and after
        assert len(calls) <= 20 * len(t.legs), (len(calls), len(t.legs))
        assert len(calls) < held
        assert pv.what_if.stress
