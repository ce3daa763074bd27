"""Order books and leverage tiers for a preview, fetched on the service loop where the
venues' ccxt objects live: the builder's live preview and the blotter's chase / unwind
confirmations price their tickets with the same data (and say the same when it is missing)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.core.snapshot import Snapshot
    from console.core.ticket import Ticket
    from console.venues.venue import VenueSet

_REQUEST_RE = re.compile(r"\S+ (?:GET|POST|PUT|DELETE) https?://\S+\s*")


def _reason(exc: BaseException, account: str, symbol: str) -> str:
    from console.venues.venue import VenueError, describe_error

    text = str(exc) if isinstance(exc, VenueError) else describe_error(exc)
    for prefix in (f"{account}: ", f"order book {symbol}: "):
        text = text.removeprefix(prefix)
    text = _REQUEST_RE.sub("", text)  # ccxt's "binanceusdm GET http://…/fapi/v1/depth": the reason is the rest
    return text.strip() or type(exc).__name__


class BookSource:
    """Order books and leverage tiers, fetched on the service loop (``call``) from the venues
    of the moment (``venues()``: None before the console has connected). Tiers are kept once
    a venue has answered for a symbol; books never are (they move). Both are keyed by account,
    then symbol (``console.core.venuedata``): two venues listing the same contract each price
    their own legs."""

    def __init__(self, venues: Callable[[], VenueSet | None],
                 call: Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]) -> None:
        self._venues = venues
        self._call = call
        self._tiers: dict[str, dict[str, Any]] = {}  # account → symbol → tiers
        self._asked: set[tuple[str, str]] = set()  # (account, symbol) a venue answered for, tiers or not

    async def books(self, pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, dict[str, Any]],
                                                                     dict[str, dict[str, str]]]:
        """Order books by account, then symbol, for ``pairs`` of (account, symbol); and, for
        each one that could not be had, "no order book from <account>: <why>" (the preview
        shows it as the leg's slippage reason, instead of silently n/a)."""
        pairs = list(pairs)
        venues = self._venues()
        if not pairs:
            return {}, {}
        if venues is None:
            errs: dict[str, dict[str, str]] = {}
            for a, s in pairs:
                errs.setdefault(a, {})[s] = f"no order book from {a}: not connected to the venue"
            return {}, errs

        async def fetch() -> list[Any]:  # on the service loop, where the venues' ccxt objects live
            return await asyncio.gather(*(venues.order_book(a, s) for a, s in pairs), return_exceptions=True)

        got = await self._call(fetch())
        books: dict[str, dict[str, Any]] = {}
        errors: dict[str, dict[str, str]] = {}
        for (acct, sym), b in zip(pairs, got, strict=True):
            if isinstance(b, dict) and (b.get("bids") or b.get("asks")):
                books.setdefault(acct, {})[sym] = b
            elif isinstance(b, dict):
                errors.setdefault(acct, {})[sym] = f"no order book from {acct}: the venue returned an empty book"
            elif isinstance(b, asyncio.CancelledError):
                raise b
            else:
                errors.setdefault(acct, {})[sym] = f"no order book from {acct}: {_reason(b, acct, sym)}"
        return books, errors

    async def tiers(self, ticket: Ticket, snapshot: Snapshot | None) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The venue's leverage tiers (ccxt ``fetch_leverage_tiers``) for every contract of the
        accounts the ticket touches; and why an account's could not be had ("no leverage tiers
        from <account>: <why>"; tried again on the next call). The preview labels the
        fallback it then uses."""
        venues = self._venues()
        if venues is None:
            return {}, []
        want: dict[str, set[str]] = {}
        for tl in ticket.legs:
            st = snapshot.accounts.get(tl.leg.account) if snapshot else None
            for p in (st.open_positions() if st else ()):
                want.setdefault(tl.leg.account, set()).add(p["symbol"])
            want.setdefault(tl.leg.account, set()).add(tl.leg.symbol)
            # the tiers the venue read with the account's positions (COIN-M): the what-if then
            # starts from the very figures the risk panel shows, with no request for them
            for sym, t in (st.leverage_tiers.items() if st else ()):
                if (tl.leg.account, sym) not in self._asked:
                    self._tiers.setdefault(tl.leg.account, {})[sym] = t
                    self._asked.add((tl.leg.account, sym))
        unasked = {a: sorted(x for x in s if (a, x) not in self._asked) for a, s in want.items()}
        unasked = {a: s for a, s in unasked.items() if s}
        errors: list[str] = []
        if unasked:
            from console.venues.venue import leverage_tiers_call

            async def fetch() -> tuple[dict[str, dict[str, Any]], list[str], list[tuple[str, str]]]:
                # on the service loop, where the venues' ccxt objects live
                out: dict[str, dict[str, Any]] = {}
                why: list[str] = []
                answered: list[tuple[str, str]] = []
                for acct, symbols in unasked.items():
                    venue = venues.venues.get(acct)
                    if venue is None:
                        why.append(f"no leverage tiers from {acct}: not connected to the venue")
                        continue
                    ex = venue.exchange
                    fetch = leverage_tiers_call(ex)
                    if fetch is None:
                        why.append(f"no leverage tiers from {acct}: {ex.id} does not publish them through ccxt")
                        continue
                    try:
                        out[acct] = dict(await fetch(symbols))
                    except Exception as exc:  # noqa: BLE001 - said in the preview, tried again next time
                        why.append(f"no leverage tiers from {acct}: {_reason(exc, acct, '')}")
                        continue
                    answered.extend((acct, s) for s in symbols)
                return out, why, answered

            got, errors, answered = await self._call(fetch())
            for acct, by_symbol in got.items():
                self._tiers.setdefault(acct, {}).update(by_symbol)
            self._asked.update(answered)
        return {a: {s: t for s, t in self._tiers.get(a, {}).items() if s in w} for a, w in want.items()
                if self._tiers.get(a)}, errors
