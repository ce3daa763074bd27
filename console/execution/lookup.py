"""Asking a venue what became of an order: the one lookup loop, shared by the executor (an
ambiguous send) and reconciliation (after a restart).

"Not found" is the venue's view when it processed the lookup, which is no later than when the
lookup was sent plus its own transit: judged by the answer's arrival, a slow answer to an
early lookup would bury an order that arrived. So a "not found" counts only for a lookup
*sent* once the order's request is older than the grace period (recvWindow: after it the
request can no longer arrive). Clock and sleep are injected so tests need no real waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from console.core.clock import Clock, wall_ms
from console.execution.journal import OrderRow
from console.execution.lifecycle import OrderState
from console.execution.ports import LookupFailed, VenueOrder, VenuePort

FAILED: Literal["failed"] = "failed"  # no answer in time: the order stays unknown


@dataclass(frozen=True)
class ExecPolicy:
    lookup_backoff_s: float = 0.25  # first wait between lookups of an ambiguous order; doubles
    lookup_backoff_max_s: float = 2.0
    lookup_timeout_s: float = 60.0  # then the order stays "unknown" for the reconciler
    not_found_grace_s: float = 12.0  # > Binance's recvWindow (10 s): a later arrival is refused
    poll_s: float = 0.5  # polling working orders
    # an account whose user data stream is up tells us of fills as they happen: its working
    # orders are still read over REST (the fallback, and the record), but this seldom
    streamed_poll_s: float = 15.0
    kill_backoff_s: float = 0.5  # the kill switch's first wait before trying a failed read or cancel again
    kill_backoff_max_s: float = 10.0
    batch: bool = True  # use create_orders where the venue has it


def not_found_counts(row: OrderRow, asked_ms: int, policy: ExecPolicy) -> bool:
    """A "not found" counts only for a lookup *sent* once the order's request is older than
    the grace period: the request can no longer arrive after it (recvWindow). ``asked_ms``
    is when the lookup left, never when its answer came back."""
    sent = row.sent_ms or row.created_ms
    return asked_ms - sent >= policy.not_found_grace_s * 1000


async def look_up(port: VenuePort, row: OrderRow, policy: ExecPolicy, *, timeout_s: float | None = None,
                  clock: Clock = wall_ms, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                  monotonic: Callable[[], float] = time.monotonic,
                  on_failed: Callable[[LookupFailed], None] | None = None) -> VenueOrder | None | Literal["failed"]:
    """Look ``row`` up by client id until the venue says what it is: the order, ``None`` (not
    found, and it counts), or ``FAILED`` when ``timeout_s`` (the policy's lookup timeout by
    default) runs out first. Never sends anything. Waits double from the policy's backoff,
    and a "not found" that does not count yet waits until the grace has passed."""
    sent = row.sent_ms or row.created_ms
    deadline = monotonic() + max(policy.lookup_timeout_s if timeout_s is None else timeout_s, 0.0)
    wait = policy.lookup_backoff_s
    while True:
        asked = clock()  # judged on when the lookup was sent, never when its answer came
        try:
            v = await port.lookup(row.symbol, row.client_id)
            answered = True
        except LookupFailed as exc:
            if on_failed is not None:
                on_failed(exc)
            v, answered = None, False
        if v is not None:
            return v
        if answered:
            if not_found_counts(row, asked, policy) or row.state is OrderState.NEVER_SEEN:
                return None
            left_s = (policy.not_found_grace_s * 1000 - (clock() - sent)) / 1000
            wait = max(wait, left_s)
        if monotonic() + wait > deadline:
            return FAILED
        await sleep(wait)
        wait = min(wait * 2, policy.lookup_backoff_max_s)
