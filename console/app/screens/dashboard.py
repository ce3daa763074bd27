"""The dashboard: allocation table, drift history, risk panel, alerts panel, funding plot."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen

from console.app.pacing import Pace
from console.app.screens import paint_header
from console.core.config import Goal
from widgets.alerts_panel import AlertItem, AlertsPanel
from widgets.allocation_table import AllocationTable
from widgets.footer import KeyFooter
from widgets.header import HeaderBar
from widgets.plots import DriftSpark, FundingPlot
from widgets.risk_panel import RiskPanel

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.app.state import DashboardState


class DashboardScreen(Screen):
    TITLE = "Dashboard"
    BINDINGS = [
        Binding("s", "spread", "Spread", id="dash.spread",
                tooltip="Open the spread builder on the planner's proposal"),
        Binding("h", "hedge", "Hedge", id="dash.hedge",
                tooltip="Hedge the sleeve under the cursor (builder)"),
        Binding("r", "roll", "Roll", id="dash.roll",
                tooltip="Roll the position under the cursor (builder)"),
        Binding("g", "toggle_goal", "Goal", id="dash.goal",
                tooltip="Show Δ to the target or to the band edge"),
        Binding("a", "ack", "Ack", id="dash.ack", tooltip="Acknowledge the alert under the alerts cursor"),
        Binding("A", "ack_all", "Ack all", id="dash.ack_all", show=False, tooltip="Acknowledge every alert"),
        Binding("tab", "app.focus_next", "Next pane", id="dash.focus", show=False,
                tooltip="Next pane: table, risk panel, alerts"),
    ]

    app: RebalApp
    _plot_due = True
    PLOT_EVERY_POINT = 16
    # the drift history is redrawn at most this often, for new points or for the cursor on another
    # sleeve: a trader reads no faster, and each redraw is 1-3 ms of the UI thread, at every apply
    # and, with a key held down, in every key's repaint. The first redraw in a while is at once.
    SPARK_GAP_S = 0.1
    TABLE_MAX_ROWS = 12  # the allocation table grows with its rows up to this, then scrolls
    NARROW = 110  # columns below which the lower panes share the width (see the app's CSS)

    def __init__(self) -> None:
        super().__init__()
        self._spark_pace = Pace(self, self._spark_current)

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield AllocationTable(id="main-table", goal=self.app.goal)
        yield DriftSpark(id="spark-box")
        with Horizontal(id="lower"):
            risk = RiskPanel(id="risk")
            risk.border_title = "Risk"
            yield risk
            with Vertical(id="right"):
                alerts = AlertsPanel(id="alerts-panel", message_width=52, fixed=True)
                alerts.border_title = "Alerts (a: ack)"
                yield alerts
                plot = FundingPlot(id="funding-plot")
                plot.border_title = "Funding rate, % per interval"
                yield plot
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(AllocationTable)
        # sized to its rows (header + rows), so the height left over goes to the drift history
        table.styles.height = "auto"
        table.styles.min_height = 3
        table.styles.max_height = self.TABLE_MAX_ROWS + 1
        table.focus()
        self._header()
        if self.app.state is not None:
            self.show_state(self.app.state)
        self.show_alerts(self.app.alerts)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")

    # ------------------------------------------------------------------ rendering

    def show_state(self, state: DashboardState) -> None:
        app = self.app
        try:
            table = self.query_one(AllocationTable)
        except NoMatches:
            return  # a state landing while the screen is torn down (the app quitting): nothing to show
        table.show(state.alloc)
        self.query_one(RiskPanel).show(state.risk, app.now_ms(), app.config.limits.max_margin_ratio)
        self._header()
        self._spark_soon()
        # plotext redraws the whole figure: once the history is long, at most once a second
        # (tick); while it is short, on every new point
        history = app.funding_history
        if self._plot_due or max((len(v) for v in history.values()), default=0) <= self.PLOT_EVERY_POINT:
            self._plot_due = False
            self.query_one(FundingPlot).show({k: list(v) for k, v in history.items()})

    def show_alerts(self, items: list[AlertItem]) -> None:
        self.query_one(AlertsPanel).show(items)

    def tick(self) -> None:
        self._plot_due = True
        st = self.app.state
        if st is None:
            self._header()
            return
        self._header()
        # none while the screen is composed or torn down: a tick may land in between
        for panel in self.query(RiskPanel):
            panel.show(st.risk, self.app.now_ms(), self.app.config.limits.max_margin_ratio)

    def _header(self) -> None:
        paint_header(self)

    def _spark_soon(self) -> None:
        self._spark_pace.soon(time.monotonic(), self.SPARK_GAP_S)

    def _spark_current(self) -> None:
        st = self.app.state
        try:
            table = self.query_one(AllocationTable)
        except NoMatches:
            return  # the screen torn down meanwhile
        self._spark(table.current_sleeve() or (st.alloc.rows[0].name if st is not None and st.alloc.rows else None))

    def _spark(self, sleeve: str | None) -> None:
        if sleeve is None:
            return
        st = self.app.state
        row = next((r for r in st.alloc.rows if r.name == sleeve), None) if st is not None else None
        hw = row.halfwidth * 100 if row is not None and row.halfwidth else None
        self.query_one(DriftSpark).show(sleeve, list(self.app.drift_history.get(sleeve, ())), hw)

    # ------------------------------------------------------------------ events and actions

    def on_allocation_table_sleeve_highlighted(self, event: AllocationTable.SleeveHighlighted) -> None:
        self._spark_soon()  # the sleeve under the cursor when it is drawn

    def on_alerts_panel_acknowledge(self, event: AlertsPanel.Acknowledge) -> None:
        self.app.acknowledge(event.seqs)

    def action_ack(self) -> None:
        self.query_one(AlertsPanel).action_acknowledge()

    def action_ack_all(self) -> None:
        self.query_one(AlertsPanel).action_acknowledge_all()

    def action_toggle_goal(self) -> None:
        app = self.app
        app.goal = Goal.BAND if app.goal is Goal.TARGET else Goal.TARGET
        table = self.query_one(AllocationTable)
        table.goal = app.goal
        table.refresh_view()
        self.notify(f"Δ to {app.goal.value}", timeout=1.5)

    def _open_builder(self, **preset: object) -> None:
        from console.app.screens.builder import BuilderScreen

        self.app.push_screen(BuilderScreen(**preset))

    def action_spread(self) -> None:
        self._open_builder(kind="spread")

    def action_hedge(self) -> None:
        sleeve = self.query_one(AllocationTable).current_sleeve()
        cfg = self.app.config
        if sleeve is not None and cfg.is_cash(cfg.sleeve(sleeve)):
            self.notify(f"{sleeve} is the cash sleeve: it is not hedged; the other sleeves' legs move it",
                        severity="warning", timeout=5)
            return
        if sleeve is not None and not cfg.sleeve(sleeve).hedges:
            self.notify(f"{sleeve} has no hedge instruments: add some to its `hedges` in the config",
                        severity="warning", timeout=5)
            return
        self._open_builder(kind="hedge", sleeve=sleeve)

    def action_roll(self) -> None:
        pos = self.query_one(AllocationTable).current_position()
        if pos is None:
            self.notify("put the cursor on a position row (enter on a sleeve expands it) to roll it",
                        severity="warning", timeout=4)
            return
        self._open_builder(kind="roll", position=pos)
