"""The legs of a ticket: account, symbol, side, contracts, notional, type/price, reduce-only."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.core.numbers import money
from console.core.ticket import Ticket, TicketLeg

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


def _legs_table(legs: Sequence[TicketLeg]) -> Table:
    tb = Table(expand=True, header_style="bold", pad_edge=False, box=None)
    for c in LEG_COLUMNS:
        tb.add_column(c, justify="right" if c in NUMERIC else "left", no_wrap=True)
    for t in legs:
        tb.add_row(*leg_cells(t))
    return tb


def table_width(legs: Ticket | Sequence[TicketLeg]) -> int:
    """Cells the table needs without cutting a value: widest cell per column, two between."""
    legs = legs.legs if isinstance(legs, Ticket) else legs
    rows = [LEG_COLUMNS, *([str(c) for c in leg_cells(t)] for t in legs)]
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
    """A ticket's legs: the table when it fits the width it is given, otherwise one block per
    leg, so no figure of a ticket is ever cut or pushed off to the side (the builder and the
    confirmation show legs alike)."""

    def __init__(self, legs: Ticket | Sequence[TicketLeg]) -> None:
        self.legs = tuple(legs.legs if isinstance(legs, Ticket) else legs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if table_width(self.legs) <= options.max_width:
            yield _legs_table(self.legs)
            return
        yield Text("legs", style="bold")
        for t in self.legs:
            yield stacked_leg(t)


def legs_renderable(ticket: Ticket) -> LegsView:
    return LegsView(ticket)


class LegsTable(Static):
    """The builder's legs, redrawn whenever the ticket is rebuilt."""

    def show(self, legs: Sequence[TicketLeg]) -> None:
        self.update(LegsView(legs) if legs else Text("no legs", style="dim"))
