"""A first run (no config file yet): say so, and offer `init` or the demo.

Plain `rebal-tui` without a config used to run the demo silently; a new user could not tell
a demo book from their own. This modal names the missing file and waits for a choice: `i`
writes the commented sample there (what `rebal-tui init` writes) and starts on it, `d` runs
the demo and writes nothing, `q` leaves.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class FirstRunScreen(ModalScreen[str]):
    """Dismisses with "init" or "demo" (q quits the app)."""

    DEFAULT_CSS = """
    FirstRunScreen { align: center middle; }
    FirstRunScreen > Vertical { width: 90; max-width: 100%; height: auto; max-height: 100%; border: thick $accent; background: $panel; padding: 0 1; }
    FirstRunScreen #fr-error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("i", "init", "Write a config", id="first_run.init",
                tooltip="Write the commented sample config (as `rebal-tui init`) and start on it"),
        Binding("d", "demo", "Demo", id="first_run.demo",
                tooltip="Run the shipped demo portfolio on the local emulator; nothing is written"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(" Welcome: no portfolio config yet ", style="bold reverse"))
            yield Static(Text.assemble(
                "There is no config at ", (str(self.path), "bold"), ".\n\n",
                ("i", "bold cyan"), "  write the commented sample there (what `rebal-tui init` writes) and start "
                "on it; its accounts are demo ones until you edit them\n",
                ("d", "bold cyan"), "  run the demo portfolio on the local emulator (nothing is written)\n",
                ("q", "bold cyan"), "  quit"), id="fr-body")
            yield Static("", id="fr-error")

    def action_init(self) -> None:
        from console.core.config import sample_config_text
        from console.core.snapshot import write_atomic

        try:
            write_atomic(self.path, sample_config_text())
        except OSError as exc:
            self.query_one("#fr-error", Static).update(
                f"could not write {self.path} ({exc.strerror}): pass --config PATH with a folder you can "
                "write to, or press d for the demo")
            return
        self.dismiss("init")

    def action_demo(self) -> None:
        self.dismiss("demo")
