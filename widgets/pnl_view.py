"""The overlay's P&L: a table per futures position, a table per sleeve (the overlay beside
the spot it offsets), and the NAV and P&L history plotted. Renders a ``PnlReport`` and
history samples it is handed; never fetches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from console.core.numbers import money, pct
from console.core.pnl import PnlReport, PnlSample, PositionPnL, SleeveHedge
from widgets.risk_panel import short_symbol

# the net beside the unrealised, the account last: at 80 columns the table scrolls sideways
# and what shows first is what a position made; compact contract names (BTC-PERP, ETH-261225)
# as on the risk panel, so that at 120 columns every column is whole
POSITION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("symbol", "symbol"), ("contracts", "contracts"), ("entry", "entry"), ("mark", "mark"),
    ("upnl", "unrealised"), ("net", "net"), ("realised", "realised"), ("funding", "funding"),
    ("fees", "fees"), ("since", "since"), ("account", "account"),
)
SLEEVE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sleeve", "sleeve"), ("since", "since"), ("overlay", "overlay P&L"), ("spot", "spot P&L"),
    ("offset", "offset"), ("note", "note"),
)
LEFT = ("account", "symbol", "sleeve", "since", "note")


def when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%m-%d %H:%M")


def figure(x: float | None) -> Text:
    """A P&L figure: green when it made money, red when it lost, a dash when unknown."""
    if x is None:
        return Text("—", style="dim", justify="right")
    if abs(x) < 0.005:  # a cent's rounding of nothing reads 0.00, never -0.00
        return Text(money(0.0), justify="right")
    return Text(money(x), style="green" if x > 0 else "red", justify="right")


def position_cells(p: PositionPnL) -> dict[str, Text]:
    # opened before the history: "≤" its start (the notes say so)
    since = ("" if p.opened_ms is not None else "≤") + when(p.since_ms)
    return {
        "account": Text(p.account), "symbol": Text(short_symbol(p.symbol)),
        "contracts": Text(f"{p.contracts:+g}", justify="right"),
        "entry": Text("—" if p.entry is None else f"{p.entry:,.2f}", justify="right"),
        "mark": Text(f"{p.mark:,.2f}", justify="right"),
        "upnl": figure(p.upnl), "realised": figure(p.realised), "funding": figure(p.funding),
        "fees": Text(money(p.fees), justify="right"), "net": figure(p.net), "since": Text(since, style="dim"),
    }


def sleeve_cells(h: SleeveHedge) -> dict[str, Text]:
    off = h.offset
    return {
        "sleeve": Text(h.sleeve, style="bold"), "since": Text(when(h.since_ms), style="dim"),
        "overlay": figure(h.overlay), "spot": figure(h.spot),
        "offset": Text("—" if off is None else pct(off), justify="right"),
        "note": Text(h.note, style="yellow" if h.note else ""),
    }


# the history's time axis: the largest unit in which its span is at least 2 (ticks read 0, 15, 30
# seconds on a fresh session, 0, 4, 8 days on a long one; never 0.0081 hours)
_TIME_UNITS = (("days", 86_400_000), ("hours", 3_600_000), ("minutes", 60_000), ("seconds", 1_000))


def time_axis(span_ms: int) -> tuple[str, int]:
    """(unit, milliseconds per unit) for an x axis spanning ``span_ms``."""
    return next(((u, per) for u, per in _TIME_UNITS if span_ms >= 2 * per), _TIME_UNITS[-1])


def totals_text(report: PnlReport, width: int | None = None) -> Text:
    """The total and its terms on one line; where ``width`` cannot hold it (80 columns), the terms
    go on a second line rather than the fees being cut off."""
    t = report.totals
    head = Text.assemble(("Overlay ", "bold"), figure(t.net), (f" {report.quote}", "dim"))
    terms = Text.assemble("= uPnL ", figure(t.upnl), " + realised ", figure(t.realised), " + funding ",
                          figure(t.funding), " − fees ", Text(money(t.fees)))
    one = Text.assemble(head, " ", terms)
    out = one if width is None or one.cell_len <= width else Text.assemble(head, "\n", terms)
    out.no_wrap = True
    out.overflow = "ellipsis"
    return out


class PnlView(Vertical):
    """Positions, sleeves, history plot and notes, stacked."""

    HELP_SCOPE = "P&L"
    DEFAULT_CSS = """
    PnlView #pnl-totals { height: auto; max-height: 2; padding: 0 1; background: $boost; }
    PnlView #pnl-positions { height: auto; max-height: 12; }
    PnlView #pnl-sleeves { height: auto; max-height: 8; }
    PnlView #pnl-plot { height: 1fr; min-height: 6; }
    PnlView #pnl-notes { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Overlay P&L: waiting for the first refresh from the venues", id="pnl-totals")
        yield DataTable(id="pnl-positions", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="pnl-sleeves", cursor_type="row")
        yield PlotextPlot(id="pnl-plot")
        yield Static("", id="pnl-notes")

    def on_mount(self) -> None:
        for table_id, cols in (("#pnl-positions", POSITION_COLUMNS), ("#pnl-sleeves", SLEEVE_COLUMNS)):
            table = self.query_one(table_id, DataTable)
            for key, label in cols:
                table.add_column(label if key in LEFT else Text(label, justify="right"), key=key)

    _report: PnlReport | None = None

    def _show_totals(self) -> None:
        if self._report is not None:
            totals = self.query_one("#pnl-totals", Static)
            totals.update(totals_text(self._report, totals.content_size.width or None))

    def on_resize(self) -> None:
        self._show_totals()  # one line or two, as the new width holds it

    def show(self, report: PnlReport | None, history: Sequence[PnlSample]) -> None:
        if report is not None:
            self._report = report
            self._show_totals()
            self._fill("#pnl-positions", POSITION_COLUMNS,
                       [(f"{p.account}|{p.symbol}", position_cells(p)) for p in report.positions])
            self._fill("#pnl-sleeves", SLEEVE_COLUMNS, [(h.sleeve, sleeve_cells(h)) for h in report.sleeves])
            notes = [f"figures since each position opened (≤: older than the history, which starts "
                     f"{when(report.history_start_ms)} UTC); offset = −overlay ÷ spot over the sleeve's period",
                     *report.notes]
            self.query_one("#pnl-notes", Static).update("\n".join(notes))
        self._plot(history)

    def _fill(self, table_id: str, cols: tuple[tuple[str, str], ...], rows: list[tuple[str, dict[str, Text]]]) -> None:
        table = self.query_one(table_id, DataTable)
        cursor = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*(cells[k] for k, _ in cols), key=key)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))

    def _plot(self, history: Sequence[PnlSample]) -> None:
        plot = self.query_one("#pnl-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.theme("clear")
        if not history:
            plt.title("NAV and overlay P&L: no history yet (one point per P&L refresh)")
            plot.refresh()
            return
        t0 = history[0].ts
        unit, per = time_axis(history[-1].ts - t0)
        xs = [(s.ts - t0) / per for s in history]
        plt.title(f"NAV (left) and overlay P&L (right) since {when(t0)} UTC, {unit}")
        plt.plot(xs, [s.nav for s in history], label="NAV", yside="left")
        plt.plot(xs, [s.overlay for s in history], label="overlay P&L", yside="right")
        plot.refresh()
