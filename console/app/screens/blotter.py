"""The blotter: tickets from the journal, their orders and fills, each leg's residual.

Reads run in a thread worker (``journal.tickets/orders/fills/residual``) and post one frozen
``BlotterData``; tables update by key. `c` cancels the order under the cursor, `x` every
working order of the ticket; while a leg waits `C` chases and `U` unwinds (each through a
confirmation of what it sends), `L` leaves the residual; `X` abandons a planned or confirmed ticket that was never sent (one left over from
an earlier session); `K` (global) is the kill switch. A cancelled or failed ticket shows why.

On a journal the desk shares (PostgreSQL), every console's tickets and orders are here, each
with a "by" column: who confirmed the ticket and which console sent the order (user@host/console).
They refresh when another console writes (the app's journal listener), not only each second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from console.app.screens import paint_header
from console.core.numbers import money
from console.core.ticket import leg_number
from console.execution.ports import venue_reason
from widgets.footer import KeyFooter
from widgets.header import HeaderBar
from widgets.risk_panel import short_symbol

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.app.state import DashboardState

STATE_STYLE = {"filled": "green", "reconciled": "green", "working": "yellow", "sending": "yellow",
               "confirmed": "cyan", "planned": "dim", "cancelled": "dim", "failed": "bold red",
               "partly_filled": "yellow", "open": "yellow", "partial": "yellow", "new": "cyan",
               "unknown": "bold magenta", "rejected": "bold red", "expired": "dim", "never_seen": "red"}


@dataclass(frozen=True)
class BlotterData:
    tickets: tuple[Any, ...]  # TicketRow, newest first
    orders: tuple[Any, ...]  # OrderRow of the selected ticket
    fills: tuple[Any, ...]  # FillRow of the selected ticket
    residual: tuple[Any, ...]  # LegResidual of the selected ticket
    selected: str | None
    reasons: tuple[tuple[str, str], ...] = ()  # (ticket id, why it was cancelled or failed)

    def reason(self, ticket_id: str | None) -> str | None:
        return next((r for t, r in self.reasons if t == ticket_id), None)


class BlotterReady(Message):
    def __init__(self, data: BlotterData) -> None:
        self.data = data
        super().__init__()


def hms(ms: int | None) -> str:
    return "—" if not ms else dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%H:%M:%S")


def _state(s: Any) -> Text:
    v = getattr(s, "value", str(s))
    return Text(v, style=STATE_STYLE.get(v, ""))


def status_line(state: str, orders: Sequence[Any], submitting: bool) -> str | None:
    """What is true of a ticket now, when it has no end reason to show. "Being sent" only
    while a request is out without an answer; once the venue has acknowledged the orders the
    ticket is working, whatever the console is still doing with it."""
    if state in ("planned", "confirmed") and not orders:
        return f"{state}: being sent now" if submitting else f"{state}, never sent: X abandons it"
    if any(getattr(o.state, "value", o.state) == "new" for o in orders):
        return f"{state}: being sent now"
    if any(getattr(o.state, "value", o.state) == "unknown" for o in orders):
        return f"{state}: the venue's answer was unclear; looking the order up by its client id (never resent)"
    if state in ("sending", "working") and any(getattr(o.state, "value", o.state) in ("open", "partial")
                                               for o in orders):
        return "working: the venue has the orders; watched until each is final"
    return None


def refusals(orders: Sequence[Any]) -> list[str]:
    """One line per order the venue refused or never saw, with the venue's own reason."""
    out = []
    for o in orders:
        st = getattr(o.state, "value", o.state)
        if st in ("rejected", "never_seen"):
            leg = "" if o.leg is None else f"leg {o.leg + 1} "
            what = "rejected by the venue" if st == "rejected" else "never seen by the venue"
            why = venue_reason(o.error)
            out.append(f"{leg}{o.side} {o.amount:g} {short_symbol(o.symbol)} {what}" + (f": {why}" if why else ""))
    return out


# (key, label, width); None = as wide as its cells. The client id is as wide as the venue's ids.
ORDER_COLUMNS = (("leg", "leg", 3), ("symbol", "symbol", None), ("amount", "amount", 7), ("filled", "filled", 7),
                 ("price", "price", 9), ("avg", "avg", 9), ("state", " state", 10), ("cid", "client id", None))
RIGHT = frozenset({"amount", "filled", "price", "avg"})


def figure(text: str) -> Text:
    """A right-aligned figure of the orders table (with no cell padding, the state column
    after the last figure starts with a space of its own)."""
    return Text(text, justify="right")


def price_text(o: Any) -> str:
    """The order's limit price, or "market" (a market order has none)."""
    return "market" if o.price is None else f"{o.price:,.6g}"


def signed_amount(o: Any) -> Text:
    """Contracts asked, signed by side (+ buy, − sell), coloured as the side."""
    return Text(f"{o.amount if o.side == 'buy' else -o.amount:+g}", justify="right",
                style="red" if o.side == "sell" else "green")


def read_blotter(journal: Any, selected: str | None, limit: int = 200) -> BlotterData:
    tickets = list(reversed(journal.tickets()))[:limit]
    sel = selected if any(t.id == selected for t in tickets) else (tickets[0].id if tickets else None)
    # a reconciled ticket keeps the reason it was cancelled or failed with (R must not erase why)
    ended = [t.id for t in tickets if getattr(t.state, "value", t.state) in ("cancelled", "failed", "reconciled")]
    reasons = tuple(sorted(journal.end_reasons(ended).items())) if ended and hasattr(journal, "end_reasons") else ()
    if sel is None:
        return BlotterData(tuple(tickets), (), (), (), None, reasons)
    return BlotterData(tuple(tickets), tuple(journal.orders(sel)), tuple(journal.fills(sel)),
                       tuple(journal.residual(sel)), sel, reasons)


class BlotterScreen(Screen):
    TITLE = "Blotter"
    BINDINGS = [
        Binding("c", "cancel_order", "Cancel order", id="blotter.cancel",
                tooltip="Cancel the working order under the cursor"),
        Binding("x", "cancel_ticket", "Cancel ticket", id="blotter.cancel_ticket",
                tooltip="Cancel every working order of the selected ticket"),
        Binding("C", "chase", "Chase", id="blotter.chase", show=False,
                tooltip="Legging: send what the waiting legs lack at the far touch (confirmed first)"),
        Binding("U", "unwind", "Unwind", id="blotter.unwind", show=False,
                tooltip="Legging: undo what filled (confirmed first)"),
        Binding("L", "leave", "Leave", id="blotter.leave", show=False,
                tooltip="Legging: cancel what is still working and accept the residual"),
        Binding("X", "abandon", "Abandon", id="blotter.abandon", show=False,
                tooltip="Abandon the selected planned or confirmed ticket that was never sent (journaled)"),
        Binding("tab", "app.focus_next", "Next table", id="blotter.focus", show=False,
                tooltip="Move between the tickets and orders tables"),
    ]
    DEFAULT_CSS = """
    BlotterScreen #bl-lower { height: 1fr; }
    BlotterScreen #bl-orders { width: 1fr; }
    BlotterScreen #bl-side { width: 37; padding: 0 1; }
    BlotterScreen .title { height: 1; background: $boost; padding: 0 1; }
    /* narrow: the ticket's fills and residuals go under its orders instead of beside them */
    BlotterScreen.-narrow #bl-lower { layout: vertical; }
    BlotterScreen.-narrow #bl-orders { height: 1fr; }
    BlotterScreen.-narrow #bl-side { width: 100%; height: auto; max-height: 7; }
    """
    NARROW = 118  # columns below which the side panel no longer fits beside the orders

    app: RebalApp

    def __init__(self) -> None:
        super().__init__()
        self.data: BlotterData | None = None
        self.selected: str | None = None
        self.shared = False  # the journal is a desk's (PostgreSQL): show who sent what
        self._followed: str | None = None  # the app's last sent ticket this screen has moved to

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield Static("Tickets (newest first)", classes="title")
        yield DataTable(id="bl-tickets", cursor_type="row")
        yield Static("Orders of the selected ticket", classes="title", id="bl-orders-title")
        with Horizontal(id="bl-lower"):
            yield DataTable(id="bl-orders", cursor_type="row")
            yield Static("", id="bl-side")
        yield KeyFooter(compact=True)

    TICKET_ROWS = 12  # the tickets table's height when the window has room for it

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")
        # a short window shares its rows with the orders below (header, two titles, footer)
        rows = event.size.height - 4
        for table in self.query("#bl-tickets"):  # none yet if a resize comes before compose
            table.styles.height = self.TICKET_ROWS if rows >= 3 * self.TICKET_ROWS - 4 else max(3, rows // 3)

    def on_mount(self) -> None:
        journal = self.app.services.journal
        self.shared = bool(journal is not None and getattr(journal, "shared", False))
        t = self.query_one("#bl-tickets", DataTable)
        for key, label, w in (("id", "ticket", 14), ("time", "time", 8), ("kind", "kind", 8), ("state", "state", 13),
                              ("legs", "legs", 4), ("gross", "gross", 12), ("key", "confirm", 7),
                              *((("by", "by", 24),) if self.shared else ()), ("note", "note", 36)):
            t.add_column(Text(label, justify="right") if key == "gross" else label, key=key, width=w)
        o = self.query_one("#bl-orders", DataTable)
        # Whole client ids at 80 and 120 columns (two orders of a ticket differ only in their
        # tails): one cell of padding per column instead of two, short contract names
        # (BTC-PERP), and the side as the amount's sign (signed contracts, as the residual
        # reads) and colour. Leg numbers count from 1, as `journal show` and the confirmation do.
        # On a desk's shared journal a "by" column says which console sent each order.
        o.cell_padding = 0
        columns = ORDER_COLUMNS if not self.shared else (*ORDER_COLUMNS[:-1], ("by", "by", 24), ORDER_COLUMNS[-1])
        for key, label, w in columns:
            o.add_column(figure(label) if key in RIGHT else label, key=key,
                         width=None if w is None else w + 1)
        t.focus()
        self._header()
        self.refresh_blotter()
        self.set_interval(1.0, self.refresh_blotter)

    # ------------------------------------------------------------------ data

    def refresh_blotter(self) -> None:
        sent = self.app.last_ticket_id
        if sent is not None and sent != self._followed:
            # a ticket just confirmed: the detail pane follows it, wherever the cursor was
            self._followed = self.selected = sent
        if self.app.services.journal is None:
            self.query_one("#bl-side", Static).update(Text("no journal is open", style="yellow"))
            return
        self._read(self.selected)

    @work(thread=True, exclusive=True, group="blotter", exit_on_error=False)
    def _read(self, selected: str | None) -> None:
        self.post_message(BlotterReady(read_blotter(self.app.services.journal, selected)))

    @on(BlotterReady)
    def _ready(self, event: BlotterReady) -> None:
        d = event.data
        if d == self.data:
            return
        prev = self.data
        self.data = d
        self.selected = d.selected
        with self.app.batch_update():
            self._tickets(d, prev)
            self._orders(d, prev)
            self._side(d)

    def _tickets(self, d: BlotterData, prev: BlotterData | None) -> None:
        table = self.query_one("#bl-tickets", DataTable)
        rows = {t.id: (Text(t.id), hms(t.created_ms), t.kind, _state(t.state), str(len(t.ticket.legs)),
                       Text(money(t.ticket.gross_notional), justify="right"), t.confirm_key or "—",
                       *((self._who(t),) if self.shared else ()), self._note(d, t))
                for t in d.tickets}
        old = {t.id for t in prev.tickets} if prev else set()
        if [t.id for t in d.tickets] != [t.id for t in (prev.tickets if prev else ())]:
            cursor = self.selected
            table.clear()
            for tid, cells in rows.items():
                table.add_row(*cells, key=tid)
            ids = list(rows)
            if cursor in ids:
                table.move_cursor(row=ids.index(cursor), animate=False)
            return
        ids = [t.id for t in d.tickets]
        if self.selected in ids and table.cursor_row != ids.index(self.selected):
            table.move_cursor(row=ids.index(self.selected), animate=False)
        before = {t.id: t for t in prev.tickets} if prev else {}
        for t in d.tickets:
            if t.id in old and before[t.id] != t:
                table.update_cell(t.id, "state", _state(t.state))
                table.update_cell(t.id, "key", t.confirm_key or "—")
                if self.shared:
                    table.update_cell(t.id, "by", self._who(t))
            if t.id in old and prev is not None and prev.reason(t.id) != d.reason(t.id):
                table.update_cell(t.id, "note", self._note(d, t))

    def _who(self, t: Any) -> Text:
        """Who confirmed the ticket, user@host/console; this console's own in bold."""
        by = getattr(t, "confirmed_by", None)
        if by is None:
            return Text("—", style="dim")
        label = f"{by}/{t.confirmed_console}"
        return Text(label, style="bold" if self._mine(label) else "", no_wrap=True, overflow="ellipsis")

    def _mine(self, label: str | None) -> bool:
        journal = self.app.services.journal
        return label is not None and journal is not None and label == journal.origin.label

    @staticmethod
    def _note(d: BlotterData, t: Any) -> Text:
        """The ticket's note; for a cancelled or failed one, why (what the trader needs)."""
        why = d.reason(t.id)
        if why:
            return Text(why, style=STATE_STYLE.get(t.state.value, ""), no_wrap=True, overflow="ellipsis")
        return Text(t.note or "", no_wrap=True, overflow="ellipsis")

    def _orders(self, d: BlotterData, prev: BlotterData | None) -> None:
        table = self.query_one("#bl-orders", DataTable)
        keys = [o.client_id for o in d.orders]
        same = prev is not None and prev.selected == d.selected and [o.client_id for o in prev.orders] == keys
        cells = {o.client_id: ("—" if o.leg is None else str(leg_number(o.leg)), short_symbol(o.symbol),
                               signed_amount(o), figure(f"{o.filled:g}"), figure(price_text(o)),
                               figure("—" if o.average is None else f"{o.average:,.6g}"),
                               Text(" ") + _state(o.state),
                               *((Text(o.origin or ("external" if o.external else "—"), no_wrap=True,
                                       overflow="ellipsis", style="bold" if self._mine(o.origin) else ""),)
                                 if self.shared else ()),
                               o.client_id) for o in d.orders}
        if not same:
            table.clear()
            for cid, row in cells.items():
                table.add_row(*row, key=cid)
            return
        before = {o.client_id: o for o in prev.orders}
        for o in d.orders:
            if before[o.client_id] != o:
                row = cells[o.client_id]
                for col, v in zip(("filled", "avg", "state"), (row[3], row[5], row[6]), strict=True):
                    table.update_cell(o.client_id, col, v)

    def _side(self, d: BlotterData) -> None:
        out = Text()
        if d.selected is None:
            out.append("No tickets yet. Build one on the builder (2), confirm it, and it shows here.", style="dim")
        else:
            out.append(f"Ticket {d.selected}\n", style="bold")
            t = next((t for t in d.tickets if t.id == d.selected), None)
            why = d.reason(d.selected)
            if t is not None and why:
                out.append(f"{t.state.value}: {why}\n", style=STATE_STYLE.get(t.state.value, ""))
            elif t is not None and (line := status_line(t.state.value, d.orders, t.id in self.app.submitting)):
                out.append(line + "\n", style="cyan")
            for line in refusals(d.orders):
                out.append(line + "\n", style="bold red")
            waiting = [r for r in d.residual if not r.settled]
            if t is not None and waiting and t.state.value in ("working", "partly_filled"):
                legs = ", ".join(f"{leg_number(r.leg)} (left {r.remaining:+g})" for r in waiting)
                filled = any(abs(r.done) > 1e-12 for r in d.residual)
                out.append(f"waiting: leg {legs}\nC chase" + (" · U unwind" if filled else "") + " · L leave\n",
                           style="bold yellow")
            out.append("Residual per leg (contracts)\n", style="bold dim")
            for r in d.residual:
                style = "green" if r.settled else "yellow"
                left = "✓" if r.settled and not r.remaining else f"left {r.remaining:+g}"
                out.append(f" {leg_number(r.leg)} {short_symbol(r.symbol)} {r.done:+g}/{r.target:+g} {left}"
                           f"{' (accepted)' if r.accepted else ''}\n", style=style)
            out.append("Fills\n", style="bold dim")
            if not d.fills:
                out.append(" none yet\n", style="dim")
            for f in d.fills[-12:]:
                out.append(f"{hms(f.ts)} {f.side} {f.amount:g} {short_symbol(f.symbol)} @"
                           f"{'—' if f.price is None else f'{f.price:,.6g}'}\n")
        self.query_one("#bl-side", Static).update(out)
        self.query_one("#bl-orders-title", Static).update(
            f"Orders of ticket {d.selected}" if d.selected else "Orders of the selected ticket")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "bl-tickets" and event.row_key.value != self.selected:
            self.selected = event.row_key.value
            self.refresh_blotter()

    # ------------------------------------------------------------------ actions

    def _executor(self) -> Any:
        ex = self.app.services.executor
        if ex is None:
            self.notify("no executor is connected", severity="error")
        return ex

    def action_cancel_order(self) -> None:
        table = self.query_one("#bl-orders", DataTable)
        if self.data is None or not self.data.orders or table.cursor_row < 0:
            self.notify("no order under the cursor (tab moves to the orders table)", severity="warning")
            return
        o = self.data.orders[min(table.cursor_row, len(self.data.orders) - 1)]
        if not o.live:
            self.notify(f"order {o.client_id} is {o.state.value}: nothing to cancel", timeout=3)
            return
        self._run(lambda ex: ex.cancel(o.client_id), f"cancel {o.client_id}")

    def action_cancel_ticket(self) -> None:
        if self.data is None:
            return
        live = [o for o in self.data.orders if o.live]
        if not live:
            self.notify("the selected ticket has no working orders", timeout=3)
            return
        for o in live:
            self._run(lambda ex, cid=o.client_id: ex.cancel(cid), f"cancel {o.client_id}")

    def action_abandon(self) -> None:
        """A ticket left planned or confirmed (an earlier session, say) and never sent → cancelled,
        journaled. The executor refuses when the journal holds any order for it."""
        d = self.data
        t = next((t for t in d.tickets if t.id == self.selected), None) if d is not None else None
        if t is None:
            self.notify("no ticket selected", severity="warning", timeout=3)
            return
        if t.state.value not in ("planned", "confirmed"):
            self.notify(f"ticket {t.id} is {t.state.value}: only a planned or confirmed ticket that was never "
                        "sent can be abandoned", severity="warning", timeout=5)
            return
        if t.id in self.app.submitting or (self.app.reviewing and t.state.value == "planned"):
            self.notify(f"ticket {t.id} is being reviewed or sent right now", severity="warning", timeout=4)
            return
        tid = t.id
        self._run(lambda ex: _abandon(ex, tid), f"abandon {tid}")

    def action_chase(self) -> None:
        if self.selected is not None:
            self.app.follow_up(self.selected, "chase")  # what it sends is confirmed first

    def action_unwind(self) -> None:
        if self.selected is not None:
            self.app.follow_up(self.selected, "unwind")

    def action_leave(self) -> None:
        """Cancel the ticket's working orders and accept the residual; nothing new is sent (the
        executor refuses a ticket that is done)."""
        if self.selected is not None:
            tid = self.selected
            self._run(lambda ex: ex.leave(tid), f"leave {tid}")

    @work(group="blotter-action", exit_on_error=False)
    async def _run(self, call: Any, what: str) -> None:
        ex = self._executor()
        if ex is None:
            return
        try:
            out = await self.app.services.call(call(ex))
        except Exception as exc:  # noqa: BLE001 - shown to the trader
            self.notify(f"{what}: {exc}", severity="error", timeout=8)
            return
        state = getattr(getattr(out, "state", None), "value", "done")
        self.notify(f"{what}: {state}", timeout=4)
        self.refresh_blotter()

    # ------------------------------------------------------------------ header

    def show_state(self, state: DashboardState) -> None:
        self._header()

    def tick(self) -> None:
        self._header()  # the data ages keep up with the clock between snapshots

    def _header(self) -> None:
        paint_header(self, "Blotter")


async def _abandon(ex: Any, ticket_id: str) -> Any:
    """On the service loop, where the executor keeps its in-flight set."""
    ex.abandon(ticket_id, "abandoned on the blotter (X)")
    return ex.journal.ticket(ticket_id)
