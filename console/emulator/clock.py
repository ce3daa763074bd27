"""The emulated venue's time: a fixed start instant that runs at ``speed`` × real time.

Market data (prices, funding, expiries) follows this clock, never the request count, so two
runs with the same seed and start see the same prices at the same emulated instant. Tests use
``speed=0`` (the clock only moves through ``advance``) to make every reply reproducible.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

# 2026-11-21T12:00:00Z: the demo's fixed start; the 261225 quarterlies are 34 days out.
DEFAULT_START_MS = int(datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp() * 1000)


class Clock:
    def __init__(self, start_ms: int = DEFAULT_START_MS, speed: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.start_ms = int(start_ms)
        self.speed = float(speed)
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._offset_ms = 0.0  # time added by advance()
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            run_ms = (self._monotonic() - self._t0) * 1000.0 * self.speed
            return self.start_ms + int(run_ms + self._offset_ms)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the emulated clock only moves forward")
        with self._lock:
            self._offset_ms += seconds * 1000.0

    @staticmethod
    def wall_ms() -> int:
        """Real time, for the recvWindow check (it guards network delay, not market time)."""
        return int(time.time() * 1000)
