"""The console's one wall clock. Everything that stamps or ages data takes a ``Clock`` so
that tests (and the demo, on the emulator's clock) can hand it another time."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]  # milliseconds since the epoch, UTC


def wall_ms() -> int:
    return int(time.time() * 1000)
