"""The instrument choice prices the contracts the leg will send (rounded to the venue's lot),
so the reason's figures are the leg's own costs to the cent (QA: the 'why' said fee +19.96,
funding -99.23 while the cost table said 19.90, -98.93 for the same leg).

World: tests/planner/world.py. BTC is 13,000 over target; the dated future (61,200) is the
cheaper short, and 13,000 / 61,200 = 0.21242 rounds to 0.212 (lot 0.001): the leg's notional
is 12,974.40, not 13,000, so unrounded pricing is off by cents (fee 6.50 vs 6.49).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.core import planner
from console.core.orderstyle import style_ticket
from console.core.overlay import account_lots
from console.core.preview import LegCosts, preview
from console.core.ticket import OrderStyle, OrderType, Ticket
from tests import factories as f
from tests.planner.world import DATED, world


def _figures(lc: LegCosts) -> list[str]:
    """The figures the reason must show for this leg, as the reason formats them."""
    parts = [f"{i.name} {i.amount:+,.2f}" if i.known else f"{i.name} n/a" for i in lc.items]
    return [f"{', '.join(parts)} = {lc.total:+,.2f}"]


def _open_leg(ticket: Ticket, symbol: str) -> tuple[int, str]:
    i = next(i for i, tl in enumerate(ticket.legs) if tl.leg.symbol == symbol and not tl.leg.reduce_only)
    return i, ticket.reasons[i]


def test_reason_figures_are_the_legs_costs_to_the_cent() -> None:
    cfg, snap = world()
    t = planner.build_hedge(cfg, snap, "BTC")
    i, reason = _open_leg(t, DATED)
    assert t.legs[i].leg.contracts == 0.212  # rounding matters: 0.21242 → 0.212
    lc = preview(cfg, snap, t).legs[i]
    assert lc.notional == pytest.approx(12_974.4)
    for figure in _figures(lc):
        assert figure in reason, (figure, reason)
    assert "fee +6.49," in reason and "fee +6.50" not in reason  # 12,974.40 × 0.05 %, not 13,000 × 0.05 %
    # the runner-up is priced the same way: perp 0.216 × 60,000 = 12,960
    ch = planner.choose_instrument(planner._Ctx(cfg, snap, None, None, 7, None, None), cfg.sleeve("BTC"), "sell",
                                   13_000)
    perp = next(c for c in ch.candidates if c.symbol == "BTC/USDT:USDT")
    assert f"cheaper than BTC/USDT:USDT on fut ({perp.cost:+,.2f}) by {perp.cost - lc.total:,.2f}" in reason
    assert perp.cost == pytest.approx(12_960 * 0.0005 - 0.0001 * 12_960 * 21)


def test_reason_matches_after_reduce_only_legs() -> None:
    # a long 0.05 BTC perp is closed first (reduce-only, 3,000); the rest (16,000 − 3,000 =
    # 13,000) opens in the dated future: the choice is priced on what is left, rounded
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", 0.05, mark=60_000)])
    t = planner.build_hedge(cfg, snap, "BTC")
    assert t.legs[0].leg.reduce_only
    i, reason = _open_leg(t, DATED)
    lc = preview(cfg, snap, t).legs[i]
    assert lc.contracts == 0.212
    for figure in _figures(lc):
        assert figure in reason, (figure, reason)


def test_a_candidate_under_one_lot_is_not_the_pick() -> None:
    # the dated future trades in whole BTC here: 0.212 rounds to nothing, so it cannot be
    # sent; the perp (0.216, sendable) is the pick even though the dated one was cheaper
    cfg, snap = world()
    fut = snap.accounts["fut"]
    markets = {**fut.markets, DATED: f.market(DATED, step=1.0, min_cost=100, expiry=fut.markets[DATED]["expiry"])}
    snap = snap.with_account(replace(fut, markets=markets))
    t = planner.build_hedge(cfg, snap, "BTC")
    i, reason = _open_leg(t, "BTC/USDT:USDT")
    assert t.legs[i].leg.contracts == 0.216
    assert "the only instrument that can be sent (BTC/USDT:USDT-261225 on fut: under one lot" in reason
    for figure in _figures(preview(cfg, snap, t).legs[i]):
        assert figure in reason, (figure, reason)
    assert not t.warnings


@pytest.mark.parametrize("kind", [OrderType.POST_ONLY, OrderType.LIMIT])
def test_reason_is_priced_in_the_tickets_order_style(kind: OrderType) -> None:
    # post-only pays the maker fee (0.02 %) and a limit at mid − 5 bps walks no book: the
    # reason must show those figures, not the market order's taker fee (QA: `plan --style
    # post_only` said fee +6.49 over a cost table of +2.59)
    cfg, snap = world()
    style = OrderStyle(kind, offset_bps=5)
    t = style_ticket(planner.build_hedge(cfg, snap, "BTC", style=style), style, snap, account_lots(snap))
    i, reason = _open_leg(t, DATED)
    lc = preview(cfg, snap, t).legs[i]
    for figure in _figures(lc):
        assert figure in reason, (figure, reason)
    if kind is OrderType.POST_ONLY:
        assert "fee +2.59," in reason  # 12,974.40 × 0.02 %
    else:
        assert "fee +6.49," in reason  # a limit may take: the taker rate, conservatively
        assert "slippage +0.00" in reason  # it rests at its price: no book walked
