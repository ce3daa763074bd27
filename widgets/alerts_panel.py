"""The alerts panel: newest first, severity, time; `a` acknowledges the one under the cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
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

    def __init__(self, *, id: str | None = None, message_width: int = 60, wrap: bool = False) -> None:
        super().__init__(id=id, cursor_type="row")
        self._message_width = message_width
        self._wrap = wrap
        self._shown: tuple[AlertItem, ...] = ()
        self._seq_of: dict[int, int] = {}  # id(a row's time cell) -> its alert's seq

    def on_mount(self) -> None:
        self._columns()

    def _columns(self) -> None:
        self.add_column("time", width=8, key="time")
        self.add_column("sev", width=4, key="sev")
        self.add_column("alert", width=self._message_width, key="msg")

    def on_resize(self) -> None:
        width = max(16, self.size.width - self.FIXED)
        if width == self._message_width:
            return
        self._message_width = width
        shown, self._shown = self._shown, ()
        cursor = self.cursor_row
        with self.app.batch_update():
            self.clear(columns=True)
            self._seq_of.clear()
            self._columns()
            self.show(shown)
            if shown:
                self.move_cursor(row=min(cursor, len(shown) - 1), animate=False)

    def show(self, items: Sequence[AlertItem]) -> None:
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
        self.post_message(self.Acknowledge(tuple(i.seq for i in self._shown if not i.acked)))
