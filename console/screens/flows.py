"""Quarter-end flows: each tracked fund's crypto sleeve (table) and the net flow per asset
(bar chart), with prices now from the console's snapshot. Figures from ``console.flows``.

The fund basket and index levels are the ILLUSTRATIVE samples shipped in console/data until
the trader points `rebal-tui flows --funds/--levels` at their own (the screen says so)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from console.report import pct
from console.screens import paint_header
from widgets.footer import KeyFooter
from widgets.header import HeaderBar

if TYPE_CHECKING:
    from console.app import DashboardState, RebalApp
    from console.flows import FlowsReport


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

    from console.flows import MAX_STALE_DAYS, MarketData, compute_flows
    from console.flows_data import (
        SAMPLE_BASKET,
        SAMPLE_LEVELS,
        load_basket,
        load_levels,
        prices_from_snapshot,
        sample_path,
    )
    from console.nyse import quarter_end_window

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


class FlowsScreen(Screen):
    TITLE = "Quarter-end flows"
    BINDINGS = [
        Binding("ctrl+r", "recompute", "Recompute", id="flows.recompute", tooltip="Recompute at the latest prices"),
    ]
    DEFAULT_CSS = """
    FlowsScreen #fl-window { height: auto; padding: 0 1; background: $boost; }
    FlowsScreen #fl-table { height: 1fr; }
    FlowsScreen #fl-chart { height: 12; }
    FlowsScreen #fl-notes { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    app: RebalApp

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield Static("", id="fl-window")
        yield DataTable(id="fl-table", cursor_type="row")
        yield PlotextPlot(id="fl-chart")
        yield Static("", id="fl-notes")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        t = self.query_one("#fl-table", DataTable)
        right = ("target", "current", "drift", "flow", "coins")
        for key, label, w in (("fund", "fund", 30), ("rule", "rule", 9), ("asset", "asset", 5), ("target", "target", 6),
                              ("current", "now", 6), ("drift", "drift", 6), ("flow", "flow", 12),
                              ("coins", "coins", 9), ("action", "action", 16)):
            t.add_column(Text(label, justify="right") if key in right else label, key=key, width=w)
        self._header()
        self.action_recompute()

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
        from console.flows import flow_rows

        if event.error or event.report is None:
            self.query_one("#fl-window", Static).update(Text(event.error or "no report", style="bold yellow"))
            return
        r = event.report
        self.query_one("#fl-window", Static).update(Text(r.window.sentence(), style="bold" if r.window.inside else ""))
        table = self.query_one("#fl-table", DataTable)
        with self.app.batch_update():
            table.clear()
            for row in flow_rows(r):
                style = "red" if row.flow > 0 else "green" if row.flow < 0 else "dim"
                table.add_row(Text(row.fund, no_wrap=True, overflow="ellipsis"), row.rule, row.asset,
                              Text(pct(row.target), justify="right"), Text(pct(row.current), justify="right"),
                              Text(pct(row.drift, signed=True), justify="right"),
                              Text(f"{row.flow:,.0f}", style=style, justify="right"),
                              Text("—" if row.coins is None else f"{row.coins:,.1f}", justify="right"),
                              Text(row.action, style=style, no_wrap=True, overflow="ellipsis"), key=row.key)
        plot = self.query_one("#fl-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.theme("clear")
        plt.title("Net flow by asset, millions (+ = funds sell)")
        assets = [a.asset for a in r.assets]
        plt.bar(assets, [a.flow / 1e6 for a in r.assets], orientation="horizontal", width=0.3)
        plot.refresh()
        self.query_one("#fl-notes", Static).update("\n".join(event.notes))

    def show_state(self, state: DashboardState) -> None:
        self._header()

    def tick(self) -> None:
        """Every second (the app's clock): the data ages grow while no new state comes."""
        self._header()

    def _header(self) -> None:
        paint_header(self, "Quarter-end flows")
