"""The websocket feeds (Feed.WATCH), with ccxt.pro's own binance classes.

The first tests give ccxt.pro a tiny loopback websocket whose ticker is far from any
price, so that a streamed ticker is told from a REST one; the last runs demo mode on the
emulator's own streams (tickers and the user data stream).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from console.core.config import Config, Mode
from console.emulator.testing import EmulatorHandle, ccxt_client
from console.emulator.urls import emulated_url
from console.venues.venue import Feed, Venue, VenueSet
from tests.venue.conftest import ManualClock

STREAMED_LAST = 12_345.0  # no market of the demo trades anywhere near this


async def _ticker_stream(request: web.Request) -> web.WebSocketResponse:
    """Binance's /ws: answer SUBSCRIBE, then push a ticker for each stream every 50 ms
    (ccxt's watchTickers subscribes to ``<id>@miniTicker``, whose event is 24hrMiniTicker)."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    streams: list[str] = []

    async def push() -> None:
        while not ws.closed:
            for s in streams:
                sym, _, channel = s.partition("@")
                event = "24hrMiniTicker" if channel == "miniTicker" else "24hrTicker"
                await ws.send_str(json.dumps({
                    "e": event, "E": 1_795_262_400_000, "s": sym.upper(), "c": str(STREAMED_LAST),
                    "o": "12000", "h": "12400", "l": "11900", "v": "10", "q": "123450"}))
            await asyncio.sleep(0.05)

    pusher = asyncio.create_task(push())
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                req = json.loads(msg.data)
                if req.get("method") == "SUBSCRIBE":
                    streams += req["params"]
                    await ws.send_str(json.dumps({"result": None, "id": req["id"]}))
    finally:
        pusher.cancel()
    return ws


@pytest.fixture
async def ws_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/stream/ws/{n}", _ticker_stream)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        # ccxt tells spot streams from futures ones by "/stream" in the URL (stream.binance.com)
        yield f"ws://127.0.0.1:{port}/stream/ws"
    finally:
        await runner.cleanup()


def _live_spot_venue(cfg: Config, emulator: EmulatorHandle, ws: str, clock: ManualClock) -> Venue:
    import ccxt.pro

    acct = cfg.account("spot").model_copy(update={"mode": Mode.LIVE, "live": True})
    ex: Any = ccxt.pro.binance({"apiKey": emulator.api_key, "secret": emulator.secret,
                                "enableRateLimit": False, "timeout": 2_000})
    rest = {k: emulated_url(v, emulator.url) for k, v in ex.urls["api"].items() if isinstance(v, str)}
    ex.urls["api"] = {**rest, "ws": {"spot": ws}}  # every stream on the loopback one
    ex.options.update({"fetchCurrencies": False, "fetchMargins": False, "fetchMarkets": {"types": ["spot"]}})
    return Venue(cfg, acct, ex, clock=clock)


async def _until(cond: Any, timeout_s: float = 3.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting")


async def test_live_tickers_come_from_the_stream_and_fall_back_to_rest_when_it_is_late(
        cfg: Config, emulator: EmulatorHandle, ws_url: str, clock: ManualClock) -> None:
    venue = _live_spot_venue(cfg, emulator, ws_url, clock)
    try:
        assert venue.feed is Feed.WATCH
        first = await venue.refresh()  # REST while the watcher connects
        assert first.error is None and first.tickers["BTC/USDT"]["last"] != STREAMED_LAST
        wanted = set(first.tickers)
        await _until(lambda: wanted <= set(venue._watched))
        streamed = await venue.refresh()
        assert streamed.error is None and set(streamed.tickers) == wanted
        assert {t["last"] for t in streamed.tickers.values()} == {STREAMED_LAST}
        assert streamed.fetched_at["tickers"] == clock()
        # the stream's last message is older than the max data age: poll REST instead
        clock.advance(cfg.limits.max_data_age_s + 1)
        late = await venue.refresh()
        assert late.error is None and late.tickers["BTC/USDT"]["last"] != STREAMED_LAST
    finally:
        await venue.close()


async def test_held_streams_a_refresh_is_rest_alone_and_they_start_when_released(
        cfg: Config, emulator: EmulatorHandle, ws_url: str, clock: ManualClock) -> None:
    """The console's first figures are read before any websocket connects (updates() holds
    them for its first snapshot); released, the watchers start at once, with no further refresh."""
    venue = _live_spot_venue(cfg, emulator, ws_url, clock)
    try:
        venue.streams_held = True
        first = await venue.refresh()
        assert first.error is None and first.tickers["BTC/USDT"]["last"] != STREAMED_LAST
        assert not venue._watch_tasks and venue._user_task is None  # no socket was opened
        venue.start_streams()
        await _until(lambda: set(first.tickers) <= set(venue._watched))
        streamed = await venue.refresh()
        assert {t["last"] for t in streamed.tickers.values()} == {STREAMED_LAST}
    finally:
        await venue.close()


async def test_a_failing_stream_means_rest_for_a_while(
        cfg: Config, emulator: EmulatorHandle, clock: ManualClock) -> None:
    # the emulator answers the websocket handshake with 404: the watcher dies at once
    venue = _live_spot_venue(cfg, emulator, emulator.url.replace("http://", "ws://") + "/ws", clock)
    try:
        assert (await venue.refresh()).error is None
        await _until(lambda: all(t.done() for t in venue._watch_tasks))
        st = await venue.refresh()
        assert st.error is None and st.tickers["BTC/USDT"]["last"] != STREAMED_LAST
        assert venue._watch_retry_ms > clock() and not venue._watch_tasks
    finally:
        await venue.close()


# -- demo: the emulator's own streams ---------------------------------------------------------


async def test_demo_streams_tickers_and_a_fill_wakes_the_refresh_loop(
        venues: VenueSet, emulator: EmulatorHandle, clock: ManualClock) -> None:
    """Demo runs the live path: tickers over the emulator's websocket, and a fill on the
    user data stream re-reads the account at once (the poll interval here is an hour)."""
    fut = venues.venues["futures"]
    assert fut.feed is Feed.WATCH
    updates = venues.updates(interval_s=3_600)
    first = await anext(updates)
    assert emulator.emulator.user_streams == 0  # the first snapshot waited on no websocket
    rest_tickers = first.snapshot.accounts["futures"].tickers
    await _until(lambda: set(rest_tickers) <= set(fut._watched), 5.0)
    assert {s: t["last"] for s, t in fut._watched.items() if s in rest_tickers} == {
        s: t["last"] for s, t in rest_tickers.items()}  # frozen clock: the stream says what REST said
    # both accounts' user data streams are open (spot over the ws-api, futures by listen key)
    await _until(lambda: emulator.emulator.user_streams >= 2, 5.0)
    before = {p["symbol"]: float(p["contracts"] or 0) for p in first.snapshot.accounts["futures"].positions}
    trader = ccxt_client(emulator, "usdm", timeout_on_exit=0)
    try:
        order = await trader.create_order("ETH/USDT:USDT", "market", "buy", 0.5)
    finally:
        await trader.close()
    woken = await asyncio.wait_for(anext(updates), 5.0)  # long before the hour
    after = {p["symbol"]: float(p["contracts"] or 0) for p in woken.snapshot.accounts["futures"].positions}
    assert after["ETH/USDT:USDT"] == pytest.approx(before.get("ETH/USDT:USDT", 0.0) + 0.5)
    seen: list[dict[str, Any]] = []
    await _until(lambda: seen.extend(fut.take_order_updates()) or any(
        o["id"] == order["id"] and o["status"] == "closed" and o["filled"] == 0.5 for o in seen), 5.0)
    await updates.aclose()


async def test_demo_coinm_streams_mark_prices_and_its_fills_and_polls_when_the_stream_is_gone(
        venues: VenueSet, emulator: EmulatorHandle, clock: ManualClock) -> None:
    """COIN-M streams like USDⓈ-M: its inverse contracts' mark prices (ccxt.pro binancecoinm
    watch_mark_prices on the emulator's /dstream) and its orders (the /dapi listen key's user
    data stream) wake the refresh; REST takes over when the mark stream is gone."""
    coinm = venues.venues["coinm"]
    assert coinm.feed is Feed.WATCH
    updates = venues.updates(interval_s=3_600)
    first = await anext(updates)
    state = first.snapshot.accounts["coinm"]
    assert "BTC/USD:BTC" in state.tickers and state.tickers["BTC/USD:BTC"].get("markPrice") is None  # REST: 24 h
    await _until(lambda: {"BTC/USD:BTC"} <= set(coinm._watched), 5.0)
    # the streamed mark is the venue's own (frozen clock: premiumIndex says the same)
    rest_mark = float(state.funding_rates["BTC/USD:BTC"]["markPrice"])
    assert coinm._watched["BTC/USD:BTC"]["markPrice"] == rest_mark
    # a fill on the COIN-M user data stream re-reads the account long before the hour
    before = {p["symbol"]: float(p["contracts"] or 0) * (1 if p["side"] == "long" else -1) for p in state.positions}
    trader = ccxt_client(emulator, "coinm", timeout_on_exit=0)
    try:
        order = await trader.create_order("BTC/USD:BTC", "market", "buy", 5)
    finally:
        await trader.close()
    woken = await asyncio.wait_for(anext(updates), 5.0)
    st = woken.snapshot.accounts["coinm"]
    after = {p["symbol"]: float(p["contracts"] or 0) * (1 if p["side"] == "long" else -1) for p in st.positions}
    assert after["BTC/USD:BTC"] == before["BTC/USD:BTC"] + 5
    assert st.tickers["BTC/USD:BTC"]["markPrice"] == rest_mark  # from the stream now
    seen: list[dict[str, Any]] = []
    await _until(lambda: seen.extend(coinm.take_order_updates()) or any(
        o["id"] == order["id"] and o["status"] == "closed" and o["filled"] == 5 for o in seen), 5.0)
    await updates.aclose()
    # the mark watcher ends (as when its socket is gone for good): the next refresh polls REST
    for t in coinm._watch_tasks:
        t.cancel()
    await asyncio.gather(*coinm._watch_tasks, return_exceptions=True)
    clock.advance(1)
    polled = await coinm.refresh()
    assert polled.error is None and polled.tickers["BTC/USD:BTC"].get("markPrice") is None  # the 24 h ticker
    assert polled.fetched_at["tickers"] == clock()
