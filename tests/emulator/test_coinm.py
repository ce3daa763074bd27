"""COIN-M through ccxt's unmodified binancecoinm: inverse contracts of USD, margin, PnL and
fees in the coin. Expected values come from the inverse formulas written here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from console.emulator.testing import EmulatorHandle, ccxt_client

SIZE = 100.0  # USD per BTCUSD contract
SYM = "BTC/USD:BTC"


@pytest.fixture
async def coinm(emulator: EmulatorHandle) -> AsyncIterator[Any]:
    ex = ccxt_client(emulator, "coinm", timeout_on_exit=0)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


def upnl(contracts: float, entry: float, mark: float) -> float:
    return contracts * SIZE * (1 / entry - 1 / mark)


async def _mark(coinm: Any) -> float:
    return float((await coinm.dapiPublicGetPremiumIndex({"symbol": "BTCUSD_PERP"}))[0]["markPrice"])


async def test_markets_are_inverse_usd_contracts(coinm: Any) -> None:
    m = coinm.market(SYM)
    assert (m["inverse"], m["contractSize"], m["settle"], m["swap"]) == (True, SIZE, "BTC", True)
    assert coinm.market("BTC/USD:BTC-261225")["future"] is True


async def test_demo_inverse_position_and_coin_margin(coinm: Any) -> None:
    (pos,) = [p for p in await coinm.fetch_positions() if p["contracts"]]
    assert (pos["symbol"], pos["side"], pos["contracts"], pos["entryPrice"]) == (SYM, "short", 200, 96_400.0)
    mark = await _mark(coinm)
    assert pos["unrealizedPnl"] == pytest.approx(upnl(-200, 96_400.0, mark), abs=1e-8)
    bal = (await coinm.fetch_balance())["BTC"]
    assert bal["used"] == pytest.approx(200 * SIZE / mark / 5, abs=1e-8)  # IM at 5x, in BTC
    assert bal["total"] == pytest.approx(0.5 + upnl(-200, 96_400.0, mark), abs=1e-8)
    assert Decimal(repr(bal["free"])) + Decimal(repr(bal["used"])) == Decimal(repr(bal["total"]))


async def test_buying_back_realises_inverse_pnl_and_pays_a_coin_fee(coinm: Any) -> None:
    wallet0 = float((await coinm.dapiPrivateGetBalance())[0]["balance"])
    order = await coinm.create_order(SYM, "market", "buy", 50)
    fills = [t for t in await coinm.fetch_my_trades(SYM) if t["order"] == order["id"]]
    assert sum(t["amount"] for t in fills) == 50
    fee = sum(t["amount"] * SIZE / t["price"] * 0.0005 for t in fills)
    realised = sum(-t["amount"] * SIZE * (1 / 96_400.0 - 1 / t["price"]) for t in fills)  # a short reduced
    wallet = float(next(b for b in await coinm.dapiPrivateGetBalance() if b["asset"] == "BTC")["balance"])
    assert wallet == pytest.approx(wallet0 + realised - fee, abs=2e-8)
    (pos,) = [p for p in await coinm.fetch_positions([SYM])]
    assert (pos["contracts"], pos["entryPrice"]) == (150, 96_400.0)  # reducing keeps the entry


async def test_adding_averages_the_entry_harmonically(coinm: Any) -> None:
    order = await coinm.create_order(SYM, "market", "sell", 100)
    fills = [t for t in await coinm.fetch_my_trades(SYM) if t["order"] == order["id"]]
    contracts = 200 + sum(t["amount"] for t in fills)
    entry = contracts / (200 / 96_400.0 + sum(t["amount"] / t["price"] for t in fills))
    (pos,) = [p for p in await coinm.fetch_positions([SYM])]
    assert pos["contracts"] == contracts and pos["entryPrice"] == pytest.approx(entry, rel=1e-9)


async def test_every_symbol_public_answers_list_the_coinm_book_only(coinm: Any) -> None:
    """/dapi/v1/premiumIndex, ticker/24hr and bookTicker without a symbol answer every COIN-M
    contract (ccxt's fetch_funding_rates reads premiumIndex so and filters by symbol): never
    the USDⓈ-M book's BTCUSDT, which ccxt cannot map to a COIN-M market."""
    coinm_ids = {m["id"] for m in coinm.markets.values()}
    for call in (coinm.dapiPublicGetPremiumIndex, coinm.dapiPublicGetTicker24hr, coinm.dapiPublicGetTickerBookTicker):
        rows = await call()
        assert rows and {r["symbol"] for r in rows} <= coinm_ids and "BTCUSD_PERP" in {r["symbol"] for r in rows}
    rates = await coinm.fetch_funding_rates([SYM])
    assert rates[SYM]["fundingRate"] == pytest.approx(float(
        (await coinm.dapiPublicGetPremiumIndex({"symbol": "BTCUSD_PERP"}))[0]["lastFundingRate"]))


async def test_position_risk_reports_the_inverse_liquidation_price(coinm: Any) -> None:
    """positionRisk's liquidationPrice: "0" (Binance's "--") for the demo's short backed by its
    own coin; for a long, Binance COIN-M's one-way cross formula with the only position of the
    coin, LP = Q × (mmr + Side) / (WB + cum + Side × Q / EP), first bracket (mmr 0.4 %, cum 0)."""
    [row] = await coinm.dapiPrivateGetPositionRisk({"symbol": "BTCUSD_PERP"})
    assert 0.5 - 200 * SIZE / 96_400.0 > 0 and row["liquidationPrice"] == "0.00000000"
    await coinm.create_order(SYM, "market", "buy", 400)  # close the short, open 200 long
    [row] = await coinm.dapiPrivateGetPositionRisk({"symbol": "BTCUSD_PERP"})
    wallet = float(next(b for b in await coinm.dapiPrivateGetBalance() if b["asset"] == "BTC")["crossWalletBalance"])
    q, entry = float(row["positionAmt"]) * SIZE, float(row["entryPrice"])
    assert q == 200 * SIZE
    lp = q * (0.004 + 1) / (wallet + 0 + q / entry)
    assert q / lp < 5  # the coin notional at LP is in the first bracket
    assert float(row["liquidationPrice"]) == pytest.approx(lp, rel=1e-7)  # the wallet read to 8 decimals
