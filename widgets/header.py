"""The top bar: mode badge, book name, NAV and data freshness per account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from console.core.mode import mode_badge
from console.core.numbers import money

if TYPE_CHECKING:
    from console.core.freshness import Freshness


def age_text(ms: int | None) -> str:
    if ms is None:
        return "—"
    s = ms // 1000
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h"


@dataclass(frozen=True)
class HeaderContent:
    """What the header is handed; rendered for the width it has (``header_text``)."""

    mode: str
    book: str
    nav: float | None
    quote: str
    fresh: Mapping[str, Freshness]
    clock: str  # "YYYY-MM-DD HH:MM:SSZ"
    closed: bool = False  # trading waits for a reconciliation to be accepted: never dropped
    journal_down: bool = False  # the journal's database does not answer: nothing is sent; never dropped
    pnl: float | None = None  # the overlay's P&L since its positions opened (the P&L screen's total)


# How the bar gives way on a narrow terminal, one step at a time until it fits: the date (the
# time stays), the account names (each dot keeps its colour and age), the ages (the dots
# stay), the P&L's label ("overlay P&L" becomes "P&L"), the clock, the P&L (the README has it in
# every header: at 80 columns with trading closed it outlasts the clock), and last of all the
# book name. The book name is the screen's name off the dashboard: it says where a keypress
# goes, so it stays while anything else can give way (at 80 columns it must be in sight). The
# mode badge and the NAV are never dropped.
LEVELS = 8


def header_text(c: HeaderContent, level: int = 0) -> Text:
    """The bar at one level of shortening (0 = everything)."""
    label, style = mode_badge(c.mode)
    t = Text(no_wrap=True, overflow="crop")
    t.append(f" {label} ", style=style)
    if c.journal_down:
        t.append(" JOURNAL UNREACHABLE " if level < 4 else " NO JOURNAL ", style="bold white on red")
    if c.closed:
        t.append(" TRADING CLOSED ", style="bold white on red")
    if level < 7:
        t.append(f" {c.book} ", style="bold")
    else:
        t.append(" ")
    if c.nav is not None:
        t.append(f"NAV {money(c.nav)} {c.quote} ", style="")
    if c.pnl is not None and level < 6:
        t.append("overlay P&L " if level < 4 else "P&L ", style="dim")
        pnl = c.pnl if abs(c.pnl) >= 0.005 else 0.0  # never "-0.00"
        t.append(f"{'+' if pnl > 0 else ''}{money(pnl)} ", style="green" if pnl > 0 else "red" if pnl < 0 else "")
    for f in c.fresh.values():
        dot_style = "red" if f.error else ("yellow" if f.stale else "green")
        text_style = "dim" if not f.stale else "yellow"
        t.append(" ")
        t.append("●", style=dot_style)
        if level < 2:
            t.append(f" {f.account} {age_text(f.age_ms)}", style=text_style)
        elif level < 3:
            t.append(age_text(f.age_ms), style=text_style)
    if level < 5:
        clock = c.clock if level < 1 else c.clock.rpartition(" ")[2]
        t.append(f"  {clock}", style="dim")
    return t


def fit_header(c: HeaderContent, width: int | None) -> Text:
    """The fullest bar that fits ``width`` cells (no width yet: the full bar)."""
    t = header_text(c)
    if width is None:
        return t
    for level in range(1, LEVELS):
        if t.cell_len <= width:
            break
        t = header_text(c, level)
    return t


class HeaderBar(Static):
    """Renders what it is handed; never fetches."""

    # docked: the mode badge and NAV stay in sight however short the terminal and however far
    # the screen below is scrolled
    DEFAULT_CSS = """
    HeaderBar { dock: top; height: 1; background: $panel; color: $text; }
    """

    _content: HeaderContent | None = None

    def show(self, *, mode: str, book: str, nav: float | None, quote: str,
             fresh: Mapping[str, Freshness], clock: str, closed: bool = False,
             journal_down: bool = False, pnl: float | None = None) -> None:
        self._content = HeaderContent(mode, book, nav, quote, dict(fresh), clock, closed, journal_down, pnl)
        self._draw()

    def _draw(self) -> None:
        if self._content is not None:
            # one docked line whatever it says: no layout pass for a new NAV or clock
            self.update(fit_header(self._content, self.content_region.width or None), layout=False)

    def on_resize(self) -> None:
        self._draw()
