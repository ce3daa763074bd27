"""Margin, liquidation prices and stress of inverse (COIN-M) positions against hand computations.

Binance COIN-M, cross, one-way mode ("Binance COIN-M liquidation price"). Q = contracts ×
contractSize (USD), EP entry, P mark, Side +1 long / −1 short, every margin figure in coin:
    notional = Q / P;  uPnL = Side × Q × (1/EP − 1/P);  maintenance = (Q/P) × mmr − cum
    LP = Q × (mmr + Side) / (WB + cum − TMM₁ + UPNL₁ + Side × Q / EP)
Fallback brackets: Binance COIN-M BTCUSD (coin notional), first bracket [0, 5) BTC at 0.4 %, cum 0.
Every LP is also plugged back: at LP the pool's margin balance equals its maintenance margin.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from console.core import risk
from console.core.checks import CheckCode, pretrade_checks
from console.core.overlay import Leg
from console.core.preview import INVERSE_TIERS_FALLBACK_NOTE, preview
from console.core.risk import (
    DEFAULT_INVERSE_TIERS,
    RiskPosition,
    _derive_cum,
    evaluate,
    inverse_liquidation_price,
)
from console.core.ticket import OrderStyle, Ticket, TicketKind, TicketLeg
from tests import factories as f
from tests.planner.world import world

BTCUSD = "BTC/USD:BTC"
ETHUSD = "ETH/USD:ETH"


def inv(side: int, contracts: float, entry: float, mark: float, *, cs: float = 100.0, symbol: str = BTCUSD,
        mode: str = "cross", iso: float = 0.0) -> RiskPosition:
    base = symbol.split("/")[0]
    return RiskPosition("coin", symbol, base, side, contracts, cs, entry, mark, False, mode, 20.0, iso, base)


def plug_back(side, q, entry, wallet, lp, other_mm=0.0, other_upnl=0.0, tiers=DEFAULT_INVERSE_TIERS):
    """Margin balance − maintenance (coin) at LP, on the bracket of the coin notional there."""
    t = risk.tier_for(tiers, q / lp)
    balance = wallet + other_upnl + side * q * (1 / entry - 1 / lp)
    return balance - (other_mm + q / lp * t.mmr - t.cum)


def ticket(*legs):
    return Ticket(TicketKind.HEDGE, tuple(TicketLeg(leg, OrderStyle(), None) for leg in legs), f.T0)


# ---------------------------------------------------------------- brackets


def test_coin_m_fallback_brackets_and_their_maintenance_amounts():
    # cum_n = cum_(n−1) + floor_n × (mmr_n − mmr_(n−1)), in BTC:
    # 0 | 5×0.001 = 0.005 | +10×0.005 = 0.055 | +20×0.015 = 0.355 | +50×0.025 = 1.605 | +100×0.05 = 6.605
    # | +200×0.025 = 11.605 | +400×0.025 = 21.605 | +1,000×0.1 = 121.605 | +1,500×0.25 = 496.605
    assert [t.cum for t in DEFAULT_INVERSE_TIERS] == pytest.approx(
        [0, 0.005, 0.055, 0.355, 1.605, 6.605, 11.605, 21.605, 121.605, 496.605])
    tab, note = risk.tiers_for(BTCUSD, None, inverse=True)
    assert tab is DEFAULT_INVERSE_TIERS and note.startswith("fallback:") and "COIN-M" in note
    assert risk.is_fallback(note)


# ---------------------------------------------------------------- the worked example


def test_worked_example_short_300_btcusd_on_one_btc():
    """Wallet 1.0 BTC, short 300 BTCUSD (contractSize 100) at 60,000, mark 60,000.

    Q = 300 × 100 = 30,000 USD; notional = 30,000 / 60,000 = 0.5 BTC → bracket [0, 5): 0.4 %, cum 0.
    uPnL = −1 × 30,000 × (1/60,000 − 1/60,000) = 0.
    maintenance = 0.5 × 0.004 − 0 = 0.002 BTC; initial at 20x = 0.5 / 20 = 0.025 BTC.
    margin ratio = 0.002 / (1.0 + 0) = 0.2 %; leverage = 0.5 / 1.0 = 0.5x.
    LP = 30,000 × (0.004 − 1) / (1.0 + 0 − 30,000/60,000) = −29,880 / 0.5 < 0: no liquidation price.
    The short is half the wallet: as P → ∞ the balance only falls toward 1.0 − 0.5 = 0.5 BTC.
    """
    a = evaluate("coin", 1.0, "BTC", [inv(-1, 300, 60_000, 60_000)], None, inverse=True)
    assert a.inverse and a.settle == "BTC"
    assert a.upnl == pytest.approx(0, abs=1e-15)
    assert a.maintenance == pytest.approx(0.002, rel=1e-12)
    assert a.initial == pytest.approx(0.025, rel=1e-12)
    assert a.gross_notional == pytest.approx(0.5, rel=1e-12)
    assert a.margin_ratio == pytest.approx(0.002, rel=1e-12)
    assert a.leverage == pytest.approx(0.5, rel=1e-12)
    p = a.positions[0]
    assert p.notional == pytest.approx(30_000)  # the console's notional of an inverse contract: USD
    assert p.liquidation_price is None and "covers any rally" in p.reason
    assert "COIN-M" in a.tiers_note and "fallback" in a.tiers_note


def test_worked_example_marked_to_66000():
    """The same short with the mark at 66,000 (+10 %).

    uPnL = −30,000 × (1/60,000 − 1/66,000) = −30,000 × 1/660,000 = −0.0454545… BTC.
    notional = 30,000 / 66,000 = 0.4545… BTC; maintenance = 0.4545… × 0.004 = 0.0018181… BTC.
    margin ratio = 0.0018181… / (1 − 0.0454545…) = 0.0018181… / 0.9545454… = 0.19047… %.
    """
    a = evaluate("coin", 1.0, "BTC", [inv(-1, 300, 60_000, 66_000)], None, inverse=True)
    assert a.upnl == pytest.approx(-30_000 / 660_000, rel=1e-12)
    assert a.maintenance == pytest.approx(30_000 / 66_000 * 0.004, rel=1e-12)
    assert a.margin_ratio == pytest.approx((30_000 / 66_000 * 0.004) / (1 - 30_000 / 660_000), rel=1e-12)


def test_short_on_a_tenth_of_a_btc_is_liquidated_at_74700():
    """Wallet 0.1 BTC, short 300 BTCUSD at 60,000 (0.5 BTC of notional on 0.1: 5x).

    maintenance = 0.002 BTC; margin ratio = 0.002 / 0.1 = 2 %.
    LP = 30,000 × (0.004 − 1) / (0.1 + 0 − 0.5) = −29,880 / −0.4 = 74,700 (+24.5 %).
    Notional there = 30,000 / 74,700 = 0.4016 BTC: bracket 1 holds. Plugged back:
    balance = 0.1 − 30,000 × (1/60,000 − 1/74,700) = 0.1 − 0.098394 = 0.001606 = 0.4016 × 0.4 %.
    """
    a = evaluate("coin", 0.1, "BTC", [inv(-1, 300, 60_000, 60_000)], None, inverse=True)
    assert a.margin_ratio == pytest.approx(0.02, rel=1e-12)
    p = a.positions[0]
    assert p.liquidation_price == pytest.approx(74_700, rel=1e-12)
    assert p.distance == pytest.approx(74_700 / 60_000 - 1, rel=1e-12)
    assert plug_back(-1, 30_000, 60_000, 0.1, p.liquidation_price) == pytest.approx(0, abs=1e-15)


def test_long_is_liquidated_below_the_mark_at_50200():
    """Wallet 0.1 BTC, long 300 BTCUSD at 60,000, mark 60,000.

    LP = 30,000 × (0.004 + 1) / (0.1 + 0 + 30,000/60,000) = 30,120 / 0.6 = 50,200 (−16.33 %).
    Notional there = 30,000 / 50,200 = 0.5976 BTC: bracket 1. Plugged back:
    balance = 0.1 + 30,000 × (1/60,000 − 1/50,200) = 0.1 − 0.097610 = 0.002390 = 0.5976 × 0.4 %.
    """
    a = evaluate("coin", 0.1, "BTC", [inv(1, 300, 60_000, 60_000)], None, inverse=True)
    p = a.positions[0]
    assert p.liquidation_price == pytest.approx(50_200, rel=1e-12)
    assert p.liquidation_price < p.mark and p.distance == pytest.approx(50_200 / 60_000 - 1, rel=1e-12)
    assert plug_back(1, 30_000, 60_000, 0.1, p.liquidation_price) == pytest.approx(0, abs=1e-15)


def test_one_x_short_fully_collateralised_by_its_coin_has_no_liquidation_price():
    """The classic COIN-M hedge: 0.5 BTC in the wallet, short 300 BTCUSD (= 0.5 BTC at 60,000).

    Denominator = 0.5 + 0 − 30,000/60,000 = 0: the balance tends to maintenance only as P → ∞,
    so no rally liquidates it; a fall only helps a short. Binance shows "--".
    """
    a = evaluate("coin", 0.5, "BTC", [inv(-1, 300, 60_000, 60_000)], None, inverse=True)
    p = a.positions[0]
    assert p.liquidation_price is None and p.distance is None
    assert "no liquidation price" in p.reason and "covers any rally" in p.reason
    # and the pool stays far from liquidation even on a tenfold rally: ratio ≈ 0.4 %
    far = evaluate("coin", 0.5, "BTC", [inv(-1, 300, 60_000, 600_000)], None, inverse=True)
    assert far.margin_ratio < 0.005


def test_the_bracket_is_the_one_at_the_liquidation_price():
    """Wallet 2 BTC, long 6,000 BTCUSD (Q 600,000) at 60,000 = 10 BTC of notional now.

    Bracket 1 (0.4 %, cum 0): LP = 600,000 × 1.004 / 12 = 50,200 → 11.95 BTC, not in [0, 5).
    Bracket 2 (0.5 %, cum 0.005): LP = 600,000 × 1.005 / 12.005 = 50,229 → 11.95, not in [5, 10).
    Bracket 3 (1 %, cum 0.055): LP = 600,000 × 1.01 / 12.055 = 50,269.6 → 11.94 BTC, in [10, 20): it.
    """
    r = inverse_liquidation_price(1, 600_000, 60_000, 2.0, DEFAULT_INVERSE_TIERS)
    assert r.tier is not None and r.tier.mmr == 0.01 and r.tier.cum == pytest.approx(0.055)
    assert r.price == pytest.approx(606_000 / 12.055, rel=1e-12)
    assert plug_back(1, 600_000, 60_000, 2.0, r.price) == pytest.approx(0, abs=1e-12)


def test_cross_pool_other_positions_and_isolated():
    """A BTC pool with a perp short and a dated long, cross, and an isolated position.

    Wallet 1 BTC. Dated long 100 × 100 at 61,000, mark 62,000: uPnL = 10,000 × (1/61,000 − 1/62,000)
    = 0.0026441 BTC; maintenance = 10,000/62,000 × 0.004 = 0.00064516. The perp short 500 × 100 at
    Its perp short 1,500 × 100 (2.5 BTC) at 60,000 (mark 60,000) sees them as other positions:
    LP = 150,000 × (0.004 − 1) / (1 − 0.00064516 + 0.0026441 − 150,000/60,000) = 99,733
    (1.504 BTC of notional there: bracket 1).
    """
    dated = inv(1, 100, 61_000, 62_000, symbol="BTC/USD:BTC-261225")
    perp = inv(-1, 1_500, 60_000, 60_000)
    a = evaluate("coin", 1.0, "BTC", [perp, dated], None, inverse=True)
    up = 10_000 * (1 / 61_000 - 1 / 62_000)
    mm = 10_000 / 62_000 * 0.004
    want = 150_000 * (0.004 - 1) / (1 - mm + up - 150_000 / 60_000)
    got = {p.symbol: p for p in a.positions}
    assert got[BTCUSD].liquidation_price == pytest.approx(want, rel=1e-12)
    assert plug_back(-1, 150_000, 60_000, 1.0, want, other_mm=mm, other_upnl=up) == pytest.approx(0, abs=1e-12)
    # isolated: its own margin only. 0.05 BTC behind a long of 300 × 100 at 60,000:
    # LP = 30,120 / (0.05 + 0.5) = 54,763.6
    iso = inv(1, 300, 60_000, 60_000, mode="isolated", iso=0.05)
    b = evaluate("coin", 1.0, "BTC", [iso], None, inverse=True)
    assert b.positions[0].liquidation_price == pytest.approx(30_120 / 0.55, rel=1e-12)


def test_an_inverse_pool_leaves_out_linear_and_other_coins_and_vice_versa():
    eth = inv(1, 100, 3_000, 3_000, cs=10.0, symbol=ETHUSD)
    lin = RiskPosition("coin", "BTC/USDT:USDT", "BTC", 1, 1.0, 1.0, 60_000, 60_000, True, "cross", 5, 0.0, "USDT")
    btc = evaluate("coin", 1.0, "BTC", [inv(-1, 300, 60_000, 60_000), eth, lin], None, inverse=True)
    assert [p.symbol for p in btc.positions] == [BTCUSD]
    usdt = evaluate("coin", 10_000, "USDT", [inv(-1, 300, 60_000, 60_000), eth, lin], None)
    assert [p.symbol for p in usdt.positions] == ["BTC/USDT:USDT"] and not usdt.inverse


# ---------------------------------------------------------------- property: LP plugs back


@st.composite
def coin_tiers(draw):
    if draw(st.booleans()):
        return DEFAULT_INVERSE_TIERS
    n = draw(st.integers(1, 6))
    floors = sorted(set(draw(st.lists(st.floats(0.5, 2_000), min_size=n - 1, max_size=n - 1))))
    mmrs = sorted(draw(st.lists(st.floats(0.001, 0.5), min_size=len(floors) + 1, max_size=len(floors) + 1)))
    bounds = [0.0, *floors, float("inf")]
    return _derive_cum([(bounds[i], bounds[i + 1], mmrs[i], 10, None) for i in range(len(mmrs))])


@settings(max_examples=300, deadline=None)
@given(tiers=coin_tiers(), side=st.sampled_from([1, -1]), q=st.floats(100, 5e7), entry=st.floats(100, 200_000),
       wallet=st.floats(0, 1_000), other_mm=st.floats(0, 5), other_upnl=st.floats(-5, 5))
def test_inverse_liquidation_price_plugs_back(tiers, side, q, entry, wallet, other_mm, other_upnl):
    r = inverse_liquidation_price(side, q, entry, wallet, tiers, other_mm=other_mm, other_upnl=other_upnl)
    # as P → ∞ the coin notional and the position's maintenance vanish: the balance tends to this
    at_infinity = wallet - other_mm + other_upnl + side * q / entry
    if r.price is None:
        if side < 0:  # a short with no root is covered for any rally
            assert at_infinity >= -1e-9 * max(1.0, q / entry) and "covers any rally" in r.reason
        else:  # a long with none is under maintenance at every price
            assert at_infinity <= 1e-9 * max(1.0, q / entry) and "ALREADY LIQUIDATABLE" in r.reason
        return
    lp = r.price
    t = risk.tier_for(tiers, q / lp)
    balance = wallet + other_upnl + side * q * (1 / entry - 1 / lp)
    maint = other_mm + q / lp * t.mmr - t.cum
    assert balance == pytest.approx(maint, rel=1e-7, abs=1e-9 * max(1.0, q / lp, wallet, q / entry))
    assert r.tier is not None and r.tier.mmr == pytest.approx(t.mmr)


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from([1, -1]), contracts=st.integers(1, 200_000), entry=st.floats(1_000, 150_000),
       move=st.floats(0.5, 1.5), wallet=st.floats(0.001, 100))
def test_pool_at_its_liquidation_price_has_balance_equal_to_maintenance(side, contracts, entry, move, wallet):
    pos = inv(side, contracts, entry, entry * move)
    a = evaluate("coin", wallet, "BTC", [pos], None, inverse=True)
    lp = a.positions[0].liquidation_price
    assume(lp is not None)
    at = evaluate("coin", wallet, "BTC", [inv(side, contracts, entry, lp)], None, inverse=True)
    assert at.margin_balance == pytest.approx(at.maintenance, rel=1e-7, abs=1e-10 * max(1.0, pos.size / lp))


# ---------------------------------------------------------------- what-if over pools


def coin_account(*, btc=1.0, eth=10.0, positions=None):
    return f.account(
        "coin", "binancecoinm",
        markets=[f.market(BTCUSD, step=1, tick=0.1), f.market(ETHUSD, step=1, tick=0.01, contract_size=10)],
        balance={"BTC": btc, "ETH": eth},
        tickers=[f.ticker(BTCUSD, 60_000), f.ticker(ETHUSD, 3_000)],
        positions=positions if positions is not None else [
            f.position(BTCUSD, -300, mark=60_000, entry=50_000, contract_size=100),
            f.position(ETHUSD, 1_000, mark=3_000, contract_size=10),
        ])


def mixed_world():
    cfg, snap = world(margin=10_000)
    return cfg, snap.with_account(coin_account())


REDUCE_BTCUSD = Leg("BTC", "coin", BTCUSD, "buy", 100, 100.0, False, 60_000, True, "reduce short")
SHORT_USDT = Leg("BTC", "fut", "BTC/USDT:USDT", "sell", 0.1, 1.0, True, 60_000, False, "open")


def test_what_if_evaluates_every_pool_and_realises_coin_pnl_into_its_wallet():
    """COIN-M account: 1 BTC and 10 ETH; short 300 BTCUSD from 50,000 (mark 60,000), long 1,000
    ETHUSD (10 USD each) at 3,000. USDT account: 10,000, flat. Legs: buy back 100 BTCUSD, sell 0.1
    BTC/USDT.

    BTC pool before: uPnL = −30,000 × (1/50,000 − 1/60,000) = −0.1 BTC; balance 0.9 BTC.
    The buy-back realises −1 × 100 × 100 × (1/50,000 − 1/60,000) = −0.0333… BTC into the BTC wallet
    (1 → 0.9666…); the uPnL left is −0.0666…, the balance stays 0.9 (NAV unchanged).
    ETH pool: untouched, 10 ETH, 10,000/3,000 = 3.333 ETH notional × 0.4 % = 0.01333 ETH maintenance;
    its LP falls where the notional (13.26 ETH) is in the fallback's [10, 20) bracket (1 %, cum 0.055):
    10,000 × 1.01 / (10 + 0.055 + 10,000/3,000) = 754.39.
    USDT pool: 6,000 × 0.4 % = 24 maintenance on 10,000.
    """
    cfg, snap = mixed_world()
    wi = risk.what_if(snap, [REDUCE_BTCUSD, SHORT_USDT], tiers=None, quote="USDT", default_leverage=5,
                      stress_moves=())
    pools = [(a.account, a.settle) for a in wi.after]
    assert pools == [("coin", "BTC"), ("coin", "ETH"), ("fut", "USDT")]
    assert [(a.account, a.settle) for a in wi.before] == pools
    before = {(a.account, a.settle): a for a in wi.before}
    after = {(a.account, a.settle): a for a in wi.after}
    b, a = before["coin", "BTC"], after["coin", "BTC"]
    assert b.upnl == pytest.approx(-0.1, rel=1e-12) and b.wallet == 1.0
    assert a.wallet == pytest.approx(1 - 10_000 * (1 / 50_000 - 1 / 60_000), rel=1e-12)
    assert a.upnl == pytest.approx(-20_000 * (1 / 50_000 - 1 / 60_000), rel=1e-12)
    assert a.margin_balance == pytest.approx(b.margin_balance, rel=1e-12)
    assert a.positions[0].contracts == 200 and a.positions[0].entry == 50_000
    assert a.positions[0].liquidation_price is None  # 0.333 BTC short on 0.9 BTC of balance
    e = after["coin", "ETH"]
    assert e.inverse and e.wallet == 10.0 and e.maintenance == pytest.approx(10_000 / 3_000 * 0.004, rel=1e-12)
    assert e.positions[0].liquidation_price == pytest.approx(10_000 * 1.01 / (10 + 0.055 + 10_000 / 3_000), rel=1e-12)
    u = after["fut", "USDT"]
    assert not u.inverse and u.wallet == 10_000 and u.maintenance == pytest.approx(24)
    # rows are told apart by their settle coin; one figure for the account is its worst pool
    assert wi.label("coin", "BTC") == "coin · BTC" and wi.label("fut", "USDT") == "fut"
    assert wi.account_after("coin") is max((a, e), key=lambda x: x.margin_ratio)


def test_stress_moves_coin_marks_and_prices_coin_pnl_in_usd():
    """After the ticket the BTC pool is short 200 BTCUSD (Q 20,000) from 50,000.

    Futures P&L in USD = the coin uPnL valued at its mark, Side × Q × (P/EP − 1), after − before:
    +10 % (66,000): −20,000 × 6,000 / 50,000 = −2,400 (a short loses USD when BTC rises);
    −10 %: +2,400. The linear USDT short of 0.1: −0.1 × 6,000 = −600 at +10 %, as before.
    """
    cfg, snap = mixed_world()
    wi = risk.what_if(snap, [REDUCE_BTCUSD, SHORT_USDT], tiers=None, quote="USDT", default_leverage=5,
                      spot_values={"BTC": 58_000})
    rows = {(r.account, r.settle, r.move): r for r in wi.stress if r.asset == "BTC"}
    assert not any("not computed" in r.reason for r in wi.stress)
    up, down = rows["coin", "BTC", 0.10], rows["coin", "BTC", -0.10]
    assert up.futures_pnl_after == pytest.approx(-2_400, rel=1e-9) and up.futures_pnl_after < 0
    assert down.futures_pnl_after == pytest.approx(2_400, rel=1e-9)
    assert up.reason == "survives" and not up.liquidated_after
    # the ratio, all in coin, at +10 %: uPnL −20,000 × (1/50,000 − 1/66,000), maintenance
    # 20,000/66,000 × 0.4 % (it shrinks in coin as BTC rises), wallet 0.9666…
    w = 1 - 10_000 * (1 / 50_000 - 1 / 60_000)
    want = (20_000 / 66_000 * 0.004) / (w - 20_000 * (1 / 50_000 - 1 / 66_000))
    assert up.margin_ratio_after == pytest.approx(want, rel=1e-9)
    # BTC moves leave the ETH pool alone
    eth = rows["coin", "ETH", 0.30]
    assert eth.futures_pnl_after == 0 and eth.margin_ratio_after == pytest.approx(eth.margin_ratio_before)
    lin = rows["fut", "USDT", 0.10]
    assert lin.futures_pnl_after == pytest.approx(-600) and lin.spot_pnl == pytest.approx(5_800)


def test_a_rally_liquidates_a_thin_coin_short_and_the_stress_says_so():
    # 0.1 BTC behind short 300 BTCUSD at 60,000: LP 74,700 (+24.5 %), so +30 % liquidates it, +20 % not
    coin = coin_account(btc=0.1, positions=[f.position(BTCUSD, -300, mark=60_000, contract_size=100)])
    cfg, snap = world()
    snap = snap.with_account(coin)
    leg = Leg("BTC", "coin", BTCUSD, "sell", 1, 100.0, False, 60_000, False, "open")
    wi = risk.what_if(snap, [leg], tiers=None, quote="USDT", default_leverage=5)
    rows = {r.move: r for r in wi.stress if r.account == "coin"}
    assert rows[0.30].liquidated_after and "liquidated" in rows[0.30].reason
    assert not rows[0.20].liquidated_after
    p = wi.after[0].positions[0]
    assert p.liquidation_price == pytest.approx(30_100 * 0.996 / (30_100 / 60_000 - 0.1), rel=1e-12)


def test_growing_an_inverse_position_keeps_the_harmonic_mean_entry():
    # short 100 at 50,000 + 100 at 60,000: entry 20,000 / (10,000/50,000 + 10,000/60,000) = 54,545.45,
    # so that the coin PnL of the whole equals the sum of the parts'
    pos = [inv(-1, 100, 50_000, 60_000)]
    leg = Leg("BTC", "coin", BTCUSD, "sell", 100, 100.0, False, 60_000, False, "open")
    after, realised = risk.apply_by_pool(pos, [leg], "coin", 5)
    assert realised == {}
    assert after[0].entry == pytest.approx(20_000 / (10_000 / 50_000 + 10_000 / 60_000), rel=1e-12)
    assert after[0].upnl == pytest.approx(pos[0].upnl, rel=1e-12)


def test_pretrade_checks_judge_the_coin_pool_in_coin():
    # a 50,000 USD short on 0.1 BTC: 0.8333 BTC of notional, leverage 8.33x over the limit, in BTC
    coin = coin_account(btc=0.1, eth=0.0, positions=[])
    cfg, snap = world()
    snap = snap.with_account(coin)
    leg = Leg("BTC", "coin", BTCUSD, "sell", 500, 100.0, False, 60_000, False, "open")
    fails = [c for c in pretrade_checks(cfg, snap, ticket(leg), f.T0) if c.code is CheckCode.LEVERAGE]
    assert len(fails) == 1 and "BTC" in fails[0].message and "8.33x" in fails[0].message


# ---------------------------------------------------------------- preview


def test_preview_of_an_inverse_leg_computes_margin_and_drops_the_not_computed_caveat():
    cfg, snap = mixed_world()
    pv = preview(cfg, snap, ticket(REDUCE_BTCUSD), now_ms=f.T0)
    assert not any("not computed" in a for a in pv.assumptions)
    assert INVERSE_TIERS_FALLBACK_NOTE in pv.assumptions
    btc = next(a for a in pv.what_if.after if a.settle == "BTC")
    assert btc.inverse and btc.maintenance > 0
    assert not any("not computed" in r.reason for r in pv.what_if.stress)


def test_venue_tiers_for_an_inverse_symbol_are_used_in_coin():
    # a venue table for BTCUSD (coin notionals): [0, 1) at 1 %, [1, ∞) at 2 %, cum derived 0.01.
    # Short 300 BTCUSD at 60,000 = 0.5 BTC: maintenance 0.5 × 1 % = 0.005 BTC
    raw = [{"minNotional": 0, "maxNotional": 1, "maintenanceMarginRate": 0.01, "maxLeverage": 50, "info": {}},
           {"minNotional": 1, "maxNotional": None, "maintenanceMarginRate": 0.02, "maxLeverage": 20, "info": {}}]
    a = evaluate("coin", 1.0, "BTC", [inv(-1, 300, 60_000, 60_000)], {BTCUSD: raw}, inverse=True)
    assert a.tiers_note == "venue tiers" and a.maintenance == pytest.approx(0.005, rel=1e-12)


def test_the_dashboards_computed_margin_ratio_is_the_worst_pool():
    from console.core.alerts import _computed_margin_ratio

    # BTC pool: 0.002 BTC / 0.1 BTC = 2 %; ETH pool: 3.333 ETH × 0.4 % / 10 ETH = 0.133 %
    coin = coin_account(btc=0.1, positions=[f.position(BTCUSD, -300, mark=60_000, contract_size=100),
                                            f.position(ETHUSD, 1_000, mark=3_000, contract_size=10)])
    cfg, snap = world()
    snap = snap.with_account(coin)
    assert _computed_margin_ratio(cfg, snap, "coin") == pytest.approx(0.02, rel=1e-12)
