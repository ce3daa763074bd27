"""Malformed requests are refused as Binance refuses them: a 4xx with Binance's code and a
message naming the parameter, never a 500, never an order filled at NaN.

The fuzz sends >= 1,000 malformed, correctly signed requests (bad numbers, bad JSON batches,
missing and duplicated parameters) from a seeded generator, then checks the account's money
is still made of finite numbers."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from yarl import URL

from console.emulator.testing import EmulatorHandle

pytestmark = pytest.mark.asyncio


def _signed(handle: EmulatorHandle, pairs: list[tuple[str, str]]) -> str:
    """A query string signed as Binance wants; duplicates and odd values kept as given."""
    if not any(k == "timestamp" for k, _ in pairs):
        pairs = [*pairs, ("timestamp", str(handle.emulator.now_ms()))]
    q = urlencode(pairs)
    sig = hmac.new(handle.secret.encode(), q.encode(), hashlib.sha256).hexdigest()
    return f"{q}&signature={sig}"


async def _call(s: aiohttp.ClientSession, handle: EmulatorHandle, method: str, path: str,
                pairs: list[tuple[str, str]], *, signed: bool = True) -> tuple[int, Any]:
    q = _signed(handle, pairs) if signed else urlencode(pairs)
    async with s.request(method, URL(f"{handle.url}{path}?{q}", encoded=True), headers={"X-MBX-APIKEY": handle.api_key}) as r:
        return r.status, json.loads(await r.text())


def _order(**kw: str) -> list[tuple[str, str]]:
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
            "price": "90000"}
    base.update(kw)
    return [(k, v) for k, v in base.items() if v is not None]


async def _refusal(handle: EmulatorHandle, path: str, pairs: list[tuple[str, str]]) -> int:
    async with aiohttp.ClientSession() as s:
        status, body = await _call(s, handle, "POST", path, pairs)
    assert 400 <= status < 500, (status, body)
    return int(body["code"])


@pytest.mark.parametrize("path", ["/api/v3/order", "/fapi/v1/order"])
async def test_bad_side_and_time_in_force(emulator: EmulatorHandle, path: str) -> None:
    assert await _refusal(emulator, path, _order(side="HOLD")) == -1117
    assert await _refusal(emulator, path, _order(timeInForce="FOREVER")) == -1115
    assert await _refusal(emulator, path, _order(side=None)) == -1102


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", "Infinity", "1e3", "-1", "abc", "0x10", "1,5",
                                 " 1", "1.2.3", "9" * 21])
@pytest.mark.parametrize("path", ["/api/v3/order", "/fapi/v1/order"])
@pytest.mark.parametrize("field", ["quantity", "price"])
async def test_non_numbers_are_illegal_characters(emulator: EmulatorHandle, path: str, field: str,
                                                  bad: str) -> None:
    assert await _refusal(emulator, path, _order(**{field: bad})) == -1100
    assert emulator.emulator.orders() == []  # nothing was accepted


async def test_price_zero_is_refused(emulator: EmulatorHandle) -> None:
    assert await _refusal(emulator, "/api/v3/order", _order(price="0")) == -1013
    assert await _refusal(emulator, "/fapi/v1/order", _order(price="0")) == -4001


async def test_futures_percent_price_around_the_mark(emulator: EmulatorHandle) -> None:
    emu = emulator.emulator
    inst = emu.fut_ids["BTCUSDT"]
    mark = emu.mark(inst)
    # the published filter: multiplierUp 1.05, multiplierDown 0.95 of the mark
    too_high = inst.fmt_price(math.ceil(mark * 1.05 + 1))
    too_low = inst.fmt_price(math.floor(mark * 0.95 - 1))
    assert await _refusal(emulator, "/fapi/v1/order", _order(price=too_high)) == -4016
    assert await _refusal(emulator, "/fapi/v1/order", _order(side="SELL", price=too_low)) == -4024


async def test_spot_percent_price_by_side(emulator: EmulatorHandle) -> None:
    emu = emulator.emulator
    index = emu.index("BTC")
    # bidMultiplierUp 5 / Down 0.2 of the average price
    assert await _refusal(emulator, "/api/v3/order", _order(price=f"{math.ceil(index * 5 + 1)}")) == -1013
    assert await _refusal(emulator, "/api/v3/order",
                          _order(side="SELL", price=f"{math.floor(index * 0.2 - 1)}")) == -1013


@pytest.mark.parametrize("path", ["/api/v3/order", "/fapi/v1/order"])
async def test_client_id_over_36_characters(emulator: EmulatorHandle, path: str) -> None:
    assert await _refusal(emulator, path, _order(newClientOrderId="a" * 37)) == -1100
    assert await _refusal(emulator, path, _order(newClientOrderId="has space")) == -1100


async def test_duplicated_parameter_is_1101(emulator: EmulatorHandle) -> None:
    pairs = _order() + [("quantity", "5")]
    assert await _refusal(emulator, "/fapi/v1/order", pairs) == -1101


async def test_gtd_order_expires_at_its_date(emulator: EmulatorHandle) -> None:
    emu = emulator.emulator
    inst = emu.fut_ids["BTCUSDT"]
    bid = emu.book(inst).best_bid
    price = inst.fmt_price(bid * 0.97)  # rests: well under the bid, inside PERCENT_PRICE
    now = emu.now_ms()
    assert await _refusal(emulator, "/fapi/v1/order", _order(price=price, timeInForce="GTD")) == -1102
    assert await _refusal(emulator, "/fapi/v1/order", _order(price=price, timeInForce="GTD",
                                                             goodTillDate=str(now + 60_000))) == -1130
    gtd = now + 3_600_000
    async with aiohttp.ClientSession() as s:
        status, body = await _call(s, emulator, "POST", "/fapi/v1/order",
                                   _order(price=price, timeInForce="GTD", goodTillDate=str(gtd)))
    assert status == 200 and body["status"] == "NEW" and body["goodTillDate"] == gtd
    emu.advance(1_800)
    assert emu.orders()[-1]["status"] == "NEW"
    emu.advance(1_800)
    o = emu.orders()[-1]
    assert (o["status"], o["updateTime"]) == ("EXPIRED", gtd)


# -- the fuzz ---------------------------------------------------------------------------------
BAD_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "1e5", "-1", "-0", "abc", "", "0x1f", "1,5", " 1",
               "1.2.3", "9" * 40, "１", "0.000000000000000000001", "null", "true", "[]", "%00", "\u00e9"]
BAD_JSON = ["[", "{}", "[1,2]", '[{"symbol":1}]', "[[]]", "null", '"x"', '[{"quantity":NaN}]',
            '[{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"nan"}]', "[" + "{}," * 6 + "{}]",
            '[{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","quantity":"1e9","price":"-5"}]', "{" * 50]
ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("POST", "/api/v3/order", dict(_order())),
    ("POST", "/api/v3/order", {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.1"}),
    ("POST", "/api/v3/order", {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "50"}),
    ("POST", "/fapi/v1/order", dict(_order())),
    ("POST", "/fapi/v1/order", {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1",
                                "reduceOnly": "false"}),
    ("POST", "/fapi/v1/batchOrders", {"batchOrders": json.dumps([dict(_order())])}),
    ("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "4000000001"}),
    ("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "4000000001"}),
    ("GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": "1000001"}),
    ("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "limit": "10", "fromId": "1"}),
    ("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "limit": "10", "startTime": "1"}),
    ("GET", "/fapi/v1/income", {"limit": "10", "startTime": "1", "endTime": "2"}),
    ("GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT", "limit": "10"}),
    ("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": "5"}),
    ("POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"}),
    ("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"}),
    ("GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "5", "startTime": "1"}),
    ("GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "5"}),
    ("GET", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "5"}),
    ("GET", "/api/v3/ticker/24hr", {"symbols": '["BTCUSDT"]'}),
    ("GET", "/fapi/v1/fundingRate", {"symbol": "BTCUSDT", "limit": "5"}),
]


def _mutate(rng: random.Random, params: dict[str, str]) -> list[tuple[str, str]]:
    pairs = list(params.items())
    move = rng.randrange(5)
    if move == 0 and pairs:  # a value replaced by something that is not a number
        i = rng.randrange(len(pairs))
        pairs[i] = (pairs[i][0], rng.choice(BAD_NUMBERS))
    elif move == 1 and pairs:  # a parameter missing
        pairs.pop(rng.randrange(len(pairs)))
    elif move == 2 and pairs:  # a parameter sent twice
        pairs.append(rng.choice(pairs))
    elif move == 3:  # JSON that is not a batch (or not JSON)
        key = "batchOrders" if "batchOrders" in params else rng.choice(["symbols", "batchOrders"])
        pairs = [(k, v) for k, v in pairs if k != key] + [(key, rng.choice(BAD_JSON))]
    else:  # the timing fields and enums broken
        key = rng.choice(["timestamp", "recvWindow", "side", "type", "timeInForce", "newClientOrderId",
                          "goodTillDate", "limit"])
        pairs.append((key, rng.choice(BAD_NUMBERS + ["x" * 40, "GTD", "BOTH"])))
    return pairs


async def test_fuzz_thousand_malformed_requests_no_500(emulator: EmulatorHandle) -> None:
    rng = random.Random(16)
    statuses: dict[int, int] = {}
    async with aiohttp.ClientSession() as s:
        for _ in range(1_100):
            method, path, params = rng.choice(ENDPOINTS)
            pairs = _mutate(rng, params)
            q = _signed(emulator, pairs) if not any(k == "timestamp" for k, _ in pairs) else urlencode(pairs)
            async with s.request(method, URL(f"{emulator.url}{path}?{q}", encoded=True),
                                 headers={"X-MBX-APIKEY": emulator.api_key}) as r:
                text = await r.text()
                statuses[r.status] = statuses.get(r.status, 0) + 1
                assert r.status < 500, (method, path, pairs, text)
                body = json.loads(text)  # always JSON, as Binance answers
                if r.status >= 400:
                    assert isinstance(body.get("code"), int) and body.get("msg"), body
    assert sum(statuses.values()) >= 1_000
    assert sum(n for st, n in statuses.items() if 400 <= st < 500) >= 500  # mostly refused
    # the money is still money: every wallet figure a finite number
    async with aiohttp.ClientSession() as s:
        _, spot = await _call(s, emulator, "GET", "/api/v3/account", [])
        _, fut = await _call(s, emulator, "GET", "/fapi/v2/account", [])
    figures = [b["free"] for b in spot["balances"]] + [b["locked"] for b in spot["balances"]]
    figures += [fut[k] for k in ("totalWalletBalance", "totalMarginBalance", "availableBalance")]
    assert all(math.isfinite(float(x)) for x in figures), figures
