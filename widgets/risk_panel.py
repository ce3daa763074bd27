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


def price(x: float) -> str:
    """A price with decimals by magnitude: 185,951 · 3,412 · 761.75 · 94.10 · 1.234 · 0.04321."""
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:,.2f}"
    if a >= 1:
        return f"{x:.3f}"
    return f"{x:.4g}"


def distance_style(d: float | None) -> str:
    """How close a liquidation is: red under 10 %, yellow under 25 %, plain (calm) beyond."""
    if d is None:
        return "dim"
    return "bold red" if abs(d) < 0.10 else "yellow" if abs(d) < 0.25 else ""


def _table(*cols: str) -> Table:
    t = Table(box=None, pad_edge=False, expand=True, show_edge=False, header_style="bold dim")
    for c in cols:
        t.add_column(c, justify="left" if c in ("account", "symbol", "side") else "right", no_wrap=True)
    return t


def short_symbol(symbol: str) -> str:
    """BTC/USDT:USDT -> BTC-PERP, BTC/USDT:USDT-261225 -> BTC-261225 (the panel is narrow)."""
    base, _, rest = symbol.partition("/")
    _, _, settle = rest.partition(":")
    if "-" in settle:
        return f"{base}-{settle.split('-', 1)[1]}"
    return f"{base}-PERP" if settle else symbol


SIDE_COLUMN_MIN_WIDTH = 42  # narrower than this, the notional's sign says the side


def render_risk(view: RiskView, now_ms: int, max_margin_ratio: float, width: int | None = None) -> Group:
    """``width``: the panel's content width; a narrow panel drops the side column rather than
    cut a figure."""
    accts = _table("account", "margin", "limit")
    for a in view.accounts:
        if a.margin_ratio is None:
            accts.add_row(a.account, Text("—", style="dim"), "")
            continue
        style = ("bold red" if a.margin_ratio >= max_margin_ratio
                 else "yellow" if a.margin_ratio >= MARGIN_WARN_SHARE * max_margin_ratio else "green")
        accts.add_row(a.account, Text(pct(a.margin_ratio), style=style), pct(max_margin_ratio))
    sides = width is None or width >= SIDE_COLUMN_MIN_WIDTH
    pos = _table("symbol", "side", "notional", "liq", "dist") if sides else _table("symbol", "notional", "liq", "dist")
    for p in view.positions:
        dist = p.liq_distance
        pos.add_row(short_symbol(p.symbol), *((p.side,) if sides else ()), f"{p.notional:,.0f}",
                    price(p.liquidation_price) if p.liquidation_price else Text("—", style="dim"),
                    Text(pct(dist, signed=True), style=distance_style(dist)))
    if not view.positions:
        pos.add_row(Text("no open positions", style="dim"), *([""] * (len(pos.columns) - 1)))
    fund = _table("symbol", "rate", "next", "/yr")
    for f in view.funding:
        apr = f.annualised
        fund.add_row(short_symbol(f.symbol), f"{f.rate * 100:+.4f}%", countdown(f.countdown_s(now_ms)),
                     Text(pct(apr, signed=True), style="yellow" if abs(apr) >= 0.5 else ""))
    parts: list = [Text("Margin", style="bold"), accts, Text("Positions", style="bold"), pos,
                   Text("Funding", style="bold"), fund]
    if view.basis:
        basis = _table("symbol", "basis", "/yr")
        for b in view.basis:
            basis.add_row(short_symbol(b.symbol), pct(b.info.basis, signed=True), pct(b.info.annualised, signed=True))
        parts += [Text("Basis", style="bold"), basis]
    return Group(*parts)


class RiskPanel(Static):
    _last: tuple[RiskView, int, float] | None = None

    def show(self, view: RiskView, now_ms: int, max_margin_ratio: float) -> None:
        self._last = (view, now_ms, max_margin_ratio)
        self.update(render_risk(view, now_ms, max_margin_ratio, self.content_region.width or None))

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)
