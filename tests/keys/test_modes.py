"""The paper switch per exchange, checked on ccxt's own exchange objects (offline), and the live gate."""

from __future__ import annotations

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from console.core.config import Account, Mode, mode_badge
from console.core.errors import UserError
from console.venues.modes import (
    PAPER,
    api_urls,
    configure_mode,
    demo_problem,
    live_gate,
    live_problem,
    mode_problem,
    paper_problem,
)

DUMMY = {"apiKey": "dummy-key-000", "secret": "ZHVtbXktc2VjcmV0LTAwMA==", "password": "dummy-pass"}

# exchange id -> what the paper object must look like (host of every API URL, or header/option)
EXPECTED_HOSTS = {
    "binance": ("demo-api.binance.com", "demo-fapi.binance.com", "demo-dapi.binance.com"),
    "binanceusdm": ("demo-api.binance.com", "demo-fapi.binance.com", "demo-dapi.binance.com"),
    "binancecoinm": ("demo-api.binance.com", "demo-fapi.binance.com", "demo-dapi.binance.com"),
    "bybit": ("api-demo.{hostname}",),
    "deribit": ("test.deribit.com",),
    "krakenfutures": ("demo-futures.kraken.com",),
    "hyperliquid": ("api.hyperliquid-testnet.xyz",),
}


def acct(exchange: str, mode: Mode = Mode.PAPER, live: bool = False) -> Account:
    return Account(name="acc", exchange=exchange, mode=mode, markets=("swap",), live=live)


def _hosts(ex: object) -> set[str]:
    return {u.split("://", 1)[1].split("/", 1)[0] for u in api_urls(ex)}


@pytest.mark.parametrize("module", [ccxt, ccxt_async], ids=["sync", "async"])
@pytest.mark.parametrize("exchange_id", sorted(PAPER))
def test_paper_switch_takes(exchange_id: str, module: object) -> None:
    ex = getattr(module, exchange_id)(dict(DUMMY))
    live_hosts = _hosts(ex)
    configure_mode(ex, acct(exchange_id), live_allowed=False)
    assert paper_problem(ex) is None and mode_problem(ex, Mode.PAPER) is None
    assert live_problem(ex) is not None
    if exchange_id in EXPECTED_HOSTS:
        assert _hosts(ex) <= set(EXPECTED_HOSTS[exchange_id])
        assert not (_hosts(ex) & live_hosts)  # not one production host is left
    if exchange_id.startswith("binance"):
        assert ex.options["enableDemoTrading"] is True and not ex.isSandboxModeEnabled
    if exchange_id == "bybit":
        assert ex.options["enableDemoTrading"] is True
    if exchange_id in ("okx", "deribit", "krakenfutures", "hyperliquid"):
        assert ex.isSandboxModeEnabled
    if exchange_id == "okx":
        assert ex.headers["x-simulated-trading"] == "1"
    if module is ccxt_async:
        import asyncio

        asyncio.run(ex.close())


def test_okx_signed_request_carries_simulated_header() -> None:
    ex = ccxt.okx(dict(DUMMY))
    configure_mode(ex, acct("okx"), live_allowed=False)
    # fetch() merges exchange.headers into each request; the header must be there
    req = ex.sign("account/balance", "private", "GET", {})
    assert {**ex.headers, **(req["headers"] or {})}["x-simulated-trading"] == "1"


def test_bitget_signed_request_carries_paptrading() -> None:
    ex = ccxt.bitget(dict(DUMMY))
    live = ex.sign("v2/spot/account/assets", ["private", "spot"], "GET", {})
    assert "PAPTRADING" not in (live["headers"] or {})
    configure_mode(ex, acct("bitget"), live_allowed=False)
    req = ex.sign("v2/spot/account/assets", ["private", "spot"], "GET", {})
    assert req["headers"]["PAPTRADING"] == "1"


def test_unknown_exchange_in_paper_is_refused_and_untouched() -> None:
    ex = ccxt.kraken()
    before = api_urls(ex)
    with pytest.raises(UserError, match="no paper .*mode = \"demo\""):
        configure_mode(ex, acct("kraken"), live_allowed=True)  # even with live allowed
    assert api_urls(ex) == before


def test_paper_switch_that_does_not_take_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ex = ccxt.binanceusdm()
    monkeypatch.setattr(ex, "enable_demo_trading", lambda enable: None)  # a ccxt that changed
    with pytest.raises(UserError, match="did not take"):
        configure_mode(ex, acct("binanceusdm"), live_allowed=False)


def test_exchange_mismatch_and_demo_refused() -> None:
    with pytest.raises(UserError, match="exchange object is binance"):
        configure_mode(ccxt.binance(), acct("okx"), live_allowed=False)
    with pytest.raises(UserError, match="demo mode"):
        configure_mode(ccxt.binance(), acct("binance", Mode.DEMO), live_allowed=False)


def test_live_configure_requires_gate_and_flag() -> None:
    with pytest.raises(UserError, match="not allowed"):
        configure_mode(ccxt.binance(), acct("binance", Mode.LIVE, live=True), live_allowed=False)
    with pytest.raises(UserError, match="not allowed"):
        configure_mode(ccxt.binance(), acct("binance", Mode.LIVE, live=False), live_allowed=True)
    ex = ccxt.binance()
    configure_mode(ex, acct("binance", Mode.LIVE, live=True), live_allowed=True)
    assert live_problem(ex) is None and "api.binance.com" in " ".join(api_urls(ex))
    sandboxed = ccxt.okx()
    sandboxed.set_sandbox_mode(True)
    with pytest.raises(UserError, match="not"):
        configure_mode(sandboxed, acct("okx", Mode.LIVE, live=True), live_allowed=True)


def test_demo_problem_checks_loopback() -> None:
    ex = ccxt.binanceusdm()
    assert demo_problem(ex) is not None
    ex.urls["api"] = {k: "http://127.0.0.1:8123/fapi/v1" for k in ex.urls["api"]}
    assert demo_problem(ex) is None


# ---------------------------------------------------------------- live gate


LIVE_OK = Account(name="main", exchange="binanceusdm", mode=Mode.LIVE, markets=("swap",), live=True)


def test_live_gate_passes_only_with_all_three() -> None:
    live_gate(LIVE_OK, True, "main")
    live_gate(LIVE_OK, True, "  main\n")


@pytest.mark.parametrize(
    ("account", "cli_live", "typed", "missing"),
    [
        (LIVE_OK.model_copy(update={"live": False}), True, "main", ["live = true"]),
        (LIVE_OK, False, "main", ["--live"]),
        (LIVE_OK, True, None, ["typed"]),
        (LIVE_OK, True, "MAIN", ["typed"]),
        (LIVE_OK, True, "LIVE", ["typed"]),
        (LIVE_OK, True, "", ["typed"]),
        (LIVE_OK.model_copy(update={"live": False}), False, None, ["live = true", "--live", "typed"]),
        (LIVE_OK.model_copy(update={"mode": Mode.PAPER}), True, "main", ['mode = "live"']),
    ],
)
def test_live_gate_names_what_is_missing(account: Account, cli_live: bool, typed: str | None,
                                         missing: list[str]) -> None:
    with pytest.raises(UserError) as e:
        live_gate(account, cli_live, typed)
    msg = str(e.value)
    for m in missing:
        assert m in msg
    for m in {"live = true", "--live", "typed"} - set(missing):
        assert m not in msg


def test_mode_badges_are_distinct_and_live_is_red() -> None:
    badges = {m: mode_badge(m) for m in Mode}
    assert [b[0] for b in badges.values()] == ["DEMO", "PAPER", "LIVE"]
    assert len({b[1] for b in badges.values()}) == 3
    assert "red" in badges[Mode.LIVE][1]
    assert mode_badge("live") == badges[Mode.LIVE]


def test_live_allowed_accounts_asks_only_when_flag_and_config_agree() -> None:
    from console.venues.modes import live_allowed_accounts

    paper = acct("okx")
    no_flag = LIVE_OK.model_copy(update={"name": "cold", "live": False})
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "main"

    accounts = [paper, no_flag, LIVE_OK]
    assert live_allowed_accounts(accounts, cli_live=False, ask=ask) == frozenset()
    assert asked == []  # no --live: nobody is asked anything
    assert live_allowed_accounts(accounts, cli_live=True, ask=ask) == {"main"}
    assert len(asked) == 1 and "REAL money" in asked[0] and "main" in asked[0]
    with pytest.raises(UserError, match="typed"):
        live_allowed_accounts(accounts, cli_live=True, ask=lambda _: "yes")
    with pytest.raises(UserError, match="run in a terminal"):
        live_allowed_accounts(accounts, cli_live=True, ask=None)
