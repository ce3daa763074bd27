"""Same seed, same start, same calls: the same prices and the same fills."""

from __future__ import annotations

from typing import Any

import pytest

from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import ccxt_client, start_emulator

pytestmark = pytest.mark.asyncio


async def _session(seed: int) -> list[Any]:
    handle = start_emulator(seed=seed, speed=0.0, start_ms=DEFAULT_START_MS)
    spot, usdm = ccxt_client(handle, "spot", timeout_on_exit=0), ccxt_client(handle, "usdm", timeout_on_exit=0)
    out: list[Any] = []
    try:
        await usdm.load_markets()
        await spot.load_markets()
        for step in range(3):
            handle.emulator.advance(37 * 60 + step)
            out.append((await spot.fetch_ticker("SOL/USDT"))["last"])
            out.append((await usdm.fetch_funding_rate("ETH/USDT:USDT"))["markPrice"])
            out.append((await usdm.fetch_order_book("BTC/USDT:USDT", 5))["asks"])
            o = await usdm.create_order("ETH/USDT:USDT", "market", "buy", 3 + step, params={"clientOrderId": f"d{step}"})
            out.append((o["id"], o["average"], o["filled"]))
            s = await spot.create_order("AVAX/USDT", "market", "sell", 100)
            out.append((s["average"], s["cost"]))
        limit = await usdm.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 93_000)
        handle.emulator.advance(5 * 86_400)
        done = await usdm.fetch_order(limit["id"], "BTC/USDT:USDT")
        out.append((done["status"], done["lastUpdateTimestamp"]))
        out.append([(t["price"], t["amount"]) for t in await usdm.fetch_my_trades("ETH/USDT:USDT")])
        out.append([p["amount"] for p in await usdm.fetch_funding_history()])
    finally:
        await spot.close()
        await usdm.close()
        handle.stop()
    return out


async def test_two_runs_with_the_same_seed_match() -> None:
    first, second = await _session(21), await _session(21)
    assert first == second
    assert first != await _session(22)
