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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from console.core.capabilities import ALL_KINDS, Capability, capability_matrix
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
    kinds: frozenset[str] = ALL_KINDS  # contract kinds the paper venue lists (of KINDS)
    # (capability, ok, why): what the paper venue lacks (False) or limits (None) although
    # ccxt's ``has`` says yes; read in ccxt's sources and the venues' docs
    lacks: tuple[tuple[str, bool | None, str], ...] = ()
    kind_notes: tuple[tuple[str, str], ...] = ()  # kind -> what is different about it on paper
    simulated: bool = False  # its contracts are stand-ins in S-prefixed coins (console.core.simulated)


_BINANCE = PaperRoute(
    "enable_demo_trading", "Binance Demo Trading (demo-api/demo-fapi.binance.com; the futures testnet is retired)",
    url_marker="://demo-", option="enableDemoTrading",
    # ccxt's urls['demo'] has no sapi: every sapi call raises NotSupported on demo (spot trading
    # fees, wallet, margin); the USDⓈ-M and COIN-M account endpoints carry contract fees.
    lacks=(("trading fees", None, "contracts only: spot fees are a sapi call, which Binance Demo Trading does not "
                            "serve (ccxt raises NotSupported)"),
           ("websockets", False, "not used on paper: ccxt.pro moves Binance's futures streams to binancefuture.com "
                                 "hosts, off the demo hosts; the console polls REST")),
)

PAPER: dict[str, PaperRoute] = {
    "binance": _BINANCE,
    "binanceusdm": replace(_BINANCE, kinds=frozenset({"linear perp", "dated"}), lacks=_BINANCE.lacks[1:]),
    "binancecoinm": replace(_BINANCE, kinds=frozenset({"inverse", "dated"}), lacks=_BINANCE.lacks[1:]),
    # Bybit has a testnet too (paper_venue = "testnet", below); demo trading is the default
    # because it mirrors mainnet's markets and prices, which is what a rehearsal of a real book needs.
    "bybit": PaperRoute("enable_demo_trading", "Bybit Demo Trading (api-demo.bybit.com)",
                        url_marker="://api-demo.", option="enableDemoTrading"),
    # OKX's demo trading shares the production host; the x-simulated-trading header is the switch.
    "okx": PaperRoute("set_sandbox_mode", "OKX demo trading (x-simulated-trading: 1)",
                      header=("x-simulated-trading", "1"), option="sandboxMode", sandbox_flag=True),
    "deribit": PaperRoute("set_sandbox_mode", "Deribit testnet (test.deribit.com)",
                          url_marker="://test.deribit.com", sandbox_flag=True,
                          lacks=(("tickers", None, "one symbol at a time: ccxt's deribit fetchTickers takes one "
                                                   "base currency per call"),)),
    "krakenfutures": PaperRoute("set_sandbox_mode", "Kraken Futures demo (demo-futures.kraken.com)",
                                url_marker="://demo-futures.kraken.com", sandbox_flag=True,
                                kinds=ALL_KINDS - {"spot"},
                                lacks=(("trading fees", False, "the demo venue has no fee schedule"),)),
    "hyperliquid": PaperRoute("set_sandbox_mode", "Hyperliquid testnet (api.hyperliquid-testnet.xyz)",
                              url_marker="hyperliquid-testnet.xyz", option="sandboxMode", sandbox_flag=True,
                              kinds=frozenset({"spot", "linear perp"})),
    # ccxt's bitget sends PAPTRADING: 1 on every signed request when options.sandboxMode is on;
    # its demo contracts are simulated ones (S*-FUTURES product types) on their own coins.
    "bitget": PaperRoute("enable_demo_trading", "Bitget demo trading (PAPTRADING: 1)", option="sandboxMode",
                         simulated=True,
                         kinds=frozenset({"spot", "linear perp", "inverse"}),
                         kind_notes=(("linear perp", "simulated SUSDT-FUTURES contracts only (e.g. SBTC/SUSDT:SUSDT)"),
                                     ("inverse", "simulated SCOIN-FUTURES contracts only (settled in SBTC, SETH, ...)"))),
    # Added from ccxt 4.5: exchanges whose set_sandbox_mode moves every URL to a testnet
    # where their perpetuals trade.
    "gate": PaperRoute("set_sandbox_mode", "Gate testnet (api-testnet.gateapi.io)",
                       url_marker="testnet", option="sandboxMode", sandbox_flag=True,
                       kinds=frozenset({"spot", "linear perp", "inverse"})),
    "phemex": PaperRoute("set_sandbox_mode", "Phemex testnet (testnet-api.phemex.com)",
                         url_marker="://testnet-api.phemex.com", sandbox_flag=True,
                         kinds=frozenset({"spot", "linear perp", "inverse"})),
    "bingx": PaperRoute("set_sandbox_mode", "BingX virtual trading (open-api-vst.bingx.com, VST)",
                        url_marker="vst", option="sandboxMode", sandbox_flag=True,
                        kinds=frozenset({"linear perp"})),
    "woo": PaperRoute("set_sandbox_mode", "WOO X staging (api.staging.woox.io)",
                      url_marker=".staging.woox.io", option="sandboxMode", sandbox_flag=True,
                      kinds=frozenset({"spot", "linear perp"})),
}

# Second paper venues, chosen with ``paper_venue = "<name>"`` on the account.
PAPER_ALTERNATES: dict[tuple[str, str], PaperRoute] = {
    ("bybit", "testnet"): PaperRoute("set_sandbox_mode", "Bybit testnet (api-testnet.bybit.com)",
                                     url_marker="://api-testnet.", sandbox_flag=True),
}

# Exchanges with futures that ccxt knows but cannot switch to a test venue (no urls['test'],
# so ccxt's set_sandbox_mode raises TypeError): refused with the reason, never run live.
NO_PAPER: dict[str, str] = {
    "kucoinfutures": "ccxt has no test venue URL for KuCoin Futures",
    "kucoin": "ccxt has no test venue URL for KuCoin",
    "htx": "ccxt has no test venue URL for HTX",
    "mexc": "ccxt has no test venue URL for MEXC",
}


def paper_route(exchange_id: str, paper_venue: str | None = None) -> PaperRoute | None:
    """The route to an exchange's paper venue (its alternate when ``paper_venue`` names one)."""
    if paper_venue is not None:
        return PAPER_ALTERNATES.get((exchange_id, paper_venue))
    return PAPER.get(exchange_id)


def paper_capabilities(route: PaperRoute, has: Mapping[str, Any]) -> tuple[Capability, ...]:
    """What a paper venue supports: ccxt's ``has`` for the exchange, read with the route's table."""
    return capability_matrix(has, route.kinds, route.lacks, route.kind_notes)


def exchange_has(exchange_id: str) -> Mapping[str, Any]:
    """ccxt's ``has`` for an exchange id, from its class (offline: no request is made)."""
    import ccxt

    cls = getattr(ccxt, exchange_id, None)
    return dict(cls().has) if cls is not None else {}


def paper_matrix(account: Account) -> tuple[Capability, ...]:
    """The capability matrix of a paper account's venue; () for demo and live accounts and for
    an exchange without a paper venue (its checklist says why)."""
    if Mode(account.mode) is not Mode.PAPER:
        return ()
    try:
        route = account_route(account)
    except UserError:
        return ()
    return paper_capabilities(route, exchange_has(account.exchange))


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


def _route_problem(exchange: Any, route: PaperRoute) -> str | None:
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


def _routes(exchange_id: str) -> list[PaperRoute]:
    default = PAPER.get(exchange_id)
    return ([default] if default else []) + [r for (x, _), r in PAPER_ALTERNATES.items() if x == exchange_id]


def route_of(exchange: Any) -> PaperRoute | None:
    """The paper venue ``exchange`` demonstrably points at, or None."""
    return next((r for r in _routes(exchange.id) if _route_problem(exchange, r) is None), None)


def paper_problem(exchange: Any) -> str | None:
    """Why ``exchange`` is NOT on a paper venue of its exchange, or None when it demonstrably is."""
    routes = _routes(exchange.id)
    if not routes:
        return f"{exchange.id} has no paper venue this console knows"
    if route_of(exchange) is not None:
        return None
    return _route_problem(exchange, routes[0])


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


def account_route(account: Account) -> PaperRoute:
    """The account's paper venue; UserError naming the fix when it has none (checked before
    keys are even loaded, so the message is about the real problem)."""
    name, ex = account.name, account.exchange
    if account.paper_venue is not None:
        route = paper_route(ex, account.paper_venue)
        if route is None:
            known = sorted(v for (x, v) in PAPER_ALTERNATES if x == ex)
            choice = f"the one it has is {', '.join(known)}" if known else f"{ex} has only its default one"
            raise UserError(f"account {name!r}: paper_venue = {account.paper_venue!r} is not a paper venue of {ex} "
                            f"({choice}); remove paper_venue to use {ex}'s default paper venue")
        return route
    if ex in NO_PAPER:
        raise UserError(f"account {name!r}: {ex} cannot trade on paper ({NO_PAPER[ex]}); use mode = \"demo\" to "
                        f"rehearse on the built-in emulator, or an exchange with a paper venue: "
                        f"{', '.join(sorted(PAPER))}")
    route = PAPER.get(ex)
    if route is None:
        raise UserError(
            f"account {name!r}: {ex} has no paper (test or demo) venue this console can switch to; paper mode "
            f"works on {', '.join(sorted(PAPER))}. Use mode = \"demo\" to rehearse on the built-in emulator"
        )
    return route


def uses_simulated_contracts(account: Account) -> bool:
    """Whether the account's paper venue trades simulated stand-in contracts (Bitget)."""
    route = paper_route(account.exchange, account.paper_venue)
    return route is not None and route.simulated


def require_paper_venue(account: Account) -> None:
    """UserError unless the account's exchange has a paper venue this console can switch to."""
    account_route(account)


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
        route = account_route(account)
        try:
            getattr(exchange, route.call)(True)
        except Exception as exc:  # ccxt refuses (TypeError without test URLs, NotSupported): say so
            raise UserError(f"account {account.name!r}: ccxt could not switch {exchange.id} to {route.venue} "
                            f"({type(exc).__name__}: {exc}); not connecting") from None
        problem = _route_problem(exchange, route)
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
