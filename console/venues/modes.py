"""Account modes: demo (the loopback emulator), paper (the venue's own test venue), live.

Paper is switched per exchange by the table ``PAPER`` below, from what ccxt supports
(read in ccxt 4.5's sources). An exchange not in the table has no paper mode here: it is
refused, never quietly run against the live venue. After the switch the exchange object is
inspected (URLs, headers, options) and refused if the switch did not take.

Live needs three deliberate acts, all checked by ``live_gate``:
``mode = "live"`` and ``live = true`` on the account in the config, ``--live`` on the command
line, and the account's name typed at a confirmation prompt when the console starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from console.core.config import Account, Mode
from console.core.errors import UserError


@dataclass(frozen=True)
class PaperRoute:
    """How one exchange's paper venue is reached through ccxt, and how to see that it is on."""

    call: Literal["enable_demo_trading", "set_sandbox_mode"]
    venue: str  # what the exchange calls it, shown to the user
    url_marker: str | None = None  # every API URL must contain this
    header: tuple[str, str] | None = None  # a header every request carries
    option: str | None = None  # an ``exchange.options`` flag that must be true
    sandbox_flag: bool = False  # ccxt's ``isSandboxModeEnabled`` must be true


_BINANCE = PaperRoute("enable_demo_trading", "Binance Demo Trading (demo-api/demo-fapi.binance.com; "
                      "the futures testnet is retired)", url_marker="://demo-", option="enableDemoTrading")

PAPER: dict[str, PaperRoute] = {
    "binance": _BINANCE,
    "binanceusdm": _BINANCE,
    "binancecoinm": _BINANCE,
    # Bybit has a testnet too; demo trading is chosen because it mirrors mainnet's markets
    # and prices, which is what a rehearsal of a real book needs.
    "bybit": PaperRoute("enable_demo_trading", "Bybit Demo Trading (api-demo.bybit.com)",
                        url_marker="://api-demo.", option="enableDemoTrading"),
    # OKX's demo trading shares the production host; the x-simulated-trading header is the switch.
    "okx": PaperRoute("set_sandbox_mode", "OKX demo trading (x-simulated-trading: 1)",
                      header=("x-simulated-trading", "1"), option="sandboxMode", sandbox_flag=True),
    "deribit": PaperRoute("set_sandbox_mode", "Deribit testnet (test.deribit.com)",
                          url_marker="://test.deribit.com", sandbox_flag=True),
    "krakenfutures": PaperRoute("set_sandbox_mode", "Kraken Futures demo (demo-futures.kraken.com)",
                                url_marker="://demo-futures.kraken.com", sandbox_flag=True),
    "hyperliquid": PaperRoute("set_sandbox_mode", "Hyperliquid testnet (api.hyperliquid-testnet.xyz)",
                              url_marker="hyperliquid-testnet.xyz", option="sandboxMode", sandbox_flag=True),
    # ccxt's bitget sends PAPTRADING: 1 on every signed request when options.sandboxMode is on.
    "bitget": PaperRoute("enable_demo_trading", "Bitget demo trading (PAPTRADING: 1)", option="sandboxMode"),
}

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def api_urls(exchange: Any) -> list[str]:
    """Every URL string under ``exchange.urls['api']`` (a string or nested dicts)."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk((getattr(exchange, "urls", None) or {}).get("api"))
    return out


def paper_problem(exchange: Any) -> str | None:
    """Why ``exchange`` is NOT on its paper venue, or None when it demonstrably is."""
    route = PAPER.get(exchange.id)
    if route is None:
        return f"{exchange.id} has no paper venue this console knows"
    if route.url_marker is not None:
        urls = api_urls(exchange)
        bad = [u for u in urls if route.url_marker not in u]
        if not urls or bad:
            return f"API URL {bad[0] if bad else '(none)'} is not {route.venue}"
    if route.header is not None:
        name, value = route.header
        if (exchange.headers or {}).get(name) != value:
            return f"the {name}: {value} header is not set"
    if route.option is not None and exchange.options.get(route.option) is not True:
        return f"ccxt option {route.option} is not on"
    if route.sandbox_flag and not getattr(exchange, "isSandboxModeEnabled", False):
        return "ccxt's sandbox mode is not on"
    return None


def demo_problem(exchange: Any) -> str | None:
    """Why ``exchange`` is NOT talking to the loopback emulator, or None when it is."""
    urls = api_urls(exchange)
    for u in urls:
        host = urlsplit(u).hostname or ""
        if host not in LOOPBACK_HOSTS:
            return f"API URL {u} is not on this machine's loopback"
    return None if urls else "the exchange has no API URLs"


def live_problem(exchange: Any) -> str | None:
    """Why ``exchange`` is NOT set for the real venue (a sandbox or demo switch is on)."""
    if getattr(exchange, "isSandboxModeEnabled", False) or exchange.options.get("sandboxMode"):
        return "sandbox mode is on"
    if exchange.options.get("enableDemoTrading"):
        return "demo trading is on"
    if (exchange.headers or {}).get("x-simulated-trading"):
        return "the x-simulated-trading header is set"
    return None


def mode_problem(exchange: Any, mode: Mode | str) -> str | None:
    """Does the exchange object really point where the account's mode says? None when it does."""
    m = Mode(mode)
    if m is Mode.DEMO:
        return demo_problem(exchange)
    if m is Mode.PAPER:
        return paper_problem(exchange)
    return live_problem(exchange)


def paper_supported(exchange_id: str) -> bool:
    return exchange_id in PAPER


def require_paper_venue(account: Account) -> None:
    """UserError unless the account's exchange has a paper venue in the table (checked before
    keys are even loaded, so the message is about the real problem)."""
    if account.exchange not in PAPER:
        raise UserError(
            f"account {account.name!r}: {account.exchange} has no paper (test or demo) venue this console "
            f"can switch to; paper mode works on {', '.join(sorted(PAPER))}. Use mode = \"demo\" to "
            "rehearse on the built-in emulator"
        )


def configure_mode(exchange: Any, account: Account, *, live_allowed: bool) -> None:
    """Point a fresh ccxt exchange object at the account's paper venue, or leave it on live.

    ``live_allowed`` is True only after ``live_gate`` passed. Demo is the venue layer's job
    (emulator URLs), not this function's. Raises UserError rather than ever letting a paper
    account reach the live venue.
    """
    if exchange.id != account.exchange:
        raise UserError(
            f"account {account.name!r} is on {account.exchange} but the exchange object is {exchange.id}"
        )
    mode = Mode(account.mode)
    if mode is Mode.DEMO:
        raise UserError(f"account {account.name!r} is in demo mode; the emulator venue handles it, not configure_mode")
    if mode is Mode.PAPER:
        require_paper_venue(account)
        route = PAPER[exchange.id]
        getattr(exchange, route.call)(True)
        problem = paper_problem(exchange)
        if problem is not None:  # ccxt changed under us: refuse rather than trade for real
            raise UserError(f"account {account.name!r}: paper mode did not take on {exchange.id} ({problem}); "
                            "not connecting")
        return
    # live
    if not (live_allowed and account.live):
        raise UserError(
            f"account {account.name!r} is mode live but live trading was not allowed; it needs live = true "
            "on the account, --live on the command line and the typed confirmation"
        )
    problem = live_problem(exchange)
    if problem is not None:
        raise UserError(f"account {account.name!r} is live but its exchange object is not ({problem})")


# ---------------------------------------------------------------------------- live gate


def live_confirmation_prompt(account: Account) -> str:
    return (
        f"Account {account.name!r} trades REAL money on {account.exchange}. "
        f"Type the account name ({account.name}) to go live: "
    )


def live_gate(account: Account, cli_live: bool, typed_confirmation: str | None) -> None:
    """Pass only when a live account has all three: ``live = true``, ``--live`` and the typed name.

    The confirmation is the account's name typed exactly (case counts; surrounding spaces
    do not), so that the act names what it unlocks. Raises UserError listing what is missing.
    """
    missing: list[str] = []
    if Mode(account.mode) is not Mode.LIVE:
        missing.append(f'mode = "live" on the account (it is {Mode(account.mode).value})')
    if not account.live:
        missing.append(f"live = true in the [[accounts]] entry named {account.name!r}")
    if not cli_live:
        missing.append("--live on the command line")
    if not account.name.strip():  # config refuses it; an empty name would match an empty answer
        missing.append("a non-empty account name to type at the confirmation prompt")
    elif typed_confirmation is None or typed_confirmation.strip() != account.name:
        missing.append(f"the account name {account.name!r} typed at the confirmation prompt")
    if missing:
        raise UserError(f"account {account.name!r} will not trade live; missing: " + "; ".join(missing))


def live_allowed_accounts(accounts: Iterable[Account], cli_live: bool,
                          ask: Callable[[str], str] | None = None) -> frozenset[str]:
    """Names of the live accounts that may trade this session; call once at start.

    A live account without ``--live`` or without ``live = true`` is simply not allowed (it can
    still be read). With both, ``ask`` shows ``live_confirmation_prompt`` and must return the
    typed answer (the CLI passes ``input``; the app a modal); a wrong answer is a UserError, so
    a typo never starts a live session by accident. The executor must refuse every order on a
    live account that is not in the returned set.
    """
    allowed: set[str] = set()
    accounts = list(accounts)
    names = [a.name for a in accounts]
    for a in accounts:
        if names.count(a.name) > 1:  # config refuses it: one typed name must unlock one account
            raise UserError(f"account name {a.name!r} is used twice; give each account its own name")
    for a in accounts:
        if Mode(a.mode) is not Mode.LIVE or not (cli_live and a.live):
            continue
        if ask is None:
            raise UserError(f"account {a.name!r} is live and needs its name typed to confirm; "
                            "run in a terminal, or drop --live to start without live trading")
        live_gate(a, cli_live, ask(live_confirmation_prompt(a)))
        allowed.add(a.name)
    return frozenset(allowed)
