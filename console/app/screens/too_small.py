"""Below the console's minimum size a notice says so, instead of columns cut mid-figure.

The app pushes this over whatever is on screen when the window shrinks under ``MIN_SIZE`` and
takes it away when the window is big enough again; the kill switch (K) and quit (q) still
work from it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_SIZE = (80, 24)  # a default SSH window: every screen is laid out to fit it


def too_small(width: int, height: int) -> bool:
    return width < MIN_SIZE[0] or height < MIN_SIZE[1]


class TooSmallScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; background: $background; }
    TooSmallScreen > Static { width: auto; max-width: 100%; height: auto; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="too-small-text")

    def on_resize(self) -> None:
        w, h = self.app.size
        self.query_one(Static).update(Text.assemble(
            ("window too small", "bold yellow"), f": {w}×{h}; the console needs at least "
            f"{MIN_SIZE[0]}×{MIN_SIZE[1]}. Make the terminal bigger (or the font smaller). K kill switch and "
            "q quit still work."))

    def on_mount(self) -> None:
        self.on_resize()

    def on_screen_resume(self) -> None:
        # a screen pushed over this one (the kill switch's confirmation) has gone: still small?
        if not too_small(*self.app.size):
            self.dismiss(None)
