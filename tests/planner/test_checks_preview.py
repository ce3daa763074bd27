"""Pre-trade checks (each failing with its reason) and the Preview's figures by hand."""

from __future__ import annotations

import pytest

from console.core import planner
from console.core.checks import CheckCode, pretrade_checks
from console.core.config import Config
from console.core.orderstyle import slice_schedule, style_ticket
from console.core.overlay import Leg, account_lots
from console.core.preview import preview
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from tests import factories as f
from tests.planner.world import DATED, book, world


def short_btc(q=0.216, price=60_000.0, reduce=False, symbol="BTC/USDT:USDT"):
    return Leg("BTC", "fut", symbol, "buy" if reduce else "sell", q, 1.0, True, price, reduce,
               "reduce short" if reduce else "open")


MARKET = OrderStyle()


def ticket(*legs, style=MARKET, limit=None):
    return Ticket(TicketKind.HEDGE, tuple(TicketLeg(leg, style, limit) for leg in legs), f.T0)


def with_limits(cfg: Config, **kw) -> Config:
    return cfg.model_copy(update={"limits": cfg.limits.model_copy(update=kw)})


def codes(fails):
    return sorted(str(c.code) for c in fails)


def test_a_sound_ticket_passes_every_check():
    cfg, snap = world()
    assert pretrade_checks(cfg, snap, ticket(short_btc()), f.T0) == []


def test_max_notional():
    cfg, snap = world()
    fails = pretrade_checks(with_limits(cfg, max_order_notional=10_000), snap, ticket(short_btc()), f.T0)
    assert codes(fails) == ["max_notional"]
    assert "12,960.00, over the 10,000.00 per-order limit" in fails[0].message


def test_min_notional_for_opening_legs_only():
    cfg, snap = world()
    # 0.0006 × 60,000 = 36 < 50 minimum trade and < the venue's 100 min cost
    fails = pretrade_checks(cfg, snap, ticket(short_btc(0.0006)), f.T0)
    assert codes(fails) == ["min_notional", "min_notional"]
    # a reduce-only close of a small position is allowed
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", -0.0006, mark=60_000)])
    assert pretrade_checks(cfg, snap, ticket(short_btc(0.0006, reduce=True)), f.T0) == []


def test_leverage_after_the_ticket():
    # 12,960 on 1,000 of margin = 12.96x > 5x
    cfg, snap = world(margin=1_000)
    fails = pretrade_checks(cfg, snap, ticket(short_btc()), f.T0)
    assert CheckCode.LEVERAGE in codes(fails)
    assert "12.96x" in next(c.message for c in fails if c.code == CheckCode.LEVERAGE)


def test_margin_ratio_after_the_ticket():
    # maintenance 12,960 × 0.4 % = 51.84 on 10,000 = 0.52 % > a 0.1 % limit
    cfg, snap = world()
    fails = pretrade_checks(with_limits(cfg, max_margin_ratio=0.001), snap, ticket(short_btc()), f.T0)
    assert codes(fails) == ["margin_ratio"]
    assert "0.52%" in fails[0].message


def test_price_collar_on_a_limit_and_on_a_market_sweep():
    cfg, snap = world()
    style = OrderStyle(OrderType.LIMIT, 300)
    fails = pretrade_checks(cfg, snap, ticket(short_btc(), style=style, limit=61_800), f.T0)
    assert codes(fails) == ["price_collar"] and "+3.00% from mark" in fails[0].message
    # a market sell sweeping a book whose bids fall 5 % below mark
    thin = {"fut": {"BTC/USDT:USDT": book(60_000, half_spread=5, levels=[(0, 0.01), (3_000, 10)])}}
    fails = pretrade_checks(cfg, snap, ticket(short_btc()), f.T0, thin)
    assert codes(fails) == ["price_collar"] and "market order would fill" in fails[0].message


def test_data_age():
    cfg, snap = world()
    fails = pretrade_checks(cfg, snap, ticket(short_btc()), f.T0 + 31_000)
    assert set(codes(fails)) == {"data_age"}
    assert "31 s old, over the 30 s limit" in fails[0].message
    # an old book fails too
    cfg, snap = world()
    old = {"fut": {"BTC/USDT:USDT": book(60_000, half_spread=5, levels=[(0, 10)], at=f.T0 - 60_000)}}
    assert codes(pretrade_checks(cfg, snap, ticket(short_btc()), f.T0, old)) == ["data_age"]


def test_unknown_market():
    cfg, snap = world()
    leg = Leg("BTC", "fut", "BTC/USDT:USDT-270326", "sell", 0.2, 1, True, 60_000, False, "open")
    assert "no_market" in codes(pretrade_checks(cfg, snap, ticket(leg), f.T0))


# ---------------------------------------------------------------- preview


def test_preview_costs_spot_alternative_and_verdict_by_hand():
    # funding 0.05 %: perp chosen for BTC (see test_planner). Legs: sell 0.216 BTC perp (12,960),
    # buy 4.333 ETH perp (12,999). Book for the BTC perp: mid 60,000, ask/bid ±5, 0.1 per level then 10.
    cfg, snap = world(btc_funding=0.0005)
    t = planner.build_spread(cfg, snap, "BTC", "ETH")
    books = {"fut": {"BTC/USDT:USDT": book(60_000, half_spread=5, levels=[(0, 0.1), (10, 10)])}}
    pv = preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7)
    btc, eth = pv.legs
    # fees: 12,960 × 0.05 % = 6.48; 12,999 × 0.05 % = 6.4995
    assert btc.item("fee").amount == pytest.approx(6.48)
    assert eth.item("fee").amount == pytest.approx(6.4995)
    # sell 0.216 into bids 59,995 × 0.1, 59,985 × 10: VWAP = (5,999.5 + 0.116 × 59,985) / 0.216
    vwap = (0.1 * 59_995 + 0.116 * 59_985) / 0.216
    bps = (60_000 - vwap) / 60_000 * 1e4
    assert btc.item("slippage").bps == pytest.approx(bps)
    assert btc.item("slippage").amount == pytest.approx(bps / 1e4 * 12_960)  # = (60,000 − VWAP) × 0.216
    assert btc.item("slippage").amount == pytest.approx((60_000 - vwap) * 0.216)
    assert not eth.item("slippage").known  # no ETH book: n/a, and said so
    # funding: BTC short −0.0005 × 12,960 × 21 = −136.08 (income); ETH long +0.0001 × 12,999 × 21 = +27.2979
    assert btc.item("funding").amount == pytest.approx(-136.08)
    assert eth.item("funding").amount == pytest.approx(27.2979)
    assert btc.funding.next_time_ms == f.T0 + 4 * 3_600_000
    total = 6.48 + 6.4995 + (60_000 - vwap) * 0.216 - 136.08 + 27.2979
    assert pv.total_cost == pytest.approx(total)
    # spot alternative: sell 12,960 BTC + buy 12,999 ETH at the spot 0.1 % taker = 12.96 + 12.999
    assert pv.spot_alternative.total == pytest.approx(25.959)
    assert pv.spot_alternative.cheaper == "futures"
    # verdict: negative cost is always worth it, and says it earns (not "-40 bps ... within")
    assert pv.verdict.worth_it
    assert pv.verdict.reason.startswith(f"earns {-total:,.2f} over 7 d (")
    assert "threshold" not in pv.verdict.reason
    assert pv.verdict.exposure_moved == pytest.approx(12_960 + 12_999)
    assert any("slippage (leg 2" in u for u in pv.unknown_costs)
    assert pv.ok


def test_not_worth_it_when_cost_passes_the_threshold():
    # a long BTC perp paying 0.05 %/8 h: fee 6.48 + funding 0.0005 × 12,960 × 21 = 136.08 → 142.56
    # = 110 bps of 12,960 moved > 25 bps
    cfg, snap = world(btc_funding=0.0005)
    t = ticket(Leg("BTC", "fut", "BTC/USDT:USDT", "buy", 0.216, 1, True, 60_000, False, "open"))
    pv = preview(cfg, snap, t, now_ms=f.T0, horizon_days=7)
    assert pv.total_cost == pytest.approx(142.56)
    assert not pv.verdict.worth_it
    assert pv.verdict.cost_bps == pytest.approx(142.56 / 12_960 * 1e4)
    assert pv.verdict.reason.startswith("not worth it")


def test_post_only_pays_maker_and_rests_at_mid_minus_offset():
    cfg, snap = world()
    lots = account_lots(snap)
    t = style_ticket(ticket(short_btc()), OrderStyle(OrderType.POST_ONLY, 2.0), snap, lots)
    # sell at mid × (1 + 2 bps) = 60,012.0 (tick 0.1); fee at maker 0.02 %: 12,960 × 0.0002 = 2.592
    assert t.legs[0].limit_price == pytest.approx(60_012.0)
    pv = preview(cfg, snap, t, now_ms=f.T0)
    assert pv.legs[0].item("fee").amount == pytest.approx(2.592)
    assert pv.legs[0].item("slippage").amount == 0
    # with a book whose best ask is above that price, a post-only sell is kept at the best ask
    books = {"fut": {"BTC/USDT:USDT": book(60_000, half_spread=50, levels=[(0, 5)])}}
    t = style_ticket(ticket(short_btc()), OrderStyle(OrderType.POST_ONLY, 2.0), snap, lots, books)
    assert t.legs[0].limit_price == pytest.approx(60_050.0)


def test_slicing_schedule_adds_up_on_the_lot_grid():
    cfg, snap = world()
    lots = account_lots(snap)["fut"]
    # 0.217 in 4 over 30 min: 0.05425 → 0.054 × 3 + last 0.055, every 10 min
    s = slice_schedule(0.217, OrderStyle(OrderType.MARKET, 0, 4, 30), lots, "BTC/USDT:USDT", f.T0)
    assert [c.amount for c in s.children] == [0.054, 0.054, 0.054, 0.055]
    assert [c.at_ms - f.T0 for c in s.children] == [0, 600_000, 1_200_000, 1_800_000]
    assert s.total == pytest.approx(0.217)
    # 0.003 in 5 slices would be under one lot (0.001): cut to 3
    s = slice_schedule(0.003, OrderStyle(OrderType.MARKET, 0, 5, 10), lots, "BTC/USDT:USDT", f.T0)
    assert [c.amount for c in s.children] == [0.001, 0.001, 0.001]
    assert "cut to 3 slices" in s.reason


def test_dated_leg_shows_basis_and_roll():
    cfg, snap = world()
    t = ticket(short_btc(0.212, 61_200, symbol=DATED))
    pv = preview(cfg, snap, t, now_ms=f.T0, horizon_days=7)
    lc = pv.legs[0]
    assert lc.instrument == "dated"
    assert lc.basis.basis == pytest.approx(0.02) and lc.basis.days_to_expiry == pytest.approx(34)
    assert lc.item("roll").amount == 0 and "no roll" in lc.item("roll").reason
    # the short earns 0.212 × (61,200 − 60,000) = 254.40 by expiry; 7/34 of it in 7 d
    assert lc.item("basis").amount == pytest.approx(-0.212 * 1_200 * 7 / 34)


def test_preview_to_dict_is_json_ready():
    import json

    cfg, snap = world()
    pv = preview(cfg, snap, planner.build_spread(cfg, snap, "BTC", "ETH"), now_ms=f.T0)
    d = json.loads(json.dumps(pv.to_dict()))
    assert {"legs", "totals", "spot_alternative", "what_if", "checks", "verdict", "assumptions"} <= set(d)
    assert len(d["what_if"]["stress"]) == 6 * 2  # BTC and ETH, six moves each


def test_thin_book_check_and_empty_ticket():
    cfg, snap = world()
    thin = {"fut": {"BTC/USDT:USDT": book(60_000, half_spread=5, levels=[(0, 0.1)])}}
    fails = pretrade_checks(cfg, snap, ticket(short_btc()), f.T0, thin)
    assert codes(fails) == ["thin_book"] and "lists only 0.1 of 0.216" in fails[0].message
    empty = ticket()
    assert codes(pretrade_checks(cfg, snap, empty, f.T0)) == ["empty"]
    pv = preview(cfg, snap, empty, now_ms=f.T0)
    assert not pv.verdict.worth_it and "no legs" in pv.verdict.reason


def test_the_spot_alternative_includes_the_spot_books_slippage():
    from console.core.preview import spot_books

    cfg, snap = world(btc_funding=0.0005)
    t = planner.build_spread(cfg, snap, "BTC", "ETH")
    # the builder fetches these with the legs' books
    assert spot_books(cfg, snap, t) == [("spot", "BTC/USDT"), ("spot", "ETH/USDT")]
    books = {"spot": {"BTC/USDT": book(60_000, half_spread=5, levels=[(0, 10)]),
                      "ETH/USDT": book(3_000, half_spread=0.3, levels=[(0, 1_000)])}}
    pv = preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7)
    alt = pv.spot_alternative
    sell_btc = sum(-tl.leg.sleeve_exposure for tl in t.legs if tl.leg.sleeve == "BTC")
    buy_eth = sum(tl.leg.sleeve_exposure for tl in t.legs if tl.leg.sleeve == "ETH")
    # fee 0.1 % taker; slippage = half-spread / mid × notional (one level deep enough)
    fees = 0.001 * (sell_btc + buy_eth)
    slip = 5 / 60_000 * sell_btc + 0.3 / 3_000 * buy_eth
    assert alt.total == pytest.approx(fees + slip)
    assert all(i.known for i in alt.items)
    assert "fee and book slippage" in alt.reason and "not priced" not in alt.reason
    # without the spot books the text says the slippage is missing, never a silent 0
    bare = preview(cfg, snap, t, now_ms=f.T0, horizon_days=7).spot_alternative
    assert bare.total == pytest.approx(fees)
    assert "fee only" in bare.reason and "spot slippage not priced: no book for BTC/USDT" in bare.reason
