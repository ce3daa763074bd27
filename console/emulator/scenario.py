"""Scenarios: what the venue lists and what the demo account holds at the start.

"demo" matches console/data/portfolio.sample.toml: one Binance API key that sees a spot
wallet (account "spot" in the config, exchange binance) and a USDⓈ-M wallet (account
"futures", exchange binanceusdm), and a Bybit unified account (account "bybit", its own key,
the ``bybit`` book below). With the sample's 0.75 BTC in cold storage, NAV is about 1,008,000
USDT and the sleeves start at roughly BTC 40.2 % (warn: −4.8 pp of a ±5 band), ETH 26.0 %
(ok), ALTS 18.8 % (breach: +3.8 pp of a ±2 band), STABLE 14.9 % (ok); without the Bybit
account, NAV about 1,000,000 and BTC 40.6 %, ETH 26.9 %, ALTS 19.0 %, STABLE 13.5 %.
tests/emulator checks these weights with the console's own allocation code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from console.emulator.coinm import BTC_COIN_BRACKETS, ETH_COIN_BRACKETS, inverse
from console.emulator.instruments import (
    ALT_BRACKETS,
    BTC_BRACKETS,
    DATED_BRACKETS,
    ETH_BRACKETS,
    Instrument,
)
from console.emulator.prices import AssetModel

DELIVERY_261225_MS = int(datetime(2026, 12, 25, 8, 0, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class SeedPosition:
    symbol: str
    amt: float  # signed
    entry: float
    leverage: int = 10
    margin_type: str = "cross"


@dataclass(frozen=True)
class StartingBook:
    """What one more account holds at the start (a Bybit account, say): the fields mean what
    the Scenario's own book fields mean."""

    spot_balances: dict[str, float] = field(default_factory=dict)
    futures_wallet: dict[str, float] = field(default_factory=dict)
    positions: tuple[SeedPosition, ...] = ()
    leverage: dict[str, int] = field(default_factory=dict)
    coinm_wallet: dict[str, float] = field(default_factory=dict)
    coinm_positions: tuple[SeedPosition, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    assets: dict[str, AssetModel]
    instruments: tuple[Instrument, ...]
    spot_balances: dict[str, float] = field(default_factory=dict)
    futures_wallet: dict[str, float] = field(default_factory=dict)
    positions: tuple[SeedPosition, ...] = ()
    # leverage already set on contracts without a seed position (symbol id -> leverage);
    # the others keep Binance's default of 20x
    leverage: dict[str, int] = field(default_factory=dict)
    coinm_wallet: dict[str, float] = field(default_factory=dict)  # COIN-M: coin -> wallet
    coinm_positions: tuple[SeedPosition, ...] = ()  # COIN-M: amt in contracts
    # the Bybit unified account's book (console.emulator.bybit.open_account); None: a copy of
    # the Binance account's
    bybit: StartingBook | None = None


def _spot(base: str, tick: str, step: str, depth: float, quote: str = "USDT", min_notional: str = "5.00000000") -> Instrument:
    return Instrument(id=base + quote, venue="spot", base=base, quote=quote, tick=tick, step=step,
                      min_qty=step, min_notional=min_notional, kind="spot", depth_usd=depth)


def _perp(base: str, tick: str, step: str, min_notional: str, brackets: tuple, depth: float, max_qty: str = "1000000") -> Instrument:
    return Instrument(id=base + "USDT", venue="futures", base=base, quote="USDT", tick=tick, step=step,
                      min_qty=step, min_notional=min_notional, max_qty=max_qty, kind="perp",
                      brackets=brackets, depth_usd=depth)


def _dated(base: str, tick: str, step: str, delivery_ms: int, depth: float) -> Instrument:
    yymmdd = datetime.fromtimestamp(delivery_ms / 1000, UTC).strftime("%y%m%d")
    return Instrument(id=f"{base}USDT_{yymmdd}", venue="futures", base=base, quote="USDT", tick=tick,
                      step=step, min_qty=step, min_notional="5", max_qty="500", kind="dated",
                      delivery_ms=delivery_ms, brackets=DATED_BRACKETS, depth_usd=depth)


DEMO_ASSETS = {
    "BTC": AssetModel("BTC", 95_000.0, vol=0.55, beta=1.0, premium=0.0003, basis=0.08),
    "ETH": AssetModel("ETH", 3_400.0, vol=0.70, beta=0.85, premium=0.0002, basis=0.09),
    "SOL": AssetModel("SOL", 180.0, vol=0.95, beta=0.75, premium=0.0001, premium_amp=0.0006, basis=0.10),
    "AVAX": AssetModel("AVAX", 30.0, vol=1.05, beta=0.7, premium=-0.0001, premium_amp=0.0006, basis=0.10),
    "USDC": AssetModel("USDC", 1.0, vol=0.0, beta=0.0, peg=True),
}

DEMO_INSTRUMENTS = (
    _spot("BTC", "0.01000000", "0.00001000", 150_000),
    _spot("ETH", "0.01000000", "0.00010000", 100_000),
    _spot("SOL", "0.01000000", "0.00100000", 40_000),
    _spot("AVAX", "0.01000000", "0.01000000", 15_000),
    _spot("USDC", "0.00010000", "1.00000000", 500_000),
    _perp("BTC", "0.10", "0.001", "100", BTC_BRACKETS, 250_000, max_qty="1000"),
    _perp("ETH", "0.01", "0.001", "20", ETH_BRACKETS, 150_000, max_qty="10000"),
    _perp("SOL", "0.0100", "1", "5", ALT_BRACKETS, 50_000),
    _perp("AVAX", "0.0010", "1", "5", ALT_BRACKETS, 20_000),
    _dated("BTC", "0.1", "0.001", DELIVERY_261225_MS, 60_000),
    _dated("ETH", "0.01", "0.001", DELIVERY_261225_MS, 40_000),
    # COIN-M: inverse perpetuals and a quarterly, USD contracts margined in the coin
    inverse("BTC", "PERP", "0.1", 100.0, BTC_COIN_BRACKETS, 200_000),
    inverse("ETH", "PERP", "0.01", 10.0, ETH_COIN_BRACKETS, 100_000),
    inverse("BTC", "261225", "0.1", 100.0, BTC_COIN_BRACKETS, 60_000, delivery_ms=DELIVERY_261225_MS),
)

DEMO = Scenario(
    name="demo",
    assets=DEMO_ASSETS,
    instruments=DEMO_INSTRUMENTS,
    spot_balances={"BTC": 4.2, "ETH": 60.0, "SOL": 700.0, "AVAX": 2_130.0, "USDT": 42_000.0, "USDC": 30_000.0},
    futures_wallet={"USDT": 60_000.0},
    positions=(
        # an existing BTC perp short hedge, opened higher up
        SeedPosition("BTCUSDT", -0.68, 97_150.0, leverage=3),
        # a long ETH quarterly, bought when the basis was cheaper
        SeedPosition("ETHUSDT_261225", 19.0, 3_310.0, leverage=3),
    ),
    # the demo account was set up for the sample config: the contracts it holds no position in
    # at 5x, its limits.max_leverage, so preflight's leverage check passes on the demo (Binance's
    # default 20x would fail it); 5x, not the positions' 3x, keeps room to open the demo's legs
    leverage={i.id: 5 for i in DEMO_INSTRUMENTS if i.venue == "futures"},
    # COIN-M: 0.5 BTC of margin and one inverse position, a $20,000 BTC perp short
    coinm_wallet={"BTC": 0.5},
    coinm_positions=(SeedPosition("BTCUSD_PERP", -200, 96_400.0, leverage=5),),
    # the Bybit account of the two-venue demo: USDT margin and a short ETH perpetual that
    # hedges part of the ETH held on Binance, so ETH's net exposure spans both venues
    bybit=StartingBook(
        spot_balances={"USDT": 3_000.0},
        futures_wallet={"USDT": 5_000.0},
        positions=(SeedPosition("ETHUSDT", -2.0, 3_420.0, leverage=3),),
        leverage={i.id: 5 for i in DEMO_INSTRUMENTS if i.venue == "futures"},
    ),
)

# "empty": the same markets, a wallet with cash only (for order-path tests that want a clean slate)
EMPTY = Scenario(
    name="empty",
    assets=DEMO_ASSETS,
    instruments=DEMO_INSTRUMENTS,
    spot_balances={"USDT": 100_000.0},
    futures_wallet={"USDT": 100_000.0},
)

# "large": the demo's markets plus LARGE_ALTS generated alts, for the 500-sleeve benchmarks. Every
# asset has a spot pair and a perpetual; the LARGE_DATED largest alts also list two quarterlies.
# The account holds about LARGE_HOLDING_USD of every asset and a short perp hedge on every
# fifth alt. Generated from a fixed seed: the same book on every machine.
LARGE_ALTS = 240
LARGE_DATED = 30
LARGE_HOLDING_USD = 2_000.0
DELIVERY_270326_MS = int(datetime(2027, 3, 26, 8, 0, tzinfo=UTC).timestamp() * 1000)


def _alt_code(i: int) -> str:
    """Z, then two letters: ZAA, ZAB, ... (not X: ccxt reads XBT as BTC)."""
    return "Z" + chr(65 + i // 26) + chr(65 + i % 26)


def _tick_for(price: float) -> tuple[str, str]:
    """A tick about 1/10,000 of the price and a step worth about a dollar's tenth, as Binance sets them."""
    dec = max(0, min(8, 4 - int(f"{price:e}".split("e")[1])))
    step_dec = max(0, min(3, int(f"{price:e}".split("e")[1]) + 1))
    return f"{10 ** -dec:.{dec}f}" if dec else "1", f"{10 ** -step_dec:.{step_dec}f}" if step_dec else "1"


def _large() -> Scenario:
    import random

    rng = random.Random("rebal-large-scenario")
    assets = dict(DEMO_ASSETS)
    instruments = list(DEMO_INSTRUMENTS)
    balances = {"BTC": 8.0, "ETH": 120.0, "SOL": 1_400.0, "AVAX": 4_260.0, "USDT": 400_000.0, "USDC": 60_000.0}
    positions = [SeedPosition("BTCUSDT", -1.2, 97_150.0, leverage=3),
                 SeedPosition("ETHUSDT_261225", 19.0, 3_310.0, leverage=3)]
    for i in range(LARGE_ALTS):
        code = _alt_code(i)
        price = round(10 ** rng.uniform(-1.3, 2.7), 6)
        depth = round(10 ** rng.uniform(3.7, 4.7), -2)
        assets[code] = AssetModel(code, price, vol=round(rng.uniform(0.6, 1.5), 3), beta=round(rng.uniform(0.4, 1.2), 3),
                                  premium=round(rng.uniform(-0.0002, 0.0004), 6), premium_amp=0.0006,
                                  basis=round(rng.uniform(0.04, 0.14), 4))
        tick, step = _tick_for(price)
        instruments.append(_spot(code, f"{float(tick):.8f}", f"{float(step):.8f}", depth))
        instruments.append(_perp(code, tick, step, "5", ALT_BRACKETS, depth))
        if i < LARGE_DATED:
            instruments.append(_dated(code, tick, step, DELIVERY_261225_MS, depth / 2))
            instruments.append(_dated(code, tick, step, DELIVERY_270326_MS, depth / 4))
        qty_step = float(step)
        balances[code] = round(round(LARGE_HOLDING_USD / price / qty_step) * qty_step, 8)
        if i % 5 == 0:
            hedge = -round(round(LARGE_HOLDING_USD / 2 / price / qty_step) * qty_step, 8)
            positions.append(SeedPosition(code + "USDT", hedge, price, leverage=3))
    return Scenario(
        name="large", assets=assets, instruments=tuple(instruments), spot_balances=balances,
        futures_wallet={"USDT": 2_000_000.0}, positions=tuple(positions),
        leverage={i.id: 5 for i in instruments if i.venue == "futures"},
    )


LARGE = _large()
SCENARIOS = {s.name: s for s in (DEMO, EMPTY, LARGE)}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose one of {sorted(SCENARIOS)}") from None
