"""Unmodified ccxt against the emulator: market data."""

from __future__ import annotations

from typing import Any

import pytest

from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle

pytestmark = pytest.mark.asyncio


async def test_load_markets_spot_and_linear_with_filters(spot: Any, usdm: Any) -> None:
    markets = await spot.load_markets()
    for sym in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "AVAX/USDT", "USDC/USDT", "BTC/USDT:USDT", "AVAX/USDT:USDT"):
        assert sym in markets
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"]
    assert btc["precision"] == {"amount": 1e-05, "price": 0.01, "base": 1e-08, "quote": 1e-08, "cost": None,
                                "contractSize": None} or btc["precision"]["amount"] == 1e-05
    assert btc["precision"]["price"] == 0.01
    assert btc["limits"]["amount"]["min"] == 1e-05
    assert btc["limits"]["cost"]["min"] == 5.0
    fut = await usdm.load_markets()
    assert set(fut) == {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "AVAX/USDT:USDT",
                        "BTC/USDT:USDT-261225", "ETH/USDT:USDT-261225"}
    perp = fut["BTC/USDT:USDT"]
    assert perp["swap"] and perp["linear"] and perp["contractSize"] == 1.0 and perp["settle"] == "USDT"
    assert perp["precision"]["price"] == 0.1 and perp["precision"]["amount"] == 0.001
    assert perp["limits"]["cost"]["min"] == 100.0
    dated = fut["BTC/USDT:USDT-261225"]
    assert dated["future"] and dated["type"] == "future" and dated["id"] == "BTCUSDT_261225"
    assert dated["expiryDatetime"] == "2026-12-25T08:00:00.000Z"
    assert fut["SOL/USDT:USDT"]["precision"]["amount"] == 1.0
    assert usdm.amount_to_precision("BTC/USDT:USDT", 0.12345) == "0.123"
    assert usdm.price_to_precision("BTC/USDT:USDT", 95123.456) == "95123.5"


async def test_fetch_time_is_the_emulated_clock(emulator: EmulatorHandle, spot: Any, usdm: Any) -> None:
    assert await spot.fetch_time() == DEFAULT_START_MS
    emulator.emulator.advance(90)
    assert await usdm.fetch_time() == DEFAULT_START_MS + 90_000


async def test_tickers(spot: Any, usdm: Any) -> None:
    t = await spot.fetch_ticker("BTC/USDT")
    assert t["last"] == 95_000.0 and t["bid"] < t["last"] < t["ask"]
    assert t["timestamp"] == DEFAULT_START_MS and t["baseVolume"] > 0
    ts = await spot.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    assert set(ts) == {"BTC/USDT", "ETH/USDT"} and ts["ETH/USDT"]["last"] == 3_400.0
    ft = await usdm.fetch_tickers()
    assert "BTC/USDT:USDT-261225" in ft
    # the quarterly trades at a premium that shrinks toward delivery
    assert ft["BTC/USDT:USDT-261225"]["last"] > ft["BTC/USDT:USDT"]["last"] * 1.005
    one = await usdm.fetch_ticker("SOL/USDT:USDT")
    assert one["symbol"] == "SOL/USDT:USDT" and 170 < one["last"] < 190


async def test_order_book_depth(spot: Any, usdm: Any) -> None:
    ob = await spot.fetch_order_book("ETH/USDT", limit=20)
    assert len(ob["bids"]) == 20 and len(ob["asks"]) == 20
    assert ob["bids"][0][0] < 3_400 < ob["asks"][0][0]
    assert all(a[0] < b[0] for a, b in zip(ob["asks"], ob["asks"][1:], strict=False))
    assert all(a[0] > b[0] for a, b in zip(ob["bids"], ob["bids"][1:], strict=False))
    fob = await usdm.fetch_order_book("BTC/USDT:USDT")
    assert len(fob["asks"]) == 100 and fob["timestamp"] == DEFAULT_START_MS


async def test_ohlcv_follows_the_path_and_clock(emulator: EmulatorHandle, spot: Any, usdm: Any) -> None:
    bars = await spot.fetch_ohlcv("BTC/USDT", "1h", limit=48)
    assert len(bars) == 48
    assert bars[-1][0] == DEFAULT_START_MS  # the current (open) candle
    for _ts, o, h, lo, c, v in bars[:-1]:
        assert lo <= min(o, c) <= max(o, c) <= h and v > 0
    assert bars[-1][5] == 0  # the current candle opened this very instant
    assert bars[-1][4] == 95_000.0
    since = DEFAULT_START_MS - 10 * 60_000
    minutes = await usdm.fetch_ohlcv("ETH/USDT:USDT", "1m", since=since, limit=5)
    assert [b[0] for b in minutes] == [since + i * 60_000 for i in range(5)]
    mark = await usdm.fetch_ohlcv("ETH/USDT:USDT", "1m", limit=3, params={"price": "mark"})
    index = await usdm.fetch_ohlcv("ETH/USDT:USDT", "1m", limit=3, params={"price": "index"})
    assert mark[-1][4] != index[-1][4] and index[-1][4] == 3_400.0
    emulator.emulator.advance(3600)
    later = await spot.fetch_ohlcv("BTC/USDT", "1h", limit=2)
    assert later[-1][0] == DEFAULT_START_MS + 3_600_000 and later[-1][4] != 95_000.0


async def test_funding_rates_and_history(emulator: EmulatorHandle, usdm: Any) -> None:
    fr = await usdm.fetch_funding_rate("BTC/USDT:USDT")
    assert fr["markPrice"] > fr["indexPrice"] == 95_000.0
    assert fr["fundingTimestamp"] == DEFAULT_START_MS + 4 * 3_600_000  # 16:00 UTC
    assert -0.0075 <= fr["fundingRate"] <= 0.0075 and fr["fundingRate"] != 0
    rates = await usdm.fetch_funding_rates(["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"])
    assert set(rates) == {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"}
    hist = await usdm.fetch_funding_rate_history("BTC/USDT:USDT", limit=9)
    assert len(hist) == 9
    times = [h["timestamp"] for h in hist]
    assert times == sorted(times) and all(t % (8 * 3_600_000) == 0 for t in times)
    assert times[-1] == DEFAULT_START_MS - 4 * 3_600_000  # 08:00 UTC, the last one settled
    emulator.emulator.advance(5 * 3600)
    newer = await usdm.fetch_funding_rate_history("BTC/USDT:USDT", limit=1)
    assert newer[-1]["timestamp"] == DEFAULT_START_MS + 4 * 3_600_000


async def test_leverage_tiers(usdm: Any) -> None:
    tiers = await usdm.fetch_leverage_tiers(["BTC/USDT:USDT", "ETH/USDT:USDT-261225"])
    btc = tiers["BTC/USDT:USDT"]
    assert btc[0]["maxLeverage"] == 125 and btc[0]["maintenanceMarginRate"] == 0.004
    assert btc[0]["minNotional"] == 0 and btc[0]["maxNotional"] == 50_000
    for lo, hi in zip(btc, btc[1:], strict=False):
        assert lo["maxNotional"] == hi["minNotional"] and hi["maintenanceMarginRate"] > lo["maintenanceMarginRate"]
        # maintenance amount keeps MM continuous across a floor
        f = hi["minNotional"]
        assert f * lo["maintenanceMarginRate"] - lo["info"]["cum"] == pytest.approx(
            f * hi["maintenanceMarginRate"] - hi["info"]["cum"], abs=0.01)
    assert tiers["ETH/USDT:USDT-261225"][0]["maxLeverage"] == 25
