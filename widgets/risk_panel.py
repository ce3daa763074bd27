"""The risk panel: margin ratio per account, positions with liquidation distance, funding
(rate, countdown, annualised) and the basis of dated contracts. Renders a RiskView."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.core.alerts import MARGIN_WARN_SHARE, RiskView
from console.core.numbers import pct, whole


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


def _table(*cols: str, tight: bool = False) -> Table:
    """``tight``: one blank between columns instead of two (a narrow panel with a scrollbar)."""
    t = Table(box=None, pad_edge=False, expand=True, show_edge=False, header_style="bold dim",
              padding=(0, 1, 0, 0) if tight else (0, 1))
    for c in cols:
        t.add_column(c, justify="left" if c in ("account", "symbol", "side") else "right", no_wrap=True)
    return t


def short_symbol(symbol: str) -> str:
    """The compact name where a column is narrow, unique per contract as Binance names them:
    BTC/USDT:USDT -> BTC-PERP, BTC/USDT:USDT-261225 -> BTC-261225 (USDⓈ-M in USDT, the usual
    case, keeps the short form); any other margin names its pair: BTC/USD:BTC -> BTCUSD-PERP
    (COIN-M), BTC/USDC:USDC-261225 -> BTCUSDC-261225. Spot symbols are left as they are."""
    base, _, rest = symbol.partition("/")
    quote, _, settle = rest.partition(":")
    if not settle:
        return symbol
    margin, _, expiry = settle.partition("-")
    name = base if quote == margin == "USDT" else f"{base}{quote}"
    return f"{name}-{expiry or 'PERP'}"


def liq_text(state: str) -> Text:
    """A position without a liquidation price: "none" when no price move liquidates it (a
    COIN-M short backed by its own coin), "now" when it is under maintenance at every price,
    "—" when it is not known."""
    if state == "now":
        return Text("now", style="bold red")
    return Text("none" if state == "none" else "—", style="dim")


SIDE_COLUMN_MIN_WIDTH = 42  # narrower than this, the notional's sign says the side


def _shared_names(rows: Sequence[tuple[str, str]]) -> set[str]:
    """The short contract names more than one account's rows carry (BTC-PERP on two venues, at
    two rates, must not read as one contract)."""
    accounts: dict[str, set[str]] = {}
    for account, symbol in rows:
        accounts.setdefault(short_symbol(symbol), set()).add(account)
    return {name for name, accts in accounts.items() if len(accts) > 1}


def add_contract_rows(table: Table, rows: Sequence[tuple[str, str]], cells: Sequence[Sequence[Any]], *,
                      tight: bool) -> None:
    """One row per (account, symbol) with its ``cells``, named by the contract's short name. Where
    another account has a contract of the same name, the account is named too: beside the name,
    or (``tight``, no width to spare) as a dim line above its account's rows."""
    shared = _shared_names(rows)
    last = None
    for (account, symbol), row in zip(rows, cells, strict=True):
        name = short_symbol(symbol)
        label = Text(name)
        if shared and tight:
            if account != last:
                table.add_row(Text(account, style="dim italic"), *([""] * len(row)))
                last = account
        elif name in shared:
            label = Text.assemble(name, (f" {account}", "dim"))
        table.add_row(label, *row)


def render_risk(view: RiskView, now_ms: int, max_margin_ratio: float, width: int | None = None) -> Group:
    """``width``: the panel's content width; a narrow panel drops the side column rather than
    cut a figure."""
    sides = width is None or width >= SIDE_COLUMN_MIN_WIDTH
    tight = not sides  # the narrow panel: every cell counts
    accts = _table("account", "margin", "limit", tight=tight)
    for a in view.accounts:
        if a.margin_ratio is None:
            accts.add_row(a.account, Text("—", style="dim"), "")
            continue
        style = ("bold red" if a.margin_ratio >= max_margin_ratio
                 else "yellow" if a.margin_ratio >= MARGIN_WARN_SHARE * max_margin_ratio else "green")
        accts.add_row(a.account, Text(pct(a.margin_ratio), style=style), pct(max_margin_ratio))
    pos = _table("symbol", *(("side",) if sides else ()), "notional", "liq", "dist", tight=tight)
    add_contract_rows(pos, [(p.account, p.symbol) for p in view.positions],
                      [(*((p.side,) if sides else ()), whole(p.notional),
                        price(p.liquidation_price) if p.liquidation_price else liq_text(p.liq_state),
                        Text(pct(p.liq_distance, signed=True), style=distance_style(p.liq_distance)))
                       for p in view.positions], tight=tight)
    if not view.positions:
        pos.add_row(Text("no open positions", style="dim"), *([""] * (len(pos.columns) - 1)))
    fund = _table("symbol", "rate", "next", "/yr", tight=tight)
    add_contract_rows(fund, [(f.account, f.symbol) for f in view.funding],
                      [(f"{f.rate * 100:+.4f}%", countdown(f.countdown_s(now_ms)),
                        Text(pct(f.annualised, signed=True), style="yellow" if abs(f.annualised) >= 0.5 else ""))
                       for f in view.funding], tight=tight)
    parts: list = [Text("Margin", style="bold"), accts, Text("Positions", style="bold"), pos,
                   Text("Funding", style="bold"), fund]
    if view.basis:
        basis = _table("symbol", "basis", "/yr", tight=tight)
        add_contract_rows(basis, [(b.account, b.symbol) for b in view.basis],
                          [(pct(b.info.basis, signed=True), pct(b.info.annualised, signed=True)) for b in view.basis],
                          tight=tight)
        parts += [Text("Basis", style="bold"), basis]
    return Group(*parts)


class _RiskBody(Static):
    """The rendered tables. A scrollbar coming or going changes this width, not the panel's:
    render again for the width there is."""

    def on_resize(self) -> None:
        panel = self.parent
        if isinstance(panel, RiskPanel):
            panel.redraw()


class RiskPanel(VerticalScroll):
    """Scrolls: margin, positions, funding and basis together are taller than the panel on a
    short terminal (24 rows). Focusable (tab reaches it), so ↑/↓/pgup/pgdn/home/end scroll it.

    Used as ``RiskPanel(id="risk")`` with a ``border_title``: the border, title and padding
    are the container's, the rendered tables live in one Static inside it."""

    DEFAULT_CSS = """
    RiskPanel { scrollbar-size-vertical: 1; }
    RiskPanel > _RiskBody { width: 1fr; height: auto; }
    RiskPanel:focus { background-tint: $foreground 5%; border-title-style: bold reverse; }
    """

    _last: tuple[RiskView, int, float] | None = None

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        # made here, not in compose: show() may run before the panel is mounted
        self._body = _RiskBody("")
        self._drawn_width: int | None = None
        self._shape: tuple[object, ...] = ()
        self._drawn: tuple[object, ...] = ()  # what the body shows: view, countdowns, limit, width

    def compose(self) -> ComposeResult:
        yield self._body

    def show(self, view: RiskView, now_ms: int, max_margin_ratio: float) -> None:
        self._last = (view, now_ms, max_margin_ratio)
        width = self.scrollable_content_region.width or None
        # what render_risk draws (not the data ages, which move every state): a state that
        # changes none of it (spot prices moving) redraws nothing
        drawn = (tuple((a.account, a.margin_ratio) for a in view.accounts), view.positions,
                 tuple((f.account, f.symbol, f.rate, f.annualised, f.countdown_s(now_ms)) for f in view.funding),
                 view.basis, max_margin_ratio, width)
        if drawn == self._drawn:
            return
        self._drawn = drawn
        self._drawn_width = width
        # the tables' height follows these counts (no cell wraps): a new layout only when one
        # changes, not on every price tick (a layout pass re-renders the whole screen)
        shape = (len(view.accounts), len(view.positions), len(view.funding), len(view.basis), self._drawn_width,
                 frozenset(f.account for f in view.funding), frozenset(p.account for p in view.positions))
        self._body.update(render_risk(view, now_ms, max_margin_ratio, self._drawn_width), layout=shape != self._shape)
        self._shape = shape

    def redraw(self) -> None:
        """Render the last view again if the width for it changed."""
        if self._last is not None and (self.scrollable_content_region.width or None) != self._drawn_width:
            self.show(*self._last)

    def on_resize(self) -> None:
        self.redraw()
