"""Number fields that leave the console's letter keys alone.

Textual drops a screen's (and the app's) bindings for every printable key the focused Input
may consume, so with a plain Input focused `y`, `K` or `q` never reach their bindings even
when the field would refuse the character. These fields consume only what they accept.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.binding import Binding
from textual.widgets import Input

# The one key scheme, said in the footer (this binding) and the help: in a number field digits
# and the point are typed into it, so the screen keys 1…8 wait until tab leaves the field;
# every other key works as everywhere.
FIELD_SCHEME = ("in a number field digits and . are typed into it (screen keys 1…8 wait: tab leaves "
                "the field); letters, ctrl keys, esc and K work as everywhere")


class NumberInput(Input):
    """An Input for a number: consumes digits (and, with ``decimal``, the point) only."""

    HELP_SCOPE = "number field"
    BINDINGS = [
        Binding("tab", "screen.focus_next", "Next field", id="field.next",
                tooltip="Leave the number field (screen keys work again)"),
    ]

    def __init__(self, value: str | None = None, *, decimal: bool = True, **kw: Any) -> None:
        self.decimal = decimal
        super().__init__(value, restrict=r"[0-9.]*" if decimal else r"[0-9]*", **kw)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and (character.isdigit() or (self.decimal and character == "."))

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and not self.check_consume_key(event.key, event.character):
            # not ours: skip Input's handler (which would swallow it) and let the key go on to
            # the screen's and the app's bindings
            event.prevent_default()
