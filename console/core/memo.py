"""Memoising pure functions of immutable inputs (snapshots, configs, allocations) by the
identity of those inputs: a plan previews hundreds of tickets on one snapshot, and the
builder previews one per keystroke, so what depends only on the snapshot is worked out once.

The cache holds the inputs themselves, so an id is never reused while its entry lives: a key
of ids that matches is the very same objects. It is cleared when full, which only costs a
recomputation."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")
N = TypeVar("N")


def by_identity(maxsize: int = 64, key: int | None = None) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Cache ``fn(*args)`` on the identity of its first ``key`` positional arguments (all of
    them by default); the others must then follow from those (e.g. the snapshot an account
    state belongs to)."""

    def wrap(fn: Callable[..., R]) -> Callable[..., R]:
        params = list(inspect.signature(fn).parameters.values())
        if len(params) == 1 and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
            return _one(fn, maxsize)
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


def _one(fn: Callable[[Any], R], maxsize: int) -> Callable[[Any], R]:
    """``by_identity`` of a function of one argument, keyed by that argument's id alone: a plan
    looks up its sleeves, rows and markets tables thousands of times, and building a key tuple
    for each was a visible share of a proposal."""
    cache: dict[int, tuple[Any, R]] = {}

    @functools.wraps(fn)
    def memo(arg: Any) -> R:
        hit = cache.get(id(arg))
        if hit is not None:  # its input is alive in the entry: the same object
            return hit[1]
        out = fn(arg)
        if len(cache) >= maxsize:
            cache.clear()
        cache[id(arg)] = (arg, out)
        return out

    return memo


@by_identity()
def by_name(items: tuple[N, ...]) -> dict[str, N]:
    """Items (sleeves, allocation rows) by their ``name``, the first of a name winning: a
    lookup per ticket stays constant time in a book of hundreds."""
    out: dict[str, N] = {}
    for it in items:
        out.setdefault(it.name, it)  # type: ignore[attr-defined]
    return out
