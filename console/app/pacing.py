"""Work the UI thread does at most once per gap, however often it is asked for."""

from __future__ import annotations

from collections.abc import Callable

from textual.message_pump import MessagePump
from textual.timer import Timer


class Pace:
    """Runs ``fn`` at most once per ``gap``: at once when its last run is a gap old, else once,
    on a timer of ``host``'s, when it will be. Asks in between fold into that run, which sees
    the newest data: a stream of states or cursor moves costs one redraw per gap, not one each."""

    def __init__(self, host: MessagePump, fn: Callable[[], object]) -> None:
        self._host = host
        self._fn = fn
        self.timer: Timer | None = None  # a run is due (its timer set)
        self.last = float("-inf")  # when the last run was due, on the callers' clock

    def soon(self, now: float, gap: float) -> None:
        """Ask for a run; ``now`` on the caller's clock (time.monotonic), ``gap`` in seconds."""
        if self.timer is not None:
            return  # a run is due: it will draw the newest
        due = self.last + gap
        if due <= now:
            self._run(now)
        else:
            self.timer = self._host.set_timer(due - now, lambda: self._run(due))

    def _run(self, at: float) -> None:
        self.timer = None
        self.last = at
        self._fn()
