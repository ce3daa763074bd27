"""The reconciliation report: journal vs every venue.

The executor refuses to send until ``allow_trading(report)``. A clean startup reconciliation
opens trading by itself; this modal shows a startup report with a discrepancy, and any report
the trader asked for with `R`; `enter` opens trading when the report is complete. `r` runs it
again, `escape` keeps trading closed (the kill switch works regardless).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ReconcileScreen(ModalScreen[str]):
    """Dismisses with "accept", "again" or "later"."""

    DEFAULT_CSS = """
    ReconcileScreen { align: center middle; }
    ReconcileScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%; border: thick $accent; background: $panel; }
    ReconcileScreen #rc-body { height: auto; max-height: 24; padding: 0 1; }
    ReconcileScreen #rc-prompt { height: auto; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("enter", "accept", "Start trading", id="reconcile.accept", priority=True,
                tooltip="I have read the report: open trading (only when the report is complete)"),
        Binding("r", "again", "Run again", id="reconcile.again", tooltip="Reconcile again"),
        Binding("escape", "later", "Later", id="reconcile.later",
                tooltip="Close; trading stays closed until a reconciliation is accepted (kill switch still works)"),
    ]

    BODY_ROWS = 24

    def __init__(self, report: Any, *, startup: bool = False) -> None:
        super().__init__()
        self.report = report
        self.startup = startup

    @property
    def heading(self) -> str:
        """Titled for what it is: the start-up's check found something, or the trader's `R`."""
        if self.startup:
            return " Startup reconciliation: journal vs venues (a discrepancy: read before trading) "
        return " Reconciliation (R): journal vs venues "

    def compose(self) -> ComposeResult:
        r = self.report
        with Vertical():
            with VerticalScroll(id="rc-body"):
                yield Static(Text(self.heading, style="bold reverse"))
                for line in r.lines():
                    style = "green" if line.startswith("Reconciled") else "yellow"
                    yield Static(Text(line, style=style))
            ok = r.complete
            yield Static(Text("enter start trading · r run again · esc later" if ok else
                              "incomplete: trading stays closed · r run again · esc later",
                              style="bold" if ok else "bold red"), id="rc-prompt")

    def on_resize(self, event: events.Resize) -> None:
        # the prompt (enter / r / esc) must stay on screen: the report scrolls, never the keys
        for body in self.query("#rc-body"):  # none yet if a resize comes before compose
            body.styles.max_height = max(3, min(self.BODY_ROWS, event.size.height - 4))

    def action_accept(self) -> None:
        if self.report.complete:
            self.dismiss("accept")

    def action_again(self) -> None:
        self.dismiss("again")

    def action_later(self) -> None:
        self.dismiss("later")
