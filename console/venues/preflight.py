"""Preflight: is each account fit to trade? A checklist per account, before the first order.

Two halves, so the judging can be tested and rendered without a network:

- ``fetch_facts`` (async) reads what it needs through a ccxt exchange: markets, balance (the
  authenticated read), position mode, leverage and margin mode of the hedge instruments,
  open positions. Every call's failure is kept as a one-line, redacted message.
- ``judge_account`` (pure) turns those facts, the config and an overlay plan into
  ``CheckResult`` rows: ok True (pass), False (fail: do not trade), None (unknown or
  worth a look: does not block).

``run_preflight`` ties them to the venue layer for the CLI and the app's checklist screen:
it returns one ``AccountChecks`` per account, in config order.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console.core.config import Account, Config, Mode, mode_badge
from console.core.numbers import num
from console.core.redact import redact
from console.core.simulated import simulated_symbol
from console.core.snapshot import AccountState, Snapshot
from console.venues.modes import (
    Capability,
    api_urls,
    mode_problem,
    paper_matrix,
    paper_route,
    uses_simulated_contracts,
)

# Check names, in display order; the app may key rows by them.
VENUE = "venue"
AUTH = "authenticated"
TRADE = "can trade"
LIVE_GATE = "live safeguards"
POSITION_MODE = "position mode"
MARGIN_MODE = "margin mode"
LEVERAGE = "leverage"
HEDGES = "hedge instruments"
MIN_NOTIONAL = "min notional"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool | None  # True pass, False fail (blocks trading), None unknown / look at it
    detail: str

    @property
    def mark(self) -> str:
        return "✔" if self.ok is True else "✘" if self.ok is False else "?"


@dataclass(frozen=True)
class AccountChecks:
    account: str
    exchange: str
    mode: Mode
    results: tuple[CheckResult, ...]
    # paper accounts: what their paper venue supports (calls, contract kinds); informative, never blocks
    capabilities: tuple[Capability, ...] = ()

    @property
    def passed(self) -> bool:
        """No check failed (unknowns do not block)."""
        return all(r.ok is not False for r in self.results)

    @property
    def badge(self) -> tuple[str, str]:
        return mode_badge(self.mode)


@dataclass(frozen=True)
class AccountFacts:
    """What the venue said, each part with its error (None when it answered)."""

    account: Account
    venue_problem: str | None  # the exchange object does not point where the mode says
    venue_hosts: tuple[str, ...] = ()
    balance: Mapping[str, Any] | None = None
    auth_error: str | None = None
    markets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # the symbols asked about
    listed: frozenset[str] = frozenset()  # every symbol the venue lists
    markets_error: str | None = None
    position_mode: str | None = None  # "one-way" | "hedge"
    position_mode_error: str | None = None
    leverages: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # ccxt leverage structures
    leverage_error: str | None = None
    positions: tuple[Mapping[str, Any], ...] = ()
    positions_error: str | None = None
    setup_error: str | None = None  # the exchange could not be made (no keys, no paper venue)


# ------------------------------------------------------------------------------ fetching


_QUERY = re.compile(r"\?\S*")
_HTML = re.compile(r"<html.*", re.IGNORECASE | re.DOTALL)
# ccxt's text for an HTTP error: "binanceusdm GET https://host/fapi/v1/symbolConfig?... 404 Not Found <body>"
_HTTP = re.compile(r"\b(?:GET|POST|PUT|DELETE) \S*?([^/?\s]+)(?:\?\S*)? (\d{3})\b")
# the venue's own error body: {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}
_VENUE_MSG = re.compile(r'"msg"\s*:\s*"([^"]*)"')
_VENUE_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')


def _cut(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _err(exc: BaseException) -> str:
    """Why a venue call failed, in plain words for the checklist (the check adds which check it
    was): never the raw ccxt text, which carries the URL with its signature (and on some venues
    the API key) and HTML error pages. The venue's own message and code, an HTTP status and
    the endpoint's last path part are kept: they are what support asks for. Redacted."""
    import ccxt

    raw = redact(" ".join(str(exc).split()))  # before cutting: no half secrets
    http = _HTTP.search(raw)
    venue = _VENUE_MSG.search(raw)
    code = _VENUE_CODE.search(raw)
    said = (venue.group(1).strip() or "no message") + (f" (code {code.group(1)})" if code else "") if venue else None
    where = f"{http.group(2)} on {http.group(1)}" if http else None
    if isinstance(exc, ccxt.AuthenticationError):  # includes PermissionDenied, AccountSuspended
        # the class name stays: it is the word the key docs and support threads use
        return f"the venue rejected the API key (AuthenticationError): {said or where or 'no reason given'}"
    if isinstance(exc, ccxt.DDoSProtection) or (http and http.group(2) in ("418", "429")):
        return f"the venue is limiting requests from this IP ({where or 'rate limit'}); wait a minute and retry"
    if isinstance(exc, ccxt.RequestTimeout):
        return "the venue did not answer in time (timeout)"
    if http and http.group(2) == "404":
        return f"the venue did not answer ({where})"
    if http and http.group(2).startswith("5"):
        return f"the venue is unavailable ({where})"
    if said:
        return f"the venue refused: {_cut(said)}"
    if isinstance(exc, ccxt.NotSupported):
        return "ccxt does not support this call for this venue"
    if isinstance(exc, ccxt.NetworkError):
        return f"could not reach the venue ({where or type(exc).__name__})"
    if isinstance(exc, ccxt.BaseError):
        msg = _HTML.sub("", _QUERY.sub("", raw)).strip()
        return f"the venue answered with an error ({where or type(exc).__name__}): {_cut(msg) or 'no message'}"
    # not the venue: a bug in the console or in ccxt; the class names it for the bug report
    return f"an unexpected error in the console ({type(exc).__name__}); run again with --debug for details"


def _could_not(what: str, reason: str | None, advice: str) -> str:
    """The detail of a check whose venue call failed: which check, why, what to do."""
    return f"could not check the {what}: {reason or 'the venue did not say'}; {advice}"


async def _attempt(coro: Any) -> tuple[Any, str | None]:
    try:
        return await coro, None
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # every venue failure becomes one line on the checklist
        return None, _err(exc)


def hedge_symbols_for(config: Config, account: Account, listed: Iterable[str] = ()) -> list[str]:
    """Hedge instruments this account trades: those naming it, and unassigned ones it lists."""
    if not account.holds_contracts:
        return []
    listed_set = set(listed)
    out: list[str] = []
    for s in config.sleeves:
        for h in s.hedges:
            mine = h.account == account.name or (h.account is None and h.symbol in listed_set)
            if mine and h.symbol not in out:
                out.append(h.symbol)
    return out


def _hosts(exchange: Any) -> tuple[str, ...]:
    hosts = {u.split("://", 1)[-1].split("/", 1)[0] for u in api_urls(exchange)}
    return tuple(sorted(hosts))


async def fetch_facts(exchange: Any, account: Account, config: Config) -> AccountFacts:
    """Everything the checks need from one account's ccxt (async) exchange.

    The mode is verified on the exchange object first: an object that is not where the
    account's mode says is never sent a single request.
    """
    problem = mode_problem(exchange, account.mode)
    hosts = _hosts(exchange)
    if problem is not None:
        return AccountFacts(account, problem, hosts)
    _, markets_error = await _attempt(exchange.load_markets())
    all_markets: Mapping[str, Any] = exchange.markets or {}
    balance, auth_error = await _attempt(exchange.fetch_balance())
    facts: dict[str, Any] = {
        "balance": balance, "auth_error": auth_error, "markets_error": markets_error,
        "listed": frozenset(all_markets),
    }
    # the configured hedges this account may trade, even unlisted ones (to report them missing)
    wanted = [h.symbol for s in config.sleeves for h in s.hedges
              if h.account == account.name] + hedge_symbols_for(config, account, all_markets)
    wanted = list(dict.fromkeys(wanted))
    facts["markets"] = {s: dict(all_markets[s]) for s in wanted if s in all_markets}
    if account.holds_contracts and auth_error is None:
        has = exchange.has
        if has.get("fetchPositionMode"):
            pm, facts["position_mode_error"] = await _attempt(exchange.fetch_position_mode())
            if pm is not None and pm.get("hedged") is not None:
                facts["position_mode"] = "hedge" if pm["hedged"] else "one-way"
        else:
            facts["position_mode_error"] = f"{exchange.id} does not report its position mode through ccxt"
        positions, facts["positions_error"] = await _attempt(exchange.fetch_positions())
        facts["positions"] = tuple(positions or ())
        listed = [s for s in wanted if s in all_markets]
        if listed and has.get("fetchLeverages"):
            levs, facts["leverage_error"] = await _attempt(exchange.fetch_leverages(listed))
            facts["leverages"] = {k: v for k, v in (levs or {}).items() if k in listed}
        elif listed and has.get("fetchLeverage"):
            out: dict[str, Any] = {}
            for s in listed:
                lev, e = await _attempt(exchange.fetch_leverage(s))
                if lev is not None:
                    out[s] = lev
                facts["leverage_error"] = facts.get("leverage_error") or e
            facts["leverages"] = out
    return AccountFacts(account, None, hosts, **facts)


# ------------------------------------------------------------------------------ judging




def _names(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_venue(facts: AccountFacts) -> CheckResult:
    a = facts.account
    mode = Mode(a.mode)
    where = ", ".join(facts.venue_hosts) or "?"
    if facts.setup_error is not None:
        return CheckResult(VENUE, False, facts.setup_error)
    if facts.venue_problem is not None:
        fix = {Mode.DEMO: "the demo account must talk to the emulator on 127.0.0.1",
               Mode.PAPER: "not connecting: paper must never reach the live venue",
               Mode.LIVE: "a live account must not be on a test venue"}[mode]
        return CheckResult(VENUE, False, f"{facts.venue_problem}; {fix}")
    if mode is Mode.DEMO:
        return CheckResult(VENUE, True, f"demo: the built-in emulator ({where})")
    if mode is Mode.PAPER:
        route = paper_route(a.exchange, a.paper_venue)
        return CheckResult(VENUE, True, f"paper: {route.venue if route else a.exchange} ({where})")
    return CheckResult(VENUE, True, f"LIVE: real money on {a.exchange} ({where})")


def check_live_gate(account: Account) -> CheckResult | None:
    if Mode(account.mode) is not Mode.LIVE:
        return None
    if not account.live:
        return CheckResult(LIVE_GATE, False, f"mode is live but live = true is not set on account "
                                             f"{account.name!r}; the console will refuse to trade it")
    return CheckResult(LIVE_GATE, True, "live = true; trading also needs --live at start and the account "
                                        "name typed at the confirmation")


def check_auth(facts: AccountFacts) -> CheckResult:
    name = facts.account.name
    if facts.auth_error is not None or facts.balance is None:
        return CheckResult(AUTH, False, f"could not read the account: {facts.auth_error or 'no balance returned'}; "
                                        f"check the keys (`rebal-tui keys set {name}`) and their IP allow-list")
    total = facts.balance.get("total") or {}
    held = sorted(str(k) for k, v in total.items() if num(v))
    seen = f"sees {len(held)} asset{'s' if len(held) != 1 else ''}" + (f" ({_names(held)})" if held else "")
    if facts.account.holds_contracts and facts.positions_error is None:
        n = sum(1 for p in facts.positions if num(p.get("contracts")))
        seen += f", {n} open position{'s' if n != 1 else ''}"
    if facts.listed:
        seen += f", {len(facts.listed)} markets"
    return CheckResult(AUTH, True, seen)


def check_can_trade(facts: AccountFacts) -> CheckResult:
    info = (facts.balance or {}).get("info")
    flag = info.get("canTrade") if isinstance(info, dict) else None
    if flag is True or flag == "true":
        return CheckResult(TRADE, True, "the venue says this key may trade")
    if flag is False or flag == "false":
        return CheckResult(TRADE, False, "the venue says this key may NOT trade; enable trading on the "
                                         "API key (withdrawals should stay off)")
    return CheckResult(TRADE, None, "the venue does not say; the first order will tell")


def check_position_mode(facts: AccountFacts) -> CheckResult:
    if facts.position_mode == "one-way":
        return CheckResult(POSITION_MODE, True, "one-way: reduce-only legs net against the position")
    if facts.position_mode == "hedge":
        return CheckResult(POSITION_MODE, False, "hedge mode (long and short sides kept apart): the overlay "
                                                 "sends one-way orders; switch the account to one-way mode "
                                                 "on the venue (Binance: Preferences → Position Mode)")
    return CheckResult(POSITION_MODE, None, _could_not(
        "position mode", facts.position_mode_error, "the overlay assumes one-way; check it on the venue's site "
        "(Binance: Preferences → Position Mode)"))


def _leverage_of(facts: AccountFacts, symbol: str) -> tuple[float | None, str | None]:
    """(leverage, margin mode) of a symbol: the leverage setting, else its open position."""
    lev = facts.leverages.get(symbol) or {}
    values = [num(lev.get(k)) for k in ("longLeverage", "shortLeverage", "leverage")]
    leverage = max((v for v in values if v), default=None)
    margin = lev.get("marginMode")
    for p in facts.positions:
        if p.get("symbol") == symbol:
            leverage = leverage or num(p.get("leverage"))
            margin = margin or p.get("marginMode")
    return leverage, (str(margin) if margin else None)


def _unknown_for(symbols: Iterable[str], error: str | None) -> str:
    """The suffix naming symbols whose setting is unknown, with the reason when the call failed."""
    symbols = list(symbols)
    if not symbols:
        return ""
    why = f": {error}" if error else ""
    return f" (unknown for {_names(symbols)}{why})"


def check_margin_mode(facts: AccountFacts, symbols: list[str]) -> CheckResult:
    modes = {s: _leverage_of(facts, s)[1] for s in symbols}
    known = {s: m for s, m in modes.items() if m}
    if not symbols:
        return CheckResult(MARGIN_MODE, None, "no hedge instrument on this account")
    if not known:
        if facts.leverage_error:
            return CheckResult(MARGIN_MODE, None, _could_not("margin mode", facts.leverage_error,
                                                             "check it on the venue's site"))
        return CheckResult(MARGIN_MODE, None, "not reported (no setting or position)")
    isolated = sorted(s for s, m in known.items() if m == "isolated")
    if isolated:
        return CheckResult(MARGIN_MODE, None, f"isolated on {_names(isolated)}: each hedge is liquidated on "
                                              "its own margin; the margin ratio shown assumes cross")
    unknown = sorted(set(symbols) - set(known))
    return CheckResult(MARGIN_MODE, True, "cross" + _unknown_for(unknown, facts.leverage_error))


def check_leverage(facts: AccountFacts, symbols: list[str], max_leverage: float) -> CheckResult:
    if not symbols:
        return CheckResult(LEVERAGE, None, "no hedge instrument on this account")
    levs = {s: _leverage_of(facts, s)[0] for s in symbols}
    over = {s: v for s, v in levs.items() if v is not None and v > max_leverage + 1e-9}
    if over:
        items = ", ".join(f"{s} at {v:g}x" for s, v in sorted(over.items()))
        return CheckResult(LEVERAGE, False, f"{items}, above the limit of {max_leverage:g}x; lower it on the "
                                            "venue, or raise limits.max_leverage in the config")
    known = {s: v for s, v in levs.items() if v is not None}
    if not known:
        if facts.leverage_error:
            return CheckResult(LEVERAGE, None, _could_not("leverage", facts.leverage_error,
                                                          "check it on the venue's site"))
        return CheckResult(LEVERAGE, None, "not reported (no setting or position)")
    top = max(known.values())
    rest = sorted(set(symbols) - set(known))
    return CheckResult(LEVERAGE, True, f"at most {top:g}x, within {max_leverage:g}x"
                                       + _unknown_for(rest, facts.leverage_error))


def check_hedges(facts: AccountFacts, config: Config, now_ms: int,
                 listed_elsewhere: frozenset[str] = frozenset()) -> CheckResult:
    a = facts.account
    if facts.markets_error is not None and not facts.listed:
        return CheckResult(HEDGES, None, _could_not("hedge instruments", f"the market list did not load: "
                                                    f"{facts.markets_error}", "run preflight again"))
    named = [h.symbol for s in config.sleeves for h in s.hedges if h.account == a.name]
    unassigned = [h.symbol for s in config.sleeves for h in s.hedges if h.account is None]
    problems: list[str] = []
    for sym in named:
        if sym not in facts.listed:
            problems.append(f"{sym} is not listed on {a.exchange}")
    # an unassigned hedge must be listed somewhere; this account reports those found nowhere
    for sym in unassigned:
        if sym not in facts.listed and sym not in listed_elsewhere:
            problems.append(f"{sym} is listed on no account")
    mine = hedge_symbols_for(config, a, facts.listed)
    if Mode(a.mode) is Mode.PAPER and uses_simulated_contracts(a):
        # ccxt lists the live contracts too, but the demo account trades only their stand-ins
        for sym in mine:
            twin = simulated_symbol(sym)
            if twin is not None:
                where = "listed" if twin in facts.listed else "not listed either"
                problems.append(f"{sym} is a live contract, which {a.exchange}'s demo trading does not trade; "
                                f"name its simulated twin {twin} ({where}) with account = {a.name!r}, "
                                "or give the hedge the account it is meant for")
    for sym in mine:
        m = facts.markets.get(sym) or {}
        if m.get("active") is False:
            problems.append(f"{sym} is not active (halted or delisted)")
        expiry = num(m.get("expiry"))
        if expiry is not None and expiry <= now_ms:
            problems.append(f"{sym} has expired; roll to a later contract in the sleeve's hedges")
    if problems:
        return CheckResult(HEDGES, False, "; ".join(dict.fromkeys(problems)) + "; fix the sleeve's hedges")
    if not mine:
        return CheckResult(HEDGES, None, "no configured hedge instrument trades on this account")
    return CheckResult(HEDGES, True, f"{_names(mine)} listed and active")


def min_order_notional(market: Mapping[str, Any], mark: float | None) -> float | None:
    """The smallest order the venue takes, in quote currency: min cost, else min amount × size × mark."""
    limits = market.get("limits") or {}
    cost = num((limits.get("cost") or {}).get("min"))
    amount = num((limits.get("amount") or {}).get("min"))
    size = num(market.get("contractSize")) or 1.0
    by_amount = None
    if amount and mark:
        by_amount = amount * size * (1.0 if market.get("inverse") else mark)
    values = [v for v in (cost, by_amount) if v]
    return max(values) if values else None


@dataclass(frozen=True)
class PlannedLeg:
    """A leg as the min-notional check sees it (from console.core.overlay's Leg or SkippedLeg)."""

    symbol: str
    notional: float
    skipped_reason: str | None = None


def check_min_notional(facts: AccountFacts, symbols: list[str], legs: list[PlannedLeg] | None,
                       marks: Mapping[str, float], min_trade: float, quote: str) -> CheckResult:
    if not symbols:
        return CheckResult(MIN_NOTIONAL, None, "no hedge instrument on this account")
    mins = {s: min_order_notional(facts.markets[s], marks.get(s)) for s in symbols if s in facts.markets}
    floor = ", ".join(f"{s} {v:,.2f}" for s, v in sorted(mins.items()) if v is not None) or "not reported"
    if legs is None:
        above = {s: v for s, v in mins.items() if v is not None and v > min_trade}
        if above:
            return CheckResult(MIN_NOTIONAL, None, f"venue minimum above the config's min trade of {min_trade:,.2f} "
                                                   f"{quote}: {_names(f'{s} {v:,.2f}' for s, v in above.items())}")
        return CheckResult(MIN_NOTIONAL, None, f"no plan to compare (minimum order: {floor} {quote})")
    too_small = [leg for leg in legs if leg.skipped_reason and "minimum" in leg.skipped_reason]
    for leg in legs:
        m = mins.get(leg.symbol)
        if leg.skipped_reason is None and m is not None and leg.notional < m - 1e-9:
            too_small.append(PlannedLeg(leg.symbol, leg.notional, f"{leg.notional:,.2f} < minimum {m:,.2f}"))
    if too_small:
        return CheckResult(MIN_NOTIONAL, False, "planned legs below the venue minimum: "
                                                + "; ".join(f"{leg.symbol}: {leg.skipped_reason}" for leg in too_small))
    sent = [leg for leg in legs if leg.skipped_reason is None]
    if not sent:
        return CheckResult(MIN_NOTIONAL, True, f"no leg planned now (minimum order: {floor} {quote})")
    smallest = min(sent, key=lambda leg: leg.notional)
    return CheckResult(MIN_NOTIONAL, True, f"{len(sent)} planned leg{'s' if len(sent) != 1 else ''}, smallest "
                                           f"{smallest.notional:,.2f} {quote} on {smallest.symbol} (minimum order: "
                                           f"{floor} {quote})")


def judge_account(
    config: Config,
    facts: AccountFacts,
    *,
    now_ms: int,
    legs: list[PlannedLeg] | None = None,
    marks: Mapping[str, float] | None = None,
    listed_elsewhere: frozenset[str] = frozenset(),
    capabilities: tuple[Capability, ...] = (),
) -> AccountChecks:
    """The checklist for one account, from its facts. Pure."""
    a = facts.account
    results: list[CheckResult] = [check_venue(facts)]
    gate = check_live_gate(a)
    if gate is not None:
        results.append(gate)
    if facts.setup_error is None and facts.venue_problem is None:
        results.append(check_auth(facts))
        if facts.auth_error is None:
            results.append(check_can_trade(facts))
            if a.holds_contracts:
                symbols = hedge_symbols_for(config, a, facts.listed)
                results += [
                    check_position_mode(facts),
                    check_margin_mode(facts, symbols),
                    check_leverage(facts, symbols, config.limits.max_leverage),
                    check_hedges(facts, config, now_ms, listed_elsewhere),
                    check_min_notional(facts, symbols, legs, marks or {}, config.limits.min_trade_notional,
                                       config.portfolio.quote),
                ]
    return AccountChecks(a.name, a.exchange, Mode(a.mode), tuple(results), capabilities)


def planned_legs(config: Config, snap: Snapshot) -> dict[str, list[PlannedLeg]] | None:
    """The overlay legs (and legs skipped) the plan would send now, per account; None if no plan.

    Scope WARN: a leg that is too small should show before the sleeve breaches.
    """
    from console.core.allocation import compute_allocation
    from console.core.config import Goal
    from console.core.overlay import Scope, plan_overlay

    alloc = compute_allocation(config, snap)
    if alloc.nav <= 0 or alloc.missing_prices:
        return None
    plan = plan_overlay(config, snap, alloc, Goal.TARGET, Scope.WARN)
    out: dict[str, list[PlannedLeg]] = {a.name: [] for a in config.accounts}
    for leg in plan.legs:
        out.setdefault(leg.account, []).append(PlannedLeg(leg.symbol, leg.notional))
    for sk in plan.skipped:
        if sk.account is not None and sk.symbol is not None:
            out.setdefault(sk.account, []).append(PlannedLeg(sk.symbol, sk.notional, sk.reason))
    return out


def marks_of(state: AccountState | None) -> dict[str, float]:
    from console.core.allocation import ticker_price

    if state is None:
        return {}
    out = {s: p for s, t in state.tickers.items() if (p := ticker_price(t))}
    for s, fr in state.funding_rates.items():
        if num(fr.get("markPrice")):
            out.setdefault(s, float(fr["markPrice"]))
    return out


# ------------------------------------------------------------------------------ orchestration


def read_only_account(account: Account) -> Account:
    """The account as preflight and `keys test` open it: they only read (balance, positions,
    settings) and never place an order, so a live account may be read before the live gate
    is passed. Trading goes through the gate (console.venues.modes.live_gate) every time."""
    return account.model_copy(update={"live": True}) if Mode(account.mode) is Mode.LIVE else account


async def run_preflight(
    config: Config,
    credentials: Mapping[str, Mapping[str, str] | None],
    *,
    accounts: Iterable[str] | None = None,
    emulator_url: str | None = None,
    setup_errors: Mapping[str, str] | None = None,
    now_ms: int | None = None,
) -> list[AccountChecks]:
    """The checklist of each account (all, or those named), in config order.

    ``credentials`` per account (None where there are none: ``setup_errors`` says why).
    The overlay plan for the min-notional check is built only when every configured account
    was read, since a partial snapshot misstates NAV.
    """
    from console.core.clock import wall_ms
    from console.venues.venue import Venue, make_exchange

    chosen = list(accounts) if accounts is not None else [a.name for a in config.accounts]
    setup_errors = dict(setup_errors or {})
    to_read = [a for a in config.accounts if a.name in chosen]
    venues: dict[str, Venue] = {}
    for a in to_read:
        if a.name in setup_errors:
            continue
        try:
            ex = make_exchange(read_only_account(a), credentials.get(a.name), emulator_url=emulator_url,
                               live_allowed=True)
        except Exception as exc:  # no paper venue, bad exchange id: reported on the checklist
            setup_errors[a.name] = redact(str(exc))
            continue
        venues[a.name] = Venue(config, a, ex)
    try:
        facts: dict[str, AccountFacts] = {}

        async def one(name: str, v: Venue) -> None:
            problem = mode_problem(v.exchange, v.account.mode)
            if problem is None:
                await v.refresh()  # markets, balance, positions, tickers: the plan's snapshot
            facts[name] = await fetch_facts(v.exchange, v.account, config)

        await asyncio.gather(*(one(n, v) for n, v in venues.items()))
    finally:
        await asyncio.gather(*(v.close() for v in venues.values()), return_exceptions=True)

    now = now_ms if now_ms is not None else wall_ms()
    states = {n: v.state for n, v in venues.items() if "balance" in v.state.fetched_at}
    legs_by_account: dict[str, list[PlannedLeg]] | None = None
    if set(states) == {a.name for a in config.accounts}:
        legs_by_account = planned_legs(config, Snapshot(timestamp=now, accounts=states))
    out: list[AccountChecks] = []
    for a in config.accounts:
        if a.name not in chosen:
            continue
        f = facts.get(a.name) or AccountFacts(a, None, setup_error=setup_errors.get(a.name, "not read"))
        elsewhere = frozenset().union(*(g.listed for n, g in facts.items() if n != a.name))
        out.append(judge_account(
            config, f, now_ms=now,
            legs=None if legs_by_account is None else legs_by_account.get(a.name, []),
            marks=marks_of(states.get(a.name)), listed_elsewhere=elsewhere,
            capabilities=paper_matrix(a),
        ))
    return out
