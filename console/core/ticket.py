"""A ticket: the legs a trader confirms as one unit, with how each is to be worked.

The planner builds tickets, the confirmation modal shows them, the executor sends them and
the journal stores them. Frozen: a change of input makes a new ticket.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from console.core.frozen import quick_init
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


@quick_init
@dataclass(frozen=True)
class TicketLeg:
    leg: Leg
    style: OrderStyle = OrderStyle()
    limit_price: float | None = None  # venue-rounded; None for market orders

    @property
    def order_type(self) -> str:
        """ccxt's order type for this leg."""
        return "market" if self.style.type is OrderType.MARKET else "limit"


class Later:
    """Words worked out when first read: ``fn(*args)``, from figures the planner already holds.
    A plan proposes hundreds of tickets and a trader reads a few of them; formatting every
    note and reason up front was an eighth of a proposal."""

    __slots__ = ("fn", "args")

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn = fn
        self.args = args

    def __call__(self) -> Any:
        return self.fn(*self.args)


def worded(text: Any) -> Any:
    """``text``, or what its ``Later`` words."""
    return text() if type(text) is Later else text


def worded_each(parts: tuple[Any, ...]) -> tuple[Any, ...]:
    """Each part ``worded``: a ticket's reasons, some of them ``Later``."""
    return tuple([p() if type(p) is Later else p for p in parts])


class _Worded:
    """A ticket's text field: given as the text or as a ``Later`` of it, read as the text
    (worded on first read, then kept). Readers, equality, ``replace`` and the journal see only
    text."""

    def __init__(self, default: Any) -> None:
        self.default = default
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # the dataclass asks the class for the field's default
            return self.default
        v = getattr(obj, self.key)
        if type(v) is Later:
            v = v()
            object.__setattr__(obj, self.key, v)
        return v

    def __set__(self, obj: Any, value: Any) -> None:
        # not through obj.__dict__: reading it builds the instance's dict, one more object per ticket
        object.__setattr__(obj, self.key, value)


@dataclass(frozen=True)
class Ticket:
    kind: TicketKind
    legs: tuple[TicketLeg, ...]
    snapshot_ts: int  # epoch ms of the Snapshot the ticket was planned on
    horizon_days: float = 7.0
    note: str = _Worded("")  # type: ignore[assignment]  # one line a trader reads: why this ticket
    warnings: tuple[str, ...] = ()
    # added by the planner (issue #4): one line per leg saying why this size and instrument
    reasons: tuple[str, ...] = _Worded(())  # type: ignore[assignment]

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
