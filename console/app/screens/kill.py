"""The kill switch at work: per account what is done and what is not, round after round.

The kill switch retries with backoff until every account's console orders are cancelled
and its overlay is flat. While it runs this modal shows the last round's report; `esc` (or
`K` again, anywhere) stops it after the round in progress, and the final report says what
was left. The app closes the modal when the kill returns.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class KillProgressScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    KillProgressScreen { align: center middle; }
    KillProgressScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%; border: thick $error; background: $panel; }
    KillProgressScreen #kp-body { height: auto; max-height: 20; padding: 0 1; }
    KillProgressScreen #kp-prompt { height: auto; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("escape", "stop", "Stop the kill", id="kill.stop",
                tooltip="Stop retrying after the round in progress; the report says what is left"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0
        self.lines: list[str] = ["round 1: cancelling the console's orders, then flattening the overlay"]
        self.stopping = False

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="kp-body"):
                yield Static(Text(" KILL SWITCH running ", style="bold reverse red"))
                yield Static(self._body(), id="kp-lines")
            yield Static(self._prompt(), id="kp-prompt")

    def _body(self) -> Text:
        out = Text()
        for i, line in enumerate(self.lines):
            style = "green" if ": done" in line else ("yellow" if "NOT done" in line else "")
            out.append(("\n" if i else "") + line, style=style)
        return out

    def _prompt(self) -> Text:
        if self.stopping:
            return Text("stopping after the round in progress…", style="bold yellow")
        return Text("retrying until every account is done · esc or K stop it", style="bold")

    def show_progress(self, report: Any, next_in_s: float) -> None:
        """A round is over and another follows (the executor's ``KillProgress``)."""
        self.rounds = report.rounds
        wait = f"next round in {next_in_s:.1f} s" if next_in_s > 0 else "checking again now"
        self.lines = [f"after round {report.rounds} ({wait}):", *report.lines()]
        self._refresh()

    def _refresh(self) -> None:
        for w in self.query("#kp-lines"):
            w.update(self._body())  # type: ignore[attr-defined]
        for w in self.query("#kp-prompt"):
            w.update(self._prompt())  # type: ignore[attr-defined]

    def mark_stopping(self) -> None:
        self.stopping = True
        self._refresh()

    def action_stop(self) -> None:
        self.app.stop_kill()  # type: ignore[attr-defined]
