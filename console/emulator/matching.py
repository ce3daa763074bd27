"""Matching an incoming order against a Book: walk the opposite side level by level.

Pure functions. A market order takes what the book has (a partial fill when the book is too
thin; the rest expires, as on Binance). A limit order takes only levels at or better than its
price; ``post_only`` orders that would take are rejected by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.emulator.book import Book


@dataclass(frozen=True)
class Fill:
    price: float
    qty: float


def _levels(book: Book, side: str) -> tuple[tuple[float, float], ...]:
    return book.asks if side == "BUY" else book.bids


def would_take(book: Book, side: str, limit: float) -> bool:
    best = _levels(book, side)[0][0]
    return best <= limit if side == "BUY" else best >= limit


def match(book: Book, side: str, qty: float, limit: float | None = None, step: float = 1e-8) -> list[Fill]:
    """Fills for up to ``qty`` on the opposite side; stops at ``limit`` when one is given."""
    fills: list[Fill] = []
    left = qty
    for px, avail in _levels(book, side):
        if left <= step / 2:
            break
        if limit is not None and (px > limit if side == "BUY" else px < limit):
            break
        take = min(left, avail)
        fills.append(Fill(px, take))
        left -= take
    return fills


def match_quote(book: Book, side: str, quote_qty: float, step: float) -> list[Fill]:
    """Spot market order by cost (quoteOrderQty): spend up to ``quote_qty``, in whole steps."""
    fills: list[Fill] = []
    left = quote_qty
    for px, avail in _levels(book, side):
        can = int(left / px / step + 1e-9) * step
        take = min(can, avail)
        if take <= 0:
            break
        fills.append(Fill(px, take))
        left -= take * px
    return fills


def vwap(fills: list[Fill]) -> float:
    q = sum(f.qty for f in fills)
    return sum(f.price * f.qty for f in fills) / q if q else 0.0
