"""A small world the planner tests share, built with tests/factories.py.

NAV 100,000 USDT = BTC 58,000 (spot) + ETH 32,000 (spot) + USDT 10,000 (futures margin).
Targets BTC 45 %, ETH 45 %, STABLE 10 %, absolute band ±5 pp.
BTC 58 % → breach, −13,000 to target; ETH 32 % → breach, +13,000 to target.
BTC 60,000 (perp mark 60,000; dated Dec future 61,200 = +2 % basis, 34 days to expiry);
ETH 3,000. BTC perp funding +0.01 % per 8 h.
"""

from __future__ import annotations

from typing import Any

from tests import factories as f

DAY_MS = 86_400_000
EXPIRY = f.T0 + 34 * DAY_MS
DATED = "BTC/USDT:USDT-261225"

TOML = f"""
[portfolio]
band_policy = "absolute"
band_abs = 0.05
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.45
hedges = ["BTC/USDT:USDT", "{DATED}"]
[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.45
hedges = ["ETH/USDT:USDT"]
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.10
[[accounts]]
name = "spot"
exchange = "binance"
[[accounts]]
name = "fut"
exchange = "binanceusdm"
markets = ["swap", "future"]
"""


def funding(symbol: str, rate: float, *, next_ms: int = f.T0 + 4 * 3_600_000, interval: str = "8h") -> dict[str, Any]:
    return {"symbol": symbol, "fundingRate": rate, "fundingTimestamp": next_ms, "nextFundingTimestamp": next_ms,
            "interval": interval, "markPrice": None, "timestamp": f.T0}


def book(mid: float, *, half_spread: float, levels: list[tuple[float, float]], at: int = f.T0) -> dict[str, Any]:
    """A symmetric book: level i sits ``offset`` away from mid on each side with ``amount``."""
    bids = [[mid - half_spread - off, amt] for off, amt in levels]
    asks = [[mid + half_spread + off, amt] for off, amt in levels]
    return {"symbol": None, "bids": bids, "asks": asks, "timestamp": at, "datetime": None, "nonce": None}


def world(*, positions: list[dict[str, Any]] | None = None, btc_funding: float = 0.0001, dated_px: float = 61_200,
          margin: float = 10_000, at: int = f.T0):
    cfg = f.config(TOML)
    snap = f.snapshot(
        f.account("spot", "binance", markets=[f.market("BTC/USDT", step=0.00001, tick=0.01, taker=0.001, maker=0.001),
                                              f.market("ETH/USDT", step=0.0001, tick=0.01, taker=0.001, maker=0.001)],
                  balance={"BTC": 58_000 / 60_000, "ETH": 32_000 / 3_000},
                  tickers=[f.ticker("BTC/USDT", 60_000), f.ticker("ETH/USDT", 3_000)], at=at),
        f.account("fut", "binanceusdm",
                  markets=[f.market("BTC/USDT:USDT", min_cost=100),
                           f.market(DATED, min_cost=100, expiry=EXPIRY),
                           f.market("ETH/USDT:USDT", tick=0.01, min_cost=20)],
                  balance={"USDT": margin},
                  tickers=[f.ticker("BTC/USDT:USDT", 60_000), f.ticker(DATED, dated_px),
                           f.ticker("ETH/USDT:USDT", 3_000)],
                  positions=positions or [],
                  funding=[funding("BTC/USDT:USDT", btc_funding), funding("ETH/USDT:USDT", 0.0001)], at=at),
        at=at,
    )
    return cfg, snap
