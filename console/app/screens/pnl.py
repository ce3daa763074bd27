"""The overlay's P&L (key 7): per futures position and per sleeve, and the NAV and P&L
history. Figures from ``console.core.pnl``; the app refreshes them (``RebalApp.refresh_pnl``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from console.app.screens import paint_header
from widgets.footer import KeyFooter
from widgets.header import HeaderBar
from widgets.pnl_view import PnlView

if TYPE_CHECKING:
    from collections.abc import Sequence

    from console.app.app import RebalApp
    from console.app.state import DashboardState
    from console.core.pnl import PnlReport, PnlSample


class PnlScreen(Screen):
    TITLE = "Overlay P&L"
    BINDINGS = [
        Binding("ctrl+r", "refresh_pnl", "Refresh", id="pnl.refresh",
                tooltip="Read the overlay's trades and funding from the venues now"),
    ]
    DEFAULT_CSS = "PnlScreen PnlView { height: 1fr; }"

    app: RebalApp

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield PnlView()
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.show_pnl(self.app.pnl, self.app.pnl_history)
        self._header()

    def action_refresh_pnl(self) -> None:
        self.app.refresh_pnl(force=True)

    def show_pnl(self, report: PnlReport | None, history: Sequence[PnlSample]) -> None:
        self.query_one(PnlView).show(report, history)
        self._header()

    def show_state(self, state: DashboardState) -> None:
        self._header()

    def tick(self) -> None:
        self._header()

    def _header(self) -> None:
        paint_header(self, "Overlay P&L")
