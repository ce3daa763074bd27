"""The cyclic garbage collector paused for one planning pass.

A plan of hundreds of tickets allocates hundreds of thousands of small objects (legs, cost
lines, pool sums) that form no reference cycles: they are freed by reference counting when
the pass ends. The collector, triggered every few hundred allocations, would walk every one
of them (and the whole snapshot) again and again, about a tenth of a full plan's time, to
find no garbage. Pausing it for the pass loses nothing: whatever cycles the pass leaves are
collected at the next collection after it.

The collector is process-wide and the builder plans in a worker thread while the UI runs:
nested or concurrent passes keep it paused until the last one ends, and a collector that
was already disabled (by a test, a profiler) stays disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # passes running now
_resume = False  # whether the collector was enabled when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
