"""The state machines of a ticket and of each order, as tables of allowed transitions.

The journal refuses any transition not listed here, so a bug cannot, say, move a filled
ticket back to "sending" and send it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.execution.journal import Journal

from enum import StrEnum


class TicketState(StrEnum):
    PLANNED = "planned"  # recorded with its preview and snapshot, not yet confirmed
    CONFIRMED = "confirmed"  # the trader said yes (when, which key, on which snapshot)
    SENDING = "sending"  # order rows written; requests in flight
    WORKING = "working"  # every order's fate known to the venue; some still open
    FILLED = "filled"  # every leg done
    PARTLY_FILLED = "partly_filled"  # some quantity done, the rest cancelled/left/accepted
    CANCELLED = "cancelled"  # abandoned before sending, or every order cancelled unfilled
    FAILED = "failed"  # nothing done: rejected, never seen by the venue, or refused before sending
    RECONCILED = "reconciled"  # a reconciliation confirmed the journal matches the venue


class OrderState(StrEnum):
    NEW = "new"  # row written before the request; the venue may or may not have it
    UNKNOWN = "unknown"  # the request's outcome is ambiguous; being looked up by client id
    OPEN = "open"
    PARTIAL = "partial"  # partly filled, still open
    FILLED = "filled"
    CANCELLED = "cancelled"  # may carry a partial fill
    REJECTED = "rejected"  # the venue said no
    EXPIRED = "expired"
    NEVER_SEEN = "never_seen"  # the venue does not know the client id after the grace period


TICKET_DONE = frozenset({TicketState.FILLED, TicketState.PARTLY_FILLED, TicketState.CANCELLED,
                         TicketState.FAILED})

TICKET_TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    TicketState.PLANNED: frozenset({TicketState.CONFIRMED, TicketState.CANCELLED}),
    # confirmed → failed: refused at send time (a guard, trading closed, stale data, a lot
    # or minimum error) before any order row was written, so nothing reached the venue; the
    # ticket is finished, never left "confirmed" for a later session to send or wonder about.
    TicketState.CONFIRMED: frozenset({TicketState.SENDING, TicketState.CANCELLED, TicketState.FAILED}),
    TicketState.SENDING: frozenset({TicketState.WORKING} | TICKET_DONE),
    TicketState.WORKING: frozenset(TICKET_DONE),
    # A partly filled ticket can be worked again (chase the rest, unwind what filled).
    TicketState.PARTLY_FILLED: frozenset({TicketState.WORKING, TicketState.RECONCILED}),
    TicketState.FILLED: frozenset({TicketState.WORKING, TicketState.RECONCILED}),  # unwind
    # A reconciliation can find that a "never seen" order did reach the venue after all.
    TicketState.CANCELLED: frozenset({TicketState.WORKING, TicketState.RECONCILED}),
    TicketState.FAILED: frozenset({TicketState.WORKING, TicketState.RECONCILED}),
    TicketState.RECONCILED: frozenset({TicketState.WORKING}),  # chase/unwind after a restart
}

ORDER_LIVE = frozenset({OrderState.NEW, OrderState.UNKNOWN, OrderState.OPEN, OrderState.PARTIAL})
ORDER_FINAL = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED,
                         OrderState.EXPIRED})
_VENUE_STATES = frozenset({OrderState.OPEN, OrderState.PARTIAL} | ORDER_FINAL)

ORDER_TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.NEW: _VENUE_STATES | {OrderState.UNKNOWN, OrderState.NEVER_SEEN},
    OrderState.UNKNOWN: _VENUE_STATES | {OrderState.NEVER_SEEN},
    OrderState.OPEN: frozenset({OrderState.PARTIAL} | ORDER_FINAL),
    OrderState.PARTIAL: frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.EXPIRED}),
    # The venue may show an order late (Binance -1007: "execution status unknown"); a
    # reconciliation that finds it corrects the row instead of losing the order.
    OrderState.NEVER_SEEN: _VENUE_STATES,
    OrderState.FILLED: frozenset(),
    OrderState.CANCELLED: frozenset(),
    OrderState.REJECTED: frozenset(),
    OrderState.EXPIRED: frozenset(),
}


def ticket_can(src: TicketState, dst: TicketState) -> bool:
    return dst in TICKET_TRANSITIONS[src]


def order_can(src: OrderState, dst: OrderState) -> bool:
    # Staying in OPEN / PARTIAL / UNKNOWN while the fill grows is an update, not a transition.
    return dst == src and src in (OrderState.PARTIAL, OrderState.OPEN, OrderState.UNKNOWN) \
        or dst in ORDER_TRANSITIONS[src]


def order_state_from_ccxt(status: str | None, filled: float, amount: float) -> OrderState:
    """ccxt's unified status ("open", "closed", "canceled", "expired", "rejected") → ours."""
    if status == "open":
        return OrderState.PARTIAL if filled > 0 else OrderState.OPEN
    if status == "closed":
        # A closed order with less than its amount filled (IOC/market remainder) is cancelled.
        return OrderState.FILLED if filled >= amount * (1 - 1e-9) else OrderState.CANCELLED
    if status in ("canceled", "cancelled"):
        return OrderState.CANCELLED
    if status == "expired":
        return OrderState.EXPIRED
    if status == "rejected":
        return OrderState.REJECTED
    return OrderState.UNKNOWN


def ticket_outcome(journal: Journal, ticket_id: str) -> TicketState:
    """A ticket's final state once none of its orders is live."""
    residual = journal.residual(ticket_id)
    orders = journal.orders(ticket_id)
    if residual and all(abs(r.remaining) <= 1e-9 * max(1.0, abs(r.target)) for r in residual):
        return TicketState.FILLED
    if any(o.filled > 0 for o in orders):
        return TicketState.PARTLY_FILLED
    if orders and all(o.state in (OrderState.REJECTED, OrderState.NEVER_SEEN) for o in orders):
        return TicketState.FAILED
    return TicketState.CANCELLED
