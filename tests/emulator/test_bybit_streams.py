"""Bybit's v5 websockets with ccxt.pro's unmodified ``bybit``: tickers and order books are
the REST answers at the same instant, and a fill placed over REST reaches ``watch_orders``,
``watch_my_trades`` and ``watch_positions``; a wrong secret is refused at auth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import ccxt
import pytest

from console.emulator.testing import EmulatorHandle, bybit_client, user_streams_open

WAIT_S = 5.0


@pytest.fixture
def venue(bybit_venue: EmulatorHandle) -> EmulatorHandle:
    return bybit_venue


@pytest.fixture
async def pro(venue: EmulatorHandle) -> AsyncIterator[Any]:
    ex = bybit_client(venue, pro=True, timeout_on_exit=0)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


@pytest.fixture
def rest(bybit: Any) -> Any:
    return bybit


async def test_streamed_ticker_and_book_are_the_rest_answers(pro: Any, rest: Any) -> None:
    for symbol in ("BTC/USDT:USDT", "ETH/USDT", "BTC/USD:BTC"):
        streamed = await asyncio.wait_for(pro.watch_ticker(symbol), WAIT_S)
        polled = await rest.fetch_ticker(symbol)
        assert (streamed["last"], streamed["bid"], streamed["ask"]) == (polled["last"], polled["bid"], polled["ask"])
    book = await asyncio.wait_for(pro.watch_order_book("BTC/USDT:USDT", 50), WAIT_S)
    polled_book = await rest.fetch_order_book("BTC/USDT:USDT", 50)
    assert book["bids"][:50] == polled_book["bids"] and book["asks"][:50] == polled_book["asks"]


async def test_a_fill_reaches_orders_trades_and_positions(venue: EmulatorHandle, pro: Any, rest: Any) -> None:
    [before] = await rest.fetch_positions(["ETH/USDT:USDT"])
    signed_before = before["contracts"] * (1 if before["side"] == "long" else -1)
    orders = asyncio.create_task(pro.watch_orders())
    trades = asyncio.create_task(pro.watch_my_trades())
    await user_streams_open(venue, 2, WAIT_S)
    placed = await rest.create_order("ETH/USDT:USDT", "market", "buy", 0.3)
    got = await asyncio.wait_for(orders, WAIT_S)
    mine = [o for o in got if o["id"] == placed["id"]]
    assert mine and mine[-1]["status"] == "closed" and mine[-1]["filled"] == 0.3
    fills = await asyncio.wait_for(trades, WAIT_S)
    assert sum(t["amount"] for t in fills if t["order"] == placed["id"]) == pytest.approx(0.3)
    pro.options["watchPositions"] = {"fetchPositionsSnapshot": False}
    positions = asyncio.create_task(pro.watch_positions())
    await user_streams_open(venue, 3, WAIT_S)
    await rest.create_order("ETH/USDT:USDT", "market", "buy", 0.2)
    streamed = await asyncio.wait_for(positions, WAIT_S)
    eth = [p for p in streamed if p["symbol"] == "ETH/USDT:USDT"]
    after = signed_before + 0.3 + 0.2
    assert eth and eth[-1]["contracts"] == pytest.approx(abs(after))
    assert eth[-1]["side"] == ("long" if after > 0 else "short")


async def test_private_stream_with_a_wrong_secret_is_refused(venue: EmulatorHandle) -> None:
    ex = bybit_client(venue, pro=True, timeout_on_exit=0)
    try:
        await ex.load_markets()  # (its coin list is private: loaded with the right secret)
        ex.secret = "y" * 36
        with pytest.raises(ccxt.AuthenticationError):
            await asyncio.wait_for(ex.watch_orders(), WAIT_S)
    finally:
        await ex.close()
