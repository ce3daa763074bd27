"""The overlay's P&L read from the emulator through ccxt (trades, funding, candles), kept in
the P&L store beside the journal, and the same after a restart.

Every expected figure is computed here from the formulas (README, "Overlay P&L") on the
venue's own records: the fill prices and fees its trades report, the funding it paid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console import runtime
from console.core.allocation import compute_allocation
from console.emulator.testing import EmulatorHandle
from console.venues.demo import demo_config

BTC = "BTC/USDT:USDT"
HOUR_S = 3600
SEED_BTC = (-0.68, 97_150.0)  # the demo scenario's BTC perp short, opened before any trade


def _candle_open(emulator: EmulatorHandle, kind: str, symbol: str, ts: int) -> float:
    """The venue's own record: the open of the one-minute candle holding ``ts``."""
    from console.emulator import api_public

    read = api_public.spot_klines if kind == "spot" else api_public.fut_mark_klines
    start = ts - ts % 60_000
    return float(read(emulator.emulator, None, {"symbol": symbol, "interval": "1m", "startTime": str(start),
                                                 "limit": "1"})[0][1])


def _connect(emulator: EmulatorHandle, tmp: Path) -> runtime.Services:
    services = runtime.Services(loop=runtime.ServiceLoop())
    runtime.connect(demo_config(), services, emulator_url=emulator.url, clock=emulator.emulator.now_ms,
                    journal_path=tmp / "journal.sqlite3")
    return services


def _sync(services: runtime.Services, emulator: EmulatorHandle) -> Any:
    cfg = demo_config()
    assert services.loop is not None and services.venues is not None
    snap = services.loop.run(services.venues.refresh(), timeout=30)
    alloc = compute_allocation(cfg, snap)
    return alloc, services.loop.run(runtime.sync_pnl(services, cfg, alloc, emulator.emulator.now_ms()), timeout=60)


def _trade(services: runtime.Services, side: str, amount: float) -> None:
    assert services.loop is not None and services.venues is not None
    ex = services.venues.venues["futures"].exchange
    services.loop.run(ex.create_order(BTC, "market", side, amount), timeout=30)


def test_overlay_pnl_from_the_venue_and_again_after_a_restart(emulator: EmulatorHandle, tmp_path: Path) -> None:
    services = _connect(emulator, tmp_path)
    try:
        _trade(services, "sell", 0.1)  # grows the seeded short
        emulator.emulator.advance(9 * HOUR_S)  # past one funding time (every 8 h)
        _trade(services, "buy", 0.05)  # reduces it: realises P&L
        assert services.pnl_venues is None  # not made at start-up: the first P&L read makes them
        alloc, report = _sync(services, emulator)
        # the P&L reads on exchange objects of their own: an order never queues behind them
        assert services.pnl_venues is not None and services.venues is not None
        assert all(services.pnl_venues.venues[n].exchange is not v.exchange for n, v in services.venues.venues.items())
    finally:
        runtime.close(services)

    # the venue's own records, as the inputs to the formulas
    acct = emulator.emulator.accounts["default"]
    trades = [t for t in acct.trades if t.venue == "futures" and t.symbol == "BTCUSDT"]
    assert [t.side for t in trades] == ["SELL", "BUY"]
    sell, buy = trades
    paid = [i.amount for i in acct.income if i.income_type == "FUNDING_FEE" and i.symbol == "BTCUSDT"]
    assert paid, "the scenario must cross a funding time"

    # every record read; the dated ETH future is not asked for funding (it pays none)
    assert report.notes == ()
    pos = next(p for p in report.positions if p.symbol == BTC)
    q0, e0 = SEED_BTC
    # average cost: the sell grows the short, the buy reduces it at the average entry
    entry = (abs(q0) * e0 + sell.qty * sell.price) / (abs(q0) + sell.qty)
    contracts = q0 - sell.qty + buy.qty
    assert pos.contracts == pytest.approx(contracts)
    assert pos.entry == pytest.approx(entry, rel=1e-9)
    assert pos.opened_ms is None  # the seeded short is older than the history
    assert pos.realised == pytest.approx(-1 * buy.qty * (buy.price - entry), abs=1e-6)
    assert pos.fees == pytest.approx(sell.commission + buy.commission, abs=1e-6)
    assert pos.funding == pytest.approx(sum(paid), abs=1e-6)  # the venue writes 8 decimals
    assert pos.upnl == pytest.approx(contracts * 1.0 * (pos.mark - entry), abs=1e-6)
    # the history start is a week before the first sync; the short's uPnL counts from its mark then
    start_mark = _candle_open(emulator, "mark", "BTCUSDT", report.history_start_ms)
    assert pos.upnl_at_start == pytest.approx(q0 * (start_mark - e0), abs=1e-6)

    # the sleeve's hedge comparison: spot held now × its move over the same period
    btc = next(h for h in report.sleeves if h.sleeve == "BTC")
    assert btc.since_ms == report.history_start_ms
    qty = next(a.spot_qty for a in alloc.row("BTC").assets if a.asset == "BTC")
    assert btc.spot is not None and btc.overlay is not None
    then = _candle_open(emulator, "spot", "BTCUSDT", btc.since_ms)
    assert btc.spot == pytest.approx(qty * (alloc.prices["BTC"] - then), abs=1e-6)
    # the sleeve's overlay: every BTC position over the period (the USDⓈ-M short and the COIN-M inverse one)
    assert btc.overlay == pytest.approx(sum(p.period_pnl for p in report.positions if p.symbol.startswith("BTC/")),
                                        abs=1e-6)
    assert btc.offset == pytest.approx(-btc.overlay / btc.spot)

    # a restart on the same folder: the same figures from the store, the history kept
    services = _connect(emulator, tmp_path)
    try:
        _, again = _sync(services, emulator)
        assert services.pnl is not None
        history = services.pnl.history()
    finally:
        runtime.close(services)
    pos2 = next(p for p in again.positions if p.symbol == BTC)
    assert (pos2.realised, pos2.fees, pos2.funding, pos2.upnl) == (pos.realised, pos.fees, pos.funding, pos.upnl)
    assert again.history_start_ms == report.history_start_ms
    assert len(history) == 1  # one sample per sync time: the clock did not move, the sample was replaced
    assert history[0].nav == pytest.approx(alloc.nav)
    assert history[0].overlay == pytest.approx(report.totals.net)


def test_funding_is_read_at_most_every_five_minutes_unless_asked(emulator: EmulatorHandle, tmp_path: Path) -> None:
    services = _connect(emulator, tmp_path)
    try:
        emulator.emulator.advance(4 * HOUR_S - 2 * 60)  # 15:58, two minutes before the 16:00 funding
        _, before = _sync(services, emulator)
        emulator.emulator.advance(3 * 60)  # 16:01: paid, one minute after the last read
        _, throttled = _sync(services, emulator)
        cfg = demo_config()
        assert services.loop is not None and services.venues is not None
        snap = services.loop.run(services.venues.refresh(), timeout=30)
        alloc = compute_allocation(cfg, snap)
        forced = services.loop.run(runtime.sync_pnl(services, cfg, alloc, emulator.emulator.now_ms(), force=True),
                                   timeout=60)
    finally:
        runtime.close(services)
    acct = emulator.emulator.accounts["default"]
    paid = [i.amount for i in acct.income if i.income_type == "FUNDING_FEE" and i.symbol == "BTCUSDT"]
    assert len(paid) == 1  # the 16:00 payment

    def btc(r: Any) -> Any:
        return next(p for p in r.positions if p.symbol == BTC)

    assert btc(before).funding == 0.0 and btc(throttled).funding == 0.0
    assert btc(forced).funding == pytest.approx(paid[0], abs=1e-6)
