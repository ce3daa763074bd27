"""The confirmation modal: the whole ticket, its costs and risk, then `y` — once.

Every leg (account, symbol, side, contracts, notional, type/price, reduce-only), the costs,
margin ratio before → after, liquidation distances after and every pre-trade warning are on
the screen before `y` is accepted; on a terminal too short for them the body scrolls and `y`
waits until it has been read to its last line. Above the notional threshold the trader types the gross
notional's digits first. `n` / `escape` cancel. The first decision wins: a second `y` does
nothing (and the journal refuses a second confirm anyway).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.core.config import Config, Limits, mode_badge
from console.core.errors import UserError
from console.core.numbers import money
from console.core.preview import Preview
from console.core.ticket import Ticket
from widgets.inputs import NumberInput
from widgets.legs_table import legs_renderable
from widgets.preview_view import render_confirm


def notional_digits(ticket: Ticket) -> str:
    """What the trader types above the threshold: the gross notional, whole units, digits only."""
    return str(round(ticket.gross_notional))


def sends_to(config: Config, ticket: Ticket) -> Text | None:
    """Where the ticket goes: each account it sends to, its venue and its mode badge (DEMO,
    PAPER, LIVE), so a yes is never given to the wrong venue or the wrong money."""
    if not ticket.legs:
        return None

    out = Text("sends to ", style="bold")
    for i, name in enumerate(ticket.accounts):
        try:
            acct = config.account(name)
        except UserError:
            out.append(f"{name} (not in the config)", style="bold red")
            continue
        label, style = mode_badge(acct.mode)
        if i:
            out.append(" · ")
        out.append(f"account {acct.name} on {acct.exchange} ")
        out.append(f" {label} ", style=style)
    return out


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 116; max-width: 100%; height: auto; max-height: 100%; border: thick $warning; background: $panel; }
    ConfirmScreen.kill > Vertical { border: thick $error; }
    ConfirmScreen #confirm-body { height: auto; padding: 0 1; }
    ConfirmScreen #confirm-prompt { height: auto; padding: 0 1; background: $boost; }
    ConfirmScreen Input { margin: 0 1; }
    ConfirmScreen #confirm-body Static { width: 100%; }
    """
    BINDINGS = [
        Binding("y", "confirm", "Confirm", id="confirm.yes", priority=True,
                tooltip="Send this ticket (after typing the notional when asked)"),
        Binding("enter", "confirm", "Confirm", id="confirm.enter", show=False, priority=True,
                tooltip="Same as y once the notional is typed"),
        Binding("n", "cancel", "Cancel", id="confirm.no", priority=True, tooltip="Do not send; back to the builder"),
        Binding("escape", "cancel", "Cancel", id="confirm.escape", priority=True, tooltip="Do not send"),
        Binding("down", "scroll_body(1)", "Scroll", id="confirm.down", show=False,
                tooltip="Read on: the ticket continues below the window"),
        Binding("pagedown", "scroll_body(0)", "Page", id="confirm.pagedown", show=False,
                tooltip="Read on a page at a time"),
        # priority: the digits box would otherwise take `end` as "cursor to the end"
        Binding("end", "scroll_body(2)", "End", id="confirm.end", show=False, priority=True,
                tooltip="Jump to the end of the ticket"),
        Binding("up", "scroll_body(-1)", "Scroll up", id="confirm.up", show=False, tooltip="Back up the ticket"),
        Binding("pageup", "scroll_body(-2)", "Page up", id="confirm.pageup", show=False,
                tooltip="Back up a page"),
    ]

    def __init__(self, ticket: Ticket, preview: Preview | None, *, threshold: float | None = None,
                 title: str = "Confirm ticket", kill: bool = False, explain: str = "",
                 on_yes: Callable[[str], None] | None = None) -> None:
        """``threshold``: the gross notional above which the digits are typed; None reads
        ``limits.confirm_typed_notional`` from the app's config (0 = always type them).
        ``on_yes``: called with the keystroke the moment the yes is taken, before the modal
        closes: the send starts then, not once the screen below has been repainted."""
        super().__init__(classes="kill" if kill else None)
        self.on_yes = on_yes
        self.ticket = ticket
        self.preview = preview
        self.title_text = title
        self.explain = explain
        self._threshold = threshold
        self.threshold = threshold if threshold is not None else Limits().confirm_typed_notional
        self.needs_digits = self._needs_digits()
        self.decided: bool | None = None
        self.keystroke: str | None = None
        self.shown = False  # set once the ticket has been painted: `y` before that is ignored
        self._seen_end = False  # a ticket taller than the window is read to its last line before `y`
        self._notice = ""  # why the last `y` was not taken
        # pre-trade checks that would make the executor refuse the ticket (a thin book is advice:
        # the executor does not re-check books); never for the kill switch, which must always go
        self.blocking = () if kill or preview is None else tuple(
            c for c in preview.checks if str(c.code) != "thin_book")

    def _needs_digits(self) -> bool:
        # "0 = always": a ticket of any size is typed, even one whose gross rounds to nothing
        return self.threshold <= 0 or self.ticket.gross_notional > self.threshold

    def compose(self) -> ComposeResult:
        if self._threshold is None:  # the trader's limit, read now that the app is known
            config = getattr(self.app, "config", None)
            if config is not None:
                self.threshold = config.limits.confirm_typed_notional
                self.needs_digits = self._needs_digits()
        t = self.ticket
        with Vertical():
            with VerticalScroll(id="confirm-body"):
                # a flatten (the kill switch) closes now: it has no horizon to name
                horizon = f" · horizon {t.horizon_days:g} d" if t.horizon_days > 0 else ""
                yield Static(Text.assemble((f" {self.title_text} ", "bold reverse"), "  ",
                                           (t.kind.value.upper(), "bold"), "  gross ",
                                           (money(t.gross_notional), "bold"), horizon))
                config = getattr(self.app, "config", None)
                where = sends_to(config, t) if isinstance(config, Config) else None
                if where is not None:
                    yield Static(where, id="confirm-venues")
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
                yield NumberInput(placeholder=f"type {notional_digits(t)}", decimal=False, id="confirm-digits",
                                  max_length=len(notional_digits(t)) + 2)

    def _prompt(self) -> Text:
        if self.blocking:
            out = Text(f"✗ {len(self.blocking)} pre-trade check(s) fail (listed above): the executor would refuse "
                       "this ticket · n / esc " + ("back" if self.explain else "back to the builder to change it"),
                       style="bold red")
            return out
        if self.needs_digits:
            why = (f"Gross notional {money(self.ticket.gross_notional)} is above {money(self.threshold)}"
                   if self.threshold > 0 else "Every ticket is typed (limits.confirm_typed_notional = 0)")
            s = (f"{why}: "
                 f"type {notional_digits(self.ticket)} then y (or enter) to send · n / esc cancel")
        else:
            s = "y send · n / esc cancel"
        if self.shown and not self.read_to_end:
            s = "↓ / pgdn / end: the ticket continues below · " + s
        out = Text(s, style="bold")
        if self._notice:
            out.append("   " + self._notice, style="bold red" if not self.read_to_end or self.needs_digits
                       else "bold yellow")
        return out

    def on_mount(self) -> None:
        if self.needs_digits:
            self.query_one(Input).focus()
        body = self._body()
        self.watch(body, "scroll_y", self._scrolled, init=False)
        self.watch(body, "virtual_size", lambda _size: self.call_after_refresh(self._show_prompt), init=False)
        self.call_after_refresh(self._mark_shown)

    def on_resize(self, event: events.Resize) -> None:
        # as tall as the ticket, up to the window less the border, the prompt (two lines at
        # most) and the digits box: the keys are always on screen, the body scrolls
        reserve = 2 + 2 + (3 if self.needs_digits else 0) + 1
        for body in self.query("#confirm-body"):  # none yet if a resize comes before compose
            body.styles.max_height = max(4, event.size.height - reserve)
            self.call_after_refresh(self._show_prompt)

    def _body(self) -> VerticalScroll:
        return self.query_one("#confirm-body", VerticalScroll)

    def _at_end(self) -> bool:
        body = self._body()
        return body.max_scroll_y <= 0 or body.scroll_y >= body.max_scroll_y

    @property
    def read_to_end(self) -> bool:
        """The whole ticket has been on screen: it fits, or it was scrolled to its last line.
        Judged from the layout of the moment, never latched before the body is laid out."""
        return self._seen_end or self._at_end()

    def _scrolled(self, _y: float) -> None:
        if self._at_end() and self._body().max_scroll_y > 0:
            self._seen_end = True
            if self._notice == self.NOT_READ:  # the y that came too early is not forgotten silently
                self._notice = "the whole ticket has now been on screen: press y again to send"
            self._show_prompt()

    def _show_prompt(self) -> None:
        if self.decided is None:
            self.query_one("#confirm-prompt", Static).update(self._prompt())

    def _mark_shown(self) -> None:
        self.shown = True
        self._show_prompt()  # a short terminal: say that the ticket goes on below

    def action_scroll_body(self, step: int) -> None:
        body = self._body()
        if step == 1:
            body.scroll_down(animate=False)
        elif step == -1:
            body.scroll_up(animate=False)
        elif step == 0:
            body.scroll_page_down(animate=False)
        elif step == 2:
            body.scroll_end(animate=False)
        else:
            body.scroll_page_up(animate=False)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_confirm()

    NOT_READ = "y not taken: read the ticket to its end first (↓ / pgdn / end)"

    def _refuse(self, notice: str) -> None:
        self._notice = notice  # stays until the next y: a later repaint must not hide why
        self._show_prompt()

    def action_confirm(self) -> None:
        if self.decided is not None or not self.shown:
            return
        if self.blocking:
            self._refuse("")
            self.notify("not sent: fix the failing pre-trade checks in the builder first", severity="error",
                        timeout=4)
            return
        if not self.read_to_end:
            self._refuse(self.NOT_READ)
            return
        if self.needs_digits:
            typed = self.query_one(Input).value
            if typed != notional_digits(self.ticket):
                self._refuse("the typed notional does not match" if typed else "type the notional first")
                return
            self.keystroke = f"y+{typed}"
        else:
            self.keystroke = "y"
        self.decided = True
        if self.on_yes is not None:
            self.on_yes(self.keystroke)
        self.dismiss(True)

    def action_cancel(self) -> None:
        if self.decided is not None:
            return
        self.decided = False
        self.dismiss(False)


class QuitScreen(ModalScreen[bool]):
    """`q` while orders are working (or a ticket is being sent): leaving does not cancel them
    at the venue, so say how many first. `y` quits; `n` / `escape` stay."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical { width: 72; max-width: 100%; height: auto; border: thick $warning; background: $panel; padding: 0 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Quit", id="quit.yes", priority=True, tooltip="Leave; the orders stay working"),
        Binding("n", "answer(False)", "Stay", id="quit.no", priority=True, tooltip="Back to the console"),
        Binding("escape", "answer(False)", "Stay", id="quit.escape", priority=True, tooltip="Back to the console"),
    ]

    def __init__(self, working: int, sending: int = 0, slices: int = 0, *, demo: bool = False) -> None:
        super().__init__()
        self.working = working
        self.sending = sending
        self.slices = slices  # child orders of sliced tickets not yet sent: leaving drops them
        self.demo = demo  # the demo venue runs inside the console: it stops with it

    def message(self) -> str:
        parts = []
        if self.working:
            parts.append(f"{self.working} order{'s stay' if self.working != 1 else ' stays'} working at the venue")
        if self.sending:
            parts.append(f"{self.sending} ticket{'s are' if self.sending != 1 else ' is'} being sent right now")
        if self.slices:
            parts.append(f"{self.slices} slice{'s are' if self.slices != 1 else ' is'} still to be sent")
        head = "Quit? " + "; ".join(parts) + ". "
        if self.demo:
            return head + ("The demo venue runs inside the console: quitting stops it, and its orders and "
                           "positions end with it (the next --demo starts a fresh venue).")
        if self.slices:  # the schedule runs in this process: "orders keep working" alone would hide that
            return head + (f"Leaving stops the slice{'s' if self.slices != 1 else ''} not yet sent (the schedule "
                           "runs in the console); it does not cancel orders already at the venue: they keep "
                           "working and fill without the console watching (the journal reconciles them on the "
                           "next start).")
        return head + ("Leaving does not cancel anything: orders keep working "
                       "and fill without the console watching (the journal reconciles them on the next start).")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.message(), style="bold"), id="quit-text")
            yield Static(Text("y quit · n / esc stay (cancel them from the blotter, 3)", style="dim"))

    def action_answer(self, quit_: bool) -> None:
        self.dismiss(quit_)
