"""The demo book, read through ccxt and weighed by the console's own allocation code."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from console.core.allocation import Status, compute_allocation
from console.core.config import parse_config
from console.core.snapshot import AccountState, Snapshot
from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle, bybit_client

pytestmark = pytest.mark.asyncio


async def demo_snapshot(spot: Any, usdm: Any, bybit: Any) -> Snapshot:
    smk = await spot.load_markets()
    fmk = await usdm.load_markets()
    sbal = await spot.fetch_balance()
    fbal = await usdm.fetch_balance()
    # the snapshot schema: a contract account's total is the wallet balance, without PnL
    wallet = {a["asset"]: float(a["walletBalance"]) for a in fbal["info"]["assets"]}
    fbal = {**fbal, "total": wallet}
    stick = await spot.fetch_tickers(["BTC/USDT", "ETH/USDT", "SOL/USDT", "AVAX/USDT", "USDC/USDT"])
    ftick = await usdm.fetch_tickers()
    frates = await usdm.fetch_funding_rates()
    positions = await usdm.fetch_positions()
    bmk = await bybit.load_markets()
    bbal = await bybit.fetch_balance()  # one unified wallet: its totals are wallet balances
    bpos = await bybit.fetch_positions(None, {"type": "swap"})
    btick = await bybit.fetch_tickers(["ETH/USDT:USDT"])
    at = {p: DEFAULT_START_MS for p in ("markets", "balance", "positions", "tickers", "funding_rates")}
    return Snapshot(timestamp=DEFAULT_START_MS, accounts={
        "bybit": AccountState("bybit", "bybit", markets=bmk, balance=bbal, positions=tuple(bpos), tickers=btick,
                              fetched_at=at),
        "spot": AccountState("spot", "binance", markets={k: v for k, v in smk.items() if v["spot"]},
                             balance=sbal, tickers=stick, fetched_at=at),
        "futures": AccountState("futures", "binanceusdm", markets=fmk, balance=fbal, positions=tuple(positions),
                                tickers=ftick, funding_rates=frates, fetched_at=at),
    })


async def test_demo_weights_show_a_breach_and_a_warning(emulator: EmulatorHandle, spot: Any, usdm: Any) -> None:
    cfg = parse_config(resources.files("console").joinpath("data/portfolio.sample.toml").read_text("utf-8"))
    bybit = bybit_client(emulator, timeout_on_exit=0)
    try:
        alloc = compute_allocation(cfg, await demo_snapshot(spot, usdm, bybit))
    finally:
        await bybit.close()
    weights = {r.name: round(r.weight, 4) for r in alloc.rows}
    status = {r.name: r.status for r in alloc.rows}
    # the two-venue demo (the Bybit account adds 8,000 USDT and a 2 ETH short): scenario.py
    assert alloc.nav == pytest.approx(1_008_000, rel=0.01)
    assert weights == pytest.approx({"BTC": 0.4024, "ETH": 0.2603, "ALTS": 0.1884, "STABLE": 0.1488}, abs=0.0015)
    assert status == {"BTC": Status.WARN, "ETH": Status.OK, "ALTS": Status.BREACH, "STABLE": Status.OK}
    assert sum(r.weight for r in alloc.rows) == pytest.approx(1.0)


# -- the large scenario ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")  # the module's asyncio mark; this one is sync
def test_large_scenario_is_big_and_deterministic() -> None:
    from console.emulator.scenario import LARGE, LARGE_ALTS, LARGE_DATED, _large

    futures = [i for i in LARGE.instruments if i.venue == "futures"]
    # every asset a perp (the demo's 4 and the generated alts), two quarterlies on the largest alts
    assert len([i for i in futures if i.kind == "perp"]) == 4 + LARGE_ALTS
    assert len([i for i in futures if i.kind == "dated"]) == 2 + 2 * LARGE_DATED
    assert len(futures) >= 200
    assert len({(i.venue, i.id) for i in LARGE.instruments}) == len(LARGE.instruments)
    assert _large() == LARGE  # a fixed seed: the same book every time


async def test_large_scenario_through_ccxt() -> None:
    from console.emulator.scenario import LARGE
    from console.emulator.testing import ccxt_client, start_emulator

    handle = start_emulator(seed=7, speed=0.0, scenario="large")
    ex = ccxt_client(handle, "usdm", timeout_on_exit=0)
    try:
        markets = await ex.load_markets()
        assert len(markets) == len([i for i in LARGE.instruments if i.venue == "futures"])
        held = [p for p in await ex.fetch_positions() if p["contracts"]]
        assert len(held) == len(LARGE.positions)
    finally:
        await ex.close()
        handle.stop()
