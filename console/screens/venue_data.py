"""Order books and leverage tiers for a preview, fetched on the service loop where the
venues' ccxt objects live: the builder's live preview and the blotter's chase / unwind
confirmations price their tickets with the same data (and say the same when it is missing)."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from console.ticket import Ticket

if TYPE_CHECKING:
    from console.app import RebalApp

_REQUEST_RE = re.compile(r"\S+ (?:GET|POST|PUT|DELETE) https?://\S+\s*")


def _reason(exc: BaseException, account: str, symbol: str) -> str:
    from console.venue import VenueError, describe_error

    text = str(exc) if isinstance(exc, VenueError) else describe_error(exc)
    for prefix in (f"{account}: ", f"order book {symbol}: "):
        text = text.removeprefix(prefix)
    text = _REQUEST_RE.sub("", text)  # ccxt's "binanceusdm GET http://…/fapi/v1/depth": the reason is the rest
    return text.strip() or type(exc).__name__


async def fetch_books(app: RebalApp, pairs: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Order books by symbol for ``pairs`` of (account, symbol), fetched on the service
    loop; and, for each one that could not be had, "no order book from <account>: <why>"
    (the preview shows it as the leg's slippage reason, instead of silently n/a)."""
    venues = app.services.venues
    if not pairs:
        return {}, {}
    if venues is None:
        return {}, {s: f"no order book from {a}: not connected to the venue" for a, s in pairs}

    async def fetch() -> list[Any]:  # on the service loop, where the venues' ccxt objects live
        return await asyncio.gather(*(venues.order_book(a, s) for a, s in pairs), return_exceptions=True)

    got = await app.services.call(fetch())
    books: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for (acct, sym), b in zip(pairs, got, strict=True):
        if isinstance(b, dict) and (b.get("bids") or b.get("asks")):
            books.setdefault(sym, b)
        elif isinstance(b, dict):
            errors.setdefault(sym, f"no order book from {acct}: the venue returned an empty book")
        elif isinstance(b, asyncio.CancelledError):
            raise b
        else:
            errors.setdefault(sym, f"no order book from {acct}: {_reason(b, acct, sym)}")
    return books, {s: e for s, e in errors.items() if s not in books}


async def fetch_tiers(app: RebalApp, ticket: Ticket) -> tuple[dict[str, Any], list[str]]:
    """The venue's leverage tiers (ccxt ``fetch_leverage_tiers``) for every contract of the
    accounts the ticket touches, kept once fetched; and why an account's could not be had
    ("no leverage tiers from <account>: <why>"; tried again on the next recompute). The
    preview labels the fallback it then uses."""
    venues = app.services.venues
    if venues is None:
        return {}, []
    cache: dict[str, Any] = app.services.extra.setdefault("tiers", {})
    asked: set[str] = app.services.extra.setdefault("tiers_asked", set())  # answered, tiers or not
    want: dict[str, set[str]] = {}
    for tl in ticket.legs:
        st = app.state.snapshot.accounts.get(tl.leg.account) if app.state else None
        for p in (st.open_positions() if st else ()):
            want.setdefault(tl.leg.account, set()).add(p["symbol"])
        want.setdefault(tl.leg.account, set()).add(tl.leg.symbol)
    unasked = {a: sorted(s - asked) for a, s in want.items() if s - asked}
    errors: list[str] = []
    if unasked:
        async def fetch() -> tuple[dict[str, Any], list[str], list[str]]:  # on the service loop
            out: dict[str, Any] = {}
            why: list[str] = []
            answered: list[str] = []
            for acct, symbols in unasked.items():
                venue = venues.venues.get(acct)
                if venue is None:
                    why.append(f"no leverage tiers from {acct}: not connected to the venue")
                    continue
                ex = venue.exchange
                if not ex.has.get("fetchLeverageTiers"):
                    why.append(f"no leverage tiers from {acct}: {ex.id} does not publish them through ccxt")
                    continue
                try:
                    out.update(await ex.fetch_leverage_tiers(symbols))
                except Exception as exc:  # noqa: BLE001 - said in the preview, tried again next time
                    why.append(f"no leverage tiers from {acct}: {_reason(exc, acct, '')}")
                    continue
                answered.extend(symbols)
            return out, why, answered

        got, errors, answered = await app.services.call(fetch())
        cache.update(got)
        asked.update(answered)
    return {s: t for s, t in cache.items() if any(s in w for w in want.values())}, errors
