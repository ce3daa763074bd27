"""Fault knobs for tests, per endpoint path: added latency, 5xx, 429/418, a dropped
connection, and "order accepted but the reply lost"."""

from __future__ import annotations

import threading
from dataclasses import dataclass

KINDS = ("latency", "5xx", "429", "418", "drop", "lost_reply")
LOST_REPLY_HOLD_S = 30.0  # how long a lost reply is held before the connection is closed


@dataclass
class Fault:
    kind: str
    count: int | None  # None: every request until cleared
    latency_s: float


class Faults:
    def __init__(self) -> None:
        self._by_path: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()

    def set(self, endpoint_path: str, kind: str, count: int | None = None, latency_s: float = 0.0) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {KINDS}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 (or None for every request)")
        with self._lock:
            self._by_path.setdefault(endpoint_path, []).append(Fault(kind, count, latency_s))

    def clear(self) -> None:
        with self._lock:
            self._by_path.clear()

    def take(self, method: str, path: str) -> list[Fault]:
        """Faults that apply to this request (spending one of each counted fault).

        A knob's key is a path ("/fapi/v1/order"), a method and a path ("POST /fapi/v1/order"),
        or "*" for every endpoint.
        """
        out: list[Fault] = []
        with self._lock:
            for key in (f"{method} {path}", path, "*"):
                faults = self._by_path.get(key)
                if not faults:
                    continue
                for f in list(faults):
                    out.append(Fault(f.kind, None, f.latency_s))
                    if f.count is not None:
                        f.count -= 1
                        if f.count <= 0:
                            faults.remove(f)
        return out
