"""Allocation and overlay legs as rich tables and as plain JSON-able dicts (headless output)."""

from __future__ import annotations

import copy
import math
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from console.core.allocation import Allocation, SleeveRow
from console.core.config import Goal
from console.core.numbers import coin, money, pct, whole
from console.core.overlay import Leg, OverlayPlan, SkippedLeg
from widgets.styles import STATUS_STYLE


def needed_width(table: Table, con: Console) -> int:
    """Columns that cannot wrap at their widest, the others at their narrowest, with rules and
    padding: narrower than this, rich would have to cut a figure."""
    total = table._extra_width
    for c in table.columns:
        m = table._measure_column(con, con.options, c)
        total += m.maximum if c.no_wrap else m.minimum
    return total


def _without(table: Table, drop: set[str]) -> Table:
    t = copy.copy(table)
    t.columns = []
    for c in table.columns:
        if str(c.header) not in drop:
            c = copy.copy(c)
            c._index = len(t.columns)
            t.columns.append(c)
    return t


def fit(table: Table, con: Console | None, *, keep: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> Table:
    """Lay ``table`` out for ``con``'s width without cutting a figure.

    Right-aligned columns (figures) and the ``keep`` columns (symbols, names) never wrap, so
    rich folds the prose columns instead; when the bordered table still cannot fit, the vertical
    rules go (a header rule only), which buys three characters per column; past that the
    ``drop`` columns go, in order, and the caption says which (--json has them all).
    """
    for c in table.columns:
        if c.justify == "right" or str(c.header) in keep:
            c.no_wrap = True
        elif not c.no_wrap:
            c.overflow = "fold"
    if con is not None and needed_width(table, con) > con.width:
        table.box = box.SIMPLE_HEAD
        table.show_edge = False
        table.pad_edge = False
        table.collapse_padding = True
    dropped: list[str] = []
    for name in drop:
        if con is None or needed_width(table, con) <= con.width:
            break
        dropped.append(name)
        table = _without(table, set(dropped))
    if dropped and con is not None:
        table.caption = f"{', '.join(dropped)} not shown at {con.width} columns; widen the terminal or use --json"
        table.caption_justify = "left"
    return table


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN or ±∞ float as null, so `--json` is always valid JSON (Python's
    json writes NaN and Infinity, which no JSON parser reads) and no such figure passes as one."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def row_dict(r: SleeveRow, goal: Goal) -> dict[str, Any]:
    return {
        "sleeve": r.name,
        "assets": [a.asset for a in r.assets],
        "spot": r.spot_value,
        "futures": r.futures_notional,
        "net": r.net,
        "weight": r.weight,
        "target": r.target,
        "band": [r.band_lo, r.band_hi] if r.target is not None else None,
        "drift": r.drift,
        "status": r.status.value,
        "delta_target": r.delta_target,
        "delta_band": r.delta_band,
        "delta": r.delta(goal),
        "cash": r.is_cash,
    }


def leg_dict(leg: Leg) -> dict[str, Any]:
    return {
        "sleeve": leg.sleeve,
        "account": leg.account,
        "symbol": leg.symbol,
        "side": leg.side,
        "contracts": leg.contracts,
        "notional": round(leg.notional, 8),
        "price": leg.price,
        "reduce_only": leg.reduce_only,
        "purpose": leg.purpose,
    }


def skipped_dict(s: SkippedLeg) -> dict[str, Any]:
    return {"sleeve": s.sleeve, "account": s.account, "symbol": s.symbol, "side": s.side,
            "notional": s.notional, "reason": s.reason}


def plan_dict(alloc: Allocation, plan: OverlayPlan) -> dict[str, Any]:
    return {
        "nav": alloc.nav,
        "quote": alloc.quote,
        "timestamp": alloc.timestamp,
        "goal": plan.goal.value,
        "unrealized_pnl": alloc.upnl,
        "missing_prices": list(alloc.missing_prices),
        "rows": [row_dict(r, plan.goal) for r in alloc.rows],
        "legs": [leg_dict(leg) for leg in plan.legs],
        "skipped": [skipped_dict(s) for s in plan.skipped],
    }


def allocation_table(alloc: Allocation, goal: Goal, con: Console | None = None) -> Table:
    t = Table(title=f"NAV {money(alloc.nav)} {alloc.quote}", title_justify="left", expand=False)
    for col in ("sleeve", "spot", "futures", "net", "weight", "target", "band", "drift", "status",
                f"Δ to {goal.value}"):
        t.add_column(col, justify="left" if col in ("sleeve", "status") else "right")
    for r in alloc.rows:
        band = f"{pct(r.band_lo)}–{pct(r.band_hi)}" if r.target is not None else "—"
        t.add_row(
            r.name, money(r.spot_value), money(r.futures_notional), money(r.net), pct(r.weight),
            pct(r.target), band, pct(r.drift, signed=True), Text(r.status.value, style=STATUS_STYLE[r.status]),
            money(r.delta(goal)) if r.configured and not r.is_cash else "—",
        )
    return fit(t, con, keep=("sleeve", "status"), drop=("spot", "futures"))


def legs_table(plan: OverlayPlan, con: Console | None = None) -> Table:
    t = Table(title="Overlay legs", title_justify="left")
    for col in ("sleeve", "account", "symbol", "side", "contracts", "notional", "reduce-only", "purpose"):
        t.add_column(col, justify="right" if col in ("contracts", "notional") else "left")
    for leg in plan.legs:
        t.add_row(leg.sleeve, leg.account, leg.symbol,
                  Text(leg.side, style="red" if leg.side == "sell" else "green"),
                  f"{leg.contracts:g}", money(leg.notional), "yes" if leg.reduce_only else "no", leg.purpose)
    for s in plan.skipped:
        t.add_row(s.sleeve, s.account or "—", s.symbol or "—", s.side, "—", money(s.notional), "—",
                  Text(f"skipped: {s.reason}", style="yellow"))
    return fit(t, con, keep=("sleeve", "account", "symbol", "side"))


# ---------------------------------------------------------------- planner previews (issue #4)


def _m(x: float | None) -> str:
    return "—" if x is None else money(x)


def _ratio(x: float | None) -> str:
    return "∞" if x is None else f"{x * 100:.2f}%"


def preview_tables(pv: Any, *, what_if: bool = False, stress: bool = False,
                   con: Console | None = None) -> list[Any]:
    """Rich renderables for one ``console.core.preview.Preview``: legs and their costs, totals, the
    spot alternative, verdict and checks; margin before/after and liquidation prices with
    ``what_if``; the stress table with ``stress``. With ``con`` the tables are laid out for
    its width (see ``fit``)."""
    from datetime import UTC, datetime

    t = pv.ticket
    out: list[Any] = []
    head = Text(f"{t.kind.value.upper()}  ", style="bold")
    head.append(t.note)
    out.append(head)
    cols = ("#", "account", "symbol", "side", "contracts", "notional", "kind", "fee", "slippage",
            "funding/basis", "roll", "total")
    rows: list[tuple[Any, ...]] = []
    for lc in pv.legs:
        def cell(name: str, lc: Any = lc) -> str:
            it = lc.item(name)
            if it is None:
                return "—"
            return "n/a" if not it.known else money(it.amount)
        carry = cell("basis") if lc.instrument == "dated" else cell("funding")
        rows.append((str(lc.index + 1), lc.account, lc.symbol,
                     Text(lc.side + (" (reduce)" if lc.reduce_only else ""), style="red" if lc.side == "sell" else "green"),
                     f"{lc.contracts:g}", money(lc.notional), lc.instrument, cell("fee"), cell("slippage"), carry,
                     cell("roll"), money(lc.total)))
    tot = pv.totals
    rows.append(("", "", "total", "", "", money(sum(lc.notional for lc in pv.legs)), "", money(tot["fee"]),
                 money(tot["slippage"]), money(tot["funding"] + tot["basis"]), money(tot["roll"]),
                 Text(money(tot["total"]), style="bold")))

    def legs_table_of(title: str, idx: Any) -> Table:
        lt = Table(title=title, title_justify="left")
        for i in idx:
            lt.add_column(cols[i], justify="left" if cols[i] in ("account", "symbol", "side", "kind") else "right")
        for r in rows:
            lt.add_row(*(r[i] for i in idx))
        return fit(lt, con, keep=("account", "symbol", "side", "kind"))

    costs_title = f"costs over {pv.horizon_days:g} d (+ paid, − received)"
    legs = legs_table_of(f"Legs and {costs_title}", range(len(cols)))
    if con is not None and needed_width(legs, con) > con.width:
        # too narrow for one row per leg: the legs, then their costs, keyed by # and symbol
        out.append(legs_table_of("Legs", range(7)))
        out.append(legs_table_of(f"Leg {costs_title}", (0, 2, 7, 8, 9, 10, 11)))
    else:
        out.append(legs)
    why = Table(title="Why each figure", title_justify="left", show_header=False)
    why.add_column("item")
    why.add_column("reason")
    for i, r in enumerate(t.reasons):
        why.add_row(f"leg {i + 1}", r)
    for lc in pv.legs:
        for it in lc.items:
            why.add_row(f"leg {lc.index + 1} {it.name}", it.reason)
        if lc.funding is not None:
            nxt = (datetime.fromtimestamp(lc.funding.next_time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
                   if lc.funding.next_time_ms else "unknown")
            why.add_row(f"leg {lc.index + 1} next funding", f"{nxt}; rate {lc.funding.rate * 100:+.4f}% per "
                        f"{lc.funding.interval_hours:g} h = {lc.funding.annualised * 100:+.2f}%/yr")
    if pv.spot_alternative is not None:
        for it in pv.spot_alternative.items:
            why.add_row(f"spot alt. {it.name}", "n/a" if not it.known else f"{money(it.amount)}: {it.reason}")
        why.add_row("spot vs futures", pv.spot_alternative.reason)
    v = pv.verdict
    why.add_row("verdict", Text(v.reason, style="green" if v.worth_it else "bold yellow"))
    for w in t.warnings:
        why.add_row("warning", Text(w, style="yellow"))
    for a in pv.assumptions:
        why.add_row("assumption", Text(a, style="dim"))
    out.append(fit(why, con, keep=("item",)))
    if pv.checks:
        ch = Table(title="Pre-trade checks FAILED", title_justify="left", title_style="bold red")
        ch.add_column("check")
        ch.add_column("what is wrong")
        for c in pv.checks:
            ch.add_row(str(c.code), c.message)
        out.append(ch)
    else:
        out.append(Text("pre-trade checks: all pass", style="green"))
    if what_if:
        def lev(x: Any) -> str:
            return f"{x.leverage:.2f}x" if x.margin_balance > 0 else "∞"

        def ratio(x: Any) -> str:
            return _ratio(x.margin_ratio if x.margin_balance > 0 else None)

        for b, a in zip(pv.what_if.before, pv.what_if.after, strict=True):
            # one table per margin pool: a COIN-M pool's figures are coin, never merged with USD
            if a.inverse:
                title = f"What-if: account {a.account}, {a.settle} COIN-M pool (in {a.settle}) before → after the ticket"
            elif pv.what_if.several_pools(a.account):
                title = f"What-if: account {a.account}, {a.settle} pool before → after the ticket"
            else:
                title = f"What-if: account {a.account} before → after the ticket"
            acc = Table(title=title, title_justify="left")
            for col in ("", "before", "after"):
                acc.add_column(col, justify="right" if col else "left")
            amt = coin if a.inverse else money
            acc.add_row("wallet", amt(b.wallet), amt(a.wallet))
            acc.add_row("margin balance", amt(b.margin_balance), amt(a.margin_balance))
            acc.add_row("maintenance", amt(b.maintenance), amt(a.maintenance))
            acc.add_row("initial", amt(b.initial), amt(a.initial))
            acc.add_row("leverage", lev(b), lev(a))
            acc.add_row("margin ratio", ratio(b), ratio(a))
            out.append(fit(acc, con))
            if a.tiers_note:
                out.append(Text(f"tiers: {a.tiers_note}", style="dim"))
        pos = Table(title="What-if: liquidation price of every position after the ticket", title_justify="left")
        for col in ("account", "symbol", "side", "contracts", "mark", "entry", "liq. price", "distance", "mode", "how"):
            pos.add_column(col, justify="left" if col in ("account", "symbol", "side", "mode", "how") else "right")
        for a in pv.what_if.after:
            for p in a.positions:
                pos.add_row(p.account, p.symbol, p.side, f"{p.contracts:g}", f"{p.mark:,.6g}", f"{p.entry:,.6g}",
                            "none" if p.liquidation_price is None else f"{p.liquidation_price:,.2f}",
                            "—" if p.distance is None else f"{p.distance * 100:+.2f}%", p.margin_mode, p.reason)
        out.append(fit(pos, con, keep=("account", "symbol", "side", "mode"), drop=("how", "mode", "entry")))
    if stress and pv.what_if.stress:
        st = Table(title="Stress: each asset moved alone; margin ratio before → after the ticket, P&L after it",
                   title_justify="left")
        # two-line headers: the figures under them are narrow, and 80 columns must hold the table
        for col in ("asset", "move", "account", "ratio\nbefore", "ratio\nafter", "liquidated",
                    "futures\nP&L", "spot\nP&L", "net"):
            st.add_column(col, justify="left" if col in ("asset", "account", "liquidated") else "right")
        for r in pv.what_if.stress:
            st.add_row(r.asset, f"{r.move * 100:+.0f}%", pv.what_if.label(r.account, r.settle),
                       _ratio(r.margin_ratio_before),
                       _ratio(r.margin_ratio_after),
                       Text("LIQUIDATED" if r.liquidated_after else "no", style="bold red" if r.liquidated_after else ""),
                       whole(r.futures_pnl_after), whole(r.spot_pnl), whole(r.futures_pnl_after + r.spot_pnl))
        out.append(fit(st, con, keep=("asset", "account", "liquidated"), drop=("account",)))
    return out
