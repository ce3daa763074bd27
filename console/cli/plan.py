"""`rebal-tui plan`: the allocation table, the overlay legs, and the planner's tickets, headless.

Without planner flags it prints what it always did (allocation and legs) followed by the
tickets ``propose()`` makes, each previewed (costs, checks, verdict). ``--spread SELL/BUY``,
``--hedge SLEEVE``, ``--roll SLEEVE``, ``--proxy SLEEVE=SYMBOL`` and ``--beta CORE/SAT`` build
one ticket instead. ``--what-if`` adds margin before/after and liquidation prices, ``--stress``
the ±10/20/30 % table. Venue data the state file lacks comes from ``--books``, ``--tiers``,
``--fees`` and ``--ohlcv`` (JSON files of ccxt unified structures keyed by symbol).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from console.cli.config import add_demo_flag, load_portfolio
from console.cli.report import allocation_table, json_safe, legs_table, plan_dict, preview_tables
from console.core.allocation import compute_allocation
from console.core.clock import wall_ms
from console.core.config import Goal, Mode
from console.core.errors import UserError
from console.core.overlay import Scope, account_lots, plan_overlay
from console.core.snapshot import load_snapshot
from console.core.ticket import OrderStyle, OrderType

_HORIZON = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*([hdw]?)\s*$")


def parse_horizon(text: str) -> float:
    """'7d' → 7.0, '12h' → 0.5, '2w' → 14.0, a bare number is days."""
    m = _HORIZON.match(text or "")
    if not m:
        raise UserError(f"--horizon {text!r}: write a duration such as 7d, 36h or 2w")
    n, unit = float(m.group(1)), m.group(2) or "d"
    if n <= 0:  # the sign is matched only to say this, rather than "not a duration"
        raise UserError(f"--horizon {text.strip()}: the horizon must be positive, e.g. --horizon 7d (or 36h, 2w)")
    return n / 24 if unit == "h" else n * 7 if unit == "w" else n


def check_bps_flags(args: argparse.Namespace) -> None:
    """Refuse a negative (or not finite) --offset-bps / --max-cost-bps: a negative offset puts a
    limit on the aggressive side of mid, so it crosses (a post-only one is rejected)."""
    if not math.isfinite(args.offset_bps) or args.offset_bps < 0:
        raise UserError(f"--offset-bps {args.offset_bps:g}: an offset is on the passive side of mid; use 0 or more, "
                        "e.g. --offset-bps 2")
    if args.max_cost_bps is not None and (not math.isfinite(args.max_cost_bps) or args.max_cost_bps < 0):
        raise UserError(f"--max-cost-bps {args.max_cost_bps:g}: a cost ceiling cannot be negative; use 0 or more, "
                        "or leave it out for the config's limits.max_cost_bps")


# what each venue-data file holds per symbol: (JSON type, how the flag's help spells it)
_SHAPES: dict[str, tuple[type, str]] = {
    "--books": (dict, "a ccxt order book {bids, asks, timestamp}"),
    "--tiers": (list, "a list of ccxt leverage tiers"),
    "--fees": (dict, "a ccxt trading fee {maker, taker}"),
    "--ohlcv": (list, "a list of [ts, open, high, low, close, volume] rows"),
}


def _json_type(v: Any) -> str:
    return ("null" if v is None else "true/false" if isinstance(v, bool) else "a number" if isinstance(v, int | float)
            else "a string" if isinstance(v, str) else "a list" if isinstance(v, list) else "an object")


def _load_json(path: Path | None, what: str, flag: str | None = None, snap: Any = None) -> Any:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder; {flag or 'the flag'} wants a JSON file") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if flag in _SHAPES:
        kind, spelled = _SHAPES[flag]
        if not isinstance(data, dict):
            raise UserError(f"{flag} {path}: expected a JSON object keyed by symbol (or by account, then symbol), e.g. "
                            f'{{"BTC/USDT:USDT": ...}}, each value {spelled}; got {_json_type(data)}')
        # venue data may be keyed by account, then symbol (two venues listing one contract)
        nested = snap is not None and bool(data) and all(k in snap.accounts and isinstance(v, dict)
                                                         for k, v in data.items())
        values = [(s, v) for by_symbol in data.values() for s, v in by_symbol.items()] if nested else data.items()
        for sym, v in values:
            if not isinstance(v, kind):
                raise UserError(f"{flag} {path}: {sym!r} must be {spelled}; got {_json_type(v)}")
        if snap is not None:
            from console.core.venuedata import by_account

            data = by_account(data, snap, f"{flag} {path}")
    return data


def _now_ms(text: str | None, snap: Any, demo: bool) -> int:
    """--now: epoch ms, 'snapshot', or (default) the wall clock; a demo-only state is judged at its
    own time, since the emulator is not the market and nothing it quotes can go stale."""
    if text == "snapshot" or (text is None and demo):
        return int(snap.timestamp)
    if text is None:
        return wall_ms()
    try:
        return int(text)
    except ValueError:
        pass
    try:  # an ISO instant, as `journal --since` and `emulator --start` take; UTC unless it says otherwise
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now {text!r}: write epoch milliseconds (e.g. 1795262400000), an ISO instant "
                        "(2026-11-21T12:00:00Z) or 'snapshot'") from None
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp() * 1000)


def _check_accounts(cfg: Any, snap: Any, state: Path) -> None:
    """Refuse a state file taken with another config: its NAV and legs would be wrong."""
    if not cfg.accounts:
        return
    want = {a.name for a in cfg.accounts}
    have = set(snap.accounts)
    if want == have:
        return
    parts = []
    if want - have:
        parts.append(f"lacks account(s) {', '.join(sorted(want - have))} the config names")
    if have - want:
        parts.append(f"has account(s) {', '.join(sorted(have - want))} the config does not name")
    raise UserError(f"{state}: the state {' and '.join(parts)}; take a fresh one with this config "
                    f"(rebal-tui snapshot --out {state}) or pass the --config it was taken with")


def _pair(text: str, flag: str) -> tuple[str, str]:
    a, sep, b = text.partition("/")
    if not sep or not a or not b:
        raise UserError(f"{flag} {text!r}: write two sleeve names as A/B, e.g. BTC/ETH")
    return a, b


def _tickets(args: argparse.Namespace, cfg: Any, snap: Any, alloc: Any, goal: Goal, horizon: float,
             books: Any, fees: Any, ohlcv: Any, now_ms: int, style: OrderStyle) -> list[Any]:
    from console.core import planner

    kw = {"goal": goal, "horizon_days": horizon, "books": books, "alloc": alloc, "now_ms": now_ms,
          "trading_fees": fees, "style": style}
    if args.spread:
        sell, buy = _pair(args.spread, "--spread")
        return [planner.build_spread(cfg, snap, sell, buy, **kw)]
    if args.hedge:
        return [planner.build_hedge(cfg, snap, args.hedge, **kw)]
    if args.roll:
        kw.pop("goal")
        return [planner.build_roll(cfg, snap, args.roll, to_symbol=args.roll_to, **kw)]
    if args.proxy:
        sleeve, sep, sym = args.proxy.partition("=")
        if not sep:
            raise UserError(f"--proxy {args.proxy!r}: write SLEEVE=SYMBOL, e.g. ALTS=SOL/USDT:USDT")
        if ohlcv is None:
            raise UserError("--proxy needs --ohlcv PATH (closes of the sleeve's assets and the proxy)")
        return [planner.build_proxy_hedge(cfg, snap, sleeve, sym, ohlcv=ohlcv, lookback=args.lookback, **kw)]
    if args.beta:
        core, sat = _pair(args.beta, "--beta")
        if ohlcv is None:
            raise UserError("--beta needs --ohlcv PATH (closes of the core and the satellite)")
        kw.pop("goal")
        return [planner.build_beta_neutral(cfg, snap, core, sat, ohlcv=ohlcv, lookback=args.lookback, **kw)]
    return planner.propose(cfg, snap, scope=Scope(args.scope), **kw)


def cmd_plan(args: argparse.Namespace) -> int:
    if args.state is None:
        raise UserError("plan needs --state PATH (a state.json from `rebal-tui snapshot --out PATH`)")
    cfg, _ = load_portfolio(args)
    if args.lookback < 2:
        raise UserError(f"--lookback {args.lookback}: beta needs at least 2 returns; the default is 30")
    check_bps_flags(args)
    snap = load_snapshot(args.state)
    _check_accounts(cfg, snap, args.state)
    alloc = compute_allocation(cfg, snap)
    if alloc.missing_prices:
        raise UserError(
            f"{args.state}: no price for {', '.join(alloc.missing_prices)}; the state needs a ticker "
            f"such as {alloc.missing_prices[0]}/{cfg.portfolio.quote} to value it"
        )
    if alloc.nav <= 0:
        raise UserError(f"{args.state}: the portfolio's NAV is {alloc.nav:,.2f}; nothing to weigh")
    goal = Goal(args.to)
    plan = plan_overlay(cfg, snap, alloc, goal, Scope(args.scope))

    from console.core.gcpause import gc_paused
    from console.core.orderstyle import style_ticket
    from console.core.preview import preview

    horizon = parse_horizon(args.horizon)
    # venue data as account → symbol → data: each leg is priced on its own venue's
    books = _load_json(args.books, "order books", "--books", snap)
    tiers = _load_json(args.tiers, "leverage tiers", "--tiers", snap)
    fees = _load_json(args.fees, "trading fees", "--fees", snap)
    ohlcv = _load_json(args.ohlcv, "OHLCV", "--ohlcv")
    demo = bool(cfg.accounts) and all(a.mode is Mode.DEMO for a in cfg.accounts)
    now_ms = _now_ms(args.now, snap, demo)
    try:
        style = OrderStyle(OrderType(args.style), args.offset_bps, args.slices, args.over)
    except ValueError as exc:
        raise UserError(f"order style: {exc}; e.g. --slices 4 --over 20") from None
    from pydantic import ValidationError

    try:
        tickets = _tickets(args, cfg, snap, alloc, goal, horizon, books, fees, ohlcv, now_ms, style)
    except ValidationError as exc:  # a symbol typed on the command line (--roll-to, --proxy)
        msg = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
        flag = "--roll-to" if args.roll_to else "--proxy" if args.proxy else "a symbol"
        raise UserError(f"{flag}: {msg}") from None
    lots = account_lots(snap)
    previews = []
    with gc_paused():  # one pure pass over hundreds of tickets: see console.core.gcpause
        for t in tickets:
            if t.legs and style != OrderStyle():
                t = style_ticket(t, style, snap, lots, books)
            previews.append(preview(cfg, snap, t, books=books, tiers=tiers, horizon_days=horizon, now_ms=now_ms,
                                    trading_fees=fees, max_cost_bps=args.max_cost_bps, stress=args.stress,
                                    alloc=alloc))
    stale = sorted({c.message for pv in previews for c in pv.checks if str(c.code) == "data_age"})
    if stale:  # on stderr, so that --json stays parseable
        age = (now_ms - snap.timestamp) / 1000
        print(f"rebal-tui: warning: {args.state} is {age:,.0f} s old, over limits.max_data_age_s = "
              f"{cfg.limits.max_data_age_s:g} s: every ticket fails the data-age check; take a fresh snapshot",
              file=sys.stderr)
    if args.json:
        out = plan_dict(alloc, plan)
        out["horizon_days"] = horizon
        out["tickets"] = []
        for pv in previews:
            d = pv.to_dict()
            if not args.what_if:
                d["what_if"] = {k: v for k, v in d["what_if"].items() if k == "stress"}
            if not args.stress:
                d["what_if"].pop("stress", None)
            d["reasons"] = list(pv.ticket.reasons)
            out["tickets"].append(d)
        json.dump(json_safe(out), sys.stdout, indent=2, default=str, allow_nan=False)
        sys.stdout.write("\n")
        for hint in cli_hints(previews, books=books, tiers=tiers):  # on stderr: the JSON stays as it was
            print(f"rebal-tui: hint: {hint}", file=sys.stderr)
        return 0
    # markup off: sleeve, account and asset names come from the user's files ("[/]" is a name
    # here, not a closing tag); the tables style with Text, never with markup strings
    con = Console(markup=False)
    con.print(allocation_table(alloc, goal, con))
    if plan.legs or plan.skipped:
        con.print(legs_table(plan, con))
    else:
        con.print(f"no overlay legs: no sleeve in scope '{args.scope}' needs one")
    if not previews:
        con.print("no tickets proposed")
    for pv in previews:
        con.rule()
        for r in preview_tables(pv, what_if=args.what_if, stress=args.stress, con=con):
            con.print(r)
    for hint in cli_hints(previews, books=books, tiers=tiers):
        con.print(f"hint: {hint}", style="dim")
    return 0


def cli_hints(previews: list[Any], *, books: Any, tiers: Any) -> list[str]:
    """What the command line can add to what the previews could not price (the previews'
    own texts are neutral: the console shows them too)."""
    from console.core.preview import TIERS_FALLBACK_NOTE

    out = []
    if not books and any(not it.known for pv in previews for lc in pv.legs for it in lc.items
                         if it.name == "slippage"):
        out.append("pass --books PATH (JSON {symbol: ccxt order book}) to walk the order book for slippage")
    if not tiers and any(TIERS_FALLBACK_NOTE in pv.assumptions for pv in previews):
        out.append("pass --tiers PATH (JSON {symbol: ccxt leverage tiers}) for the venue's own margin brackets")
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="print the allocation, the overlay legs and the planner's tickets")
    p.add_argument("--state", type=Path, metavar="PATH", help="state.json to plan on (from `rebal-tui snapshot --out PATH`)")
    p.add_argument("--to", choices=[g.value for g in Goal], default=Goal.TARGET.value,
                   help="size legs to the target or to the band edge (default: target)")
    p.add_argument("--scope", choices=[s.value for s in Scope], default=Scope.BREACH.value,
                   help="which sleeves get legs: breach (default), warn, or all")
    p.add_argument("--json", action="store_true", help="print rows, legs and tickets as JSON (warnings go to stderr)")
    add_demo_flag(p, "plan with the shipped demo portfolio (the config `snapshot --demo` uses)")
    g = p.add_argument_group("planner tickets (default: propose what the drift calls for)")
    g.add_argument("--spread", metavar="SELL/BUY", help="one spread: sell the overweight sleeve, buy the underweight")
    g.add_argument("--hedge", metavar="SLEEVE", help="one single-sleeve hedge to the goal")
    g.add_argument("--roll", metavar="SLEEVE", help="roll the sleeve's hedge perp → dated (or dated → perp)")
    g.add_argument("--roll-to", metavar="SYMBOL", help="with --roll: the contract to roll into")
    g.add_argument("--proxy", metavar="SLEEVE=SYMBOL", help="hedge a sleeve through a proxy sized by beta (needs --ohlcv)")
    g.add_argument("--beta", metavar="CORE/SAT", help="beta-neutral core/satellite ticket (needs --ohlcv)")
    g.add_argument("--lookback", type=int, default=30, metavar="N", help="daily returns used to estimate beta for --proxy / --beta (default 30, at least 2)")
    g.add_argument("--horizon", default="7d", metavar="DURATION", help="holding horizon for funding, basis and roll: 7d, 36h, 2w; a bare number is days (default 7d)")
    g.add_argument("--max-cost-bps", type=float, default=None, metavar="BPS",
                   help="'not worth it' past this cost, in basis points of the drift removed (default: the config's limits.max_cost_bps)")
    g.add_argument("--what-if", action="store_true", help="margin before/after and liquidation prices")
    g.add_argument("--stress", action="store_true", help="±10/20/30 %% stress table per asset")
    g.add_argument("--books", type=Path, metavar="PATH", help="JSON {symbol: ccxt order book}, or {account: {symbol: book}} when two venues list a symbol; without it slippage is n/a")
    g.add_argument("--tiers", type=Path, metavar="PATH",
                   help="JSON {symbol: ccxt leverage tiers}, or {account: {symbol: tiers}}; without it Binance's "
                        "BTCUSDT brackets (labelled)")
    g.add_argument("--fees", type=Path, metavar="PATH", help="JSON {symbol: ccxt trading fee}, or {account: {symbol: fee}}; without it the market's rates")
    g.add_argument("--ohlcv", type=Path, metavar="PATH", help="JSON {symbol: [[ts, o, h, l, c, v], ...]} for --proxy / --beta")
    g.add_argument("--now", metavar="WHEN",
                   help="the instant data ages are measured at: epoch ms, an ISO instant, or 'snapshot' for the "
                        "state's own time "
                        "(default: the wall clock; the state's time when every account is a demo one)")
    s = p.add_argument_group("order style")
    s.add_argument("--style", choices=[t.value for t in OrderType], default=OrderType.MARKET.value,
                   help="market (default), limit or post_only at mid ± --offset-bps")
    s.add_argument("--offset-bps", type=float, default=0.0, metavar="BPS", help="limit offset from mid in basis points, on the passive side (default 0)")
    s.add_argument("--slices", type=int, default=1, metavar="N", help="child orders per leg (default 1: one order)")
    s.add_argument("--over", type=float, default=0.0, metavar="MINUTES", help="minutes to spread the slices over (needed with --slices > 1; default 0)")
    p.set_defaults(func=cmd_plan)
