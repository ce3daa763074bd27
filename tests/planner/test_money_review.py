"""Money maths found wrong in review, each pinned by a hand computation (then fixed)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core import costs as c
from console.core import risk
from console.core.checks import pretrade_checks
from console.core.overlay import Leg
from console.core.preview import preview
from console.core.risk import _derive_cum, liquidation_price, tier_for
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from tests import factories as f
from tests.planner.world import DATED, world

H = 3_600_000
MARKET = OrderStyle()


def ticket(*legs, style=MARKET):
    return Ticket(TicketKind.HEDGE, tuple(TicketLeg(leg, style, None) for leg in legs), f.T0)


# ---------------------------------------------------------------- funding


def test_funding_words_follow_the_sign_of_a_negative_rate():
    # −0.01 %/8 h over 7 d = 21 intervals on 10,000: shorts pay, longs receive.
    # short: −1 × −0.0001 × 10,000 × 21 = +21 (paid); long: −21 (received)
    info = c.FundingInfo(-0.0001, 8, None)
    short = c.funding_item("sell", 10_000, info, 7, now_ms=0)
    long_ = c.funding_item("buy", 10_000, info, 7, now_ms=0)
    assert short.amount == pytest.approx(21) and "short pays" in short.reason
    assert long_.amount == pytest.approx(-21) and "long receives" in long_.reason
    pos = c.FundingInfo(0.0001, 8, None)
    assert "long pays" in c.funding_item("buy", 10_000, pos, 7, now_ms=0).reason
    assert "short receives" in c.funding_item("sell", 10_000, pos, 7, now_ms=0).reason


def test_funding_counts_the_events_from_the_next_funding_time():
    # next funding in 1 h, every 8 h; a 12 h horizon sees the events at +1 h and +9 h = 2
    # (horizon / interval would say 1.5)
    assert c.funding_events(0.5, 8, next_ms=1 * H, now_ms=0) == 2
    # next in 3 h, a 2.4 h horizon: none (not 0.3)
    assert c.funding_events(0.1, 8, next_ms=3 * H, now_ms=0) == 0
    # 7 d at 8 h from any next time inside the first interval: 21, as before
    assert c.funding_events(7, 8, next_ms=5 * H, now_ms=0) == 21
    # 4 h funding, next in 3 h, 1 d: +3, 7, 11, 15, 19, 23 = 6
    assert c.funding_events(1, 4, next_ms=3 * H, now_ms=0) == 6
    # a stale next time (2 h ago) rolls forward to +6 h: over 12 h, +6 only = 1
    assert c.funding_events(0.5, 8, next_ms=-2 * H, now_ms=0) == 1
    # unknown next time: the 8 h grid from 00:00 UTC. now = 01:00 → payments at 08:00, 16:00
    # within 12 h (to 13:00): 1; now = 07:00 → 08:00 and 16:00 within 12 h (to 19:00): 2
    assert c.funding_events(0.5, 8, next_ms=None, now_ms=1 * H) == 1
    assert c.funding_events(0.5, 8, next_ms=None, now_ms=7 * H) == 2


def test_a_36h_horizon_on_8_hourly_funding_is_4_or_5_payments_never_4_5():
    # next in 1 h: +1, 9, 17, 25, 33 ≤ 36 → 5; next in 6 h: +6, 14, 22, 30 (38 > 36) → 4
    assert c.funding_events(1.5, 8, next_ms=1 * H, now_ms=0) == 5
    assert c.funding_events(1.5, 8, next_ms=6 * H, now_ms=0) == 4
    info = c.FundingInfo(0.0001, 8, 6 * H)
    # short 10,000 at +0.01 %: −1 × 0.0001 × 10,000 × 4 = −4 (received)
    item = c.funding_item("sell", 10_000, info, 1.5, now_ms=0)
    assert item.amount == pytest.approx(-4.0) and "4 payment(s)" in item.reason


@settings(max_examples=200, deadline=None)
@given(hours=st.floats(0, 24 * 30), next_h=st.floats(0.001, 8), now_h=st.floats(0, 1e5))
def test_funding_payments_are_a_whole_number_next_to_horizon_over_interval(hours, next_h, now_h):
    now = int(now_h * H)
    n = c.funding_events(hours / 24, 8, next_ms=now + int(next_h * H), now_ms=now)
    assert isinstance(n, int)
    assert abs(n - hours / 8) <= 1


def test_preview_funding_over_a_short_horizon_uses_the_next_funding_time():
    # world: BTC perp +0.05 %/8 h, next funding at T0 + 4 h. A 6 h horizon holds one event (at +4 h):
    # short 0.216 × 60,000 = 12,960 receives 0.0005 × 12,960 × 1 = 6.48
    cfg, snap = world(btc_funding=0.0005)
    leg = Leg("BTC", "fut", "BTC/USDT:USDT", "sell", 0.216, 1.0, True, 60_000, False, "open")
    pv = preview(cfg, snap, ticket(leg), now_ms=f.T0, horizon_days=0.25, stress=False)
    assert pv.legs[0].item("funding").amount == pytest.approx(-6.48)


# ---------------------------------------------------------------- basis


def test_basis_carry_is_the_price_gap_times_the_size():
    # short 0.212 BTC of the Dec future at F 61,200, spot S 60,000, 34 d to expiry, held 7 d.
    # At expiry F → S, so the whole premium earned is 0.212 × (61,200 − 60,000) = 254.40;
    # 7/34 of it = 52.376. (basis × notional = 0.02 × 12,974.4 = 259.49 would overstate it by F/S.)
    b = c.basis_info(61_200, 60_000, 34 * c.MS_PER_DAY, 0)
    item = c.basis_item("sell", 0.212 * 61_200, b, 7)
    assert item.amount == pytest.approx(-0.212 * 1_200 * 7 / 34)


def test_dated_carry_past_expiry_is_counted_over_the_whole_horizon():
    # a long 0.212 BTC Dec future (F 61,200, S 60,000, 34 d) held 68 d: the premium paid up to
    # expiry is 0.212 × 1,200 = 254.40; after the roll the next contract is assumed to carry the
    # same rate for the other 34 d: 254.40 more, so the carry over the horizon is 508.80 —
    # comparable with a perp's funding, which is counted over all 68 d.
    cfg, snap = world()
    leg = Leg("BTC", "fut", DATED, "buy", 0.212, 1.0, True, 61_200, False, "open")
    pv = preview(cfg, snap, ticket(leg), now_ms=f.T0, horizon_days=68, stress=False)
    lc = pv.legs[0]
    one_way = lc.item("fee").amount + lc.item("slippage").amount
    assert lc.item("basis").amount == pytest.approx(254.4)
    assert lc.item("roll").amount == pytest.approx(2 * one_way + 254.4)
    assert "same" in lc.item("roll").reason


# ---------------------------------------------------------------- checks


def test_per_order_limit_applies_to_each_child_order_of_a_sliced_leg():
    # 12,960 over a 10,000 per-order limit fails as one order; cut in 2 slices each order is
    # 6,480, which is what the venue sees: no failure (the message tells the trader to slice).
    cfg, snap = world()
    cfg = cfg.model_copy(update={"limits": cfg.limits.model_copy(update={"max_order_notional": 10_000})})
    leg = Leg("BTC", "fut", "BTC/USDT:USDT", "sell", 0.216, 1.0, True, 60_000, False, "open")
    assert [x.code for x in pretrade_checks(cfg, snap, ticket(leg), f.T0)] == ["max_notional"]
    sliced = OrderStyle(OrderType.MARKET, 0, 2, 10)
    assert pretrade_checks(cfg, snap, ticket(leg, style=sliced), f.T0) == []


# ---------------------------------------------------------------- spot alternative


def test_spot_fee_without_a_listed_rate_is_spots_default_not_the_futures_one():
    # a spot market listed without a taker rate: Binance spot 0.1 %, 13,000 × 0.001 = 13
    # (not the USDⓈ-M 0.05 % = 6.50)
    m = f.market("BTC/USDT", taker=None)
    fee, _ = c.spot_alternative(13_000, "sell", spot_symbol="BTC/USDT", spot_market=m, spot_book=None,
                                spot_price=60_000)
    assert fee.amount == pytest.approx(13)


# ---------------------------------------------------------------- slippage


def test_a_crossed_book_counts_no_slippage():
    # stale, crossed book: best bid 60,010 above best ask 59,990; mid 60,000. A buy lifting
    # the ask at 59,990 fills *below* mid: no adverse slippage (not +1.67 bps).
    book = {"bids": [[60_010, 5]], "asks": [[59_990, 5]]}
    item, _ = c.slippage_cost(book, "buy", 0.1)
    assert item.amount == 0


# ---------------------------------------------------------------- inverse contracts


def test_inverse_positions_are_stressed_in_coin_not_shown_as_safe():
    # a COIN-M short of 100 × 100 USD contracts on 0.1 BTC: its margin is in coin, and it is now
    # computed in coin (tests/planner/test_risk_inverse.py): the stress table must not show a 0 %
    # margin ratio, nor the old "not computed" caveat.
    coin = f.account("coin", "binancecoinm", markets=[f.market("BTC/USD:BTC")], balance={"BTC": 0.1},
                     tickers=[f.ticker("BTC/USD:BTC", 60_000)],
                     positions=[f.position("BTC/USD:BTC", -100, mark=60_000, contract_size=100)])
    cfg, snap = world()
    snap = snap.with_account(coin)
    leg = Leg("BTC", "coin", "BTC/USD:BTC", "sell", 50, 100.0, False, 60_000, False, "open")
    wi = risk.what_if(snap, [leg], tiers=None, quote="USDT", default_leverage=5)
    rows = [r for r in wi.stress if r.account == "coin"]
    assert rows and not any("not computed" in r.reason for r in rows)
    assert all(r.margin_ratio_after and r.margin_ratio_after > 0 for r in rows)
    pv = preview(cfg, snap, ticket(leg), now_ms=f.T0)
    assert not any("not computed" in a for a in pv.assumptions)


# ---------------------------------------------------------------- liquidation price, plugged back


@st.composite
def tier_tables(draw):
    n = draw(st.integers(1, 6))
    floors = sorted(set(draw(st.lists(st.floats(1_000, 5e7), min_size=n - 1, max_size=n - 1))))
    mmrs = sorted(draw(st.lists(st.floats(0.001, 0.3), min_size=len(floors) + 1, max_size=len(floors) + 1)))
    bounds = [0.0, *floors, float("inf")]
    return _derive_cum([(bounds[i], bounds[i + 1], mmrs[i], 10, None) for i in range(len(mmrs))])


@settings(max_examples=300, deadline=None)
@given(tiers=tier_tables(), side=st.sampled_from([1, -1]), size=st.floats(0.001, 500),
       entry=st.floats(1, 100_000), wallet=st.floats(0, 5e6), other_mm=st.floats(0, 1e5),
       other_upnl=st.floats(-1e5, 1e5))
def test_liquidation_price_plugs_back_to_margin_balance_equal_maintenance(tiers, side, size, entry, wallet,
                                                                         other_mm, other_upnl):
    r = liquidation_price(side, size, entry, wallet, tiers, other_mm=other_mm, other_upnl=other_upnl)
    if r.price is None:
        # no positive root. Long: above maintenance down to a price of 0. Short: under maintenance at
        # every price (balance at P → 0 is wallet + UPNL₁ + size × entry), and it must say so.
        at_zero = wallet - other_mm + other_upnl - side * size * entry
        if side > 0:
            assert at_zero >= -1e-6 * max(1.0, size * entry)
        else:
            assert at_zero <= 1e-6 * max(1.0, size * entry) and "ALREADY LIQUIDATABLE" in r.reason
        return
    lp = r.price
    t = tier_for(tiers, size * lp)
    balance = wallet + other_upnl + side * size * (lp - entry)
    maint = other_mm + size * lp * t.mmr - t.cum
    assert balance == pytest.approx(maint, rel=1e-7, abs=1e-6 * max(1.0, size * lp, wallet))
    assert r.tier.mmr == pytest.approx(t.mmr)


# ---------------------------------------------------------------- reduce before open


def test_a_rounding_remainder_of_a_partial_reduction_opens_nothing_on_the_other_side():
    # BTC sleeve short 0.5 of the Dec future (30,600). Move it by +17,619.48 (287.9 lots of 61.20):
    # buy back 0.5 × 17,619.48 / 30,600 = 0.28790 → 0.287 on the 0.001 grid (17,564.40). The 55.08
    # left (> the 50 minimum trade) is under one lot of the position being reduced: reducing suffices,
    # so no 0.0009 BTC perp long may open beside the short that is still there.
    from dataclasses import replace

    from console.core.allocation import compute_allocation
    from console.core.overlay import account_lots, sleeve_legs

    cfg, snap = world(positions=[f.position(DATED, -0.5, mark=61_200)])
    acct = snap.account("fut")
    markets = {**acct.markets, "BTC/USDT:USDT": f.market("BTC/USDT:USDT", step=0.0001, min_cost=5)}
    snap = snap.with_account(replace(acct, markets=markets))
    row = compute_allocation(cfg, snap).row("BTC")
    legs, _ = sleeve_legs(cfg, snap, cfg.sleeve("BTC"), row, 287.9 * 61.2, account_lots(snap))
    assert [(leg.symbol, leg.side, leg.contracts, leg.reduce_only) for leg in legs] == [(DATED, "buy", 0.287, True)]


@pytest.mark.parametrize("interval", ["0h", "-8h", "nanh", "abch"])
def test_a_funding_interval_that_is_not_positive_falls_back_to_8_hours(interval):
    # "0h" would divide by zero in the payment count and the annualised rate
    info = c.funding_info({"fundingRate": 0.0001, "interval": interval, "info": {"fundingIntervalHours": "x"}})
    assert info is not None and info.interval_hours == 8
    assert info.annualised == pytest.approx(0.0001 * 3 * 365)
