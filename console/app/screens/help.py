"""`?`: every key of the screen underneath and the global keys, from the bindings themselves."""

from __future__ import annotations

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from console.app.palette import binding_catalog
from widgets.inputs import FIELD_SCHEME

IDS_FROM = 110  # columns from which the help shows each binding's id (a narrower one needs the room)


def help_table(screen: Screen, ids: bool = False) -> Table:
    """Key, action and where never shrink or wrap (a key cut away is no help at all); the
    description takes the width that is left and wraps."""
    entries = binding_catalog(screen)
    t = Table(expand=True, box=None, header_style="bold", pad_edge=False)
    t.add_column("key", style="bold cyan", no_wrap=True,
                 min_width=max((cell_len(e.key_display) for e in entries), default=3))
    t.add_column("action", no_wrap=True, min_width=max((cell_len(e.text) for e in entries), default=6))
    t.add_column("what it does", ratio=1, overflow="fold")
    t.add_column("where", style="dim", no_wrap=True, min_width=max((cell_len(e.scope) for e in entries), default=5))
    if ids:  # the id a user keymap (keymap.toml in the user config folder) remaps the key by
        t.add_column("id", style="dim", no_wrap=True)
    for e in entries:
        t.add_row(e.key_display, e.text, e.help, e.scope, *((e.binding.id or "",) if ids else ()))
    return t


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 112; max-width: 100%; height: 32; max-height: 100%; border: thick $primary; background: $panel; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss_help", "Close", id="help.close", tooltip="Close the help"),
        Binding("question_mark", "dismiss_help", "Close", key_display="?", id="help.close2", show=False,
                tooltip="Close the help"),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text.assemble(("Keys — ", "bold"), (getattr(self.under, "TITLE", "") or "", "bold cyan"),
                                       ("   (ctrl+p: the same list; keymap.toml remaps a key by its id)", "dim")))
            yield Static(help_table(self.under, ids=self.app.size.width >= IDS_FROM), id="help-table")
            yield Static(Text.assemble(("Keys in fields: ", "bold"), FIELD_SCHEME), id="help-scheme")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
