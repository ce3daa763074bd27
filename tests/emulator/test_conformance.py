"""ccxt's own exchange tests (shipped in the wheel as ``ccxt.test.exchange``) run against the
emulator with ccxt's unmodified binance and binanceusdm classes.

Every test of that suite appears below: the ones that apply run and must pass; the rest are
listed in ``NOT_APPLICABLE`` with the reason, so that a new ccxt test is noticed (the last
test here fails when the shipped suite has a test this file does not mention).

ccxt's repository skips some properties per exchange in ``skip-tests.json`` (not shipped in
the wheel); ``SKIPPED`` holds the two that apply because Binance itself lacks them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest

from console.emulator.testing import EmulatorHandle, ccxt_client

SUITE = "ccxt.test.exchange.async"
SYMBOL = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT", "coinm": "BTC/USD:BTC"}
# Binance's spot depth and 24 h ticker answers carry no timestamp (ccxt's skip-tests.json too)
# and a COIN-M cross position's collateral is 0 in Binance's positionRisk (isolatedMargin)
SKIPPED = {"spot": {"timestamp": True, "datetime": True}, "usdm": {}, "coinm": {"collateral": True}}

APPLICABLE = {
    "spot": ["after_construct", "features", "fetch_status", "fetch_ticker", "fetch_tickers", "fetch_order_book",
             "fetch_l2_order_book", "fetch_ohlcv", "fetch_trades", "fetch_last_prices", "fetch_balance",
             "fetch_my_trades", "fetch_open_orders", "fetch_orders", "fetch_closed_orders", "fetch_trading_fee",
             "fetch_trading_fees", "fetch_currencies"],  # load_markets: binance's class also lists
    # options and margin, which the emulator does not serve (it runs on usdm below)
    "usdm": ["after_construct", "features", "load_markets", "fetch_status", "fetch_ticker", "fetch_tickers",
             "fetch_order_book", "fetch_l2_order_book", "fetch_ohlcv", "fetch_trades", "fetch_last_prices",
             "fetch_balance", "fetch_my_trades", "fetch_open_orders", "fetch_orders", "fetch_closed_orders",
             "fetch_positions", "fetch_funding_rate_history", "fetch_leverage_tiers",
             "fetch_market_leverage_tiers", "fetch_margin_mode", "fetch_trading_fee", "fetch_trading_fees",
             "fetch_open_interest_history", "fetch_ledger", "fetch_currencies"],
    # binancecoinm: fetch_tickers without symbols asks the USDⓈ-M endpoint (ccxt's default subtype)
    "coinm": ["after_construct", "features", "load_markets", "fetch_ticker", "fetch_order_book",
              "fetch_l2_order_book", "fetch_ohlcv", "fetch_balance", "fetch_positions", "fetch_my_trades",
              "fetch_open_orders", "fetch_leverage_tiers", "fetch_market_leverage_tiers", "fetch_last_prices",
              "fetch_status", "fetch_currencies", "fetch_funding_rate_history", "fetch_trades", "fetch_trading_fee",
              "fetch_margin_mode", "fetch_orders", "fetch_closed_orders"],
}
NOT_APPLICABLE = {
    "fetch_markets": "ccxt's test expects a dict where fetch_markets returns a list (a bug in the shipped test)",
    "create_order": "ccxt's transpiled test adds a str to a float while logging (TypeError before any request)",
    "fetch_margin_modes": "ccxt's test expects a list where binance returns a dict by symbol (ccxt's mismatch)",
    "fetch_order_books": "binance has no fetchOrderBooks",
    "fetch_accounts": "binance has no fetchAccounts",
    "fetch_borrow_interest": "margin borrowing: not an account the console uses",
    "fetch_deposit_withdrawals": "wallet transfers (sapi capital): not served",
    "fetch_deposits": "wallet transfers (sapi capital): not served",
    "fetch_withdrawals": "wallet transfers (sapi capital): not served",
    "fetch_transfers": "wallet transfers (sapi asset): not served",
    "fetch_transaction_fees": "withdrawal fees (sapi capital): not served",
    "fetch_ledger_entry": "needs a ledger entry id from a live wallet history",
    "fetch_liquidations": "public liquidation history: not served (Binance retired the endpoint)",
    "fetch_my_liquidations": "forced orders: none in the demo book",
    "proxies": "proxy settings of the test machine, not the venue",
    "sign_in": "binance has no signIn",
}


def _suite() -> set[str]:
    pkg = importlib.import_module(SUITE)
    return {m.name.removeprefix("test_") for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("test_")}


async def _run(handle: EmulatorHandle, kind: str, name: str) -> None:
    # a spot-only client: ccxt's fetchTickers test wants a ticker for every market it loaded
    ex = ccxt_client(handle, kind, timeout_on_exit=0)  # type: ignore[arg-type]
    if kind == "spot":
        ex.options["fetchMarkets"] = {"types": ["spot"]}
    try:
        await ex.load_markets()
        fn = getattr(importlib.import_module(f"{SUITE}.test_{name}"), f"test_{name}")
        args: list[Any] = [ex, dict(SKIPPED[kind])]
        wanted = inspect.signature(fn).parameters
        if "symbol" in wanted:
            args.append(SYMBOL[kind])
        if "code" in wanted:
            args.append("USDT")
        assert await fn(*args) is not False
    finally:
        await ex.close()


@pytest.mark.parametrize("kind,name", [(k, n) for k, names in APPLICABLE.items() for n in names])
async def test_ccxt_exchange_test_passes(emulator: EmulatorHandle, kind: str, name: str) -> None:
    emulator.emulator.advance(3_600)  # an hour of history since the start: trades, candles, funding
    await _run(emulator, kind, name)


def test_every_ccxt_exchange_test_is_accounted_for() -> None:
    suite = _suite()
    mentioned = set(NOT_APPLICABLE) | {n for names in APPLICABLE.values() for n in names}
    assert suite - mentioned == set(), "new ccxt exchange tests: run them or say why they do not apply"
    assert mentioned - suite == set()
