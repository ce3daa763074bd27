"""The P&L store: the overlay's trades, funding payments and start prices as the venues gave
them, and the NAV and P&L history sampled on each P&L refresh. SQLite, a file beside the
journal (``pnl.sqlite3``), so a restart computes the same figures from the same rows and
plots the same history, whatever window the venue still serves.

Its own file, not journal tables: the journal is the record of what the console sent (each
order's row commits before its request leaves); this one is a cache of what the venues
report plus a history, and may be deleted (the next refresh refetches the last week).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from console.core.clock import wall_ms
from console.core.errors import UserError
from console.core.pnl import Fill, FundingPayment, PnlSample, PnlTotals
from console.execution.sqlite import SqliteFile

PNL_FILENAME = "pnl.sqlite3"
SAMPLE_EVERY_MS = 5 * 60_000  # the history keeps a point this often (5,000 points: 17 days) and the newest

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
    account TEXT NOT NULL, symbol TEXT NOT NULL, id TEXT NOT NULL, ts INTEGER NOT NULL,
    side TEXT NOT NULL, contracts REAL NOT NULL, price REAL NOT NULL,
    fee REAL NOT NULL, fee_currency TEXT NOT NULL,
    PRIMARY KEY (account, symbol, id)
);
CREATE TABLE IF NOT EXISTS funding (
    account TEXT NOT NULL, symbol TEXT NOT NULL, id TEXT NOT NULL, ts INTEGER NOT NULL,
    amount REAL NOT NULL, currency TEXT NOT NULL,
    PRIMARY KEY (account, symbol, id)
);
-- how far each (account, symbol, kind) has been fetched: the next fetch starts there
CREATE TABLE IF NOT EXISTS cursors (
    account TEXT NOT NULL, symbol TEXT NOT NULL, kind TEXT NOT NULL, until_ms INTEGER NOT NULL,
    PRIMARY KEY (account, symbol, kind)
);
-- a price at a period start (the open of that minute's candle), once fetched never refetched
CREATE TABLE IF NOT EXISTS start_prices (
    account TEXT NOT NULL, symbol TEXT NOT NULL, ts INTEGER NOT NULL, price REAL NOT NULL,
    PRIMARY KEY (account, symbol, ts)
);
CREATE TABLE IF NOT EXISTS history (
    ts INTEGER PRIMARY KEY, nav REAL NOT NULL, upnl REAL NOT NULL, realised REAL NOT NULL,
    funding REAL NOT NULL, fees REAL NOT NULL
);
"""


def default_pnl_path(journal_path: Path | None) -> Path | None:
    """Beside the journal; None (in memory) when the journal is."""
    return None if journal_path is None else journal_path.with_name(PNL_FILENAME)


class PnlStore(SqliteFile):
    """Written from the service loop, read from worker threads (one lock)."""

    reset_note: str | None = None  # set when an unreadable file was put aside at opening

    @classmethod
    def open(cls, path: Path | None) -> PnlStore:
        """Open (creating) the store; ``None`` keeps it in memory (tests, a journal in memory).

        A file SQLite cannot read is a cache lost, not a reason to stop the console: it is
        renamed ``pnl.sqlite3.unreadable-<ms>`` (kept for a look) and a fresh store begins,
        which refetches the last week; ``reset_note`` says so on the P&L screen."""
        try:
            return cls._open(path)
        except (sqlite3.Error, OSError) as exc:
            if path is None or not path.exists():
                raise UserError(f"cannot open the P&L history {path}: {exc}") from None
            aside = path.with_name(f"{path.name}.unreadable-{wall_ms()}")
            try:
                path.rename(aside)
                for suffix in ("-wal", "-shm"):
                    path.with_name(path.name + suffix).unlink(missing_ok=True)
                store = cls._open(path)
            except (sqlite3.Error, OSError) as again:
                raise UserError(f"cannot open the P&L history {path}: {again}; move the file away and "
                                "start the console again") from None
            store.reset_note = (f"the P&L history {path} could not be read ({exc}); it was moved to {aside.name} "
                                "and a new one started from the last week the venues serve")
            return store

    @classmethod
    def _open(cls, path: Path | None) -> PnlStore:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None,
                               check_same_thread=False, timeout=10.0)
        try:
            if path is not None:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    # -- the history start: fixed on first use, so a restart covers the same period

    def history_start(self, default_ms: int) -> int:
        """The store's first day; set to ``default_ms`` the first time it is asked."""
        with self._tx() as c:
            row = c.execute("SELECT value FROM meta WHERE key='history_start'").fetchone()
            if row is not None:
                return int(row[0])
            c.execute("INSERT INTO meta(key, value) VALUES ('history_start', ?)", (str(default_ms),))
            return default_ms

    # -- fills and funding

    def cursor(self, account: str, symbol: str, kind: str) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT until_ms FROM cursors WHERE account=? AND symbol=? AND kind=?",
                                     (account, symbol, kind)).fetchone()
        return None if row is None else int(row[0])

    def add_fills(self, account: str, symbol: str, fills: Iterable[Fill], until_ms: int) -> None:
        """Keep ``fills`` (a row already held is kept as it was) and move the cursor, in one transaction."""
        with self._tx() as c:
            c.executemany("INSERT OR IGNORE INTO fills VALUES (?,?,?,?,?,?,?,?,?)",
                          [(account, symbol, f.id, f.ts, f.side, f.contracts, f.price, f.fee, f.fee_currency)
                           for f in fills])
            _set_cursor(c, account, symbol, "fills", until_ms)

    def add_funding(self, account: str, by_symbol: Mapping[str, Iterable[FundingPayment]], until_ms: int) -> None:
        """Keep an account's funding payments (every contract's, read at once) and move its
        cursor (symbol ``*``), in one transaction."""
        with self._tx() as c:
            c.executemany("INSERT OR IGNORE INTO funding VALUES (?,?,?,?,?,?)",
                          [(account, symbol, p.id, p.ts, p.amount, p.currency)
                           for symbol, payments in by_symbol.items() for p in payments])
            _set_cursor(c, account, "*", "funding", until_ms)

    def fills(self, account: str, symbol: str) -> list[Fill]:
        with self._lock:
            rows = self._conn.execute("SELECT id, ts, side, contracts, price, fee, fee_currency FROM fills "
                                      "WHERE account=? AND symbol=? ORDER BY ts, id", (account, symbol)).fetchall()
        return [Fill(str(r[0]), int(r[1]), str(r[2]), float(r[3]), float(r[4]), float(r[5]), str(r[6])) for r in rows]

    def funding(self, account: str, symbol: str) -> list[FundingPayment]:
        with self._lock:
            rows = self._conn.execute("SELECT id, ts, amount, currency FROM funding WHERE account=? AND symbol=? "
                                      "ORDER BY ts, id", (account, symbol)).fetchall()
        return [FundingPayment(str(r[0]), int(r[1]), float(r[2]), str(r[3])) for r in rows]

    # -- start prices

    def start_price(self, account: str, symbol: str, ts: int) -> float | None:
        with self._lock:
            row = self._conn.execute("SELECT price FROM start_prices WHERE account=? AND symbol=? AND ts=?",
                                     (account, symbol, ts)).fetchone()
        return None if row is None else float(row[0])

    def set_start_price(self, account: str, symbol: str, ts: int, price: float) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO start_prices VALUES (?,?,?,?)", (account, symbol, ts, price))

    # -- history

    def add_sample(self, ts: int, nav: float, t: PnlTotals) -> None:
        """Keep a point at least every SAMPLE_EVERY_MS, and the newest always: a sample
        closer than that to the kept one before it is the live point, replaced by the next."""
        with self._tx() as c:
            newest = c.execute("SELECT ts FROM history ORDER BY ts DESC LIMIT 2").fetchall()
            if len(newest) == 2 and newest[0][0] - newest[1][0] < SAMPLE_EVERY_MS:
                c.execute("DELETE FROM history WHERE ts=?", (newest[0][0],))
            c.execute("INSERT OR REPLACE INTO history VALUES (?,?,?,?,?,?)",
                      (ts, nav, t.upnl, t.realised, t.funding, t.fees))

    def history(self, since_ms: int = 0, limit: int = 5000) -> list[PnlSample]:
        """The newest ``limit`` samples from ``since_ms`` on, oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT ts, nav, upnl, realised, funding, fees FROM history WHERE ts >= ? "
                                      "ORDER BY ts DESC LIMIT ?", (since_ms, limit)).fetchall()
        return [PnlSample(int(r[0]), *(float(x) for x in r[1:])) for r in reversed(rows)]


def _set_cursor(c: sqlite3.Connection, account: str, symbol: str, kind: str, until_ms: int) -> None:
    c.execute("INSERT INTO cursors VALUES (?,?,?,?) ON CONFLICT(account, symbol, kind) "
              "DO UPDATE SET until_ms=max(until_ms, excluded.until_ms)", (account, symbol, kind, until_ms))
