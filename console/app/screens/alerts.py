"""Every alert of the session, newest first, with acknowledgement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from console.app.screens import paint_header
from widgets.alerts_panel import AlertItem, AlertsPanel
from widgets.footer import KeyFooter
from widgets.header import HeaderBar

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.app.state import DashboardState


class AlertsScreen(Screen):
    TITLE = "Alerts"
    BINDINGS = [
        Binding("a", "ack", "Ack", id="alerts_screen.ack", tooltip="Acknowledge the alert under the cursor"),
        Binding("A", "ack_all", "Ack all", id="alerts_screen.ack_all", tooltip="Acknowledge every alert"),
    ]
    DEFAULT_CSS = "AlertsScreen AlertsPanel { height: 1fr; }"

    app: RebalApp

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield AlertsPanel(id="alerts-full", message_width=100, wrap=True)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(AlertsPanel).focus()
        self.show_alerts(self.app.alerts)
        if self.app.state is not None:
            self.show_state(self.app.state)

    def show_state(self, state: DashboardState) -> None:
        self._header()

    def tick(self) -> None:
        """Every second (the app's clock): the data ages grow while no new state comes."""
        self._header()

    def _header(self) -> None:
        paint_header(self, "Alerts")

    def show_alerts(self, items: list[AlertItem]) -> None:
        self.query_one(AlertsPanel).show(items)

    def on_alerts_panel_acknowledge(self, event: AlertsPanel.Acknowledge) -> None:
        self.app.acknowledge(event.seqs)

    def action_ack(self) -> None:
        self.query_one(AlertsPanel).action_acknowledge()

    def action_ack_all(self) -> None:
        self.query_one(AlertsPanel).action_acknowledge_all()
