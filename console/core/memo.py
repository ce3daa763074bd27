"""Memoising pure functions of immutable inputs (snapshots, configs, allocations) by the
identity of those inputs: a plan previews hundreds of tickets on one snapshot, and the
builder previews one per keystroke, so what depends only on the snapshot is worked out once.

The cache holds the inputs themselves, so an id is never reused while its entry lives: a key
of ids that matches is the very same objects. It is cleared when full, which only costs a
recomputation."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")
N = TypeVar("N")


def by_identity(maxsize: int = 64, key: int | None = None) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Cache ``fn(*args)`` on the identity of its first ``key`` positional arguments (all of
    them by default); the others must then follow from those (e.g. the snapshot an account
    state belongs to)."""

    def wrap(fn: Callable[..., R]) -> Callable[..., R]:
        cache: dict[tuple[int, ...], tuple[tuple[Any, ...], R]] = {}

        @functools.wraps(fn)
        def memo(*args: Any) -> R:
            ident = args if key is None else args[:key]
            k = tuple(map(id, ident))
            hit = cache.get(k)
            if hit is not None:  # its inputs are alive in the entry: the same objects
                return hit[1]
            out = fn(*args)
            if len(cache) >= maxsize:
                cache.clear()
            cache[k] = (ident, out)
            return out

        return memo

    return wrap


@by_identity()
def by_name(items: tuple[N, ...]) -> dict[str, N]:
    """Items (sleeves, allocation rows) by their ``name``, the first of a name winning: a
    lookup per ticket stays constant time in a book of hundreds."""
    out: dict[str, N] = {}
    for it in items:
        out.setdefault(it.name, it)  # type: ignore[attr-defined]
    return out
