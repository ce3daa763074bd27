"""A Preview as the trader reads it: costs per leg and in total, the spot alternative, the
verdict, margin ratio before → after, liquidation distances after, stress, checks, warnings.

Pure rendering of ``console.core.preview.Preview``: no figure is computed here.
"""

from __future__ import annotations

import math

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.core.numbers import money, pct, signed_whole
from console.core.preview import Preview
from widgets.risk_panel import distance_style, price


def _t(*cols: str, title: str | None = None) -> Table:
    t = Table(box=None, pad_edge=False, expand=False, header_style="bold dim", title=title,
              title_justify="left", title_style="bold")
    for c in cols:
        t.add_column(c, justify="left" if c in ("leg", "account", "symbol", "asset", "side") else "right", no_wrap=True)
    return t


def _cost(amount: float, known: bool) -> Text:
    if not known:
        return Text("n/a", style="yellow")
    return Text(money(amount), style="green" if amount < 0 else "")


def costs_table(p: Preview) -> Table:
    t = _t("leg", "symbol", "fee", "slippage", "carry", "roll", "total", title=f"Costs over {p.horizon_days:g} d")
    for lc in p.legs:
        def cell(name: str, lc=lc) -> Text:
            it = lc.item(name)
            return Text("—", style="dim") if it is None else _cost(it.amount, it.known)

        carry = lc.item("funding") or lc.item("basis")
        t.add_row(str(lc.index + 1), lc.symbol, cell("fee"), cell("slippage"),
                  Text("—", style="dim") if carry is None else _cost(carry.amount, carry.known),
                  cell("roll"), Text(money(lc.total), style="bold"))
    tot = p.totals
    t.add_row(Text("Σ", style="bold"), "", money(tot.get("fee", 0.0)), money(tot.get("slippage", 0.0)),
              money(tot.get("funding", 0.0) + tot.get("basis", 0.0)), money(tot.get("roll", 0.0)),
              Text(money(p.total_cost), style="bold"))
    return t


def margin_table(p: Preview) -> Table:
    t = _t("account", "margin before", "after", "leverage after", title="Margin ratio (1.0 liquidates)")
    # one row per margin pool: an account with a USDⓈ-M and COIN-M pools shows each, by settle coin
    before = {(a.account, a.settle): a for a in p.what_if.before}
    for a in p.what_if.after:
        b = before.get((a.account, a.settle))
        t.add_row(p.what_if.label(a.account, a.settle), pct(b.margin_ratio) if b else "—",
                  Text(pct(a.margin_ratio), style="bold"), f"{a.leverage:.2f}x")
    return t


def liquidation_table(p: Preview) -> Table:
    t = _t("symbol", "side", "notional", "liq after", "distance", title="Positions after")
    for a in p.what_if.after:
        for pos in a.positions:
            d = pos.distance
            t.add_row(pos.symbol, pos.side, money(pos.notional),
                      price(pos.liquidation_price) if pos.liquidation_price else Text("—", style="dim"),
                      Text(pct(d, signed=True), style=distance_style(d)))
    return t


def _pnl(x: float) -> Text:
    r = round(x) if math.isfinite(x) else x
    return Text(signed_whole(x), style="red" if r < 0 else "green" if r > 0 else "dim")


def stress_table(p: Preview) -> Table | None:
    """Per asset and move: the futures account's margin ratio after the ticket (or ✗ liquidated),
    its futures P&L and, beside it, the spot holding's gain or loss on the same move."""
    if not p.what_if.stress:
        return None
    t = _t("asset", "move", "margin after", "futures P&L", "spot P&L",
           title="Stress after the ticket (✗ = liquidated)")
    rows = sorted(p.what_if.stress, key=lambda s: (s.asset, s.account, s.settle, s.move))
    last = None
    for s in rows:
        group = (s.asset, s.account, s.settle)
        label = f"{s.asset} ({p.what_if.label(s.account, s.settle)})" if group != last else ""
        last = group
        margin = Text("✗ liq", style="bold red") if s.liquidated_after else Text(
            pct(s.margin_ratio_after) if s.margin_ratio_after is not None else "∞")
        t.add_row(label, Text(f"{s.move * 100:+.0f}%", style="bold"), margin, _pnl(s.futures_pnl_after),
                  _pnl(s.spot_pnl))
    return t


def findings(p: Preview, *, assumptions: bool = True) -> Group:
    lines: list[RenderableType] = []
    v = p.verdict
    lines.append(Text.assemble(("✓ " if v.worth_it else "✗ ", "bold green" if v.worth_it else "bold yellow"),
                               (v.reason, "")))
    if p.spot_alternative is not None:
        lines.append(Text(f"spot alternative: {p.spot_alternative.reason}", style="dim"))
    for c in p.checks:
        where = f" (leg {c.leg + 1})" if c.leg is not None else ""
        lines.append(Text(f"✗ {c.code}{where}: {c.message}", style="bold red"))
    for w in p.ticket.warnings:
        lines.append(Text(f"! {w}", style="yellow"))
    for u in p.unknown_costs:
        lines.append(Text(f"? not priced: {u}", style="yellow"))
    if assumptions:
        for a in p.assumptions:
            lines.append(Text(f"· {a}", style="dim"))
    return Group(*lines)


def render_confirm(p: Preview) -> Group:
    """The modal's order: warnings and verdict first, then costs beside margin, then the
    positions after, stress, and the assumptions last."""
    parts: list[RenderableType] = [findings(p, assumptions=False), Text(""), costs_table(p), Text(""),
                                   margin_table(p), Text(""), liquidation_table(p)]
    st = stress_table(p)
    if st is not None:
        parts += [Text(""), st]
    parts += [Text(""), *[Text(f"· {a}", style="dim") for a in p.assumptions]]
    return Group(*parts)


def render_preview(p: Preview, *, stress: bool = True) -> Group:
    parts: list[RenderableType] = [costs_table(p), Text(""), margin_table(p), Text(""), liquidation_table(p)]
    st = stress_table(p) if stress else None
    if st is not None:
        parts += [Text(""), st]
    parts += [Text(""), findings(p)]
    return Group(*parts)


class PreviewView(Static):
    DEFAULT_CSS = "PreviewView { width: 100%; }"
    def show(self, p: Preview | None, error: str | None = None) -> None:
        if error:
            self.update(Text(error, style="bold yellow"))
        elif p is None:
            self.update(Text("computing…", style="dim"))
        else:
            self.update(render_confirm(p))
