"""Each cost figure against a hand computation, and the sign properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core import costs as c
from tests.planner.world import book


def test_fee_is_notional_times_taker_or_maker():
    # 13,000 × 0.05 % = 6.50 taker; 13,000 × 0.02 % = 2.60 maker
    rate, _ = c.fee_rate({"taker": 0.0005, "maker": 0.0002}, "X", maker=False)
    assert c.fee_cost(13_000, rate, "m", maker=False).amount == pytest.approx(6.5)
    rate, _ = c.fee_rate({"taker": 0.0005, "maker": 0.0002}, "X", maker=True)
    assert c.fee_cost(13_000, rate, "m", maker=True).amount == pytest.approx(2.6)


def test_account_fee_tier_wins_over_the_market_rate():
    rate, src = c.fee_rate({"taker": 0.0005}, "X", maker=False, trading_fees={"X": {"taker": 0.0004}})
    assert rate == 0.0004 and "fetch_trading_fees" in src


@pytest.mark.parametrize(("market", "maker", "rate", "source"), [
    ({"taker": 0.0007, "maker": 0.0001}, False, 0.0007, "market's listed taker rate"),
    ({"taker": 0.0007, "maker": 0.0001}, True, 0.0001, "market's listed maker rate"),
    ({"taker": 0.0007, "maker": None}, True, 0.0002, "no maker rate known: Binance USDⓈ-M default assumed"),
    ({"symbol": "X", "contractSize": 1}, False, 0.0005, "no taker rate known: Binance USDⓈ-M default assumed"),
    (None, False, 0.0005, "no taker rate known: Binance USDⓈ-M default assumed"),
])
def test_a_legs_fee_rate_read_from_the_market_facts_is_the_markets(market, maker, rate, source):
    # a plan reads the listed rates from the market's facts (kept per markets mapping), not
    # from the market itself: the rate and the words must be the market's own
    from console.core.venuedata import market_facts

    markets = {"X": market} if market is not None else {}
    assert c.fee_rate(market_facts(markets, "X").listed_fees, "X", maker=maker) == (rate, source)
    # and the account's own tier still wins over them
    tier = c.fee_rate(market_facts(markets, "X").listed_fees, "X", maker=maker,
                      trading_fees={"X": {"maker": 0.0003, "taker": 0.0006}})
    assert tier == (0.0003 if maker else 0.0006,
                    f"account {'maker' if maker else 'taker'} rate (fetch_trading_fees)")


def test_walk_book_vwap_and_slippage_by_hand():
    # mid 100; asks 100.5 × 1, 101.5 × 2, 102.5 × 5. Buy 2.5:
    # 1 × 100.5 + 1.5 × 101.5 = 100.5 + 152.25 = 252.75 → VWAP 101.1 → 110 bps over mid
    b = book(100, half_spread=0.5, levels=[(0, 1), (1, 2), (2, 5)])
    w = c.walk_book(b, "buy", 2.5)
    assert w.vwap == pytest.approx(101.1)
    assert w.bps == pytest.approx(110)
    assert not w.thin
    # money = contracts × contractSize × |VWAP − mid| = 2.5 × 1 × (101.1 − 100) = 2.75
    item, _ = c.slippage_cost(b, "buy", 2.5)
    assert item.amount == pytest.approx(2.75)
    # a book listed in contracts of 0.1 coin (amounts × 10): 25 contracts = the same 2.5 coin, 2.75
    item, _ = c.slippage_cost(book(100, half_spread=0.5, levels=[(0, 10), (1, 20), (2, 50)]), "buy", 25, 0.1)
    assert item.amount == pytest.approx(2.75)
    # the sell side mirrors it: bids 99.5 × 1, 98.5 × 2 → VWAP 98.9, 110 bps
    assert c.walk_book(b, "sell", 2.5).vwap == pytest.approx(98.9)


def test_thin_book_says_so_and_prices_the_rest_at_the_last_level():
    # only 3 listed; buying 5: 1 × 100.5 + 2 × 101.5 + 2 (unlisted) × 101.5 = 506.5 → VWAP 101.3
    b = book(100, half_spread=0.5, levels=[(0, 1), (1, 2)])
    item, w = c.slippage_cost(b, "buy", 5)
    assert w.thin and w.filled == 3
    assert w.vwap == pytest.approx(101.3)
    assert "TOO THIN" in item.reason


def test_no_book_is_shown_as_unknown_not_zero_silently():
    item, _ = c.slippage_cost(None, "buy", 1)
    assert not item.known and "n/a (no order book)" in item.reason


def test_funding_sign_short_receives_long_pays():
    # 13,000 short, +0.01 %/8 h, 7 days = 21 payments: −1 × 0.0001 × 13,000 × 21 = −27.30 (income)
    info = c.FundingInfo(0.0001, 8, 3_600_000)
    assert c.funding_events(7, 8, next_ms=3_600_000, now_ms=0) == 21
    assert c.funding_item("sell", 13_000, info, 7, now_ms=0).amount == pytest.approx(-27.3)
    assert c.funding_item("buy", 13_000, info, 7, now_ms=0).amount == pytest.approx(27.3)
    # annualised: 0.01 % × 3 × 365 = 10.95 %
    assert info.annualised == pytest.approx(0.1095)
    # a 4-hour interval doubles the count: 7 d → 42 intervals, 0.01 % × 6 × 365 = 21.9 %/yr
    assert c.FundingInfo(0.0001, 4, None).annualised == pytest.approx(0.219)


def test_funding_interval_and_next_time_from_ccxt_structure():
    fi = c.funding_info({"fundingRate": -0.0002, "interval": "4h", "fundingTimestamp": 123})
    assert (fi.rate, fi.interval_hours, fi.next_time_ms) == (-0.0002, 4, 123)


def test_basis_and_annualised_to_expiry():
    # F 61,200, S 60,000: (61,200 − 60,000) / 60,000 = 2 %; 34 days → 2 % × 365 / 34 = 21.47 %/yr
    b = c.basis_info(61_200, 60_000, 34 * c.MS_PER_DAY, 0)
    assert b.basis == pytest.approx(0.02)
    assert b.annualised == pytest.approx(0.02 * 365 / 34)
    # 13,000 of notional at F is 13,000 / 61,200 BTC; its premium is that × 1,200 = 13,000 × (F − S)/F
    # = 254.90. A short held 7 of the 34 days earns 7/34 of it: −52.48
    assert c.basis_item("sell", 13_000, b, 7).amount == pytest.approx(-13_000 * 1_200 / 61_200 * 7 / 34)
    # held past expiry: all of this contract's premium, and no more (the next one's is in the roll)
    assert c.basis_item("buy", 13_000, b, 60).amount == pytest.approx(13_000 * 1_200 / 61_200)


def test_roll_needed_only_when_the_horizon_passes_expiry():
    assert c.rolls_needed(7, 34) == 0
    assert c.rolls_needed(40, 34) == 1
    assert c.rolls_needed(34 + 91 + 1, 34) == 2
    # one roll = close + reopen = 2 × (fee 6.5 + slippage 1.0) = 15
    assert c.roll_item(1, 7.5, 34).amount == pytest.approx(15)
    assert c.roll_item(0, 7.5, 34).amount == 0


def test_spot_alternative_fee_and_default_when_market_unknown():
    fee, slip = c.spot_alternative(13_000, "sell", spot_symbol="BTC/USDT", spot_market=None, spot_book=None,
                                   spot_price=60_000)
    # Binance spot 0.1 % taker assumed: 13,000 × 0.001 = 13
    assert fee.amount == pytest.approx(13) and "assumed" in fee.reason
    assert not slip.known


# ---------------------------------------------------------------- properties

levels = st.lists(st.tuples(st.floats(0, 50), st.floats(0.001, 100)), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(mid=st.floats(1, 1e5), half=st.floats(0, 5), lv=levels, qty=st.floats(0.001, 500),
       side=st.sampled_from(["buy", "sell"]))
def test_slippage_is_never_negative(mid, half, lv, qty, side):
    lv = sorted(lv)  # best first: offsets grow away from mid
    b = book(mid, half_spread=half, levels=lv)
    if b["bids"][-1][0] <= 0:
        return
    item, _ = c.slippage_cost(b, side, qty)
    assert item.amount >= 0


@settings(max_examples=150, deadline=None)
@given(notional=st.floats(0, 1e9), rate=st.floats(-0.01, 0.01), maker=st.booleans())
def test_fees_are_never_negative(notional, rate, maker):
    assert c.fee_cost(notional, rate, "x", maker=maker).amount >= 0


@settings(max_examples=200, deadline=None)
@given(notional=st.floats(1, 1e9),
       # real rates are multiples of 1e-8; subnormal floats would underflow the product to 0
       rate=st.one_of(st.just(0.0), st.floats(1e-9, 0.01), st.floats(-0.01, -1e-9)),
       days=st.floats(0.1, 365), side=st.sampled_from(["buy", "sell"]))
def test_funding_sign_follows_side_and_rate(notional, rate, days, side):
    cost = c.funding_cost(side, rate, notional, c.funding_events(days, 8, next_ms=1, now_ms=0))
    if rate == 0:
        assert cost == 0
    elif (side == "buy") == (rate > 0):  # long with positive rate, or short with negative: pays
        assert cost > 0
    else:
        assert cost < 0
    # the mirror leg gets exactly the opposite
    assert c.funding_cost("sell" if side == "buy" else "buy", rate, notional, days * 3) == pytest.approx(
        -c.funding_cost(side, rate, notional, days * 3))


def test_inverse_slippage_is_the_coin_shortfall_valued_at_vwap():
    # 2.5 contracts of 100 USD: Q = 250 USD, bought at VWAP 101.1 instead of mid 100. The fill
    # gets Q/VWAP coin instead of Q/mid: 250 × (1/100 − 1/101.1) coin, worth × mid 100 in USD
    # = 250 × 1.1 / 101.1
    b = book(100, half_spread=0.5, levels=[(0, 1), (1, 2), (2, 5)])
    item, _ = c.slippage_cost(b, "buy", 2.5, 100, inverse=True)
    assert item.amount == pytest.approx(250 * (1 / 100 - 1 / 101.1) * 100)
    assert item.amount == pytest.approx(250 * 1.1 / 101.1)
