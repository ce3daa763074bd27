"""The risk panel: margin ratio per account, positions with liquidation distance, funding
(rate, countdown, annualised) and the basis of dated contracts. Renders a RiskView."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.alerts import MARGIN_WARN_SHARE, RiskView
from console.report import pct


def countdown(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


def _table(*cols: str) -> Table:
    t = Table(box=None, pad_edge=False, expand=True, show_edge=False, header_style="bold dim")
    for c in cols:
        t.add_column(c, justify="left" if c in ("account", "symbol", "side") else "right", no_wrap=True)
    return t


def _short(symbol: str) -> str:
    """BTC/USDT:USDT -> BTC-PERP, BTC/USDT:USDT-261225 -> BTC-261225 (the panel is narrow)."""
    base, _, rest = symbol.partition("/")
    _, _, settle = rest.partition(":")
    if "-" in settle:
        return f"{base}-{settle.split('-', 1)[1]}"
    return f"{base}-PERP" if settle else symbol


def render_risk(view: RiskView, now_ms: int, max_margin_ratio: float) -> Group:
    accts = _table("account", "margin", "limit")
    for a in view.accounts:
        if a.margin_ratio is None:
            accts.add_row(a.account, Text("—", style="dim"), "")
            continue
        style = ("bold red" if a.margin_ratio >= max_margin_ratio
                 else "yellow" if a.margin_ratio >= MARGIN_WARN_SHARE * max_margin_ratio else "green")
        accts.add_row(a.account, Text(pct(a.margin_ratio), style=style), pct(max_margin_ratio))
    pos = _table("symbol", "side", "notional", "liq", "dist")
    for p in view.positions:
        dist = p.liq_distance
        style = "dim" if dist is None else ("bold red" if abs(dist) < 0.10 else "yellow" if abs(dist) < 0.25 else "green")
        pos.add_row(_short(p.symbol), p.side, f"{p.notional:,.0f}",
                    f"{p.liquidation_price:,.6g}" if p.liquidation_price else "—",
                    Text(pct(dist, signed=True), style=style))
    if not view.positions:
        pos.add_row(Text("no open positions", style="dim"), "", "", "", "")
    fund = _table("symbol", "rate", "next", "/yr")
    for f in view.funding:
        apr = f.annualised
        fund.add_row(_short(f.symbol), f"{f.rate * 100:+.4f}%", countdown(f.countdown_s(now_ms)),
                     Text(pct(apr, signed=True), style="yellow" if abs(apr) >= 0.5 else ""))
    parts: list = [Text("Margin", style="bold"), accts, Text("Positions", style="bold"), pos,
                   Text("Funding", style="bold"), fund]
    if view.basis:
        basis = _table("symbol", "basis", "/yr")
        for b in view.basis:
            basis.add_row(_short(b.symbol), pct(b.info.basis, signed=True), pct(b.info.annualised, signed=True))
        parts += [Text("Basis", style="bold"), basis]
    return Group(*parts)


class RiskPanel(Static):
    def show(self, view: RiskView, now_ms: int, max_margin_ratio: float) -> None:
        self.update(render_risk(view, now_ms, max_margin_ratio))
