"""Quarter-end flows: each tracked fund's crypto sleeve (table) and the net flow per asset
(bar chart), with prices now from the console's snapshot. Figures from ``console.core.flows``.

The fund basket and index levels are the ILLUSTRATIVE samples shipped in console/data until
the trader points `rebal-tui flows --funds/--levels` at their own (the screen says so)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from console.app.screens import paint_header
from console.core.numbers import pct
from widgets.footer import KeyFooter
from widgets.header import HeaderBar

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.app.state import DashboardState
    from console.core.flows import FlowsReport


class FlowsReady(Message):
    def __init__(self, report: FlowsReport | None, notes: tuple[str, ...], error: str | None = None) -> None:
        self.report = report
        self.notes = notes
        self.error = error
        super().__init__()


def clock_day(ms: int) -> dt.date:
    """The UTC date of a console clock reading (``app.now_ms()``)."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()


def compute_report(snapshot: Any, today: dt.date | None = None) -> tuple[FlowsReport, tuple[str, ...]]:
    """The sample basket at today's snapshot prices (pure core; run in a thread).

    ``today``: the console's clock date; the trading days left are counted from it (default:
    the snapshot's date, else the wall clock's). The index levels are read on or before it."""
    from dataclasses import replace

    from console.core.flows import MAX_STALE_DAYS, MarketData, compute_flows
    from console.core.flows_data import (
        SAMPLE_BASKET,
        SAMPLE_LEVELS,
        load_basket,
        load_levels,
        prices_from_snapshot,
        sample_path,
    )
    from console.core.nyse import quarter_end_window

    basket = load_basket(sample_path(SAMPLE_BASKET))
    levels = load_levels(sample_path(SAMPLE_LEVELS))
    notes = ["ILLUSTRATIVE sample funds and index levels (console/data); `rebal-tui flows --funds` for yours"]
    now: dict[str, float] = {}
    if today is None:
        today = clock_day(snapshot.timestamp) if snapshot is not None else dt.date.today()
    levels_day = levels.last_date()
    # The flows are figured on the clock's date; the levels table is read on or before it. The
    # shipped sample ends on a fixed date: once that is more than MAX_STALE_DAYS behind the
    # clock it would be refused as stale, so the figures fall back to its last date (the
    # window and the trading days left still count from the clock's date).
    as_of = today if levels_day is None or (today - levels_day).days <= MAX_STALE_DAYS else levels_day
    if snapshot is not None:
        now = prices_from_snapshot(snapshot, basket.crypto, basket.crypto_quote)
        shown = min(levels_day, as_of) if levels_day else as_of
        notes.append(f"crypto prices now from the console's snapshot; index levels as of {shown}")
    report = compute_flows(basket, MarketData(date=as_of, levels=levels, now_prices=now, now_source="snapshot"))
    if as_of != today:
        report = replace(report, window=quarter_end_window(today))
        notes.append(f"the sample index levels end {levels_day}, over {MAX_STALE_DAYS} days before {today}: "
                     f"flows figured as of {as_of}")
    return report, tuple(notes) + tuple(report.notes)


# The table's columns (key, label, width) left to right. In a narrow window the fund names are
# shortened first (down to FUND_MIN), then the rule column goes, then target and now, then the
# fund names shorten further (down to FUND_LAST): the asset, drift, flow, coins and action
# columns are never cut (below ~70 columns the table scrolls sideways instead).
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("fund", "fund", 30), ("rule", "rule", 9), ("asset", "asset", 5), ("target", "target", 6),
    ("current", "now", 6), ("drift", "drift", 6), ("flow", "flow", 12), ("coins", "coins", 9),
    ("action", "action", 16),
)
RIGHT = ("target", "current", "drift", "flow", "coins")
DROP_ORDER: tuple[tuple[str, ...], ...] = ((), ("rule",), ("rule", "target", "current"))
FUND_MIN = 16
FUND_LAST = 8
CELL_PAD = 2  # the table's cell padding, one each side
SCROLLBAR = 2  # kept free for the table's vertical scrollbar


def fit_columns(width: int) -> tuple[tuple[str, str, int], ...]:
    """The columns that fit ``width`` cells (the full set from 120 columns up)."""
    room = width - SCROLLBAR
    fund_max = COLUMNS[0][2]
    for drop in DROP_ORDER:
        cols = [c for c in COLUMNS if c[0] not in drop]
        fixed = sum(w + CELL_PAD for k, _, w in cols if k != "fund")
        fund = min(fund_max, room - fixed - CELL_PAD)
        if fund >= FUND_MIN or drop == DROP_ORDER[-1]:
            fund = max(fund, FUND_LAST)
            return tuple((k, label, fund if k == "fund" else w) for k, label, w in cols)
    raise AssertionError("unreachable")


def asset_summary(report: FlowsReport) -> str:
    """The chart's figures on one line, for a window too short for the chart."""
    totals = " · ".join(f"{a.asset} {a.flow / 1e6:,.1f}m {a.action}" for a in report.assets)
    return f"Net flow by asset (chart hidden at this window size): {totals}"


class FlowsScreen(Screen):
    TITLE = "Quarter-end flows"
    BINDINGS = [
        Binding("ctrl+r", "recompute", "Recompute", id="flows.recompute", tooltip="Recompute at the latest prices"),
    ]
    DEFAULT_CSS = """
    FlowsScreen #fl-window { height: auto; padding: 0 1; background: $boost; }
    FlowsScreen #fl-table { height: 1fr; }
    FlowsScreen #fl-chart { height: 12; }
    FlowsScreen #fl-totals { height: auto; padding: 0 1; display: none; }
    FlowsScreen.-no-chart #fl-chart { display: none; }
    FlowsScreen.-no-chart #fl-totals { display: block; }
    FlowsScreen #fl-notes { height: auto; max-height: 8; padding: 0 1; color: $text-muted; }
    """

    CHART_ROWS = 12  # the chart's height when the window has room for it and every table row
    CHART_MIN = 8  # below this the chart is hidden and its totals are one line above the notes

    app: RebalApp
    _report: FlowsReport | None = None
    _notes = ""
    _columns: tuple[tuple[str, str, int], ...] = ()

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield Static("", id="fl-window")
        yield DataTable(id="fl-table", cursor_type="row")
        yield PlotextPlot(id="fl-chart")
        yield Static("", id="fl-totals")
        yield Static("", id="fl-notes")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self._fit_columns(self.app.size.width)
        self.query_one("#fl-table", DataTable).focus()  # the arrows scroll it in a short window
        self._header()
        self.action_recompute()

    def on_resize(self, event: events.Resize) -> None:
        if not self.query("#fl-table"):  # none yet if a resize comes before compose
            return
        self._fit_columns(event.size.width)
        self.call_after_refresh(self._fit_height)

    def _fit_columns(self, width: int) -> None:
        """Rebuild the table's columns when the set that fits the width changes."""
        cols = fit_columns(width)
        if cols == self._columns:
            return
        self._columns = cols
        table = self.query_one("#fl-table", DataTable)
        row = table.cursor_row
        with self.app.batch_update():
            table.clear(columns=True)
            for key, label, w in cols:
                table.add_column(Text(label, justify="right") if key in RIGHT else label, key=key, width=w)
            self._fill_table()
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def _fit_height(self) -> None:
        """The table gets a line for each row; the chart has what is left, up to CHART_ROWS,
        or is hidden (its totals on one line) when that is under CHART_MIN."""
        if not self.is_attached or not self.query("#fl-table"):
            return
        table = self.query_one("#fl-table", DataTable)
        # the notes by the lines their text wraps to, not their laid-out size: that may not have
        # caught up with new notes yet, and a chart sized on it pushed the last note off screen
        notes = min(len(Text(self._notes).wrap(self.app.console, max(self.size.width - 2, 1))), 8) if self._notes else 0
        fixed = notes + sum(self.query_one(q).outer_size.height for q in ("#header", "#fl-window", KeyFooter))
        room = self.size.height - fixed
        need = table.row_count + 1 + (1 if table.virtual_size.width > table.size.width else 0)
        chart = min(self.CHART_ROWS, room - need)
        self.set_class(chart < self.CHART_MIN, "-no-chart")
        if chart >= self.CHART_MIN:
            self.query_one("#fl-chart", PlotextPlot).styles.height = chart

    def action_recompute(self) -> None:
        st = self.app.state
        # the console's clock, not the levels' last date, says how many trading days are left
        self._compute(st.snapshot if st else None, clock_day(self.app.now_ms()))

    @work(thread=True, exclusive=True, group="flows", exit_on_error=False)
    def _compute(self, snapshot: Any, today: dt.date) -> None:
        try:
            report, notes = compute_report(snapshot, today)
        except Exception as exc:  # noqa: BLE001 - a UserError from the inputs is shown as such
            self.post_message(FlowsReady(None, (), str(exc)))
            return
        self.post_message(FlowsReady(report, notes))

    @on(FlowsReady)
    def _ready(self, event: FlowsReady) -> None:
        if event.error or event.report is None:
            self.query_one("#fl-window", Static).update(Text(event.error or "no report", style="bold yellow"))
            return
        r = event.report
        self.query_one("#fl-window", Static).update(Text(r.window.sentence(), style="bold" if r.window.inside else ""))
        self._report = r
        table = self.query_one("#fl-table", DataTable)
        with self.app.batch_update():
            table.clear()
            self._fill_table()
        self.query_one("#fl-totals", Static).update(asset_summary(r))
        plot = self.query_one("#fl-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.theme("clear")
        plt.title("Net flow by asset, millions (+ = funds sell)")
        assets = [a.asset for a in r.assets]
        plt.bar(assets, [a.flow / 1e6 for a in r.assets], orientation="horizontal", width=0.3)
        plot.refresh()
        self._notes = "\n".join(event.notes)
        self.query_one("#fl-notes", Static).update(self._notes)
        self.call_after_refresh(self._fit_height)

    def _fill_table(self) -> None:
        from console.core.flows import flow_rows

        if self._report is None:
            return
        table = self.query_one("#fl-table", DataTable)
        keys = [k for k, _, _ in self._columns]
        for row in flow_rows(self._report):
            style = "red" if row.flow > 0 else "green" if row.flow < 0 else "dim"
            cells = {
                "fund": Text(row.fund, no_wrap=True, overflow="ellipsis"), "rule": row.rule, "asset": row.asset,
                "target": Text(pct(row.target), justify="right"), "current": Text(pct(row.current), justify="right"),
                "drift": Text(pct(row.drift, signed=True), justify="right"),
                "flow": Text(f"{row.flow:,.0f}", style=style, justify="right"),
                "coins": Text("—" if row.coins is None else f"{row.coins:,.1f}", justify="right"),
                "action": Text(row.action, style=style, no_wrap=True, overflow="ellipsis"),
            }
            table.add_row(*(cells[k] for k in keys), key=row.key)

    def show_state(self, state: DashboardState) -> None:
        self._header()

    def tick(self) -> None:
        """Every second (the app's clock): the data ages grow while no new state comes."""
        self._header()

    def _header(self) -> None:
        paint_header(self, "Quarter-end flows")
