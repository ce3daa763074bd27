"""The overlay's P&L from its public formulas: each expected figure is worked out here by hand.

linear uPnL = side × contracts × contractSize × (mark − entry)
inverse uPnL (coin) = side × contracts × contractSize × (1/entry − 1/mark)
realised: each reducing fill at the average entry of what it reduces; fees and funding summed.
"""

from __future__ import annotations

import pytest

from console.core.allocation import PositionLine
from console.core.pnl import (
    BadRecord,
    Fill,
    FundingPayment,
    SleeveHedge,
    fill_from_ccxt,
    funding_from_ccxt,
    inverse_upnl_coin,
    linear_upnl,
    position_pnl,
)

H = 3_600_000
START = 1_000 * H  # the store's history start


def line(contracts: float, entry: float | None, mark: float, *, cs: float = 1.0, linear: bool = True,
         symbol: str = "BTC/USDT:USDT") -> PositionLine:
    notional = contracts * cs * mark if linear else contracts * cs
    return PositionLine(account="futures", symbol=symbol, asset="BTC", sleeve="BTC", contracts=contracts,
                        contract_size=cs, linear=linear, dated=False, mark=mark, notional=notional, ratio=1.0,
                        upnl=0.0, entry_price=entry, liquidation_price=None, leverage=None, margin_mode=None,
                        expiry=None)


def fill(i: int, side: str, qty: float, price: float, fee: float = 0.0, ccy: str = "USDT") -> Fill:
    return Fill(str(i), START + i * H, side, qty, price, fee, ccy)


def test_linear_and_inverse_upnl_formulas() -> None:
    # a 0.5 BTC short from 60,000, marked at 57,000: 0.5 × 3,000 made
    assert linear_upnl(-0.5, 1.0, 60_000, 57_000) == pytest.approx(-0.5 * (57_000 - 60_000))
    assert linear_upnl(-0.5, 1.0, 60_000, 57_000) == pytest.approx(1_500.0)
    # 100 inverse contracts of 100 USD long from 50,000, marked at 55,000, in BTC
    assert inverse_upnl_coin(100, 100, 50_000, 55_000) == pytest.approx(100 * 100 * (1 / 50_000 - 1 / 55_000))
    assert inverse_upnl_coin(-100, 100, 50_000, 55_000) < 0  # a short loses as the price rises


def test_a_position_opened_in_the_history_counts_from_its_opening_fill() -> None:
    fills = [
        fill(0, "buy", 1, 80, fee=0.03), fill(1, "sell", 1, 85, fee=0.03),  # a round trip before: not this position
        fill(2, "sell", 2, 100, fee=0.10), fill(3, "sell", 1, 110, fee=0.05),  # opens, then grows the short
        fill(4, "buy", 1, 90, fee=0.04),  # reduces it
    ]
    funding = [FundingPayment("f1", START + 1 * H + 1, 9.0, "USDT"),  # before it opened: not counted
               FundingPayment("f2", START + 3 * H + 1, 0.5, "USDT"), FundingPayment("f3", START + 4 * H + 1, -0.2, "USDT")]
    entry = (2 * 100 + 1 * 110) / 3
    p = position_pnl(line(-2, entry, 95), fills, funding, START, {}, settle="USDT", quote="USDT")
    assert p.opened_ms == START + 2 * H and p.since_ms == START + 2 * H
    assert p.realised == pytest.approx(-1 * 1 * (90 - entry))  # the short's reduction at 90
    assert p.upnl == pytest.approx(-2 * (95 - entry))
    assert p.funding == pytest.approx(0.5 - 0.2)
    assert p.fees == pytest.approx(0.10 + 0.05 + 0.04)
    assert p.net == pytest.approx(p.upnl + p.realised + 0.3 - 0.19)
    assert p.period_pnl == p.net  # opened within the history: no start uPnL to take off


def test_a_fill_through_zero_opens_the_position_with_its_share_of_the_fee() -> None:
    fills = [fill(0, "buy", 1, 100, fee=0.1), fill(1, "sell", 3, 120, fee=0.3)]  # long 1, then short 2
    p = position_pnl(line(-2, 120, 110), fills, [], START, {}, settle="USDT", quote="USDT")
    assert p.opened_ms == START + 1 * H
    assert p.realised == pytest.approx(0.0)  # the long's profit belongs to the long, not this short
    assert p.fees == pytest.approx(0.3 * 2 / 3)
    assert p.upnl == pytest.approx(-2 * (110 - 120))


def test_a_position_older_than_the_history_recovers_its_entry_and_counts_from_the_start() -> None:
    # held before the history: short 0.68 at 97,150; then sells 0.1 at 95,000 and buys 0.05 at 96,000
    q0, e0 = -0.68, 97_150.0
    entry = (0.68 * e0 + 0.1 * 95_000) / 0.78
    fills = [fill(1, "sell", 0.1, 95_000, fee=4.75), fill(2, "buy", 0.05, 96_000, fee=2.4)]
    start_mark = 96_500.0
    p = position_pnl(line(-0.73, entry, 96_200), fills, [], START, {}, settle="USDT", quote="USDT",
                     mark_at_start=start_mark)
    assert p.opened_ms is None and p.since_ms == START
    assert p.realised == pytest.approx(-1 * 0.05 * (96_000 - entry))
    assert p.upnl_at_start == pytest.approx(q0 * (start_mark - e0))
    assert p.period_pnl == pytest.approx(p.net - q0 * (start_mark - e0))


def test_no_entry_price_and_no_opening_fill_leaves_realised_unknown() -> None:
    fills = [fill(1, "buy", 0.5, 100)]  # reduces a short whose entry nobody knows
    p = position_pnl(line(-1, None, 100), fills, [], START, {}, settle="USDT", quote="USDT")
    assert p.realised is None and p.upnl is None and p.net is None


def test_inverse_realised_and_upnl_in_the_quote_at_the_coin_price() -> None:
    # 100 contracts of 100 USD long from 50,000; 40 sold at 60,000; marked at 55,000; BTC at 55,000
    fills = [fill(0, "buy", 100, 50_000), fill(1, "sell", 40, 60_000, fee=0.0001, ccy="BTC")]
    p = position_pnl(line(60, 50_000, 55_000, cs=100, linear=False, symbol="BTC/USD:BTC"), fills, [], START,
                     {"BTC": 55_000.0}, settle="BTC", quote="USDT")
    assert p.realised == pytest.approx(40 * 100 * (1 / 50_000 - 1 / 60_000) * 55_000)
    assert p.upnl == pytest.approx(60 * 100 * (1 / 50_000 - 1 / 55_000) * 55_000)
    assert p.fees == pytest.approx(0.0001 * 55_000)


def test_inverse_average_entry_is_harmonic() -> None:
    # two buys of 100 contracts (100 USD) at 40,000 and 60,000: entry = 200 / (100/40k + 100/60k) = 48,000
    fills = [fill(0, "buy", 100, 40_000), fill(1, "buy", 100, 60_000)]
    p = position_pnl(line(200, None, 50_000, cs=100, linear=False, symbol="BTC/USD:BTC"), fills, [], START,
                     {"BTC": 50_000.0}, settle="BTC", quote="USDT")
    assert p.entry == pytest.approx(200 / (100 / 40_000 + 100 / 60_000))
    assert p.entry == pytest.approx(48_000)


def test_hedge_offset_is_the_share_of_the_spot_move_taken_back() -> None:
    h = SleeveHedge("BTC", START, overlay=-900.0, spot=1_000.0)
    assert h.offset == pytest.approx(0.9)
    assert SleeveHedge("BTC", START, overlay=5.0, spot=0.0).offset is None  # no move: no share


def test_unreadable_venue_records_name_the_field() -> None:
    ok = fill_from_ccxt({"id": "7", "timestamp": 1, "side": "sell", "amount": 0.1, "price": 95_000.5,
                         "fee": {"cost": 4.75, "currency": "USDT"}})
    assert ok == Fill("7", 1, "sell", 0.1, 95_000.5, 4.75, "USDT")
    with pytest.raises(BadRecord, match="'price'"):
        fill_from_ccxt({"id": "8", "timestamp": 1, "side": "buy", "amount": 1, "price": None})
    with pytest.raises(BadRecord, match="'side'"):
        fill_from_ccxt({"id": "9", "timestamp": 1, "side": "hold", "amount": 1, "price": 1})
    with pytest.raises(BadRecord, match="'amount'"):
        funding_from_ccxt({"id": "f", "timestamp": 1, "amount": float("nan")})


def test_an_entry_of_zero_is_unknown_not_divided_by() -> None:
    # an inverse position the venue reports with entryPrice 0 and no fills: no figure, no crash
    p = position_pnl(line(10, 0.0, 50_000, cs=100, linear=False, symbol="BTC/USD:BTC"), [], [], START,
                     {"BTC": 50_000.0}, settle="BTC", quote="USDT")
    assert p.entry is None and p.upnl is None
