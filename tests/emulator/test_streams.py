"""ccxt.pro's own binance / binanceusdm classes, unmodified but for their URLs, stream from
the emulator: tickers, mark prices, order books and the USDⓈ-M user data stream (orders,
positions, balance). What a stream says must equal what REST says at the same instant."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle, ccxt_client, start_emulator, user_streams_open

pytestmark = pytest.mark.asyncio
WAIT_S = 5.0


@pytest.fixture
def fast() -> Iterator[EmulatorHandle]:
    """The frozen demo venue, pushing every 20 ms so that the tests are quick."""
    handle = start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS, push_s=0.02)
    try:
        yield handle
    finally:
        handle.stop()


@contextlib.asynccontextmanager
async def _pro(handle: EmulatorHandle, kind: str) -> AsyncIterator[Any]:
    ex = ccxt_client(handle, kind, pro=True, timeout_on_exit=0)  # type: ignore[arg-type]
    try:
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def pro_usdm(fast: EmulatorHandle) -> AsyncIterator[Any]:
    async with _pro(fast, "usdm") as ex:
        yield ex


@pytest.fixture
async def pro_spot(fast: EmulatorHandle) -> AsyncIterator[Any]:
    async with _pro(fast, "spot") as ex:
        yield ex


async def _w(coro: Any) -> Any:
    return await asyncio.wait_for(coro, WAIT_S)


async def test_watch_ticker_and_tickers_equal_rest(pro_spot: Any, pro_usdm: Any) -> None:
    for ex, symbols in ((pro_spot, ["BTC/USDT", "ETH/USDT"]), (pro_usdm, ["BTC/USDT:USDT", "ETH/USDT:USDT"])):
        await ex.load_markets()
        t = await _w(ex.watch_ticker(symbols[0]))
        rest = await ex.fetch_ticker(symbols[0])
        assert (t["symbol"], t["last"], t["open"], t["high"]) == (symbols[0], rest["last"], rest["open"],
                                                                  rest["high"])
        got: dict[str, Any] = {}
        while set(got) != set(symbols):
            got.update(await _w(ex.watch_tickers(symbols)))
        for s in symbols:
            assert got[s]["last"] == (await ex.fetch_ticker(s))["last"]


async def test_watch_mark_price_equals_premium_index(pro_usdm: Any) -> None:
    await pro_usdm.load_markets()
    t = await _w(pro_usdm.watch_mark_price("BTC/USDT:USDT"))
    rest = await pro_usdm.fapiPublicGetPremiumIndex({"symbol": "BTCUSDT"})
    assert t["markPrice"] == float(rest["markPrice"]) and t["indexPrice"] == float(rest["indexPrice"])


@pytest.mark.parametrize("kind,symbol", [("spot", "BTC/USDT"), ("usdm", "BTC/USDT:USDT")])
async def test_watch_order_book_follows_the_book_as_time_moves(fast: EmulatorHandle, kind: str,
                                                               symbol: str) -> None:
    async with _pro(fast, kind) as ex:
        await ex.load_markets()
        ob = await _w(ex.watch_order_book(symbol, 100))
        rest = await ex.fetch_order_book(symbol, 100)
        assert ob["bids"][:100] == rest["bids"] and ob["asks"][:100] == rest["asks"]
        # a minute later the book is rebuilt (new mid, new jitter): the diffs must carry it whole
        fast.emulator.advance(60)
        for _ in range(50):
            ob = await _w(ex.watch_order_book(symbol, 100))
            if ob["nonce"] == fast.emulator.now_ms() // 100:
                break
        moved = await ex.fetch_order_book(symbol, 100)
        assert moved["bids"] != rest["bids"]
        assert ob["bids"][:100] == moved["bids"] and ob["asks"][:100] == moved["asks"]
        assert len(ob["bids"]) == len(moved["bids"])  # no stale level left behind


async def _user_stream_open(handle: EmulatorHandle, count: int = 1) -> None:
    await user_streams_open(handle, count, WAIT_S)


async def _cached_order(ex: Any, order_id: str, status: str) -> dict[str, Any]:
    """The order as ccxt.pro's cache (fed only by the stream) holds it, once it has ``status``."""
    for _ in range(int(WAIT_S / 0.02)):
        mine = [o for o in (ex.orders or []) if o["id"] == order_id]
        if mine and mine[-1]["status"] == status:
            return mine[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"order {order_id} never reached {status} on the stream")


async def test_user_stream_orders_positions_balance(fast: EmulatorHandle, pro_usdm: Any) -> None:
    await pro_usdm.load_markets()
    sym = "ETH/USDT:USDT"
    before = {p["symbol"]: p["contracts"] or 0.0 for p in await pro_usdm.fetch_positions([sym])}
    await _w(pro_usdm.watch_positions([sym]))  # ccxt's first answer: its REST snapshot
    orders = asyncio.ensure_future(pro_usdm.watch_orders(sym))
    positions = asyncio.ensure_future(pro_usdm.watch_positions([sym]))
    await _user_stream_open(fast)
    order = await pro_usdm.create_order(sym, "market", "buy", 0.5)
    await _w(orders)  # woken by the first event (NEW); the TRADE event follows it
    final = await _cached_order(pro_usdm, order["id"], "closed")
    fills = [t for t in await pro_usdm.fetch_my_trades(sym) if t["order"] == order["id"]]
    vwap = sum(t["price"] * t["amount"] for t in fills) / sum(t["amount"] for t in fills)
    assert (final["id"], final["filled"], final["status"]) == (order["id"], 0.5, "closed")
    assert final["average"] == pytest.approx(vwap, rel=1e-9)
    # the ACCOUNT_UPDATE of that fill: the position as REST reads it now
    eth = [p for p in await _w(positions) if p["symbol"] == sym][-1]
    rest = (await pro_usdm.fetch_positions([sym]))[0]
    assert eth["contracts"] == rest["contracts"] == pytest.approx(before.get(sym, 0.0) + 0.5)
    assert eth["side"] == rest["side"]
    balance = asyncio.ensure_future(pro_usdm.watch_balance())
    await asyncio.sleep(0.2)
    await pro_usdm.create_order(sym, "market", "sell", 0.5)
    bal = await _w(balance)
    rest_bal = await pro_usdm.fapiPrivateV2GetBalance()
    wallet = next(float(b["balance"]) for b in rest_bal if b["asset"] == "USDT")
    assert bal["USDT"]["total"] == wallet


async def test_listen_key_lifecycle(fast: EmulatorHandle, pro_usdm: Any) -> None:
    key = (await pro_usdm.fapiPrivatePostListenKey())["listenKey"]
    assert (await pro_usdm.fapiPrivatePostListenKey())["listenKey"] == key  # one live key per account
    assert (await pro_usdm.fapiPrivatePutListenKey())["listenKey"] == key
    await pro_usdm.fapiPrivateDeleteListenKey()
    with pytest.raises(Exception, match="-1125"):
        await pro_usdm.fapiPrivatePutListenKey()
    # a key lapses an hour after its last keepalive
    key = (await pro_usdm.fapiPrivatePostListenKey())["listenKey"]
    fast.emulator.advance(3_601)
    with pytest.raises(Exception, match="-1125"):
        await pro_usdm.fapiPrivatePutListenKey()


async def test_spot_user_stream_orders_and_balance(fast: EmulatorHandle, pro_spot: Any) -> None:
    """Spot's user data comes over the websocket API (userDataStream.subscribe.signature)."""
    await pro_spot.load_markets()
    orders = asyncio.ensure_future(pro_spot.watch_orders("SOL/USDT"))
    await _user_stream_open(fast)
    order = await pro_spot.create_order("SOL/USDT", "market", "sell", 2.5)
    await _w(orders)
    final = await _cached_order(pro_spot, order["id"], "closed")
    assert final["filled"] == 2.5 and final["cost"] == pytest.approx(order["cost"], rel=1e-12)
    balance = asyncio.ensure_future(pro_spot.watch_balance())
    await asyncio.sleep(0.2)
    await pro_spot.create_order("SOL/USDT", "market", "sell", 1.5)
    streamed = await _w(balance)
    rest = await pro_spot.fetch_balance()
    assert streamed["SOL"]["free"] == rest["SOL"]["free"]
    assert streamed["USDT"]["free"] == rest["USDT"]["free"]


async def test_bad_stream_requests_get_binance_errors(fast: EmulatorHandle) -> None:
    import aiohttp

    base = fast.url.replace("http://", "ws://")
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(base + "/fstream/ws") as ws:
            await ws.send_str("not json")
            assert (await ws.receive_json(timeout=WAIT_S))["error"]["code"] == 3
            await ws.send_json({"method": "SUBSCRIBE", "params": ["nosuchusdt@ticker"], "id": 1})
            assert (await ws.receive_json(timeout=WAIT_S))["error"]["code"] == 2
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@markPrice"], "id": "x"})
            assert (await ws.receive_json(timeout=WAIT_S))["error"]["code"] == 2
            await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
            assert await ws.receive_json(timeout=WAIT_S) == {"result": [], "id": 2}
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await s.ws_connect(base + "/fstream/private/ws?listenKey=" + "0" * 64)
        assert info.value.status == 400


async def test_coinm_market_streams(fast: EmulatorHandle) -> None:
    async with _pro(fast, "coinm") as ex:
        await ex.load_markets()
        t = await _w(ex.watch_ticker("BTC/USD:BTC"))
        assert t["last"] == (await ex.fetch_ticker("BTC/USD:BTC"))["last"]
        ob = await _w(ex.watch_order_book("BTC/USD:BTC", 100))
        rest = await ex.fetch_order_book("BTC/USD:BTC", 100)
        assert ob["bids"][:100] == rest["bids"] and ob["asks"][:100] == rest["asks"]


async def test_coinm_user_stream(fast: EmulatorHandle) -> None:
    async with _pro(fast, "coinm") as ex:
        await ex.load_markets()
        orders = asyncio.ensure_future(ex.watch_orders("BTC/USD:BTC"))
        await _user_stream_open(fast)
        order = await ex.create_order("BTC/USD:BTC", "market", "buy", 20)
        await _w(orders)
        final = await _cached_order(ex, order["id"], "closed")
        fills = [t for t in await ex.fetch_my_trades("BTC/USD:BTC") if t["order"] == order["id"]]
        harmonic = 20 / sum(t["amount"] / t["price"] for t in fills)  # inverse: the average of 1/price
        assert final["filled"] == 20 and final["average"] == pytest.approx(harmonic, rel=1e-9)
        # watch_orders loaded ccxt's positions snapshot: the next watch_positions waits for news
        balance = asyncio.ensure_future(ex.watch_balance())
        positions = asyncio.ensure_future(ex.watch_positions(["BTC/USD:BTC"]))
        await asyncio.sleep(0.2)
        await ex.create_order("BTC/USD:BTC", "market", "buy", 30)
        streamed = await _w(balance)  # ACCOUNT_UPDATE: the coin wallet after the fill
        rest = next(b for b in await ex.dapiPrivateGetBalance() if b["asset"] == "BTC")
        assert streamed["BTC"]["total"] == float(rest["balance"])
        pos = [p for p in await _w(positions) if p["symbol"] == "BTC/USD:BTC"][-1]
        assert (pos["contracts"], pos["side"]) == (200 - 20 - 30, "short")
        assert pos["contracts"] == (await ex.fetch_positions(["BTC/USD:BTC"]))[0]["contracts"]
