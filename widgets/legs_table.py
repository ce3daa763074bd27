"""The legs of a ticket: account, symbol, side, contracts, notional, type/price, reduce-only."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
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


def _legs_table(ticket: Ticket) -> Table:
    tb = Table(expand=True, header_style="bold", pad_edge=False, box=None)
    for c in LEG_COLUMNS:
        tb.add_column(c, justify="right" if c in NUMERIC else "left", no_wrap=True)
    for t in ticket.legs:
        tb.add_row(*leg_cells(t))
    return tb


def table_width(ticket: Ticket) -> int:
    """Cells the table needs without cutting a value: widest cell per column, two between."""
    rows = [LEG_COLUMNS, *([str(c) for c in leg_cells(t)] for t in ticket.legs)]
    return sum(max(len(r[i]) for r in rows) for i in range(len(LEG_COLUMNS))) + 2 * (len(LEG_COLUMNS) - 1)


def stacked_leg(t: TicketLeg) -> Text:
    """One leg in two lines, for a window too narrow for the table: what is traded first."""
    leg = t.leg
    out = Text()
    out.append(f"{leg.side.upper():<4} ", style="bold red" if leg.side == "sell" else "bold green")
    out.append(f"{leg.contracts:g} {leg.symbol}", style="bold")
    out.append(f"  notional {money(leg.notional)}\n")
    out.append(f"     {order_desc(t)} · reduce-only {'yes' if leg.reduce_only else 'no'} · "
               f"{leg.account} · {leg.sleeve} · {leg.purpose}", style="dim")
    return out


class LegsView:
    """The legs for the confirmation modal: the table when it fits the width it is given,
    otherwise one block per leg, so no figure of a ticket about to be sent is ever cut."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if table_width(self.ticket) <= options.max_width:
            yield _legs_table(self.ticket)
            return
        yield Text("legs", style="bold")
        for t in self.ticket.legs:
            yield stacked_leg(t)


def legs_renderable(ticket: Ticket) -> LegsView:
    return LegsView(ticket)


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
