"""Seeded price paths: one index price per asset on a one-minute grid, plus the perp premium,
funding rates and the dated futures' basis derived from it.

A path is a pure function of (seed, asset, minute): increments are drawn in day-long chunks,
each from its own ``random.Random`` seeded by a string, so the path is the same whatever order
the minutes are asked in. Assets share a market factor (``beta``) as crypto does. Between grid
points the log price is interpolated, so prices move smoothly with the emulated clock.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
FUNDING_INTERVAL_MS = 8 * HOUR_MS  # 00:00, 08:00, 16:00 UTC
YEAR_MS = 365 * 24 * HOUR_MS
CHUNK = 1440  # minutes drawn at once
MINUTES_PER_YEAR = 525_600
INTEREST_RATE = 0.0001  # Binance's fixed interest component per 8 h
FUNDING_CAP = 0.0075


@dataclass(frozen=True)
class AssetModel:
    name: str
    price0: float  # index price at the start instant
    vol: float  # annualised volatility
    beta: float = 0.8  # loading on the common market factor
    peg: bool = False  # a stablecoin: jitters by a tick around price0 instead of diffusing
    premium: float = 0.0003  # mean perp premium over index (drives funding)
    premium_amp: float = 0.0004  # swing of the premium through the day
    basis: float = 0.08  # annualised basis of dated futures over index


class PricePaths:
    def __init__(self, seed: int, start_ms: int, assets: dict[str, AssetModel]) -> None:
        self.seed = seed
        self.start_ms = start_ms
        self.assets = assets
        self._z: dict[tuple[str, int], list[float]] = {}  # (key, chunk) -> N(0,1) draws
        self._cum: dict[tuple[str, int], list[float]] = {}  # (asset, chunk) -> prefix sums of log increments
        self._chunk_start: dict[tuple[str, int], float] = {}  # (asset, chunk) -> log level at its first minute

    # -- the grid -------------------------------------------------------------------------
    def _draws(self, key: str, chunk: int) -> list[float]:
        got = self._z.get((key, chunk))
        if got is None:
            rng = random.Random(f"{self.seed}:{key}:{chunk}")
            got = [rng.gauss(0.0, 1.0) for _ in range(CHUNK)]
            self._z[(key, chunk)] = got
        return got

    def _prefix(self, asset: str, chunk: int) -> list[float]:
        got = self._cum.get((asset, chunk))
        if got is None:
            m = self.assets[asset]
            sigma = m.vol / math.sqrt(MINUTES_PER_YEAR)
            idio = math.sqrt(max(0.0, 1.0 - m.beta * m.beta))
            mkt, own = self._draws("MARKET", chunk), self._draws(asset, chunk)
            drift = -0.5 * sigma * sigma
            acc, got = 0.0, [0.0]
            for zm, za in zip(mkt, own, strict=True):
                acc += drift + sigma * (m.beta * zm + idio * za)
                got.append(acc)
            self._cum[(asset, chunk)] = got
        return got

    def _start_level(self, asset: str, chunk: int) -> float:
        key = (asset, chunk)
        if key in self._chunk_start:
            return self._chunk_start[key]
        level = math.log(self.assets[asset].price0)
        if chunk >= 0:
            c = 0
            while c < chunk:  # walk forward from the nearest known chunk
                known = self._chunk_start.get((asset, c + 1))
                if known is None:
                    level = self._chunk_start.get((asset, c), level) + self._prefix(asset, c)[-1]
                    self._chunk_start[(asset, c + 1)] = level
                else:
                    level = known
                c += 1
        else:
            c = 0
            while c > chunk:
                known = self._chunk_start.get((asset, c - 1))
                if known is None:
                    level = self._chunk_start.get((asset, c), level) - self._prefix(asset, c - 1)[-1]
                    self._chunk_start[(asset, c - 1)] = level
                else:
                    level = known
                c -= 1
        self._chunk_start.setdefault((asset, 0), math.log(self.assets[asset].price0))
        self._chunk_start[key] = level
        return level

    def _log_at_minute(self, asset: str, minute: int) -> float:
        chunk, i = divmod(minute, CHUNK)
        return self._start_level(asset, chunk) + self._prefix(asset, chunk)[i]

    def _peg_at_minute(self, asset: str, minute: int) -> float:
        m = self.assets[asset]
        wobble = math.sin(minute * 0.37 + (self.seed % 97))  # deterministic, bounded
        return m.price0 + 0.0001 * round(wobble * 1.4)

    # -- prices at any instant ------------------------------------------------------------
    def index(self, asset: str, t_ms: int) -> float:
        """Spot index price of an asset (in USDT) at an emulated instant."""
        m = self.assets[asset]
        x = (t_ms - self.start_ms) / MINUTE_MS
        lo = math.floor(x)
        if m.peg:
            return self._peg_at_minute(asset, lo)
        a = self._log_at_minute(asset, lo)
        frac = x - lo
        if frac == 0:
            return math.exp(a)
        b = self._log_at_minute(asset, lo + 1)
        return math.exp(a + (b - a) * frac)

    def minute_points(self, t0_ms: int, t1_ms: int) -> list[int]:
        """Grid instants in (t0, t1], the points at which resting orders and margin are checked."""
        first = self.start_ms + (math.floor((t0_ms - self.start_ms) / MINUTE_MS) + 1) * MINUTE_MS
        return list(range(first, t1_ms + 1, MINUTE_MS))

    def premium(self, asset: str, t_ms: int) -> float:
        m = self.assets[asset]
        phase = (self.seed * 0.618 + len(asset)) % (2 * math.pi)
        return m.premium + m.premium_amp * math.sin(2 * math.pi * t_ms / (6 * HOUR_MS) + phase)

    def perp_mark(self, asset: str, t_ms: int) -> float:
        return self.index(asset, t_ms) * (1.0 + self.premium(asset, t_ms))

    def dated_mark(self, asset: str, t_ms: int, delivery_ms: int) -> float:
        """Converges to the index at delivery: basis × time left."""
        left = max(0, delivery_ms - t_ms) / YEAR_MS
        return self.index(asset, t_ms) * (1.0 + self.assets[asset].basis * left)

    def funding_rate(self, asset: str, t_ms: int) -> float:
        """Binance's formula: premium + clamp(interest − premium, ±0.05 %), capped."""
        p = self.premium(asset, t_ms)
        rate = p + min(max(INTEREST_RATE - p, -0.0005), 0.0005)
        return round(min(max(rate, -FUNDING_CAP), FUNDING_CAP), 8)


def next_funding_ms(t_ms: int) -> int:
    return (t_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


def funding_times(t0_ms: int, t1_ms: int) -> list[int]:
    """Funding instants in (t0, t1]."""
    first = next_funding_ms(t0_ms)
    return list(range(first, t1_ms + 1, FUNDING_INTERVAL_MS))
