"""The alerts panel: newest first, severity, time; `a` acknowledges the one under the cursor.

Two forms. The alerts screen lists every alert of the session (rows added as alerts come). The
dashboard's panel (``fixed=True``) has as many rows as its height holds, made once; each alert
rewrites the cells of the rows that now show another alert, so an alert mounts, removes and
lays out nothing (under a price stream a new row per alert re-laid out the whole screen)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.coordinate import Coordinate
from textual.message import Message

from console.core.alerts import Alert, Severity
from widgets.lean_table import LeanDataTable

SEVERITY_STYLE = {Severity.INFO: "cyan", Severity.WARN: "yellow", Severity.CRITICAL: "bold red"}


@dataclass(frozen=True)
class AlertItem:
    """An alert as the console tracks it: a sequence number and whether it was acknowledged."""

    seq: int
    alert: Alert
    acked: bool = False


def hhmmss(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%H:%M:%S")


def fit(message: str, width: int) -> str:
    """``message`` cut to ``width`` cells at a word boundary, with an ellipsis when cut."""
    if len(message) <= width:
        return message
    cut = message[:max(1, width - 1)]
    head, sep, _ = cut.rpartition(" ")
    if sep and len(head) >= width // 2:
        cut = head
    return cut.rstrip(" ,;:(·") + "…"


def fit_lines(message: str, width: int, lines: int) -> str:
    """``message`` word-wrapped into at most ``lines`` lines of ``width`` cells, the last one
    cut (``fit``) when the message does not fit."""
    import textwrap

    wrapped = textwrap.wrap(message, width) or [""]
    if len(wrapped) <= lines:
        return "\n".join(wrapped)
    rest = " ".join(wrapped[lines - 1:])
    return "\n".join([*wrapped[:lines - 1], fit(rest, width)])


class AlertsPanel(LeanDataTable):
    """The screen binds the keys (`a`, `A`) to ``action_acknowledge`` / ``_all``.

    The message column takes the width the panel has: a narrow panel (the dashboard's) cuts
    each message at a word with an ellipsis, ``wrap=True`` (the alerts screen) wraps it onto
    as many lines as it needs. Never wider than the panel, so no horizontal scrollbar."""

    DEFAULT_CSS = """
    AlertsPanel { overflow-x: hidden; scrollbar-size-vertical: 1; }
    """
    FIXED = 8 + 4 + 3 * 2 + 1  # time, sev, the cells' padding, the vertical scrollbar
    # a message column narrower than this (the dashboard at 80 columns) gives each alert two
    # lines: the text uses the panel's width twice rather than one short cut line
    TWO_LINES_BELOW = 36

    class Acknowledge(Message):
        def __init__(self, seqs: tuple[int, ...]) -> None:
            self.seqs = seqs
            super().__init__()

    def __init__(self, *, id: str | None = None, message_width: int = 60, wrap: bool = False,
                 fixed: bool = False) -> None:
        super().__init__(id=id, cursor_type="row")
        self._message_width = message_width
        self._wrap = wrap
        self._fixed = fixed  # the newest alerts only, in rows made once (the dashboard's panel)
        self._shown: tuple[AlertItem, ...] = ()
        self._seq_of: dict[int, int] = {}  # id(a row's time cell) -> its alert's seq
        self._slots: list[AlertItem | None] = []  # fixed: the alert each row shows (None: blank)
        self._all: Sequence[AlertItem] = ()  # fixed: every alert, for the rows a resize makes

    def on_mount(self) -> None:
        self._columns()
        self.show_cursor = not self._fixed  # fixed: on once there is an alert under it

    def _columns(self) -> None:
        self.add_column("time", width=8, key="time")
        self.add_column("sev", width=4, key="sev")
        self.add_column("alert", width=self._message_width, key="msg")

    def on_resize(self) -> None:
        width = max(16, self.size.width - self.FIXED)
        before = self._message_width
        self._message_width = width
        # the header takes a line; each alert one line, or two on a narrow panel
        slots = max(1, (self.size.height - 1) // self._lines) if self._fixed else 0
        if width == before and slots == len(self._slots):
            return
        shown, self._shown = self._shown, ()
        cursor = self.cursor_row
        with self.app.batch_update():
            self.clear(columns=True)
            self._seq_of.clear()
            self._columns()
            self._slots = [None] * slots
            for i in range(slots):
                self.add_row(Text(""), Text(""), Text(""), key=f"slot{i}", height=self._lines)
            self.show(shown if not self._fixed else self._all)
            if self._shown:
                self.move_cursor(row=min(cursor, len(self._shown) - 1), animate=False)

    def _clamp_cursor_coordinate(self, coordinate: Coordinate) -> Coordinate:
        row, column = super()._clamp_cursor_coordinate(coordinate)
        if self._fixed:
            row = min(row, max(0, len(self._shown) - 1))  # not onto a blank row
        return Coordinate(row, column)

    def show(self, items: Sequence[AlertItem]) -> None:
        """``items`` oldest first, as the console keeps them."""
        if self._fixed:
            self._show_newest(items)
            return
        newest_first = tuple(sorted(items, key=lambda i: -i.seq))
        if newest_first == self._shown:
            return
        before = {i.seq: i for i in self._shown}
        kept = [i for i in newest_first if i.seq in before]
        with self.app.batch_update():
            if len(kept) == len(self._shown):
                # the usual case: new alerts on top of the ones shown (and perhaps some acknowledged).
                # Only the new rows are added and measured, then put first: re-adding every row on
                # each alert costs a frame per hundred alerts while prices stream
                for it in kept:
                    if before[it.seq] != it:
                        self.update_cell(str(it.seq), "sev", self._sev(it))
                        self.update_cell(str(it.seq), "msg", self._msg(it))
                added = [it for it in newest_first if it.seq not in before]
                for it in added:
                    self._add(it)
                if added:
                    self.sort("time", key=lambda cell: -self._seq_of[id(cell)])
                    self.move_cursor(row=0, animate=False)  # as a rebuild did: the newest alert under the cursor
                    self.scroll_to(y=0, animate=False)
            else:
                self.clear()
                self._seq_of.clear()
                for it in newest_first:
                    self._add(it)
        self._shown = newest_first

    def _show_newest(self, items: Sequence[AlertItem]) -> None:
        """Fixed: the newest alerts in the rows there are, each row's cells rewritten only when
        it shows another alert (or the same one acknowledged)."""
        self._all = items
        n = len(self._slots)
        newest_first = tuple(sorted(items[-n:], key=lambda i: -i.seq)) if n else ()
        if newest_first == self._shown:
            return
        arrived = bool(newest_first) and (not self._shown or newest_first[0].seq != self._shown[0].seq)
        with self.app.batch_update():
            for i, was in enumerate(self._slots):
                it = newest_first[i] if i < len(newest_first) else None
                if it == was:
                    continue
                self._slots[i] = it
                cells = (Text(""), Text(""), Text("")) if it is None else (
                    Text(hhmmss(it.alert.at_ms), style="dim"), self._sev(it), self._msg(it))
                for col, cell in zip(("time", "sev", "msg"), cells, strict=True):
                    self.update_cell(f"slot{i}", col, cell)
            self._shown = newest_first
            self.show_cursor = bool(newest_first)
            if arrived:
                self.move_cursor(row=0, animate=False)  # the newest alert under the cursor

    def row_of(self, seq: int) -> int | None:
        """The row showing alert ``seq`` (None: not shown)."""
        return next((r for r, it in enumerate(self._shown) if it.seq == seq), None)

    def _add(self, it: AlertItem) -> None:
        time_cell = Text(hhmmss(it.alert.at_ms), style="dim")
        # DataTable.sort hands the key function cells, not row keys: the time cell (never
        # rewritten) carries its row's sequence number by identity
        self._seq_of[id(time_cell)] = it.seq
        self.add_row(time_cell, self._sev(it), self._msg(it), key=str(it.seq),
                     height=None if self._wrap else self._lines)

    @staticmethod
    def _sev(it: AlertItem) -> Text:
        label = {Severity.INFO: "info", Severity.WARN: "WARN", Severity.CRITICAL: "CRIT"}[it.alert.severity]
        return Text(label, style="dim" if it.acked else SEVERITY_STYLE[it.alert.severity])

    def _msg(self, it: AlertItem) -> Text:
        text = ("✓ " if it.acked else "") + it.alert.message
        style = "dim" if it.acked else ""
        if self._wrap:
            return Text(text, style=style, overflow="fold")
        return Text(fit_lines(text, self._message_width, self._lines), style=style, no_wrap=True)

    @property
    def _lines(self) -> int:
        return 2 if self._message_width < self.TWO_LINES_BELOW else 1

    def action_acknowledge(self) -> None:
        if 0 <= self.cursor_row < len(self._shown):
            self.post_message(self.Acknowledge((self._shown[self.cursor_row].seq,)))

    def action_acknowledge_all(self) -> None:
        every = self._all if self._fixed else self._shown  # fixed: those scrolled off the panel too
        self.post_message(self.Acknowledge(tuple(i.seq for i in every if not i.acked)))
