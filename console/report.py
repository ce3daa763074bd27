"""Allocation and overlay legs as rich tables and as plain JSON-able dicts (headless output)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from console.allocation import Allocation, SleeveRow, Status
from console.config import Goal
from console.overlay import Leg, OverlayPlan, SkippedLeg

STATUS_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.BREACH: "bold red", Status.NONE: "dim"}


def money(x: float) -> str:
    return f"{x:,.2f}"


def pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x * 100:+.2f}%" if signed else f"{x * 100:.2f}%"


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


def allocation_table(alloc: Allocation, goal: Goal) -> Table:
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
    return t


def legs_table(plan: OverlayPlan) -> Table:
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
    return t
