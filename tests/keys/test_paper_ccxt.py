"""Paper mode true to ccxt: each fix checked on ccxt's own exchange objects, offline.

The exchange objects are real ccxt 4.5 classes (their ``has``, URLs and switches); only the
calls that would reach the network are replaced by fakes that answer from a formula here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from console.core.capabilities import KINDS, capability_matrix
from console.core.config import Account, Mode
from console.core.errors import UserError
from console.venues.modes import (
    NO_PAPER,
    PAPER,
    api_urls,
    configure_mode,
    exchange_has,
    paper_capabilities,
    paper_matrix,
    paper_problem,
    require_paper_venue,
)
from console.venues.venue import Venue, leverage_tiers_call
from tests import factories as f

DUMMY = {"apiKey": "dummy-key-000", "secret": "ZHVtbXktc2VjcmV0LTAwMA==", "password": "dummy-pass"}

CFG = f.config("""
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.6
hedges = ["BTC/USDT:USDT"]

[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.2

[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.2

[[accounts]]
name = "fut"
exchange = "deribit"
mode = "paper"
markets = ["swap"]
""")


def acct(exchange: str, *, paper_venue: str | None = None, markets: tuple[str, ...] = ("swap",)) -> Account:
    return Account(name="acc", exchange=exchange, mode=Mode.PAPER, markets=markets,  # type: ignore[arg-type]
                   paper_venue=paper_venue)


def _hosts(ex: Any) -> set[str]:
    return {u.split("://", 1)[1].split("/", 1)[0] for u in api_urls(ex)}


def _rate(symbol: str) -> float:
    """The fake venue's funding rate of a symbol: a formula, so each symbol's answer is its own."""
    return 0.0001 * len(symbol)


def _fake_reads(ex: Any, calls: list[str]) -> None:
    """Replace the network calls a refresh makes with answers from formulas (BTC 60,000, ETH 3,000)."""
    marks = {"BTC/USDT:USDT": 60_000.0, "ETH/USDT:USDT": 3_000.0}
    ex.set_markets([f.market(s) for s in marks])

    async def load_markets(reload: bool = False, params: Any = None) -> Any:
        return ex.markets

    async def fetch_balance(params: Any = None) -> Any:
        return {"total": {"USDT": 10_000.0}, "free": {"USDT": 10_000.0}, "used": {"USDT": 0.0},
                "info": {}}

    async def fetch_positions(symbols: Any = None, params: Any = None) -> Any:
        return [f.position("BTC/USDT:USDT", -0.1, mark=marks["BTC/USDT:USDT"])]

    async def fetch_ticker(symbol: str, params: Any = None) -> Any:
        return f.ticker(symbol, marks[symbol])

    async def fetch_tickers(symbols: Any = None, params: Any = None) -> Any:
        calls.append("fetch_tickers")
        return {s: f.ticker(s, marks[s]) for s in symbols}

    async def fetch_funding_rate(symbol: str, params: Any = None) -> Any:
        calls.append(f"fetch_funding_rate {symbol}")
        return {"symbol": symbol, "fundingRate": _rate(symbol), "markPrice": marks[symbol]}

    async def fetch_funding_rates(symbols: Any = None, params: Any = None) -> Any:
        calls.append("fetch_funding_rates")
        raise ccxt.NotSupported(f"{ex.id} fetchFundingRates() is not supported yet")

    for name, fn in list(locals().items()):
        if name.startswith(("load_", "fetch_")):
            setattr(ex, name, fn)


def test_deribit_reads_funding_one_symbol_at_a_time() -> None:
    """Deribit has no fetchFundingRates in ccxt 4.5; every refresh used to call it and fail."""
    assert not ccxt_async.deribit().has.get("fetchFundingRates")
    assert ccxt_async.deribit().has.get("fetchFundingRate")
    ex = ccxt_async.deribit(dict(DUMMY))
    configure_mode(ex, CFG.account("fut"), live_allowed=False)
    calls: list[str] = []
    _fake_reads(ex, calls)
    venue = Venue(CFG, CFG.account("fut"), ex)
    state = asyncio.run(venue.refresh())
    assert state.error is None, state.error
    perps = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert sorted(calls) == [f"fetch_funding_rate {s}" for s in perps]  # and no fetch_tickers
    assert {s: t["last"] for s, t in state.tickers.items()} == {"BTC/USDT:USDT": 60_000.0, "ETH/USDT:USDT": 3_000.0}
    assert {s: r["fundingRate"] for s, r in state.funding_rates.items()} == {s: _rate(s) for s in perps}
    assert "funding_rates" in state.fetched_at


def test_deribit_tickers_of_two_bases_do_not_fit_one_call() -> None:
    """Why Deribit's tickers are read one by one: ccxt's fetchTickers asks for one currency's
    book summary and refuses a list with BTC and ETH contracts; one base at a time works."""
    ex = ccxt.deribit()
    btc, eth = f.market("BTC/USD:BTC"), f.market("ETH/USD:ETH")
    btc["id"], eth["id"] = "BTC-PERPETUAL", "ETH-PERPETUAL"
    ex.set_markets([btc, eth])
    asked: list[str] = []

    def book_summary(request: Any) -> Any:
        asked.append(request["currency"])
        return {"result": [{"instrument_name": f"{request['currency']}-PERPETUAL", "last": 1.0,
                            "creation_timestamp": f.T0}]}

    ex.publicGetGetBookSummaryByCurrency = book_summary
    with pytest.raises(ccxt.BadRequest):
        ex.fetch_tickers(["BTC/USD:BTC", "ETH/USD:ETH"])
    assert asked == []
    assert set(ex.fetch_tickers(["ETH/USD:ETH"])) == {"ETH/USD:ETH"} and asked == ["ETH"]


def test_exchange_without_any_funding_call_shows_none_instead_of_failing() -> None:
    ex = ccxt_async.apex(dict(DUMMY))
    assert not ex.has.get("fetchFundingRates") and not ex.has.get("fetchFundingRate")
    calls: list[str] = []
    _fake_reads(ex, calls)
    account = CFG.account("fut").model_copy(update={"exchange": "apex", "mode": Mode.LIVE})
    state = asyncio.run(Venue(CFG, account, ex).refresh())
    assert state.error is None and state.funding_rates == {}
    assert not [c for c in calls if "funding" in c]


@pytest.mark.parametrize("exchange_id", ["okx", "bitget"])
def test_okx_and_bitget_tiers_come_per_symbol(exchange_id: str) -> None:
    """OKX and Bitget offer only fetchMarketLeverageTiers; the console used to fall back to
    Binance's BTCUSDT table for them."""
    ex = getattr(ccxt_async, exchange_id)(dict(DUMMY))
    assert not ex.has.get("fetchLeverageTiers") and ex.has.get("fetchMarketLeverageTiers") is True
    asked: list[str] = []

    async def fetch_market_leverage_tiers(symbol: str, params: Any = None) -> Any:
        asked.append(symbol)
        return [{"tier": 1, "symbol": symbol, "minNotional": 0.0, "maxNotional": 10_000.0 * len(symbol),
                 "maintenanceMarginRate": 0.004, "maxLeverage": 100.0, "info": {}}]

    ex.fetch_market_leverage_tiers = fetch_market_leverage_tiers
    fetch = leverage_tiers_call(ex)
    assert fetch is not None
    symbols = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    got = asyncio.run(fetch(symbols))
    assert asked == symbols
    assert {s: t[0]["maxNotional"] for s, t in got.items()} == {s: 10_000.0 * len(s) for s in symbols}


def test_tiers_call_choice_follows_ccxt() -> None:
    assert leverage_tiers_call(ccxt_async.binanceusdm()) is not None  # the batch call
    assert leverage_tiers_call(ccxt_async.deribit()) is None  # neither: the preview labels its fallback
    assert leverage_tiers_call(ccxt_async.hyperliquid()) is None


@pytest.mark.parametrize("exchange_id", ["kucoinfutures", "htx", "mexc"])
def test_exchanges_without_a_test_venue_are_refused_with_the_reason(exchange_id: str) -> None:
    with pytest.raises(TypeError):  # what ccxt itself does: no urls['test'] to switch to
        getattr(ccxt, exchange_id)().set_sandbox_mode(True)
    with pytest.raises(UserError) as e:
        require_paper_venue(acct(exchange_id))
    msg = str(e.value)
    assert exchange_id in msg and NO_PAPER[exchange_id] in msg and 'mode = "demo"' in msg
    ex = getattr(ccxt, exchange_id)(dict(DUMMY))
    with pytest.raises(UserError):
        configure_mode(ex, acct(exchange_id), live_allowed=False)


def test_a_ccxt_refusal_during_the_switch_is_a_clear_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    ex = ccxt.deribit(dict(DUMMY))

    def refuse(enable: bool) -> None:
        raise TypeError("'NoneType' object is not iterable")

    monkeypatch.setattr(ex, "set_sandbox_mode", refuse)
    with pytest.raises(UserError) as e:
        configure_mode(ex, acct("deribit"), live_allowed=False)
    assert "could not switch deribit" in str(e.value) and "not connecting" in str(e.value)


@pytest.mark.parametrize("exchange_id", ["gate", "phemex", "bingx", "woo"])
def test_added_exchanges_leave_every_live_host(exchange_id: str) -> None:
    ex = getattr(ccxt, exchange_id)(dict(DUMMY))
    live = _hosts(ex)
    configure_mode(ex, acct(exchange_id), live_allowed=False)
    assert paper_problem(ex) is None
    assert not (_hosts(ex) & live)


def test_bybit_testnet_is_a_second_paper_venue() -> None:
    ex = ccxt.bybit(dict(DUMMY))
    configure_mode(ex, acct("bybit", paper_venue="testnet"), live_allowed=False)
    assert _hosts(ex) == {"api-testnet.{hostname}"} and ex.isSandboxModeEnabled
    assert paper_problem(ex) is None
    default = ccxt.bybit(dict(DUMMY))
    configure_mode(default, acct("bybit"), live_allowed=False)
    assert _hosts(default) == {"api-demo.{hostname}"}
    with pytest.raises(UserError) as e:
        require_paper_venue(acct("bybit", paper_venue="mainnet"))
    assert "paper_venue = 'mainnet'" in str(e.value) and "testnet" in str(e.value)


def test_binance_demo_serves_no_sapi() -> None:
    """Binance Demo Trading keeps api, fapi and dapi only; a sapi call (spot trading fees)
    raises NotSupported in ccxt, so the matrix says fees work for contracts only."""
    ex = ccxt.binance(dict(DUMMY))
    configure_mode(ex, acct("binance", markets=("spot", "swap")), live_allowed=False)
    assert not any("sapi" in k for k in ex.urls["api"])
    with pytest.raises(ccxt.NotSupported):
        ex.sign("asset/tradeFee", "sapi", "GET", {})
    fees = {c.name: c for c in paper_matrix(acct("binance", markets=("spot", "swap")))}["trading fees"]
    assert fees.ok is None and "sapi" in fees.detail


def test_binance_pro_moves_futures_streams_off_the_demo_hosts() -> None:
    """Why paper polls REST on Binance: ccxt.pro's demo streams for futures are not demo hosts."""
    import ccxt.pro as pro

    ex = pro.binance(dict(DUMMY))
    ex.enable_demo_trading(True)
    ws = ex.urls["api"]["ws"]
    assert "binancefuture.com" in ws["linear"] and "demo-" not in ws["linear"]
    row = {c.name: c for c in paper_matrix(acct("binance"))}["websockets"]
    assert row.ok is False and "binancefuture.com" in row.detail


def test_bitget_loads_the_simulated_futures() -> None:
    """ccxt asks Bitget for the S*-FUTURES product types with the others; the matrix says the
    paper contracts are those simulated ones."""
    ex = ccxt.bitget()
    ex.options["fetchMarkets"] = {"types": ["swap"]}
    ex.fetch = lambda *a, **k: pytest.fail("no network in this test")  # type: ignore[method-assign]
    asked: list[str] = []
    ex.publicMixGetV2MixMarketContracts = lambda params: asked.append(params["productType"]) or {"data": []}
    ex.fetch_markets({})
    assert {"SUSDT-FUTURES", "SCOIN-FUTURES", "SUSDC-FUTURES"} <= set(asked)
    caps = {c.name: c for c in paper_matrix(acct("bitget"))}
    assert caps["linear perp"].ok is None and "SUSDT-FUTURES" in caps["linear perp"].detail


# ----------------------------------------------------------------------- the matrix


def test_matrix_rows_are_the_calls_then_the_kinds() -> None:
    caps = paper_matrix(acct("okx"))
    assert [c.name for c in caps] == ["balance", "positions", "tickers", "funding rates", "leverage tiers",
                                      "trading fees", "order create", "order cancel", "websockets", *KINDS]


@pytest.mark.parametrize(("exchange_id", "row", "ok", "words"), [
    ("deribit", "funding rates", None, "fetchFundingRate"),
    ("deribit", "tickers", None, "one symbol at a time"),
    ("deribit", "leverage tiers", False, "fallback"),
    ("okx", "leverage tiers", None, "fetchMarketLeverageTiers"),
    ("bitget", "leverage tiers", None, "fetchMarketLeverageTiers"),
    ("krakenfutures", "trading fees", False, "no fee schedule"),
    ("krakenfutures", "spot", False, "not listed"),
    ("hyperliquid", "dated", False, "not listed"),
    ("hyperliquid", "inverse", False, "not listed"),
    ("binanceusdm", "funding rates", True, "fetchFundingRates"),
    ("binancecoinm", "linear perp", False, "not listed"),
    ("bybit", "websockets", False, "polls REST"),
])
def test_matrix_says_what_each_paper_venue_lacks(exchange_id: str, row: str, ok: bool | None, words: str) -> None:
    caps = {c.name: c for c in paper_matrix(acct(exchange_id))}
    assert caps[row].ok is ok and words in caps[row].detail, caps[row]


def test_matrix_from_has_flags() -> None:
    """The pure reading: both calls → yes; only the per-symbol one → partly; none → no."""
    has = {"fetchBalance": True, "fetchFundingRate": True, "fetchLeverageTiers": "emulated", "spot": True}
    caps = {c.name: c for c in capability_matrix(has, {"spot", "linear perp"})}
    assert caps["balance"].ok is True
    assert caps["funding rates"].ok is None
    assert caps["leverage tiers"].ok is True  # ccxt emulates it: still one call for the console
    assert caps["positions"].ok is False and caps["trading fees"].ok is False
    assert caps["spot"].ok is True
    assert caps["linear perp"].ok is False and "ccxt does not trade" in caps["linear perp"].detail
    assert caps["dated"].ok is False and "not listed" in caps["dated"].detail


def test_every_paper_venue_has_a_matrix_and_demo_or_live_none() -> None:
    for exchange_id, route in PAPER.items():
        caps = paper_capabilities(route, exchange_has(exchange_id))
        assert caps and all(c.ok in (True, False, None) and c.detail for c in caps)
    demo = acct("binance").model_copy(update={"mode": Mode.DEMO})
    assert paper_matrix(demo) == ()
    assert paper_matrix(acct("kucoinfutures")) == ()  # refused on its checklist instead


def test_preflight_shows_the_matrix_even_before_keys_are_set() -> None:
    """A trader sees what the paper venue will not do before the first ticket, keys or not."""
    from rich.console import Console

    from console.cli.preflight import checks_dict
    from console.venues.preflight import run_preflight
    from widgets.capability_table import capability_table

    results = asyncio.run(run_preflight(CFG, {"fut": None}, setup_errors={"fut": "no keys stored for 'fut'"},
                                        now_ms=f.T0))
    (ac,) = results
    assert not ac.passed  # no keys: the checklist fails, the matrix still shows
    caps = {c.name: c for c in ac.capabilities}
    assert caps["funding rates"].ok is None and caps["leverage tiers"].ok is False
    row = checks_dict(results)[0]["paper_capabilities"]
    assert {"name": "funding rates", "ok": None, "detail": caps["funding rates"].detail} in row  # type: ignore[operator]
    con = Console(width=120, record=True, color_system=None)
    con.print(capability_table(ac.capabilities))
    lines = [[w for w in line.split() if w != "│"] for line in con.export_text().splitlines()]
    assert any(line[:3] == ["funding", "rates", "partly"] for line in lines), lines
    assert any(line[:3] == ["leverage", "tiers", "no"] for line in lines), lines
    assert any(line[:2] == ["inverse", "yes"] for line in lines), lines


def test_the_preflight_screen_shows_the_matrix_under_the_checklist() -> None:
    from rich.console import Console

    from console.app.screens.preflight import checklist
    from console.venues.preflight import run_preflight

    results = asyncio.run(run_preflight(CFG, {"fut": None}, setup_errors={"fut": "no keys stored for 'fut'"},
                                        now_ms=f.T0))
    con = Console(width=100, record=True, color_system=None)
    con.print(checklist(results))
    text = con.export_text()
    assert text.index("no keys stored") < text.index("paper venue supports") < text.index("order cancel")


# ----------------------------------------------------------- Bitget's simulated contracts


def test_simulated_symbols_map_to_the_real_asset() -> None:
    from console.core.config import symbol_base
    from console.core.simulated import is_simulated, real_code, real_symbol, simulated_symbol

    assert real_symbol("SBTC/SUSDT:SUSDT") == "BTC/USDT:USDT"
    assert real_symbol("SETH/SUSD:SETH") == "ETH/USD:ETH"  # SCOIN-FUTURES (inverse)
    assert simulated_symbol("BTC/USDT:USDT") == "SBTC/SUSDT:SUSDT"
    assert simulated_symbol("BTC/USDT") is None  # spot demo keeps the real symbols
    # a real coin that starts with S is not a stand-in
    assert not is_simulated("SOL/USDT:USDT") and real_symbol("SOL/USDT:USDT") == "SOL/USDT:USDT"
    assert real_symbol("SSOL/SUSDT:SUSDT") == "SOL/USDT:USDT"
    assert real_code("SUSDT") == "USDT" and real_code("SOL") == "SOL" and real_code("USDT") == "USDT"
    assert symbol_base("SBTC/SUSDT:SUSDT") == "BTC" and symbol_base("SOL/USDT:USDT") == "SOL"


BITGET_TOML = """
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.8
hedges = [{ symbol = "SBTC/SUSDT:SUSDT", account = "bg" }]

[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.2

[[accounts]]
name = "bg"
exchange = "bitget"
mode = "paper"
markets = ["swap"]
"""
BITGET_CFG = f.config(BITGET_TOML)


def _bitget_paper() -> Any:
    ex = ccxt_async.bitget(dict(DUMMY))
    configure_mode(ex, BITGET_CFG.account("bg"), live_allowed=False)
    marks = {"SBTC/SUSDT:SUSDT": 60_000.0, "BTC/USDT:USDT": 60_010.0}
    ex.set_markets([f.market(s) for s in marks])

    async def load_markets(reload: bool = False, params: Any = None) -> Any:
        return ex.markets

    async def fetch_balance(params: Any = None) -> Any:  # Bitget demo margin is SUSDT
        return {"SUSDT": {"free": 9_000.0, "used": 1_000.0, "total": 10_000.0},
                "free": {"SUSDT": 9_000.0}, "used": {"SUSDT": 1_000.0}, "total": {"SUSDT": 10_000.0}, "info": []}

    async def fetch_positions(symbols: Any = None, params: Any = None) -> Any:
        return [f.position("SBTC/SUSDT:SUSDT", -0.1, mark=marks["SBTC/SUSDT:SUSDT"])]

    async def fetch_tickers(symbols: Any = None, params: Any = None) -> Any:
        return {s: f.ticker(s, marks[s]) for s in symbols}

    async def fetch_funding_rates(symbols: Any = None, params: Any = None) -> Any:
        return {s: {"symbol": s, "fundingRate": 0.0001} for s in symbols}

    for name, fn in list(locals().items()):
        if name.startswith(("load_", "fetch_")):
            setattr(ex, name, fn)
    return ex


def test_bitget_paper_book_is_read_in_real_coins() -> None:
    """The simulated contract's position hedges BTC and its SUSDT margin counts as USDT; the
    symbol stays the simulated one, so orders go to the contract the demo account trades."""
    from console.core.allocation import compute_allocation
    from console.core.snapshot import Snapshot

    account = BITGET_CFG.account("bg")
    venue = Venue(BITGET_CFG, account, _bitget_paper())
    state = asyncio.run(venue.refresh())
    assert state.error is None, state.error
    assert state.balance["total"] == {"USDT": 10_000.0}
    m = state.markets["SBTC/SUSDT:SUSDT"]
    assert (m["symbol"], m["base"], m["quote"], m["settle"]) == ("SBTC/SUSDT:SUSDT", "BTC", "USDT", "USDT")
    assert "SBTC/SUSDT:SUSDT" in state.tickers
    alloc = compute_allocation(BITGET_CFG, Snapshot(timestamp=f.T0, accounts={"bg": state}))
    assert alloc.missing_prices == ()  # no SBTC or SUSDT left unpriced
    assert "SUSDT" not in alloc.prices and "SBTC" not in alloc.prices


def test_preflight_points_a_live_bitget_hedge_to_its_simulated_twin() -> None:
    from console.venues.preflight import HEDGES, AccountFacts, check_hedges

    cfg = f.config(BITGET_TOML.replace('"SBTC/SUSDT:SUSDT"', '"BTC/USDT:USDT"'))
    listed = {"BTC/USDT:USDT": f.market("BTC/USDT:USDT"), "SBTC/SUSDT:SUSDT": f.market("SBTC/SUSDT:SUSDT")}
    facts = AccountFacts(cfg.account("bg"), None, markets=listed, listed=frozenset(listed))
    r = check_hedges(facts, cfg, f.T0)
    assert r.name == HEDGES and r.ok is False
    assert "BTC/USDT:USDT is a live contract" in r.detail and "SBTC/SUSDT:SUSDT (listed)" in r.detail
    # the simulated twin named in the sleeve passes
    ok = check_hedges(AccountFacts(BITGET_CFG.account("bg"), None, markets=listed, listed=frozenset(listed)),
                      BITGET_CFG, f.T0)
    assert ok.ok is True, ok.detail


def test_check_config_refuses_a_paper_account_without_a_paper_venue(tmp_path: Any, capsys: Any) -> None:
    from console.cli.main import main

    cfg = tmp_path / "p.toml"
    cfg.write_text(BITGET_TOML.replace('exchange = "bitget"', 'exchange = "kucoinfutures"'))
    assert main(["check-config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "accounts[bg].mode" in err and "kucoinfutures cannot trade on paper" in err
    cfg.write_text(BITGET_TOML.replace('mode = "paper"', 'mode = "paper"\npaper_venue = "testnet"'))
    assert main(["check-config", str(cfg)]) == 2
    assert "paper_venue = 'testnet' is not a paper venue of bitget" in capsys.readouterr().err
    cfg.write_text(BITGET_TOML)
    assert main(["check-config", str(cfg)]) == 0
