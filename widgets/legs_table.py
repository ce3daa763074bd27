"""The legs of a ticket: account, symbol, side, contracts, notional, type/price, reduce-only."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import DataTable

from console.report import money
from console.ticket import Ticket, TicketLeg

NUMERIC = ("contracts", "notional")
LEG_COLUMNS = ("sleeve", "account", "symbol", "side", "contracts", "notional", "type / price", "reduce-only", "purpose")


def order_desc(t: TicketLeg) -> str:
    style = t.style
    base = style.type.value.replace("_", "-")
    if t.limit_price is not None:
        base += f" @ {t.limit_price:,.8g}"
    elif style.type.value != "market" and style.offset_bps:
        base += f" mid∓{style.offset_bps:g}bp"
    if style.slices > 1:
        base += f" ×{style.slices}/{style.over_minutes:g}m"
    return base


def leg_cells(t: TicketLeg) -> tuple[str | Text, ...]:
    leg = t.leg
    return (leg.sleeve, leg.account, leg.symbol,
            Text(leg.side.upper(), style="bold red" if leg.side == "sell" else "bold green"),
            Text(f"{leg.contracts:g}", justify="right"), Text(money(leg.notional), justify="right"),
            order_desc(t), "yes" if leg.reduce_only else "no", leg.purpose)


def legs_renderable(ticket: Ticket) -> Table:
    """The legs as a Rich table (the confirmation modal prints them all, no scrolling)."""
    tb = Table(expand=True, header_style="bold", pad_edge=False, box=None)
    for c in LEG_COLUMNS:
        tb.add_column(c, justify="right" if c in NUMERIC else "left", no_wrap=True)
    for t in ticket.legs:
        tb.add_row(*leg_cells(t))
    return tb


class LegsTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        for c in LEG_COLUMNS:
            self.add_column(Text(c, justify="right") if c in NUMERIC else c, key=c)

    def show(self, legs: Sequence[TicketLeg]) -> None:
        with self.app.batch_update():
            self.clear()
            for i, t in enumerate(legs):
                self.add_row(*leg_cells(t), key=str(i))
