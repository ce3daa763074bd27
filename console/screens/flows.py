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


def compute_report(snapshot: Any) -> tuple[FlowsReport, tuple[str, ...]]:
    """The sample basket at today's snapshot prices (pure core; run in a thread)."""
    from console.flows import MarketData, compute_flows
    from console.flows_data import (
        SAMPLE_BASKET,
        SAMPLE_LEVELS,
        load_basket,
        load_levels,
        prices_from_snapshot,
        sample_path,
    )

    basket = load_basket(sample_path(SAMPLE_BASKET))
    levels = load_levels(sample_path(SAMPLE_LEVELS))
    notes = ["ILLUSTRATIVE sample funds and index levels (console/data); `rebal-tui flows --funds` for yours"]
    now: dict[str, float] = {}
    date = levels.last_date() or dt.date.today()
    if snapshot is not None:
        now = prices_from_snapshot(snapshot, basket.crypto, basket.crypto_quote)
        snap_day = dt.datetime.fromtimestamp(snapshot.timestamp / 1000, dt.UTC).date()
        date = min(snap_day, date) if levels.last_date() else snap_day
        notes.append(f"crypto prices now from the console's snapshot; index levels as of {date}")
    report = compute_flows(basket, MarketData(date=date, levels=levels, now_prices=now, now_source="snapshot"))
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
        self._compute(st.snapshot if st else None)

    @work(thread=True, exclusive=True, group="flows", exit_on_error=False)
    def _compute(self, snapshot: Any) -> None:
        try:
            report, notes = compute_report(snapshot)
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

    def _header(self) -> None:
        from console.screens.dashboard import clock_text

        app = self.app
        st = app.state
        self.query_one(HeaderBar).show(mode=app.mode.value, book="Quarter-end flows", nav=st.alloc.nav if st else None,
                                       quote=app.config.portfolio.quote, fresh={}, clock=clock_text(app.now_ms()))
