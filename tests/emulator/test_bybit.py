"""Bybit's v5 dialect: ccxt's unmodified ``bybit`` class on the emulator (only its URLs
change) sees the same market as a Binance client at the same instant, trades through the
engine's rules, and gets Bybit's own error codes, so ccxt raises its own exception classes."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
import ccxt
import pytest

from console.emulator.bybit import BYBIT_DEMO_KEY, BYBIT_DEMO_SECRET
from console.emulator.clock import DEFAULT_START_MS
from console.emulator.engine import FUT_TAKER
from console.emulator.scenario import DEMO
from console.emulator.testing import EmulatorHandle, bybit_client, ccxt_client, start_emulator


@pytest.fixture
def both(bybit_venue: EmulatorHandle) -> EmulatorHandle:
    return bybit_venue


def _yymmdd(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%y%m%d")


def _expected_symbols() -> set[str]:
    out = set()
    for i in DEMO.instruments:
        if i.venue == "spot":
            out.add(f"{i.base}/{i.quote}")
        elif i.venue == "futures":
            out.add(f"{i.base}/USDT:USDT" + ("" if i.kind == "perp" else f"-{_yymmdd(i.delivery_ms or 0)}"))
        else:
            out.add(f"{i.base}/USD:{i.base}" + ("" if i.kind == "perp" else f"-{_yymmdd(i.delivery_ms or 0)}"))
    return out


async def test_markets_are_the_scenarios_instruments_under_bybits_names(bybit: Any) -> None:
    assert set(bybit.markets) == _expected_symbols()
    assert bybit.markets["BTC/USDT:USDT-261225"]["id"] == "BTCUSDT-25DEC26"
    assert bybit.markets["BTC/USD:BTC-261225"]["id"] == "BTCUSDZ26"  # Z: December
    inverse = bybit.markets["BTC/USD:BTC"]
    assert inverse["inverse"] and inverse["contractSize"] == 1  # Bybit counts inverse qty in USD
    assert inverse["precision"]["amount"] == 100  # one engine lot: a 100 USD contract


async def test_the_same_market_in_both_dialects(both: EmulatorHandle, bybit: Any) -> None:
    usdm = ccxt_client(both, "usdm", timeout_on_exit=0)
    try:
        a = await usdm.fetch_order_book("BTC/USDT:USDT", 5)
        b = await bybit.fetch_order_book("BTC/USDT:USDT", 5)
        assert a["bids"] == b["bids"] and a["asks"] == b["asks"]
        fa = await usdm.fetch_funding_rate_history("BTC/USDT:USDT", limit=3)
        fb = await bybit.fetch_funding_rate_history("BTC/USDT:USDT", limit=3)
        assert [(r["timestamp"], r["fundingRate"]) for r in fa] == [(r["timestamp"], r["fundingRate"]) for r in fb]
    finally:
        await usdm.close()


BOOK = DEMO.bybit
assert BOOK is not None


async def test_unified_wallet_reports_spot_and_futures_ledgers_as_one(bybit: Any) -> None:
    bal = await bybit.fetch_balance()
    assert bal["total"]["USDT"] == pytest.approx(BOOK.spot_balances["USDT"] + BOOK.futures_wallet["USDT"])
    assert bal["total"]["USDT"] == pytest.approx(bal["free"]["USDT"] + bal["used"]["USDT"])
    [seeded] = BOOK.positions
    [pos] = await bybit.fetch_positions(["ETH/USDT:USDT"])
    assert (pos["contracts"], pos["side"], pos["entryPrice"]) == (abs(seeded.amt), "short", seeded.entry)
    # the short's initial margin at its leverage is what the wallet holds as used (the mark
    # shown is rounded to the 0.01 tick)
    tick = 0.01
    assert bal["used"]["USDT"] == pytest.approx(abs(seeded.amt) * pos["markPrice"] / seeded.leverage,
                                                abs=abs(seeded.amt) * tick / seeded.leverage)


async def test_market_order_fills_at_the_book_and_pays_the_taker_fee(bybit: Any) -> None:
    book = await bybit.fetch_order_book("ETH/USDT:USDT", 5)
    ask, ask_qty = book["asks"][0]
    qty = 0.5
    assert qty <= ask_qty  # one level: the whole order fills at the best ask
    placed = await bybit.create_order("ETH/USDT:USDT", "market", "buy", qty)
    order = await bybit.fetch_order(placed["id"], "ETH/USDT:USDT", {"acknowledged": True})
    assert order["status"] == "closed" and order["filled"] == qty and order["average"] == ask
    trades = await bybit.fetch_my_trades("ETH/USDT:USDT")
    assert [t["order"] for t in trades] == [placed["id"]]
    assert trades[0]["fee"]["cost"] == pytest.approx(ask * qty * FUT_TAKER)
    [seeded] = BOOK.positions  # a short of 2 ETH: buying 0.5 reduces it
    [pos] = await bybit.fetch_positions(["ETH/USDT:USDT"])
    assert pos["contracts"] == abs(seeded.amt) - qty and pos["side"] == "short"


async def test_limit_order_rests_amends_and_cancels(bybit: Any) -> None:
    book = await bybit.fetch_order_book("BTC/USDT:USDT", 5)
    below = round(book["bids"][0][0] * 0.99, 1)
    placed = await bybit.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, below, {"clientOrderId": "t-1"})
    await bybit.edit_order(placed["id"], "BTC/USDT:USDT", "limit", "buy", 0.02, below - 10)
    [open_order] = await bybit.fetch_open_orders("BTC/USDT:USDT")
    assert (open_order["id"], open_order["clientOrderId"]) == (placed["id"], "t-1")
    assert (open_order["amount"], open_order["price"]) == (0.02, pytest.approx(below - 10))
    await bybit.cancel_order(placed["id"], "BTC/USDT:USDT")
    assert await bybit.fetch_open_orders("BTC/USDT:USDT") == []
    with pytest.raises(ccxt.OrderNotFound):
        await bybit.cancel_order(placed["id"], "BTC/USDT:USDT")


async def test_spot_market_buy_spends_the_cost_in_quote(bybit: Any) -> None:
    before = (await bybit.fetch_balance())["total"]["USDT"]
    placed = await bybit.create_order("ETH/USDT", "market", "buy", 0, None, {"cost": 1000})
    order = await bybit.fetch_order(placed["id"], "ETH/USDT", {"acknowledged": True})
    after = (await bybit.fetch_balance())["total"]["USDT"]
    assert before - after == pytest.approx(order["cost"], abs=0.01)
    assert order["cost"] == pytest.approx(1000, abs=order["average"] * 0.0001 + 0.01)  # within one qty step


async def test_inverse_qty_is_usd_in_whole_lots(both: EmulatorHandle, bybit: Any) -> None:
    both.emulator.accounts["bybit"].coinm_wallet["BTC"] = 0.1  # inverse margin, in the coin
    await bybit.create_order("BTC/USD:BTC", "market", "sell", 2_000)  # 2,000 USD: 20 lots of 100
    [pos] = await bybit.fetch_positions(["BTC/USD:BTC"])
    assert pos["contracts"] == 2_000 and pos["side"] == "short"
    assert both.emulator.accounts["bybit"].coinm_positions["BTCUSD_PERP"].amt == -2_000 / 100
    with pytest.raises(ccxt.BadRequest, match="multiple of the qty step"):
        await bybit.create_order("BTC/USD:BTC", "market", "buy", 150, None, {"qty": "150"})


async def test_batch_reports_each_order(bybit: Any) -> None:
    orders = await bybit.create_orders([
        {"symbol": "ETH/USDT:USDT", "type": "limit", "side": "buy", "amount": 0.1, "price": 3000},
        {"symbol": "ETH/USDT:USDT", "type": "limit", "side": "buy", "amount": 0.001, "price": 3000},
    ])
    assert orders[0]["id"] and orders[1]["status"] == "rejected"
    assert "110094" in json.dumps(orders[1]["info"])  # under the minimum order value


async def test_refusals_are_bybits_codes(both: EmulatorHandle, bybit: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds, match="110007"):
        await bybit.create_order("BTC/USDT:USDT", "market", "buy", 100)
    wrong = bybit_client(both, secret="x" * 36, timeout_on_exit=0)
    binance_key = bybit_client(both, apiKey=both.api_key, secret=both.secret, timeout_on_exit=0)
    bybit_on_binance = ccxt_client(both, "usdm", apiKey=BYBIT_DEMO_KEY, secret=BYBIT_DEMO_SECRET, timeout_on_exit=0)
    try:
        with pytest.raises(ccxt.AuthenticationError, match="10004"):
            await wrong.fetch_balance()
        with pytest.raises(ccxt.AuthenticationError, match="10003"):
            await binance_key.fetch_balance()  # each venue's keys open only its own account
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            await bybit_on_binance.fetch_balance()
    finally:
        for ex in (wrong, binance_key, bybit_on_binance):
            await ex.close()


async def test_a_reduce_only_order_that_would_grow_a_position_is_refused_in_both_dialects(
        both: EmulatorHandle, bybit: Any) -> None:
    """Reduce-only is judged on the position's direction: a sell against a short (or a buy
    against a long) would grow it, so the venue refuses it (Binance -2022, Bybit 110017) and
    nothing changes; the same order the other way reduces. The demo holds a BTC perp short of
    0.68 on Binance and an ETH perp short of 2.0 on Bybit."""
    usdm = ccxt_client(both, "usdm", timeout_on_exit=0)
    try:
        e = await _raises_exchange_error(usdm.create_order("BTC/USDT:USDT", "market", "sell", 0.01,
                                                           params={"reduceOnly": True}))
        assert json.loads(str(e).split(" ", 1)[1])["code"] == -2022
        with pytest.raises(ccxt.InvalidOrder, match="110017"):
            await bybit.create_order("ETH/USDT:USDT", "market", "sell", 0.2, params={"reduceOnly": True})
        assert both.emulator.accounts["default"].positions["BTCUSDT"].amt == pytest.approx(-0.68)
        assert both.emulator.accounts["bybit"].positions["ETHUSDT"].amt == pytest.approx(-2.0)
        # the other way, each reduces its short
        await usdm.create_order("BTC/USDT:USDT", "market", "buy", 0.01, params={"reduceOnly": True})
        await bybit.create_order("ETH/USDT:USDT", "market", "buy", 0.2, params={"reduceOnly": True})
        assert both.emulator.accounts["default"].positions["BTCUSDT"].amt == pytest.approx(-0.68 + 0.01)
        assert both.emulator.accounts["bybit"].positions["ETHUSDT"].amt == pytest.approx(-2.0 + 0.2)
    finally:
        await usdm.close()


async def _raises_exchange_error(coro: Any) -> Exception:
    """Binance's -2022 is mapped to its own class only on the production host (see
    test_errors.py): here it is ccxt's base ExchangeError with Binance's JSON in the text."""
    with pytest.raises(ccxt.ExchangeError) as info:
        await coro
    return info.value


def _signed_headers(ts: int, payload: str) -> dict[str, str]:
    window = "5000"
    sign = hmac.new(BYBIT_DEMO_SECRET.encode(), f"{ts}{BYBIT_DEMO_KEY}{window}{payload}".encode(),
                    hashlib.sha256).hexdigest()
    return {"X-BAPI-API-KEY": BYBIT_DEMO_KEY, "X-BAPI-TIMESTAMP": str(ts), "X-BAPI-RECV-WINDOW": window,
            "X-BAPI-SIGN": sign}


async def test_a_stale_timestamp_is_10002_and_a_signed_body_is_checked(both: EmulatorHandle) -> None:
    stale = both.emulator.clock.wall_ms() - 3_600_000
    async with aiohttp.ClientSession() as http:
        query = "accountType=UNIFIED"
        async with http.get(f"{both.url}/v5/account/wallet-balance?{query}", headers=_signed_headers(stale, query)) as r:
            assert (await r.json())["retCode"] == 10002
        body = '{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.001"}'
        ts = both.emulator.clock.wall_ms()
        tampered = body.replace("0.001", "0.002")
        async with http.post(f"{both.url}/v5/order/create", data=tampered, headers=_signed_headers(ts, body)) as r:
            assert (await r.json())["retCode"] == 10004
        assert both.emulator.orders("bybit") == []  # nothing was placed


async def test_same_seed_same_answers() -> None:
    answers = []
    for _ in range(2):
        h = start_emulator(seed=11, speed=0.0, start_ms=DEFAULT_START_MS, bybit=True)
        ex = bybit_client(h, timeout_on_exit=0)
        try:
            t = await ex.fetch_ticker("SOL/USDT:USDT")
            answers.append((t["last"], t["bid"], t["ask"], t["info"]["fundingRate"]))
        finally:
            await ex.close()
            h.stop()
    assert answers[0] == answers[1]


async def test_cli_venue_bybit_serves_the_bybit_account() -> None:
    import os
    import signal
    import subprocess
    import sys
    from types import SimpleNamespace

    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli.main", "emulator", "--venue", "bybit", "--port", "0", "--speed", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        assert "Bybit v5" in lines[0] and BYBIT_DEMO_KEY in lines[2]
        url = lines[0].split(" on ")[1].strip()
        ex = bybit_client(SimpleNamespace(url=url), timeout_on_exit=0)
        try:
            bal = await ex.fetch_balance()
            assert bal["total"]["USDT"] == pytest.approx(BOOK.spot_balances["USDT"] + BOOK.futures_wallet["USDT"])
        finally:
            await ex.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
