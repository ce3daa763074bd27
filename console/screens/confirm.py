"""The confirmation modal: the whole ticket, its costs and risk, then `y` — once.

Every leg (account, symbol, side, contracts, notional, type/price, reduce-only), the costs,
margin ratio before → after, liquidation distances after and every pre-trade warning are on
the screen before `y` is accepted. Above the notional threshold the trader types the gross
notional's digits first. `n` / `escape` cancel. The first decision wins: a second `y` does
nothing (and the journal refuses a second confirm anyway).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.preview import Preview
from console.report import money
from console.ticket import Ticket
from widgets.legs_table import legs_renderable
from widgets.preview_view import render_confirm


def notional_digits(ticket: Ticket) -> str:
    """What the trader types above the threshold: the gross notional, whole units, digits only."""
    return str(round(ticket.gross_notional))


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 116; height: 34; border: thick $warning; background: $panel; }
    ConfirmScreen.kill > Vertical { border: thick $error; }
    ConfirmScreen #confirm-body { height: 1fr; padding: 0 1; }
    ConfirmScreen #confirm-prompt { height: auto; padding: 0 1; background: $boost; }
    ConfirmScreen Input { margin: 0 1; }
    """
    BINDINGS = [
        Binding("y", "confirm", "Confirm", id="confirm.yes", priority=True,
                tooltip="Send this ticket (after typing the notional when asked)"),
        Binding("enter", "confirm", "Confirm", id="confirm.enter", show=False, priority=True,
                tooltip="Same as y once the notional is typed"),
        Binding("n", "cancel", "Cancel", id="confirm.no", priority=True, tooltip="Do not send; back to the builder"),
        Binding("escape", "cancel", "Cancel", id="confirm.escape", priority=True, tooltip="Do not send"),
    ]

    def __init__(self, ticket: Ticket, preview: Preview | None, *, threshold: float, title: str = "Confirm ticket",
                 kill: bool = False, explain: str = "") -> None:
        super().__init__(classes="kill" if kill else None)
        self.ticket = ticket
        self.preview = preview
        self.title_text = title
        self.explain = explain
        self.needs_digits = ticket.gross_notional > threshold
        self.threshold = threshold
        self.decided: bool | None = None
        self.keystroke: str | None = None
        self.shown = False  # set once the ticket has been painted: `y` before that is ignored

    def compose(self) -> ComposeResult:
        t = self.ticket
        with Vertical():
            with VerticalScroll(id="confirm-body"):
                yield Static(Text.assemble((f" {self.title_text} ", "bold reverse"), "  ",
                                           (t.kind.value.upper(), "bold"), "  gross ",
                                           (money(t.gross_notional), "bold"), f"  · horizon {t.horizon_days:g} d"))
                if self.explain:
                    yield Static(Text(self.explain, style="bold"))
                if t.note:
                    yield Static(Text(t.note, style="dim"))
                yield Static(legs_renderable(t), id="confirm-legs")
                if self.preview is not None:
                    yield Static(render_confirm(self.preview), id="confirm-preview")
                elif not self.explain:
                    yield Static(Text("No preview: costs and margin after could not be computed.", style="bold yellow"))
                if not t.legs:
                    yield Static(Text("No open futures positions in the last snapshot: only working orders "
                                      "will be cancelled (positions are re-read from the venues).", style="yellow"))
            yield Static(self._prompt(), id="confirm-prompt")
            if self.needs_digits:
                yield Input(placeholder=f"type {notional_digits(t)}", restrict=r"[0-9]*", id="confirm-digits",
                            max_length=len(notional_digits(t)) + 2)

    def _prompt(self, extra: str = "") -> Text:
        if self.needs_digits:
            s = (f"Gross notional {money(self.ticket.gross_notional)} is above {money(self.threshold)}: "
                 f"type {notional_digits(self.ticket)} then y (or enter) to send · n / esc cancel")
        else:
            s = "y send · n / esc cancel"
        out = Text(s, style="bold")
        if extra:
            out.append("   " + extra, style="bold red")
        return out

    def on_mount(self) -> None:
        if self.needs_digits:
            self.query_one(Input).focus()
        self.call_after_refresh(self._mark_shown)

    def _mark_shown(self) -> None:
        self.shown = True

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.decided is not None or not self.shown:
            return
        if self.needs_digits:
            typed = self.query_one(Input).value
            if typed != notional_digits(self.ticket):
                self.query_one("#confirm-prompt", Static).update(
                    self._prompt("the typed notional does not match" if typed else "type the notional first"))
                return
            self.keystroke = f"y+{typed}"
        else:
            self.keystroke = "y"
        self.decided = True
        self.dismiss(True)

    def action_cancel(self) -> None:
        if self.decided is not None:
            return
        self.decided = False
        self.dismiss(False)
