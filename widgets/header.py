"""The top bar: mode badge, book name, NAV and data freshness per account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from console.modes import mode_badge
from console.report import money


@dataclass(frozen=True)
class Freshness:
    account: str
    age_ms: int | None
    stale: bool
    error: str | None


def age_text(ms: int | None) -> str:
    if ms is None:
        return "—"
    s = ms // 1000
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h"


class HeaderBar(Static):
    """Renders what it is handed; never fetches."""

    # docked: the mode badge and NAV stay in sight however short the terminal and however far
    # the screen below is scrolled
    DEFAULT_CSS = """
    HeaderBar { dock: top; height: 1; background: $panel; color: $text; }
    """

    def show(self, *, mode: str, book: str, nav: float | None, quote: str,
             fresh: Mapping[str, Freshness], clock: str) -> None:
        label, style = mode_badge(mode)
        t = Text()
        t.append(f" {label} ", style=style)
        t.append(f" {book} ", style="bold")
        if nav is not None:
            t.append(f"NAV {money(nav)} {quote} ", style="")
        for f in fresh.values():
            dot_style = "red" if f.error else ("yellow" if f.stale else "green")
            t.append(" ")
            t.append("●", style=dot_style)
            t.append(f" {f.account} {age_text(f.age_ms)}", style="dim" if not f.stale else "yellow")
        t.append(f"  {clock}", style="dim")
        self.update(t)
