"""`rebal-tui flows`: quarter-end rebalancing flows of multi-asset funds, headless.

Where each input comes from (first that has it wins):

- fund basket: ``--funds PATH``, else the ILLUSTRATIVE sample (a note says so);
- equity/bond levels: ``--spx-return`` / ``--agg-return`` typed in, else ``--levels CSV``,
  else (sample basket only) the illustrative sample CSV;
- crypto price now: ``--prices``, else the snapshot (``--state``) or the venue
  (``--demo``: the emulator; ``--exchange ID``: a public ccxt venue), else the CSV;
- crypto close on each fund's last rebalance date: the venue's daily candle, else the CSV.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.core.errors import UserError

# Everything else is imported when the command runs: `rebal-tui` registers every subcommand
# at start-up, and the flows core (pydantic models, the holiday calendar) costs ~50 ms.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from console.core.flows import Basket, FlowsReport

ILLUSTRATIVE = "ILLUSTRATIVE sample: fictional funds and synthetic levels, not market data"


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date: {text!r} is not a date; write YYYY-MM-DD, e.g. 2026-11-20") from None


def _emulator_available() -> bool:
    try:
        from console.emulator import ccxt_client, start_emulator  # noqa: F401
    except ImportError:
        return False
    return True


async def _venue(args: argparse.Namespace, basket: Basket, date: dt.date | None,
                 need_now: bool) -> tuple[dict[str, dict[dt.date, float]], dict[str, float], str, dt.date | None]:
    """(base closes, prices now, source label, the venue's own date) from the emulator or a ccxt venue."""
    from ccxt.base.errors import BaseError

    from console.core.flows_data import venue_crypto_inputs

    handle = None
    if getattr(args, "demo", False):
        from console.emulator import ccxt_client, start_emulator

        # The demo's seed and scenario, its clock frozen at its start instant (speed 0) so
        # that two runs print the same figures; ccxt's own binance class talks to it.
        handle = start_emulator(speed=0.0)
        ex = ccxt_client(handle, "spot")
        label = "demo emulator"
    else:
        import ccxt.async_support as ccxt_async

        cls = getattr(ccxt_async, args.exchange, None)
        if cls is None:
            raise UserError(f"--exchange: ccxt has no exchange {args.exchange!r}; use an id such as binance")
        ex = cls({"enableRateLimit": True})
        label = f"{args.exchange} daily candles"
    try:
        venue_date = date
        if venue_date is None:  # the venue's today (the emulator's clock in demo mode)
            ms = await ex.fetch_time() if ex.has.get("fetchTime") else None
            venue_date = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date() if ms else dt.date.today()
        base, now = await venue_crypto_inputs(ex, basket, venue_date, need_now)
        return base, now, label, venue_date
    except BaseError as exc:
        raise UserError(
            f"{label}: could not fetch daily candles ({type(exc).__name__}: {str(exc)[:200]}); put BTC/ETH "
            "columns in the --levels CSV and pass --prices instead"
        ) from None
    finally:
        await ex.close()
        if handle is not None:
            handle.stop()


def build_report(args: argparse.Namespace, today: dt.date) -> tuple[FlowsReport, list[str], dict[str, str]]:
    """Load every input the flags name and compute the report; (report, notes, sources)."""
    import asyncio

    from console.core.flows import LevelTable, MarketData, compute_flows
    from console.core.flows_data import (
        SAMPLE_BASKET,
        SAMPLE_LEVELS,
        load_basket,
        load_levels,
        parse_prices,
        parse_return,
        prices_from_snapshot,
        sample_path,
    )

    notes: list[str] = []
    sources: dict[str, str] = {}
    sample = args.funds is None
    basket_path = sample_path(SAMPLE_BASKET) if sample else args.funds
    basket = load_basket(basket_path)
    sources["funds"] = str(basket_path)
    if sample or basket.illustrative:
        notes.append(f"{ILLUSTRATIVE}; pass --funds PATH (and --levels CSV) for the funds you track")

    if args.levels is not None:
        levels = load_levels(args.levels)
    elif sample:
        levels = load_levels(sample_path(SAMPLE_LEVELS))
    else:
        levels = LevelTable()
    sources["levels"] = levels.source or "(none)"

    date = _parse_date(args.date) if args.date else None
    typed: dict[str, float] = {}
    if args.spx_return is not None:
        typed["SPX"] = parse_return(args.spx_return, "--spx-return")
    if args.agg_return is not None:
        typed["AGG"] = parse_return(args.agg_return, "--agg-return")

    now: dict[str, float] = {}
    now_by: dict[str, str] = {}  # asset -> where its price now came from

    def take(prices: dict[str, float], label: str) -> None:
        for a, px in prices.items():
            if a not in now:
                now[a], now_by[a] = px, label

    if args.prices:
        typed_px = parse_prices(args.prices)
        stray = sorted(set(typed_px) - set(basket.crypto))
        if stray:
            raise UserError(f"--prices: {', '.join(stray)} is not a crypto asset of the basket "
                            f"{list(basket.crypto)}; remove it or add it to [basket] crypto")
        take(typed_px, "--prices")
    if args.state is not None:
        from console.core.snapshot import load_snapshot

        snap = load_snapshot(args.state)
        take(prices_from_snapshot(snap, basket.crypto, basket.crypto_quote), f"snapshot {args.state}")
        if date is None:  # the prices are the snapshot's, so is the date
            date = dt.datetime.fromtimestamp(snap.timestamp / 1000, dt.UTC).date()

    base: dict[str, dict[dt.date, float]] = {}
    base_src = ""
    base_src_label = ""  # the sources line: the venue, plus the CSV where the venue had no candle
    use_venue = bool(getattr(args, "demo", False) or args.exchange)
    if getattr(args, "demo", False) and not _emulator_available():
        use_venue = False  # a build without the emulator: say so rather than fail
        notes.append("the demo emulator is not in this build; crypto prices come from the levels CSV")
    if use_venue:
        need_now = any(a not in now for a in basket.crypto)
        base, venue_now, base_src, venue_date = asyncio.run(_venue(args, basket, date, need_now))
        date = date or venue_date
        take(venue_now, base_src)
        missing = sorted({f"{a} {f.last_rebalance}" for f in basket.funds for a in f.targets
                          if a in basket.crypto and f.last_rebalance not in base.get(a, {})})
        if missing and levels.source:
            base_src_label = f"{base_src} + {levels.source}"
        if missing:
            notes.append(f"{base_src} has no daily close for {', '.join(missing)}; "
                         f"those start levels come from {levels.source or 'nowhere (see the error)'}")

    if date is None:
        date = today
        last = levels.last_date()
        if args.levels is None and sample and last is not None and today > last:
            date = last  # the sample's synthetic levels end there; a later date would be stale
            notes.append(f"the sample levels end {last}; showing that date (pass --date to choose)")
    asked = bool(args.prices or args.state is not None or use_venue)
    from_csv = [a for a in basket.crypto if a not in now]
    if asked and from_csv:
        notes.append(f"no price now for {', '.join(from_csv)} from the flags given; using "
                     f"{levels.source or 'the levels (none given)'} as of {date}")
    now_src = " + ".join(dict.fromkeys(now_by.values()))
    sources["date"] = date.isoformat()
    sources["crypto_now"] = " + ".join(
        dict.fromkeys([*now_by.values(), *([levels.source] if from_csv and levels.source else [])])) or "(none)"
    sources["crypto_start"] = base_src_label or base_src or levels.source or "(none)"
    if typed:
        sources["typed_returns"] = ", ".join(f"{k} {v:+.2%}" for k, v in typed.items())

    data = MarketData(date=date, levels=levels, now_prices=now, now_source=now_src,
                      base_closes=base, base_source=base_src, typed_returns=typed)
    report = compute_flows(basket, data)
    return report, notes, sources


# --------------------------------------------------------------------------- output


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _compact(x: float) -> str:
    """Money in a narrow cell: 15.78M, 4.16bn (the JSON keeps every digit)."""
    a = abs(x)
    for div, unit in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:,.2f}{unit}"
    return f"{x:,.0f}"


def _pp(x: float) -> str:
    return f"{x * 100:+.2f}"


def _pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def _coins(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}"  # 0.01 BTC is far below these flows' precision


def _action_text(action: str) -> Text:
    from rich.text import Text

    style = {"must sell": "bold red", "must buy": "bold green"}.get(action, "dim")
    return Text(action, style=style)


def funds_table(report: FlowsReport) -> Table:
    """One header row per fund (name, AUM now, rule), then one row per crypto sleeve."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from console.core.flows import flow_rows

    cur = report.basket.currency
    t = Table(title=f"Fund flows on {report.date} ({cur}; drift in pp; positive flow = must sell)", title_justify="left",
              box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    t.add_column("fund / asset", overflow="fold", ratio=1, min_width=12)
    for col in ("AUM now", "target", "current", "drift", "flow", "coins", "action"):
        t.add_column(col, justify="left" if col == "action" else "right", no_wrap=True)
    by_fund = {f.fund.name: f for f in report.funds}
    prev = None
    for r in flow_rows(report):
        if r.fund != prev:
            prev = r.fund
            rule = r.rule if r.trades else f"{r.rule}, held"
            # the rule sits in the action column, so a long fund name folds one line less
            t.add_row(Text(r.fund, style="bold"), _compact(by_fund[r.fund].aum_now), "", "", "", "", "",
                      Text(rule, style="dim"))
        t.add_row(escape(f"  {r.asset}"), "", _pct(r.target), _pct(r.current), _pp(r.drift),
                  _compact(r.flow) if r.trades else Text(f"({_compact(r.would_flow)})", style="dim"),
                  _coins(r.coins) if r.trades else "—",
                  _action_text(r.action if r.trades else "held"))
    return t


def assets_table(report: FlowsReport) -> Table:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    cur = report.basket.currency
    t = Table(title="Aggregate flow by asset across the funds", title_justify="left", box=box.SIMPLE_HEAD,
              pad_edge=False, collapse_padding=True)
    for col in ("asset", f"net flow {cur}", "coins", "price", "funds", f"held back {cur}", "action"):
        t.add_column(col, justify="left" if col in ("asset", "action") else "right", no_wrap=True)
    for a in report.assets:
        t.add_row(escape(a.asset), _money(a.flow), _coins(a.coins),
                  f"{a.price:,.2f}" if a.price else "—", str(a.funds_trading),
                  _money(a.held_back) if a.held_back else "—", _action_text(a.action))
    return t


def divergence_table(report: FlowsReport) -> Table:
    from rich import box
    from rich.table import Table

    series: list[str] = []
    for d in report.divergence:
        series += [s for s in d.returns if s not in series and s != "CASH"]
    t = Table(title="Returns since the last rebalance; divergence = crypto − other, pp", title_justify="left",
              box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    t.add_column("since", no_wrap=True)
    t.add_column("funds", justify="right")
    for s in series:
        t.add_column(s, justify="right", no_wrap=True)
    t.add_column("divergence", overflow="fold")
    for d in report.divergence:
        gaps = ", ".join(f"{c}−{o} {g * 100:+.1f}" for c, o, g in d.gaps)
        t.add_row(d.since.isoformat(), str(len(d.funds)),
                  *[f"{d.returns[s] * 100:+.2f}%" if s in d.returns else "" for s in series], gaps)
    return t


def print_report(report: FlowsReport, notes: list[str], sources: dict[str, str], con: Console) -> None:
    from rich.markup import escape
    from rich.text import Text

    if report.basket.illustrative:
        con.print(f"[bold yellow]{ILLUSTRATIVE}[/]")
    # names, notes and paths come from the user's files: escaped, so "[/]" is shown, not parsed
    con.print(f"[bold]{escape(report.basket.name)}[/] — quarter-end rebalancing flows on {report.date}")
    con.print(funds_table(report))
    con.print(assets_table(report))
    con.print(divergence_table(report))
    style = "bold red" if report.window.inside else "bold"
    con.print(Text(f"Quarter end: {report.window.sentence()}", style=style))
    for f in report.funds:
        if f.fund.rule.value == "threshold":
            con.print(escape(f"  {f.fund.name}: {f.note}"))
    for n in (*report.notes, *notes):
        con.print(f"[dim]note: {escape(n)}[/]")
    con.print("[dim]sources: " + escape("; ".join(f"{k} = {v}" for k, v in sources.items())) + "[/]")


def cmd_flows(args: argparse.Namespace) -> int:
    from rich.console import Console

    from console.cli.report import json_safe
    from console.core.flows import report_dict

    report, notes, sources = build_report(args, dt.date.today())
    if args.json:
        out: dict[str, Any] = report_dict(report)
        out["notes"] = [*out["notes"], *notes]
        out["sources"] = sources
        json.dump(json_safe(out), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print_report(report, notes, sources, Console())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flows", help="estimate quarter-end rebalancing flows of multi-asset funds into crypto")
    p.add_argument("--funds", type=Path, metavar="PATH", help="fund basket TOML (default: the ILLUSTRATIVE sample)")
    p.add_argument("--levels", type=Path, metavar="CSV", help="CSV of daily levels: date,SPX,AGG[,BTC,ETH]")
    p.add_argument("--spx-return", metavar="R", help="S&P 500 return since the last rebalance (0.031 or 3.1%%)")
    p.add_argument("--agg-return", metavar="R", help="US aggregate bond return since the last rebalance")
    p.add_argument("--prices", metavar="A=P,...", help="crypto prices now, e.g. BTC=95000,ETH=3400")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="as-of date (default: today)")
    p.add_argument("--state", type=Path, metavar="PATH", help="state.json whose tickers give crypto prices now")
    p.add_argument("--exchange", metavar="ID", help="public ccxt venue for daily closes (e.g. binance)")
    # SUPPRESS: `rebal-tui --demo flows` and `rebal-tui flows --demo` both work
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                   help="crypto closes and prices from the demo emulator")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_flows)
