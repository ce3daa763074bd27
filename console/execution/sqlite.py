"""What the console's SQLite files share: one connection behind one lock, and a write
transaction that either commits whole or rolls back."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteFile:
    """Thread-safe (one lock) access to one SQLite connection."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front, so a
        compare-and-set read inside it cannot be raced by another process."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                # inside the try: a COMMIT that fails (busy, disk full, I/O error) must not
                # leave the transaction open, or every later write would fail ("cannot start
                # a transaction within a transaction") and this one might commit with the next
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
