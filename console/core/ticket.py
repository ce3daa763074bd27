"""A ticket: the legs a trader confirms as one unit, with how each is to be worked.

The planner builds tickets, the confirmation modal shows them, the executor sends them and
the journal stores them. Frozen: a change of input makes a new ticket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from console.core.overlay import Leg


class TicketKind(StrEnum):
    HEDGE = "hedge"  # single-leg overlay on one sleeve
    SPREAD = "spread"  # sell an overweight sleeve, buy an underweight one
    ROLL = "roll"  # close a hedge in one contract, open the same notional in another
    PROXY = "proxy"  # hedge through a correlated instrument with a hedge ratio
    BETA = "beta"  # beta-neutral core/satellite hedge
    REBALANCE = "rebalance"  # every sleeve in scope at once
    FLATTEN = "flatten"  # the kill switch: reduce-only market orders closing the overlay


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"  # at mid ± offset
    POST_ONLY = "post_only"  # limit that must rest (Binance GTX)


@dataclass(frozen=True)
class OrderStyle:
    type: OrderType = OrderType.MARKET
    offset_bps: float = 0.0  # limit price = mid ∓ offset (passive side) for limit / post-only
    slices: int = 1  # child orders per leg
    over_minutes: float = 0.0  # spread the slices over this long

    def __post_init__(self) -> None:
        if self.slices < 1:
            raise ValueError("slices must be at least 1")
        # `not >`: nan minutes compare false with everything and inf would never time a slice
        if self.slices > 1 and not (0 < self.over_minutes < math.inf):
            raise ValueError("sliced orders need over_minutes > 0")


@dataclass(frozen=True)
class TicketLeg:
    leg: Leg
    style: OrderStyle = OrderStyle()
    limit_price: float | None = None  # venue-rounded; None for market orders

    @property
    def order_type(self) -> str:
        """ccxt's order type for this leg."""
        return "market" if self.style.type is OrderType.MARKET else "limit"


@dataclass(frozen=True)
class Ticket:
    kind: TicketKind
    legs: tuple[TicketLeg, ...]
    snapshot_ts: int  # epoch ms of the Snapshot the ticket was planned on
    horizon_days: float = 7.0
    note: str = ""  # one line a trader reads: why this ticket
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # added by the planner (issue #4): one line per leg saying why this size and instrument
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def gross_notional(self) -> float:
        return sum(t.leg.notional for t in self.legs)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.leg.account for t in self.legs))


def leg_number(index: int) -> int:
    """A leg as the trader reads it: counted from 1 (the blotter, `journal show`, the
    confirmation's cost table); the journal stores the 0-based index."""
    return index + 1
