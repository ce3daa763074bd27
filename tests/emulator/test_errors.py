"""Binance error replies make ccxt raise its own exception classes.

ccxt maps some codes for every Binance URL and others only when the URL's host is the
production futures host (``https://fapi.binance.com/``, see ``binance.get_exceptions_by_url``).
Against the emulator (and any non-production URL) those codes fall back to the base
``ccxt.ExchangeError``, with Binance's JSON (and its ``code``) in the message. The console
must therefore treat any ``ccxt.ExchangeError`` from an order as a rejection and read the
``code`` when it needs the reason; ``test_hostname_dependent_codes`` pins both behaviours.
"""

from __future__ import annotations

import json
from typing import Any

import ccxt
import pytest

from console.emulator.testing import EmulatorHandle, ccxt_client

pytestmark = pytest.mark.asyncio


async def _raises(exc: type[Exception], coro: Any) -> Exception:
    with pytest.raises(exc) as info:
        await coro
    return info.value


async def test_missing_or_malformed_key_is_2014(emulator: EmulatorHandle) -> None:
    ex = ccxt_client(emulator, "spot", timeout_on_exit=0, apiKey="not a key!")
    try:
        e = await _raises(ccxt.AuthenticationError, ex.fetch_balance())
        assert '"code":-2014' in str(e)
    finally:
        await ex.close()


async def test_unknown_key_is_2015(emulator: EmulatorHandle) -> None:
    ex = ccxt_client(emulator, "usdm", timeout_on_exit=0, apiKey="A" * 64)
    try:
        e = await _raises(ccxt.AuthenticationError, ex.fetch_balance())
        assert '"code":-2015' in str(e)
    finally:
        await ex.close()


async def test_wrong_secret_is_1022(emulator: EmulatorHandle) -> None:
    ex = ccxt_client(emulator, "usdm", timeout_on_exit=0, secret="B" * 64)
    try:
        e = await _raises(ccxt.AuthenticationError, ex.fetch_positions())
        assert '"code":-1022' in str(e)
    finally:
        await ex.close()


async def test_stale_timestamp_is_1021(emulator: EmulatorHandle) -> None:
    ex = ccxt_client(emulator, "spot", timeout_on_exit=0)
    ex.options["timeDifference"] = 400 * 86_400_000  # the client's clock is 400 days behind
    try:
        e = await _raises(ccxt.InvalidNonce, ex.fetch_balance())
        assert '"code":-1021' in str(e)
    finally:
        await ex.close()


async def test_spot_insufficient_balance(spot: Any) -> None:
    # -2010 with this message: ccxt matches the message (its text carries no code)
    e = await _raises(ccxt.InsufficientFunds, spot.create_order("BTC/USDT", "market", "buy", 1.0))
    assert "insufficient balance" in str(e)
    await _raises(ccxt.InsufficientFunds, spot.create_order("SOL/USDT", "market", "sell", 5_000))


async def test_order_not_found(spot: Any, usdm: Any) -> None:
    e = await _raises(ccxt.OrderNotFound, usdm.cancel_order("123", "BTC/USDT:USDT"))
    assert '"code":-2011' in str(e)
    e = await _raises(ccxt.OrderNotFound, usdm.fetch_order("123", "BTC/USDT:USDT"))
    assert '"code":-2013' in str(e)
    await _raises(ccxt.OrderNotFound, spot.fetch_order(None, "ETH/USDT", {"clientOrderId": "nope"}))
    await _raises(ccxt.OrderNotFound, spot.cancel_order("1", "ETH/USDT"))


async def test_precision_and_filters(spot: Any, usdm: Any) -> None:
    await usdm.load_markets()
    await spot.load_markets()
    # too many decimals for the contract: -1111, which ccxt maps to BadRequest
    e = await _raises(ccxt.BadRequest, usdm.fapiPrivatePostOrder(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0001"}))
    assert '"code":-1111' in str(e)
    # off the tick size
    e = await _raises(ccxt.BadRequest, usdm.fapiPrivatePostOrder(
        {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1",
         "price": "3000.005"}))
    assert '"code":-1111' in str(e)
    # spot filter failures: LOT_SIZE and PRICE_FILTER are InvalidOrder in ccxt
    await _raises(ccxt.InvalidOrder, spot.privatePostOrder(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.000015"}))
    await _raises(ccxt.InvalidOrder, spot.privatePostOrder(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
         "price": "90000.005"}))
    e = await _raises(ccxt.BadRequest, spot.create_order("BTC/USDT", "market", "buy", 0.00002))
    assert "Filter failure: NOTIONAL" in str(e)
    await _raises(ccxt.BadSymbol, spot.publicGetTicker24hr({"symbol": "DOGEUSDT"}))


async def test_post_only_that_would_take_is_rejected(spot: Any, usdm: Any) -> None:
    await usdm.load_markets()
    t = await usdm.fetch_ticker("BTC/USDT:USDT")
    e = await _raises(ccxt.InvalidOrder, usdm.create_order(
        "BTC/USDT:USDT", "limit", "buy", 0.01, round(t["last"] * 1.01, 1), {"postOnly": True}))
    assert '"code":-5022' in str(e)
    e = await _raises(ccxt.OrderImmediatelyFillable, spot.create_order(
        "ETH/USDT", "limit", "buy", 0.1, 3_500, {"postOnly": True}))
    assert "would immediately match" in str(e)


async def test_hostname_dependent_codes(usdm: Any) -> None:
    """-2019, -4164 and -2022 are mapped by ccxt only on https://fapi.binance.com/."""
    await usdm.load_markets()
    cases = [
        (usdm.create_order("BTC/USDT:USDT", "market", "buy", 50), -2019, ccxt.InsufficientFunds),
        (usdm.create_order("BTC/USDT:USDT", "market", "buy", 0.001), -4164, ccxt.InvalidOrder),
        (usdm.create_order("ETH/USDT:USDT", "market", "buy", 1, params={"reduceOnly": True}), -2022,
         ccxt.InvalidOrder),
    ]
    for coro, code, production_class in cases:
        e = await _raises(ccxt.ExchangeError, coro)
        body = str(e).split(" ", 1)[1]
        assert json.loads(body)["code"] == code
        assert not isinstance(e, production_class)  # here: the base class, with the code in the text
        # the same reply from the production host maps to the specific class
        with pytest.raises(production_class):
            usdm.handle_errors(400, "Bad Request", "https://fapi.binance.com/fapi/v1/order", "POST", {}, body,
                               json.loads(body), {}, "")


async def test_margin_type_with_a_position_and_bad_leverage(usdm: Any) -> None:
    await usdm.load_markets()
    await _raises(ccxt.OperationRejected, usdm.set_margin_mode("isolated", "BTC/USDT:USDT"))
    await _raises(ccxt.BadRequest, usdm.set_leverage(125, "BTC/USDT:USDT-261225"))
    await _raises(ccxt.BadSymbol, usdm.fapiPublicGetPremiumIndex({"symbol": "XYZUSDT"}))
