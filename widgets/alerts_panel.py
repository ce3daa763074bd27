"""The alerts panel: newest first, severity, time; `a` acknowledges the one under the cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from console.core.alerts import Alert, Severity

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


class AlertsPanel(DataTable):
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
            self._columns()
            self.show(shown)
            if shown:
                self.move_cursor(row=min(cursor, len(shown) - 1), animate=False)

    def show(self, items: Sequence[AlertItem]) -> None:
        newest_first = tuple(sorted(items, key=lambda i: -i.seq))
        if newest_first == self._shown:
            return
        old_keys = [str(i.seq) for i in self._shown]
        new_keys = [str(i.seq) for i in newest_first]
        with self.app.batch_update():
            if old_keys == new_keys:  # only acknowledgements changed
                for before, after in zip(self._shown, newest_first, strict=True):
                    if before != after:
                        self.update_cell(str(after.seq), "sev", self._sev(after))
                        self.update_cell(str(after.seq), "msg", self._msg(after))
            else:
                self.clear()
                for it in newest_first:
                    self.add_row(Text(hhmmss(it.alert.at_ms), style="dim"), self._sev(it), self._msg(it),
                                 key=str(it.seq), height=None if self._wrap else self._lines)
        self._shown = newest_first

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
