"""CSV exports as a person and a spreadsheet read them: a weight computed as 0.05 + 0.12 reads
0.17 (not 0.16999999999999998), money is in full to 1e-8 without float noise, coin amounts and prices keep 12
significant digits, an unknown figure is an empty cell, never "nan" or "-0"."""

from __future__ import annotations

import csv
import io
import math

import pytest

from console.core.allocation import Allocation, SleeveRow, Status
from console.core.export import TicketLine, allocation_csv, pnl_csv, tickets_csv
from console.core.overlay import Leg
from console.core.pnl import PnlReport, PnlTotals, PositionPnL, SleeveHedge
from console.core.ticket import Ticket, TicketKind, TicketLeg

T0 = 1_795_000_000_000
NAV = 100_000.0
WEIGHT = 0.05 + 0.12  # a 17 % weight as a sum of floats
assert repr(WEIGHT) != "0.17"  # the float noise the export must not show


def _row(name: str, *, net: float, weight: float, target: float | None, halfwidth: float | None,
         drift: float | None, delta: float) -> SleeveRow:
    return SleeveRow(name=name, assets=(), positions=(), spot_value=net, futures_notional=0.0, net=net,
                     weight=weight, target=target, halfwidth=halfwidth, drift=drift, status=Status.OK,
                     delta_target=delta, delta_band=0.0, is_cash=False, configured=target is not None)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _alloc(*rows: SleeveRow) -> Allocation:
    return Allocation(nav=NAV, quote="USDT", timestamp=T0, rows=rows, prices={}, upnl=0.0, missing_prices=())


def test_a_weight_summed_from_floats_exports_as_written() -> None:
    target = 0.17
    net = WEIGHT * NAV  # 16999.999999999996
    row = _row("ALTS", net=net, weight=WEIGHT, target=target, halfwidth=0.05, drift=WEIGHT - target,
               delta=(target - WEIGHT) * NAV)
    (alts, nav) = _rows(allocation_csv(_alloc(row)))
    assert (alts["weight"], alts["target"]) == ("0.17", "0.17")
    assert (alts["band_lo"], alts["band_hi"]) == ("0.12", "0.22")  # 0.17 ∓ 0.05
    assert alts["drift"] == "0"  # -2.8e-17 is float noise: no drift, and never "-0"
    assert (alts["spot_value"], alts["net"], alts["futures_notional"]) == ("17000", "17000", "0")
    assert alts["to_target"] == "0"  # +3.6e-12 of money
    assert (nav["net"], nav["weight"]) == ("100000", "1")


def test_the_columns_keep_their_names_and_order() -> None:
    text = allocation_csv(_alloc(_row("BTC", net=1.0, weight=1e-5, target=None, halfwidth=None, drift=None,
                                      delta=0.0)))
    assert text.splitlines()[0] == ("as_of,sleeve,quote,spot_value,futures_notional,net,weight,target,band_lo,"
                                    "band_hi,drift,status,to_target")


def test_an_unknown_figure_is_an_empty_cell_and_no_figure_reads_nan_or_minus_zero() -> None:
    rows = [_row("BTC", net=-0.004, weight=-0.0, target=None, halfwidth=None, drift=math.nan, delta=-0.001),
            _row("ETH", net=math.inf, weight=0.2, target=0.2, halfwidth=0.05, drift=None, delta=-0.0)]
    text = allocation_csv(_alloc(*rows))
    btc, eth, _ = _rows(text)
    assert (btc["target"], btc["band_lo"], btc["drift"], eth["net"], eth["drift"]) == ("", "", "", "", "")
    assert (btc["net"], btc["weight"], btc["to_target"], eth["to_target"]) == ("-0.004", "0", "-0.001", "0")
    cells = [c for r in csv.reader(io.StringIO(text)) for c in r]
    assert not any(c.lower() in ("nan", "inf", "-inf") or c.startswith("-0") and float(c) == 0 for c in cells)


# the rounding each kind of column states: fractions 10 significant digits (noise under 1e-12
# reads 0), money to 1e-8, coin amounts and prices 12 significant digits
MONEY_STEP = 5e-9 + 1e-9  # half of 1e-8, plus the float noise of the subtraction that checks it
FRACTIONS = [0.17, 1 / 3, 2 / 3 - 0.5, 0.123456789012345, 1e-5, 0.4500000001, 1.0]
MONEY = [16_999.999999999996, 1_234_567.891, -0.125, 98_765.4321, 0.004]
AMOUNTS = [0.1 + 0.2, 95_123.456789012345, 0.000012345678901234, 123_456_789.123, 3.0]


@pytest.mark.parametrize("x", FRACTIONS)
def test_fractions_round_trip_to_ten_significant_digits(x: float) -> None:
    (r, _) = _rows(allocation_csv(_alloc(_row("A", net=x * NAV, weight=x, target=x, halfwidth=0.0, drift=-x,
                                              delta=0.0))))
    for col, v in (("weight", x), ("target", x), ("drift", -x)):
        assert abs(float(r[col]) - v) <= 5e-10 * abs(v), (col, r[col])
        assert "e" not in r[col].lower()  # plain decimals: 0.00001, not 1e-05


def _leg(contracts: float, price: float) -> Leg:
    return Leg(sleeve="BTC", account="futures", symbol="BTC/USDT:USDT", side="sell", contracts=contracts,
               contract_size=1.0, linear=True, price=price, reduce_only=False, purpose="open")


@pytest.mark.parametrize(("contracts", "price"), list(zip(AMOUNTS, reversed(AMOUNTS), strict=True)))
def test_ticket_amounts_and_prices_keep_twelve_significant_digits(contracts: float, price: float) -> None:
    leg = _leg(contracts, price)
    ticket = Ticket(kind=TicketKind.HEDGE, legs=(TicketLeg(leg, limit_price=price),), snapshot_ts=T0)
    (r,) = _rows(tickets_csv([TicketLine("t1", T0, "filled", ticket)]))
    for col, v in (("contracts", contracts), ("limit_price", price), ("mark", price)):
        assert abs(float(r[col]) - v) <= 5e-12 * abs(v), (col, r[col])
        assert "e" not in r[col].lower()
    assert abs(float(r["notional"]) - contracts * price) <= max(MONEY_STEP, 5e-15 * abs(contracts * price))
    assert "e" not in r["notional"].lower()


def test_ticket_contracts_read_as_the_lot_they_are() -> None:
    ticket = Ticket(kind=TicketKind.HEDGE, legs=(TicketLeg(_leg(0.1 + 0.2, 95_000.0)),), snapshot_ts=T0)
    (r,) = _rows(tickets_csv([TicketLine("t1", T0, "filled", ticket)]))
    assert (r["contracts"], r["mark"], r["limit_price"], r["notional"]) == ("0.3", "95000", "", "28500")


@pytest.mark.parametrize("m", MONEY)
def test_pnl_money_is_in_full_and_the_offset_is_a_fraction(m: float) -> None:
    pos = PositionPnL(account="futures", symbol="BTC/USDT:USDT", sleeve="BTC", contracts=-(0.1 + 0.2), entry=95_000.0,
                      mark=94_000.0, upnl=m, realised=None, funding=0.0, fees=0.0, since_ms=T0, opened_ms=T0)
    hedge = SleeveHedge(sleeve="BTC", since_ms=T0, overlay=m, spot=-m / (0.05 + 0.12))
    report = PnlReport(at_ms=T0, history_start_ms=T0, quote="USDT", positions=(pos,), sleeves=(hedge,),
                       totals=PnlTotals(upnl=m, realised=0.0, funding=0.0, fees=0.0))
    p, s, t = _rows(pnl_csv(report))
    assert abs(float(p["unrealised"]) - m) <= MONEY_STEP and "e" not in p["unrealised"].lower()
    assert (p["realised"], p["net"], p["contracts"], p["entry"]) == ("", "", "-0.3", "95000")
    assert s["offset"] == "0.17"  # -overlay / spot
    assert abs(float(t["net"]) - m) <= MONEY_STEP
