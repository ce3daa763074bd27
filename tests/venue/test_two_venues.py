"""The demo across two exchanges: the packaged demo config holds Binance (spot, USDⓈ-M) and
Bybit (one unified account) accounts on the one emulator; each account is read with its own
venue's key and dialect, and net exposure per asset spans both venues."""

from __future__ import annotations

from typing import Any

import pytest

from console.core.allocation import compute_allocation
from console.core.config import Config
from console.emulator.scenario import DEMO
from console.emulator.testing import EmulatorHandle
from console.venues.demo import demo_credentials
from console.venues.venue import VenueSet
from tests.venue.conftest import TEST_BACKOFF, ManualClock

BOOK = DEMO.bybit
assert BOOK is not None


def test_the_demo_config_holds_a_binance_and_a_bybit_account(cfg: Config) -> None:
    exchanges = {a.name: a.exchange for a in cfg.accounts}
    assert exchanges == {"spot": "binance", "futures": "binanceusdm", "coinm": "binancecoinm", "bybit": "bybit"}
    creds = demo_credentials(cfg)
    assert creds["bybit"]["apiKey"] != creds["spot"]["apiKey"]  # each venue's own key


async def _snapshot(emulator: EmulatorHandle, cfg: Config, clock: ManualClock) -> Any:
    async with VenueSet.from_config(cfg, demo_credentials(cfg), emulator_url=emulator.url, clock=clock,
                                    backoff=TEST_BACKOFF, timeout_ms=2_000, rate_limit=False) as vs:
        return await vs.refresh()


async def test_the_bybit_account_reads_its_unified_wallet_once(emulator: EmulatorHandle, cfg: Config,
                                                               clock: ManualClock) -> None:
    snap = await _snapshot(emulator, cfg, clock)
    bybit = snap.accounts["bybit"]
    assert bybit.error is None
    # one unified wallet: its USDT is the spot and contract ledgers together, counted once
    assert bybit.balance["total"]["USDT"] == pytest.approx(BOOK.spot_balances["USDT"] + BOOK.futures_wallet["USDT"])
    [seeded] = BOOK.positions
    held = [(p["symbol"], p["contracts"], p["side"]) for p in bybit.positions]
    assert held == [("ETH/USDT:USDT", abs(seeded.amt), "short")]


async def test_net_exposure_per_asset_spans_both_venues(emulator: EmulatorHandle, cfg: Config,
                                                       clock: ManualClock) -> None:
    both = compute_allocation(cfg, await _snapshot(emulator, cfg, clock))
    binance_only = cfg.model_copy(update={"accounts": [a for a in cfg.accounts if a.exchange != "bybit"]})
    one = compute_allocation(binance_only, await _snapshot(emulator, binance_only, clock))
    [seeded] = BOOK.positions
    eth = both.prices["ETH"]
    # the Bybit short hedges ETH held on Binance: the ETH sleeve's net falls by its notional
    assert both.row("ETH").net - one.row("ETH").net == pytest.approx(seeded.amt * eth, rel=2e-3)
    # NAV gains the Bybit wallet and the short's unrealised PnL
    upnl = seeded.amt * (eth - seeded.entry)
    wallet = BOOK.spot_balances["USDT"] + BOOK.futures_wallet["USDT"]
    assert both.nav - one.nav == pytest.approx(wallet + upnl, rel=2e-3)
