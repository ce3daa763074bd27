"""Order books around the mid: a spread of a few ticks, levels spaced by max(tick, 0.5 bp),
depth growing away from the top, with seeded jitter that changes once per emulated minute.

The book is a function of (seed, symbol, minute, mid, instant), so it is reproducible;
the venue's own fills do not eat into it (a known simplification).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from console.emulator.instruments import Instrument
from console.emulator.prices import MINUTE_MS

LEVELS = 100  # what one order can walk; beyond this the book is exhausted
SPREAD_BPS = 0.6  # full spread in basis points (at least one tick)
LEVEL_BPS = 0.5  # distance between levels


@dataclass(frozen=True)
class Book:
    symbol: str
    bids: tuple[tuple[float, float], ...]  # (price, qty), best first
    asks: tuple[tuple[float, float], ...]
    time_ms: int

    @property
    def best_bid(self) -> float:
        return self.bids[0][0]

    @property
    def best_ask(self) -> float:
        return self.asks[0][0]


# a pure function of its arguments (the Book is immutable): every stream push, ticker and
# order at the same instant looks at the same book, built once
@lru_cache(maxsize=128)
def build_book(inst: Instrument, mid: float, t_ms: int, seed: int, depth_scale: float = 1.0) -> Book:
    tick = float(inst.tick)
    half = max(tick, mid * SPREAD_BPS / 2e4)
    gap = max(tick, mid * LEVEL_BPS / 1e4)
    minute = t_ms // MINUTE_MS
    rng = random.Random(f"{seed}:{inst.id}:{minute}")
    step = float(inst.step)
    bids: list[tuple[float, float]] = []
    asks: list[tuple[float, float]] = []
    best_bid = inst.round_price(mid - half)
    best_ask = inst.round_price(mid + half)
    if best_ask <= best_bid:
        best_ask = round(best_bid + tick, inst.price_decimals)
    for i in range(LEVELS):
        for side, best, sign in ((bids, best_bid, -1), (asks, best_ask, 1)):
            px = inst.round_price(best + sign * i * gap)
            usd = inst.depth_usd * depth_scale * (1.0 + 0.04 * i) * rng.uniform(0.4, 1.6)
            unit = inst.contract_size or px  # COIN-M books are counted in USD contracts
            qty = max(step, round(usd / unit / step) * step)
            side.append((px, round(qty, inst.qty_decimals if inst.contract else 8)))
    return Book(inst.id, tuple(bids), tuple(asks), t_ms)


def top_of_book(inst: Instrument, mid: float) -> tuple[float, float]:
    """Best bid and ask without building the depth: for scanning many instants cheaply."""
    tick = float(inst.tick)
    half = max(tick, mid * SPREAD_BPS / 2e4)
    bid, ask = inst.round_price(mid - half), inst.round_price(mid + half)
    if ask <= bid:
        ask = round(bid + tick, inst.price_decimals)
    return bid, ask
