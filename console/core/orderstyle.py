"""How a leg is worked: market, limit or post-only at mid ± offset, or sliced over time.

Limit prices sit on the passive side of mid (a buy below it, a sell above it) by
``offset_bps`` and go through ccxt's ``price_to_precision`` (console.core.lots). A post-only price
is also kept off the far side of the book so the venue does not reject it (Binance GTX).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from console.core.costs import book_mid
from console.core.lots import Lots, split
from console.core.snapshot import Snapshot
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketLeg
from console.core.venuedata import ByAccount, of


def passive_price(side: str, mid: float, offset_bps: float) -> float:
    """mid × (1 − offset) for a buy, mid × (1 + offset) for a sell."""
    off = offset_bps / 1e4
    return mid * (1 - off) if side == "buy" else mid * (1 + off)


def limit_price(side: str, mid: float, style: OrderStyle, lots: Lots, symbol: str,
                book: Mapping[str, Any] | None = None) -> float | None:
    """The venue-rounded limit price for ``style`` (None for market orders)."""
    if style.type is OrderType.MARKET:
        return None
    px = passive_price(side, mid, style.offset_bps)
    if style.type is OrderType.POST_ONLY and book:
        bids, asks = book.get("bids") or [], book.get("asks") or []
        # a post-only buy at or above the best ask would take liquidity and be rejected
        if side == "buy" and bids:
            px = min(px, float(bids[0][0]))
        if side == "sell" and asks:
            px = max(px, float(asks[0][0]))
    return lots.price(symbol, px)


@dataclass(frozen=True)
class ChildOrder:
    index: int
    at_ms: int  # when to send it
    amount: float  # contracts, venue-rounded


@dataclass(frozen=True)
class Schedule:
    children: tuple[ChildOrder, ...]
    reason: str  # how the leg was cut, and any adjustment made

    @property
    def total(self) -> float:
        return sum(c.amount for c in self.children)


def slice_schedule(amount: float, style: OrderStyle, lots: Lots, symbol: str, start_ms: int) -> Schedule:
    """Cut ``amount`` into ``style.slices`` child orders evenly spaced over ``style.over_minutes``.

    Each child is rounded down to the lot step; the last one takes the remainder so the
    children add up to the leg exactly. When a child would fall under one lot, fewer slices
    are used and the reason says so.
    """
    n = max(style.slices, 1)
    if n == 1:
        return Schedule((ChildOrder(0, start_ms, amount),), "one order")
    note = ""
    while n > 1 and not (parts := split(amount, n, lambda x: lots.amount(symbol, x).amount)):
        n -= 1
        note = f"; cut to {n} slices: {style.slices} would put a child under one lot"
    if n == 1:
        return Schedule((ChildOrder(0, start_ms, amount),), "one order" + note)
    gap_ms = int(style.over_minutes * 60_000 / (n - 1))
    kids = tuple(ChildOrder(i, start_ms + i * gap_ms, a) for i, a in enumerate(parts))
    child, last = parts[0], parts[-1]
    return Schedule(kids, f"{n} child orders of {child:g} (last {last:g}), one every "
                          f"{gap_ms / 60_000:g} min over {style.over_minutes:g} min" + note)


def style_ticket(ticket: Ticket, style: OrderStyle, snap: Snapshot, lots: Mapping[str, Lots],
                 books: ByAccount | None = None) -> Ticket:
    """The ticket with every leg worked in ``style``; limit prices from the book's mid when a
    book is given, else from the mark the leg was sized on."""
    legs: list[TicketLeg] = []
    for tl in ticket.legs:
        leg = tl.leg
        book = of(books, leg.account, leg.symbol)  # the leg's own venue's book
        mid = book_mid(book) or leg.price
        px = limit_price(leg.side, mid, style, lots[leg.account], leg.symbol, book)
        legs.append(TicketLeg(leg, style, px))
    return replace(ticket, legs=tuple(legs))
