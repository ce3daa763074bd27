"""What the overlay's P&L is computed from, read through ccxt: the account's trades on a
contract (``fetch_my_trades``), its funding payments (``fetch_funding_history``, Binance's
income endpoint) and a price at a period start (the open of that minute's candle,
``fetch_ohlcv``).

Binance serves trades and income seven days at a time from a start: a longer span is read
window by window, and a full page is followed from its last row. A row that cannot be read
is left out and named in the errors (an answer we cannot read is never guessed at).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from console.core.pnl import BadRecord, Fill, FundingPayment, fill_from_ccxt, funding_from_ccxt
from console.venues.venue import Venue, VenueError, describe_error

WINDOW_MS = 7 * 24 * 3600 * 1000 - 1  # Binance: startTime..endTime may span at most 7 days
PAGE = 1000
MINUTE_MS = 60_000


async def _windows(fetch: Callable[[int, int], Awaitable[list[dict[str, Any]]]], since_ms: int,
                   until_ms: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = since_ms
    while start <= until_ms:
        end = min(start + WINDOW_MS, until_ms)
        rows = await fetch(start, end)
        out.extend(rows)
        if len(rows) >= PAGE:  # a full page: more in this window after its last row
            last = max(int(r.get("timestamp") or start) for r in rows)
            start = last if last > start else start + 1
            continue
        start = end + 1
    return out


async def _read(venue: Venue, what: str, page: Callable[[int, int], Awaitable[list[dict[str, Any]]]],
                since_ms: int, until_ms: int) -> list[dict[str, Any]]:
    try:
        return await _windows(page, since_ms, until_ms)
    except Exception as exc:
        raise VenueError(f"{venue.name}: {what}: {describe_error(exc)}") from None


async def fetch_fills(venue: Venue, symbol: str, since_ms: int, until_ms: int) -> tuple[list[Fill], list[str]]:
    """The account's fills on ``symbol`` from ``since_ms`` to ``until_ms`` and the rows it could
    not read; raises VenueError."""
    ex = venue.exchange

    async def page(start: int, end: int) -> list[dict[str, Any]]:
        return await ex.fetch_my_trades(symbol, start, PAGE, {"endTime": end})

    fills: list[Fill] = []
    errors: list[str] = []
    for row in await _read(venue, f"trades {symbol}", page, since_ms, until_ms):
        if row.get("symbol") not in (None, symbol):
            continue
        try:
            fills.append(fill_from_ccxt(row))
        except BadRecord as exc:
            errors.append(f"{venue.name}: {exc}; left out of the P&L")
    return fills, errors


async def fetch_funding(venue: Venue, since_ms: int, until_ms: int) -> tuple[dict[str, list[FundingPayment]], list[str]]:
    """The account's funding payments on every contract, by symbol: one read for them all
    (Binance weighs its income endpoint at 30, whatever it is asked for); raises VenueError."""
    ex = venue.exchange
    if not ex.has.get("fetchFundingHistory"):
        return {}, []

    async def page(start: int, end: int) -> list[dict[str, Any]]:
        return await ex.fetch_funding_history(None, start, PAGE, {"endTime": end})

    out: dict[str, list[FundingPayment]] = {}
    errors: list[str] = []
    for row in await _read(venue, "funding", page, since_ms, until_ms):
        try:
            out.setdefault(str(row.get("symbol")), []).append(funding_from_ccxt(row))
        except BadRecord as exc:
            errors.append(f"{venue.name}: {exc}; left out of the P&L")
    return out, errors


async def minute_open(venue: Venue, symbol: str, ts: int, *, mark: bool = False) -> float:
    """The open of the one-minute candle holding ``ts`` (of the mark price with ``mark``, as a
    contract's uPnL is figured); raises VenueError, also when the venue's first candle is a
    later one (before the market was listed)."""
    start = ts - ts % MINUTE_MS
    params = {"price": "mark"} if mark else {}
    try:
        candles = await venue.exchange.fetch_ohlcv(symbol, "1m", start, 1, params)
    except Exception as exc:
        raise VenueError(f"{venue.name}: price of {symbol} at {start}: {describe_error(exc)}") from None
    if not candles or not isinstance(candles[0], list | tuple) or len(candles[0]) < 2:
        raise VenueError(f"{venue.name}: no candle for {symbol} at {start}")
    if candles[0][0] != start:
        raise VenueError(f"{venue.name}: no candle for {symbol} at {start} (the first is at {candles[0][0]})")
    try:
        price = float(candles[0][1])
    except (TypeError, ValueError):
        raise VenueError(f"{venue.name}: the candle for {symbol} at {start} has no open price") from None
    if not price > 0:
        raise VenueError(f"{venue.name}: the candle for {symbol} at {start} opens at {price}")
    return price
