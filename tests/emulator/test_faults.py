"""Each fault knob surfaces as the ccxt exception a real venue would cause."""

from __future__ import annotations

import time
from typing import Any

import ccxt
import pytest

from console.emulator.testing import EmulatorHandle, ccxt_client

pytestmark = pytest.mark.asyncio


async def test_latency_slows_then_times_out(emulator: EmulatorHandle) -> None:
    emulator.emulator.set_fault("/api/v3/time", "latency", latency_s=0.3)
    ex = ccxt_client(emulator, "spot", timeout=2_000, timeout_on_exit=0)
    try:
        t0 = time.monotonic()
        await ex.fetch_time()
        assert time.monotonic() - t0 >= 0.3
        ex.timeout = 100
        with pytest.raises(ccxt.RequestTimeout):
            await ex.fetch_time()
    finally:
        await ex.close()


async def test_5xx_is_exchange_not_available(emulator: EmulatorHandle, usdm: Any) -> None:
    emulator.emulator.set_fault("/fapi/v1/premiumIndex", "5xx", count=1)
    with pytest.raises(ccxt.ExchangeNotAvailable) as info:
        await usdm.fetch_funding_rates()
    assert isinstance(info.value, ccxt.NetworkError)
    assert await usdm.fetch_funding_rates()  # count=1: the next call goes through


@pytest.mark.parametrize("kind", ["429", "418"])
async def test_rate_limit_and_ban_are_ddos_protection(emulator: EmulatorHandle, spot: Any, kind: str) -> None:
    emulator.emulator.set_fault("GET /api/v3/ticker/24hr", kind)
    with pytest.raises(ccxt.DDoSProtection) as info:
        await spot.fetch_ticker("BTC/USDT")
    assert kind in str(info.value)
    emulator.emulator.clear_faults()
    assert (await spot.fetch_ticker("BTC/USDT"))["last"] == 95_000.0


async def test_dropped_connection_is_a_network_error(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.load_markets()
    # every time: aiohttp itself retries an idempotent request once on a reused connection
    emulator.emulator.set_fault("/fapi/v3/account", "drop")
    with pytest.raises(ccxt.NetworkError):
        await usdm.fetch_balance()
    emulator.emulator.clear_faults()
    assert (await usdm.fetch_balance())["total"]["USDT"] > 0


async def test_lost_reply_order_is_placed_but_the_client_times_out(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.load_markets()
    emulator.emulator.set_fault("POST /fapi/v1/order", "lost_reply", count=1, latency_s=1.0)
    usdm.timeout = 300
    with pytest.raises(ccxt.RequestTimeout):
        await usdm.create_order("ETH/USDT:USDT", "market", "buy", 1, params={"clientOrderId": "lost-1"})
    usdm.timeout = 10_000
    # the venue did accept it: reconciliation by client order id finds it
    assert [o["clientOrderId"] for o in emulator.emulator.orders()] == ["lost-1"]
    found = await usdm.fetch_order(None, "ETH/USDT:USDT", {"clientOrderId": "lost-1"})
    assert found["status"] == "closed" and found["filled"] == 1


async def test_fault_kinds_are_checked(emulator: EmulatorHandle) -> None:
    with pytest.raises(ValueError):
        emulator.emulator.set_fault("/api/v3/time", "explode")
