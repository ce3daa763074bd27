"""Preflight: fetching through a fake ccxt exchange, and the pure judging of what it said."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from console.core.config import Account, Mode
from console.core.redact import register_secret
from console.venues.modes import configure_mode
from console.venues.preflight import (
    AUTH,
    HEDGES,
    LEVERAGE,
    LIVE_GATE,
    MARGIN_MODE,
    MIN_NOTIONAL,
    POSITION_MODE,
    TRADE,
    VENUE,
    AccountFacts,
    PlannedLeg,
    fetch_facts,
    judge_account,
    min_order_notional,
    planned_legs,
)
from tests import factories as f

T0 = f.T0
CFG = f.config("""
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.5
hedges = ["BTC/USDT:USDT", "BTC/USDT:USDT-261225"]
[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.3
hedges = [{ symbol = "ETH/USDT:USDT", account = "fut" }]
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.2
[[accounts]]
name = "spot"
exchange = "binance"
mode = "paper"
[[accounts]]
name = "fut"
exchange = "binanceusdm"
mode = "paper"
markets = ["swap", "future"]
""")
FUT = CFG.account("fut")
SPOT = CFG.account("spot")
MARKETS = {m["symbol"]: m for m in (
    f.market("BTC/USDT:USDT", min_cost=100.0),
    f.market("BTC/USDT:USDT-261225", expiry=T0 + 30 * 86_400_000),
    f.market("ETH/USDT:USDT", min_cost=20.0),
)}


def good_facts(**over: Any) -> AccountFacts:
    base: dict[str, Any] = dict(
        account=FUT, venue_problem=None, venue_hosts=("demo-fapi.binance.com",),
        balance={"total": {"USDT": 10_000.0, "BNB": 0.0}, "info": {"canTrade": True}},
        markets=MARKETS, listed=frozenset(MARKETS) | {"SOL/USDT:USDT"},
        position_mode="one-way",
        leverages={s: {"symbol": s, "marginMode": "cross", "longLeverage": 3, "shortLeverage": 3} for s in MARKETS},
        positions=(f.position("BTC/USDT:USDT", -0.1, mark=60_000.0, leverage=3),),
    )
    base.update(over)
    return AccountFacts(**base)


def by_name(checks: Any) -> dict[str, Any]:
    return {r.name: r for r in checks.results}


def test_all_good() -> None:
    legs = [PlannedLeg("BTC/USDT:USDT", 8_000.0)]
    ac = judge_account(CFG, good_facts(), now_ms=T0, legs=legs, marks={"BTC/USDT:USDT": 60_000.0})
    r = by_name(ac)
    assert list(r) == [VENUE, AUTH, TRADE, POSITION_MODE, MARGIN_MODE, LEVERAGE, HEDGES, MIN_NOTIONAL]
    assert all(x.ok is True for x in ac.results), ac.results
    assert ac.passed and ac.badge[0] == "PAPER"
    assert "Binance Demo Trading" in r[VENUE].detail
    assert "sees 1 asset (USDT), 1 open position" in r[AUTH].detail
    assert "8,000.00" in r[MIN_NOTIONAL].detail


def test_spot_account_has_no_contract_checks() -> None:
    facts = good_facts(account=SPOT, position_mode=None, leverages={}, positions=())
    assert list(by_name(judge_account(CFG, facts, now_ms=T0))) == [VENUE, AUTH, TRADE]


def test_venue_problem_stops_everything() -> None:
    ac = judge_account(CFG, AccountFacts(FUT, "API URL https://fapi.binance.com/fapi/v1 is not Binance"), now_ms=T0)
    assert [r.name for r in ac.results] == [VENUE]
    assert ac.results[0].ok is False and "never reach the live venue" in ac.results[0].detail
    ac = judge_account(CFG, AccountFacts(FUT, None, setup_error="no API keys for account 'fut'"), now_ms=T0)
    assert not ac.passed and "no API keys" in ac.results[0].detail


def test_auth_failure_names_the_fix() -> None:
    ac = judge_account(CFG, good_facts(balance=None, auth_error="AuthenticationError: invalid key"), now_ms=T0)
    r = by_name(ac)
    assert r[AUTH].ok is False and "rebal-tui keys set fut" in r[AUTH].detail
    assert list(r) == [VENUE, AUTH]


def test_cannot_trade() -> None:
    r = by_name(judge_account(CFG, good_facts(balance={"total": {}, "info": {"canTrade": False}}), now_ms=T0))
    assert r[TRADE].ok is False
    r = by_name(judge_account(CFG, good_facts(balance={"total": {}, "info": {}}), now_ms=T0))
    assert r[TRADE].ok is None


def test_hedge_position_mode_fails_unknown_is_a_question() -> None:
    assert by_name(judge_account(CFG, good_facts(position_mode="hedge"), now_ms=T0))[POSITION_MODE].ok is False
    r = by_name(judge_account(CFG, good_facts(position_mode=None, position_mode_error="x"), now_ms=T0))
    assert r[POSITION_MODE].ok is None


def test_leverage_above_limit_fails() -> None:
    levs = dict(good_facts().leverages)
    levs["ETH/USDT:USDT"] = {"marginMode": "cross", "longLeverage": 20, "shortLeverage": 20}
    r = by_name(judge_account(CFG, good_facts(leverages=levs), now_ms=T0))
    assert r[LEVERAGE].ok is False and "ETH/USDT:USDT at 20x" in r[LEVERAGE].detail and "5x" in r[LEVERAGE].detail
    # unknown setting: falls back to the open position's leverage, else unknown
    r = by_name(judge_account(CFG, good_facts(leverages={}), now_ms=T0))
    assert r[LEVERAGE].ok is True and "unknown for" in r[LEVERAGE].detail
    r = by_name(judge_account(CFG, good_facts(leverages={}, positions=()), now_ms=T0))
    assert r[LEVERAGE].ok is None and r[MARGIN_MODE].ok is None


def test_isolated_margin_is_flagged() -> None:
    levs = {s: {**v, "marginMode": "isolated"} for s, v in good_facts().leverages.items()}
    r = by_name(judge_account(CFG, good_facts(leverages=levs), now_ms=T0))
    assert r[MARGIN_MODE].ok is None and "isolated" in r[MARGIN_MODE].detail


def test_hedges_missing_inactive_expired() -> None:
    listed = frozenset({"BTC/USDT:USDT", "BTC/USDT:USDT-261225"})  # ETH perp, named for fut, missing
    r = by_name(judge_account(CFG, good_facts(listed=listed), now_ms=T0))
    assert r[HEDGES].ok is False and "ETH/USDT:USDT is not listed on binanceusdm" in r[HEDGES].detail
    markets = {**MARKETS, "BTC/USDT:USDT": {**MARKETS["BTC/USDT:USDT"], "active": False}}
    r = by_name(judge_account(CFG, good_facts(markets=markets), now_ms=T0))
    assert r[HEDGES].ok is False and "not active" in r[HEDGES].detail
    r = by_name(judge_account(CFG, good_facts(), now_ms=T0 + 31 * 86_400_000))
    assert r[HEDGES].ok is False and "expired" in r[HEDGES].detail
    # an unassigned hedge listed nowhere fails; listed on another account it is fine
    listed = frozenset({"ETH/USDT:USDT", "BTC/USDT:USDT"})
    r = by_name(judge_account(CFG, good_facts(listed=listed), now_ms=T0))
    assert "BTC/USDT:USDT-261225 is listed on no account" in r[HEDGES].detail
    r = by_name(judge_account(CFG, good_facts(listed=listed), now_ms=T0,
                              listed_elsewhere=frozenset({"BTC/USDT:USDT-261225"})))
    assert r[HEDGES].ok is True


def test_min_notional() -> None:
    marks = {"BTC/USDT:USDT": 60_000.0, "ETH/USDT:USDT": 3_000.0}
    small = [PlannedLeg("ETH/USDT:USDT", 15.0, "notional 15.00 is under ETH/USDT:USDT's minimum order cost 20.00")]
    r = by_name(judge_account(CFG, good_facts(), now_ms=T0, legs=small, marks=marks))
    assert r[MIN_NOTIONAL].ok is False and "minimum order cost 20.00" in r[MIN_NOTIONAL].detail
    r = by_name(judge_account(CFG, good_facts(), now_ms=T0, legs=[PlannedLeg("BTC/USDT:USDT", 50.0)], marks=marks))
    assert r[MIN_NOTIONAL].ok is False and "< minimum 100.00" in r[MIN_NOTIONAL].detail
    r = by_name(judge_account(CFG, good_facts(), now_ms=T0, legs=[], marks=marks))
    assert r[MIN_NOTIONAL].ok is True and "no leg planned" in r[MIN_NOTIONAL].detail
    r = by_name(judge_account(CFG, good_facts(), now_ms=T0, legs=None, marks=marks))
    assert r[MIN_NOTIONAL].ok is None and "BTC/USDT:USDT 100.00" in r[MIN_NOTIONAL].detail  # above min trade 50


def test_min_order_notional_from_amount() -> None:
    m = f.market("BTC/USDT:USDT", min_amount=0.001)
    assert min_order_notional(m, 60_000.0) == pytest.approx(60.0)
    inv = f.market("BTC/USD:BTC", min_amount=1)
    assert min_order_notional(inv, 60_000.0) == pytest.approx(100.0)  # 1 contract of 100 USD


def test_live_gate_row() -> None:
    live_no = Account(name="fut", exchange="binanceusdm", mode=Mode.LIVE, markets=("swap",), live=False)
    r = by_name(judge_account(CFG, good_facts(account=live_no), now_ms=T0))
    assert r[LIVE_GATE].ok is False and "live = true" in r[LIVE_GATE].detail
    r = by_name(judge_account(CFG, good_facts(account=live_no.model_copy(update={"live": True})), now_ms=T0))
    assert r[LIVE_GATE].ok is True and "--live" in r[LIVE_GATE].detail and r[VENUE].detail.startswith("LIVE")


def test_planned_legs_from_snapshot() -> None:
    # BTC 70 % vs 50 % ± 5 and no ETH at all vs 30 %: a BTC short and an ETH long on fut
    fut = f.account("fut", "binanceusdm", markets=list(MARKETS.values()), balance={"USDT": 30_000.0},
                    tickers=[f.ticker("BTC/USDT:USDT", 70_000.0), f.ticker("ETH/USDT:USDT", 3_000.0)])
    spot = f.account("spot", "binance", markets=[f.market("BTC/USDT")], balance={"BTC": 1.0},
                     tickers=[f.ticker("BTC/USDT", 70_000.0)])
    legs = planned_legs(CFG, f.snapshot(fut, spot))
    assert legs is not None and [leg.symbol for leg in legs["fut"]] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert legs["fut"][0].skipped_reason is None and legs["fut"][0].notional == pytest.approx(19_950.0)
    assert legs["spot"] == []


# ---------------------------------------------------------------- fetching


class FakeExchange:
    """Just enough of a ccxt async exchange; records calls."""

    def __init__(self, exchange_id: str = "binanceusdm", *, auth_error: Exception | None = None) -> None:
        import ccxt

        real = getattr(ccxt, exchange_id)()
        self.id = exchange_id
        self.urls = real.urls
        self.headers = dict(real.headers or {})
        self.options = dict(real.options)
        self.isSandboxModeEnabled = False
        self.has = {"fetchPositionMode": True, "fetchLeverages": True}
        self.markets: dict[str, Any] | None = None
        self.calls: list[str] = []
        self.auth_error = auth_error

    def enable_demo_trading(self, enable: bool) -> None:
        self.urls = {**self.urls, "api": self.urls["demo"]}
        self.options["enableDemoTrading"] = enable

    async def load_markets(self, reload: bool = False) -> dict[str, Any]:
        self.calls.append("load_markets")
        self.markets = dict(MARKETS)
        return self.markets

    async def fetch_balance(self) -> dict[str, Any]:
        self.calls.append("fetch_balance")
        if self.auth_error:
            raise self.auth_error
        return {"total": {"USDT": 1000.0}, "info": {"canTrade": True}}

    async def fetch_position_mode(self) -> dict[str, Any]:
        self.calls.append("fetch_position_mode")
        return {"info": {"dualSidePosition": False}, "hedged": False}

    async def fetch_positions(self) -> list[dict[str, Any]]:
        self.calls.append("fetch_positions")
        return []

    async def fetch_leverages(self, symbols: list[str]) -> dict[str, Any]:
        self.calls.append("fetch_leverages")
        return {s: {"symbol": s, "marginMode": "cross", "longLeverage": 2, "shortLeverage": 2} for s in symbols}


def test_fetch_never_calls_an_unswitched_paper_exchange() -> None:
    ex = FakeExchange()  # paper account, but the switch was never made: production URLs
    facts = asyncio.run(fetch_facts(ex, FUT, CFG))
    assert ex.calls == []
    assert facts.venue_problem and "fapi.binance.com" in facts.venue_problem
    assert not judge_account(CFG, facts, now_ms=T0).passed


def test_fetch_and_judge_end_to_end_offline() -> None:
    ex = FakeExchange()
    configure_mode(ex, FUT, live_allowed=False)
    facts = asyncio.run(fetch_facts(ex, FUT, CFG))
    assert ex.calls == ["load_markets", "fetch_balance", "fetch_position_mode", "fetch_positions", "fetch_leverages"]
    assert facts.position_mode == "one-way" and set(facts.leverages) == set(MARKETS)
    ac = judge_account(CFG, facts, now_ms=T0, legs=[])
    assert ac.passed, ac.results


def test_fetch_auth_error_is_redacted() -> None:
    import ccxt

    canary = "CANARYKEY-preflight-0001"
    register_secret(canary)
    ex = FakeExchange(auth_error=ccxt.AuthenticationError(f'binanceusdm {{"msg":"bad key {canary}"}}'))
    configure_mode(ex, FUT, live_allowed=False)
    facts = asyncio.run(fetch_facts(ex, FUT, CFG))
    assert facts.auth_error and canary not in facts.auth_error and "***" in facts.auth_error
    assert "fetch_positions" not in ex.calls  # nothing more after a failed authenticated read


# ---------------------------------------------------------------- against the emulator (127.0.0.1)


def test_preflight_on_the_demo_emulator() -> None:
    from console.emulator import start_emulator
    from console.venues.demo import demo_config, demo_credentials
    from console.venues.preflight import run_preflight

    demo = demo_config()
    # the demo scenario's leverage settings are the emulator's business; judge them against
    # the venue's maximum here so that this test checks the plumbing, not the scenario
    cfg = demo.model_copy(update={"limits": demo.limits.model_copy(update={"max_leverage": 125})})
    with start_emulator(seed=7) as h:
        creds = demo_credentials(cfg)  # each venue's own demo pair (Binance's, Bybit's)
        results = asyncio.run(run_preflight(cfg, creds, emulator_url=h.url))
        bad = {"futures": {"apiKey": "wrong-key-000000", "secret": "wrong-secret-000000"}}
        failing = asyncio.run(run_preflight(cfg, bad, accounts=["futures"], emulator_url=h.url))
    by_acct = {ac.account: by_name(ac) for ac in results}
    assert [ac.account for ac in results] == ["spot", "futures", "bybit", "coinm"]
    assert all(ac.passed for ac in results), results
    spot, fut, coinm = by_acct["spot"], by_acct["futures"], by_acct["coinm"]
    assert "open position" in coinm[AUTH].detail  # the inverse one, read through binancecoinm
    assert list(spot) == [VENUE, AUTH, TRADE] and "127.0.0.1" in spot[VENUE].detail
    assert spot[TRADE].ok is True
    assert fut[HEDGES].ok is True and "BTC/USDT:USDT" in fut[HEDGES].detail
    assert fut[MIN_NOTIONAL].ok is True and "planned leg" in fut[MIN_NOTIONAL].detail
    assert "open position" in fut[AUTH].detail
    (ac,) = failing
    r = by_name(ac)
    assert not ac.passed and r[AUTH].ok is False and "AuthenticationError" in r[AUTH].detail


# ---------------------------------------------------------------- a call that fails: plain words, not ccxt's text


NOT_FOUND = ("binanceusdm GET http://127.0.0.1:40000/fapi/v1/symbolConfig?timestamp=1795275477578&recvWindow=10000"
             "&signature=ab56458d79c8124c6f36f902a59e79c0 404 Not Found <html><body><h1>404 Not Found</h1></body></html>")


def _no_raw_text(detail: str) -> None:
    for raw in ("ExchangeNotAvailable", "http", "signature", "<html", "binanceusdm GET"):
        assert raw not in detail, detail


def test_failed_settings_call_says_which_check_and_why() -> None:
    import ccxt

    class NoSymbolConfig(FakeExchange):
        async def fetch_leverages(self, symbols: list[str]) -> dict[str, Any]:
            self.calls.append("fetch_leverages")
            raise ccxt.ExchangeNotAvailable(NOT_FOUND)

    ex = NoSymbolConfig()
    configure_mode(ex, FUT, live_allowed=False)
    facts = asyncio.run(fetch_facts(ex, FUT, CFG))
    assert facts.leverage_error == "the venue did not answer (404 on symbolConfig)"
    r = by_name(judge_account(CFG, facts, now_ms=T0, legs=[]))  # no position: nothing else to go on
    assert r[MARGIN_MODE].ok is None and r[LEVERAGE].ok is None
    assert r[MARGIN_MODE].detail == ("could not check the margin mode: the venue did not answer "
                                     "(404 on symbolConfig); check it on the venue's site")
    assert r[LEVERAGE].detail.startswith("could not check the leverage: the venue did not answer (404 on symbolConfig)")
    # with an open position the leverage is known for that symbol; the others say why they are not
    facts = replace(facts, positions=(f.position("BTC/USDT:USDT", -0.1, mark=60_000.0, leverage=3),))
    r = by_name(judge_account(CFG, facts, now_ms=T0, legs=[]))
    assert r[LEVERAGE].ok is True and "(unknown for BTC/USDT:USDT-261225, ETH/USDT:USDT: the venue did not " \
                                      "answer (404 on symbolConfig))" in r[LEVERAGE].detail
    for row in r.values():
        _no_raw_text(row.detail)


@pytest.mark.parametrize(("exc", "reason"), [
    ("AuthenticationError", "the venue rejected the API key (AuthenticationError): Invalid API-key, IP, or "
                            "permissions for action. (code -2015)"),
    ("ExchangeNotAvailable", "the venue is unavailable (503 on account)"),
    ("DDoSProtection", "the venue is limiting requests from this IP (429 on account); wait a minute and retry"),
    ("RequestTimeout", "the venue did not answer in time (timeout)"),
    ("KeyError", "an unexpected error in the console (KeyError); run again with --debug for details"),
])
def test_venue_errors_in_plain_words(exc: str, reason: str) -> None:
    import ccxt

    from console.venues.preflight import _err

    text = {
        "AuthenticationError": 'binanceusdm {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}',
        "ExchangeNotAvailable": "binanceusdm GET https://x/fapi/v2/account?signature=1 503 Service Unavailable <html>",
        "DDoSProtection": 'binanceusdm GET https://x/fapi/v2/account?signature=1 429 Too Many Requests {"code":-1003}',
        "RequestTimeout": "binanceusdm GET https://x/fapi/v2/account?signature=1 request timed out (10000 ms)",
        "KeyError": "positions",
    }[exc]
    error = getattr(ccxt, exc, None) or KeyError
    assert _err(error(text)) == reason


def test_preflight_on_an_emulator_without_symbol_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The QA report: a venue that does not serve /fapi/v1/symbolConfig (as the emulator once
    did) gives a plain reason on the checklist, not ccxt's ExchangeNotAvailable text."""
    from console.emulator import server, start_emulator
    from console.venues.demo import demo_config
    from console.venues.preflight import run_preflight

    monkeypatch.delitem(server.ROUTES, ("GET", "/fapi/v1/symbolConfig"))
    cfg = demo_config()
    with start_emulator(seed=7) as h:
        creds = {a.name: {"apiKey": h.api_key, "secret": h.secret} for a in cfg.accounts}
        (fut,) = asyncio.run(run_preflight(cfg, creds, accounts=["futures"], emulator_url=h.url))
    r = by_name(fut)
    assert "the venue did not answer (404 on symbolConfig)" in r[LEVERAGE].detail
    assert "the venue did not answer (404 on symbolConfig)" in r[MARGIN_MODE].detail
    for row in r.values():
        _no_raw_text(row.detail)


def test_demo_preflight_passes_every_row_it_can_know() -> None:
    """The demo scenario is set up for the sample config: positions at 3x, the other contracts
    at 5x, all cross, within limits.max_leverage (5); symbolConfig answers for every hedge, so
    nothing is 'unknown for'."""
    from console.emulator import start_emulator
    from console.venues.demo import demo_config, demo_credentials
    from console.venues.preflight import run_preflight

    cfg = demo_config()
    with start_emulator(seed=7) as h:
        creds = demo_credentials(cfg)
        results = asyncio.run(run_preflight(cfg, creds, emulator_url=h.url))
    assert all(ac.passed for ac in results), results
    r = by_name(results[1])
    assert r[MARGIN_MODE].detail == "cross" and r[LEVERAGE].detail == "at most 5x, within 5x"
