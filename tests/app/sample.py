"""A seeded, deterministic state for the console's Pilot and snapshot tests: the shipped
sample config, two accounts built with tests/factories, one of each band status, open
positions with liquidation prices, funding rates (one spiking) and a dated contract."""

from __future__ import annotations

from dataclasses import replace

from console.core.config import Config, parse_config, sample_config_text
from console.core.snapshot import Snapshot
from tests import factories as f

T0 = f.T0
DEC26 = 1_798_185_600_000  # 2026-12-25T08:00:00Z
PRICES = {"BTC": 90_000.0, "ETH": 3_000.0, "SOL": 150.0, "AVAX": 30.0}


def sample_config() -> Config:
    """The shipped sample config with the accounts this state has (spot and futures): its
    COIN-M demo account is the emulator's (the rig's tests and the README screenshots)."""
    cfg = parse_config(sample_config_text(), "sample")
    return cfg.model_copy(update={"accounts": tuple(a for a in cfg.accounts if a.name in ("spot", "futures"))})


def _funding(symbol: str, rate: float, mark: float) -> dict:
    return {"symbol": symbol, "fundingRate": rate, "markPrice": mark, "indexPrice": mark,
            "fundingTimestamp": T0 + 4 * 3600_000 + 12 * 60_000, "interval": "8h", "timestamp": T0}


def sample_snapshot(*, prices: dict[str, float] | None = None, at: int = T0) -> Snapshot:
    px = {**PRICES, **(prices or {})}
    spot = f.account(
        "spot", "binance",
        markets=[f.market(f"{a}/USDT", step=0.0001) for a in ("BTC", "ETH", "SOL", "AVAX")],
        balance={"BTC": 1.5, "ETH": 30.0, "SOL": 400.0, "AVAX": 500.0, "USDT": 20_000.0, "USDC": 10_000.0},
        tickers=[f.ticker(f"{a}/USDT", px[a]) for a in ("BTC", "ETH", "SOL", "AVAX")],
        at=at,
    )
    perps = {a: f"{a}/USDT:USDT" for a in ("BTC", "ETH", "SOL", "AVAX")}
    dated = "BTC/USDT:USDT-261225"
    fut_px = px["BTC"] * 1.012
    fut = f.account(
        "futures", "binanceusdm",
        markets=[*(f.market(s, step=0.001 if a in ("BTC", "ETH") else 1.0) for a, s in perps.items()),
                 f.market(dated, step=0.001, expiry=DEC26), f.market("ETH/USDT:USDT-261225", step=0.001, expiry=DEC26)],
        balance={"USDT": 40_000.0},
        tickers=[*(f.ticker(s, px[a]) for a, s in perps.items()), f.ticker(dated, fut_px),
                 f.ticker("ETH/USDT:USDT-261225", px["ETH"] * 1.01)],
        positions=[
            f.position("BTC/USDT:USDT", -0.3, mark=px["BTC"], entry=88_000.0, upnl=-0.3 * (px["BTC"] - 88_000.0),
                       leverage=3.0, liquidation=241_500.0),
            f.position("ETH/USDT:USDT", 5.0, mark=px["ETH"], entry=3_100.0, upnl=5 * (px["ETH"] - 3_100.0),
                       leverage=3.0, liquidation=1_020.0),
        ],
        funding=[_funding("BTC/USDT:USDT", 0.0001, px["BTC"]), _funding("ETH/USDT:USDT", 0.00025, px["ETH"]),
                 _funding("SOL/USDT:USDT", 0.0008, px["SOL"]), _funding("AVAX/USDT:USDT", -0.00005, px["AVAX"])],
        at=at,
    )
    fut = replace(fut, balance={**fut.balance, "info": {"totalMaintMargin": "640.0",
                                                        "totalMarginBalance": "39900.0"}})
    return f.snapshot(spot, fut, at=at)
