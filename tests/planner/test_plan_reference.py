"""A 500-sleeve seeded plan against slow reference paths that share none of the planner's
shortcuts: the lot rounding done by ccxt's own ``amount_to_precision``, and each sleeve's
instrument weighed by previewing a hedge in every instrument it could open in."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from console.core import lots
from console.core.allocation import compute_allocation
from console.core.errors import UserError
from console.core.orderstyle import limit_price
from console.core.overlay import account_lots
from console.core.planner import build_hedge, build_roll, propose
from console.core.preview import leg_costs, leg_lines, preview
from console.core.ticket import OrderStyle, OrderType, TicketKind, TicketLeg
from tests import factories as f
from tests.planner.bigbook import build

KW = {"now_ms": f.T0, "horizon_days": 7}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def book():
    cfg, snap, books = build(500)
    return cfg, snap, books, compute_allocation(cfg, snap)


def plan(cfg, snap, books, alloc):
    tickets = propose(cfg, snap, books=books, alloc=alloc, **KW)
    return tickets, [preview(cfg, snap, t, books=books, alloc=alloc, **KW) for t in tickets]


def test_the_plan_is_the_one_ccxts_own_rounding_gives(book, monkeypatch):
    cfg, snap, books, alloc = book
    tickets, previews = plan(cfg, snap, books, alloc)
    monkeypatch.setattr(lots, "truncate_to_lot", lambda *_: None)  # every amount through ccxt
    ref_tickets, ref_previews = plan(cfg, snap, books, alloc)
    assert len(tickets) == len(ref_tickets) > 300
    for t, r in zip(tickets, ref_tickets, strict=True):
        assert (t.kind, t.note, t.reasons, t.warnings) == (r.kind, r.note, r.reasons, r.warnings)
        assert [tl.leg for tl in t.legs] == [tl.leg for tl in r.legs]  # contracts equal, not close
    for p, r in zip(previews, ref_previews, strict=True):
        assert p.totals.keys() == r.totals.keys()
        assert all(close(p.totals[k], r.totals[k]) for k in p.totals)
        assert [i.reason for lc in p.legs for i in lc.items] == [i.reason for lc in r.legs for i in lc.items]
        assert p.verdict.reason == r.verdict.reason and p.checks == r.checks


def test_each_sleeve_opens_in_its_cheapest_instrument_as_previewed(book):
    # the reference: for every 10th sleeve the plan hedges, a hedge in each (hedge, account)
    # it could open in, previewed; the plan's pick costs the least of them (to 1e-9), and its
    # reason quotes that figure
    cfg, snap, books, alloc = book
    tickets = propose(cfg, snap, books=books, alloc=alloc, **KW)
    hedged = [t for t in tickets if t.kind.value == "hedge"][::10]
    assert len(hedged) >= 20
    for t in hedged:
        name = t.legs[0].leg.sleeve
        opened = [(i, tl.leg) for i, tl in enumerate(t.legs) if not tl.leg.reduce_only]
        assert len(opened) == 1
        i, leg = opened[0]
        picked = preview(cfg, snap, t, books=books, alloc=alloc, **KW).legs[i].total
        costs = {}
        for h in cfg.sleeve(name).hedges:
            for acct, st in snap.accounts.items():
                if h.symbol not in st.markets:
                    continue
                alt = build_hedge(cfg, snap, name, books=books, alloc=alloc,
                                  instrument=h.model_copy(update={"account": acct}), **KW)
                legs = [(j, tl) for j, tl in enumerate(alt.legs) if not tl.leg.reduce_only]
                if legs:
                    costs[(acct, h.symbol)] = preview(cfg, snap, alt, books=books, alloc=alloc, **KW).legs[legs[0][0]].total
        assert len(costs) >= 2
        assert close(picked, min(costs.values())), (name, picked, costs)
        assert (leg.account, leg.symbol) in costs and close(costs[(leg.account, leg.symbol)], picked)
        assert f"= {picked:+,.2f} over 7 d" in t.reasons[i]


def test_a_candidates_figures_are_its_cost_lines(book):
    # the planner weighs candidates on leg_lines' lines and total; the preview shows leg_costs' lines:
    # every leg of the plan (perps, dated, reduce-only), in every order style, with and without
    # its book and a spot price, also as an inverse contract, gives the very same lines and total
    cfg, snap, books, alloc = book
    tickets = propose(cfg, snap, books=books, alloc=alloc, **KW)
    styles = [OrderStyle(), OrderStyle(slices=3, over_minutes=9), OrderStyle(OrderType.LIMIT, 5.0),
              OrderStyle(OrderType.POST_ONLY, 2.0)]
    lots_ = account_lots(snap)
    checked = 0
    for t in tickets:
        for tl in t.legs:
            leg = tl.leg
            for variant in (leg, replace(leg, linear=False, contract_size=100.0)):
                for style in styles:
                    for bk in (books.get(leg.symbol), None):
                        px = limit_price(leg.side, leg.price * 1.001, style, lots_[leg.account], leg.symbol, bk)
                        one = TicketLeg(variant, style, px)
                        for spot in (alloc.prices.get(leg.symbol.split("/")[0]), None):
                            terms = {"book": bk, "spot_price": spot, "horizon_days": 7 if spot else 200,
                                     "now_ms": f.T0}
                            lc = leg_costs(cfg, snap, 0, one, **terms)
                            kind, lines, total = leg_lines(snap, variant, style, px, **terms)
                            assert (kind, lines) == (lc.instrument, tuple((i.name, i.amount, i.known) for i in lc.items))
                            assert total == lc.total
                            checked += 1
    assert checked > 10_000


def test_the_plan_proposes_exactly_the_perp_rolls_whose_preview_saves(book):
    # every perp hedge's roll, built and previewed on its own (costs with the books walked):
    # the plan proposes it if and only if its previewed total is below zero, whatever the
    # plan skips on the way
    cfg, snap, books, alloc = book
    saving, costly = set(), set()
    for s in cfg.sleeves:
        if cfg.is_cash(s) or not s.hedges:
            continue
        for p in alloc.row(s.name).positions:
            if p.dated:
                continue
            try:
                t = build_roll(cfg, snap, s.name, from_symbol=p.symbol, account=p.account, books=books,
                               alloc=alloc, **KW)
            except UserError:
                continue
            cost = preview(cfg, snap, t, books=books, alloc=alloc, **KW).total_cost
            (saving if cost < 0 else costly).add((p.account, p.symbol))
    assert len(saving) > 20 and len(costly) > 20  # the book exercises both
    proposed = {(t.legs[0].leg.account, t.legs[0].leg.symbol) for t in propose(cfg, snap, books=books, alloc=alloc, **KW)
                if t.kind is TicketKind.ROLL}
    assert proposed == saving
