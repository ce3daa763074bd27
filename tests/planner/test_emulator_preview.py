"""Integration: a book and leverage tiers fetched through ccxt from the loopback emulator,
then a ticket previewed on them (the `emulator` fixture is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from console.core.costs import walk_book
from console.core.overlay import Leg
from console.core.preview import preview
from console.core.risk import maintenance_margin, tiers_from_ccxt
from console.core.snapshot import AccountState, Snapshot
from console.core.ticket import Ticket, TicketKind, TicketLeg
from console.emulator.testing import ccxt_client
from tests import factories as f

SYM = "BTC/USDT:USDT"
TOML = """
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.5
hedges = ["BTC/USDT:USDT"]
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.5
[[accounts]]
name = "fut"
exchange = "binanceusdm"
markets = ["swap", "future"]
"""


async def test_preview_on_a_book_and_tiers_fetched_through_ccxt(emulator):
    ex = ccxt_client(emulator, "usdm")
    try:
        markets = await ex.load_markets()
        book = await ex.fetch_order_book(SYM, 50)
        tiers = await ex.fetch_leverage_tiers([SYM])
        rates = await ex.fetch_funding_rates([SYM])
        tickers = await ex.fetch_tickers([SYM])
        balance = await ex.fetch_balance()
    finally:
        await ex.close()
    now = int(book["timestamp"])
    acct = AccountState(name="fut", exchange="binanceusdm", markets=dict(markets),
                        balance={"total": {k: v for k, v in balance["total"].items() if v}},
                        tickers=dict(tickers), funding_rates=dict(rates),
                        fetched_at={p: now for p in ("markets", "balance", "positions", "tickers", "funding_rates")})
    snap = Snapshot(timestamp=now, accounts={"fut": acct})
    cfg = f.config(TOML)
    mark = float(rates[SYM]["markPrice"])
    leg = Leg("BTC", "fut", SYM, "sell", 1.0, 1.0, True, mark, False, "open")
    t = Ticket(TicketKind.HEDGE, (TicketLeg(leg),), now)
    pv = preview(cfg, snap, t, books={"fut": {SYM: book}}, tiers={"fut": tiers}, horizon_days=7, now_ms=now)

    slip = pv.legs[0].item("slippage")
    w = walk_book(book, "sell", 1.0)
    mid = (book["bids"][0][0] + book["asks"][0][0]) / 2
    assert slip.known and slip.bps == pytest.approx((mid - w.vwap) / mid * 1e4)
    assert slip.amount > 0
    after = pv.what_if.after[0]
    assert after.tiers_note == "venue tiers"
    assert after.maintenance == pytest.approx(maintenance_margin(mark, tiers_from_ccxt(tiers[SYM])))
    assert pv.legs[0].funding is not None and pv.legs[0].funding.next_time_ms == rates[SYM]["fundingTimestamp"]
    assert pv.checks == ()  # fresh data, 1 BTC on the emulator's demo wallet
