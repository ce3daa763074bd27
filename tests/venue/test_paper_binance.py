"""A Binance paper account, end to end through ccxt's demo-trading object: every request ccxt
builds for Binance Demo Trading is answered by the loopback emulator (the host is swapped at
ccxt's HTTP layer, after the paper switch was verified), so the test sees exactly which API
groups the console uses on paper. Binance Demo Trading serves api, fapi and dapi only: a sapi
request there fails (ccxt raises NotSupported), so the console must never need one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from console.core.config import Config, Mode
from console.emulator import DEMO_API_KEY, DEMO_SECRET
from console.emulator.testing import EmulatorHandle
from console.emulator.urls import emulated_url
from console.venues.modes import paper_problem
from console.venues.preflight import fetch_facts
from console.venues.venue import Venue, make_exchange

DEMO_HOSTS = {"demo-api.binance.com", "demo-fapi.binance.com", "demo-dapi.binance.com"}


def _paper(cfg: Config) -> Config:
    """The demo book's Binance spot and USDⓈ-M accounts switched to paper (its Bybit account has
    its own venue; COIN-M on paper has its own test below)."""
    accounts = [a.model_copy(update={"mode": Mode.PAPER}) for a in cfg.accounts if a.exchange in ("binance", "binanceusdm")]
    return cfg.model_copy(update={"accounts": accounts})


def _routed(ex: Any, emulator_url: str, seen: list[str]) -> None:
    """Answer the demo object's requests from the emulator, recording each URL ccxt built."""
    real_fetch = ex.fetch

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        seen.append(url)
        return await real_fetch(emulated_url(url, emulator_url), method, headers, body)

    ex.fetch = fetch


async def test_paper_binance_reads_its_book_without_a_sapi_call(emulator: EmulatorHandle, cfg: Config) -> None:
    paper = _paper(cfg)
    seen: list[str] = []
    venues = []
    for account in paper.accounts:
        ex = make_exchange(account, {"apiKey": DEMO_API_KEY, "secret": DEMO_SECRET}, rate_limit=False)
        assert paper_problem(ex) is None  # the real switch, not a stand-in
        _routed(ex, emulator.url, seen)
        venues.append(Venue(paper, account, ex))
    try:
        for v in venues:
            state = await v.refresh()
            assert state.error is None, (v.account.name, state.error)
            assert state.balance.get("total"), v.account.name
            facts = await fetch_facts(v.exchange, v.account, paper)
            assert facts.auth_error is None and facts.markets_error is None
            if v.account.holds_contracts:
                assert state.funding_rates and state.positions is not None
                assert facts.position_mode == "one-way" and facts.leverage_error is None
    finally:
        for v in venues:
            await v.close()
    assert seen
    assert {urlsplit(u).hostname for u in seen} <= DEMO_HOSTS
    assert not [u for u in seen if "/sapi/" in u]


async def test_paper_coinm_reads_its_inverse_perps_funding_from_demo_dapi_premium_index(
        emulator: EmulatorHandle, cfg: Config) -> None:
    """ccxt 4.5's binancecoinm on Binance Demo Trading reads every COIN-M perp's funding in one
    GET https://demo-dapi.binance.com/dapi/v1/premiumIndex (no symbol: all of them, filtered by
    ccxt). The account must ask for its coin-settled perps (BTC/USD:BTC), not the USDT ones it
    does not list, even while it holds none; and the answer must be the COIN-M book's."""
    [account] = [a.model_copy(update={"mode": Mode.PAPER}) for a in cfg.accounts if a.exchange == "binancecoinm"]
    paper = cfg.model_copy(update={"accounts": [account]})
    # a fresh demo-trading account: coin margin, no position yet
    emu = emulator.emulator
    emu.accounts[emu.keys[DEMO_API_KEY][1]].coinm_positions.clear()
    ex = make_exchange(account, {"apiKey": DEMO_API_KEY, "secret": DEMO_SECRET}, rate_limit=False)
    assert paper_problem(ex) is None
    seen: list[str] = []
    _routed(ex, emulator.url, seen)
    venue = Venue(paper, account, ex)
    try:
        state = await venue.refresh()
    finally:
        await venue.close()
    assert state.error is None
    assert "https://demo-dapi.binance.com/dapi/v1/premiumIndex" in seen
    # every sleeve asset the emulator lists a COIN-M perp for, held or not
    assert {"BTC/USD:BTC", "ETH/USD:ETH"} <= set(state.funding_rates)
    btc = state.funding_rates["BTC/USD:BTC"]
    assert btc["info"]["symbol"] == "BTCUSD_PERP" and btc["fundingRate"] is not None
    assert {urlsplit(u).hostname for u in seen} <= DEMO_HOSTS
