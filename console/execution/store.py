"""Where the journal keeps its rows: an embedded SQLite file (the default) or a PostgreSQL
server that several consoles share.

The journal writes portable SQL (``?`` placeholders, ``ON CONFLICT DO NOTHING``) and one
list of migrations; a store runs it on its backend. What differs per backend lives here
and nowhere else:

- the write lock a transaction takes up front. SQLite: ``BEGIN IMMEDIATE`` (one writer per
  file). PostgreSQL: ``pg_advisory_xact_lock`` on one key, so that the journal's
  read-then-write transactions (a compare-and-set read, an exclusive-leg check) are
  serialised across every console on every host exactly as SQLite serialises them in one
  file, and the conditional UPDATEs stay single statements (rowcount 1 = ours);
- the schema version (SQLite's ``user_version``; a one-row table on PostgreSQL);
- the column types of the migrations (ms timestamps are 64-bit: BIGINT on PostgreSQL);
- change notices: PostgreSQL ``NOTIFY`` at each commit, which other consoles ``LISTEN`` to.

A PostgreSQL connection that drops is reopened by the next statement outside a transaction;
one that drops inside a transaction loses that transaction whole (the server rolls it back),
so nothing is ever half-written. Either way the caller gets ``JournalUnreachable``.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from console.core.errors import UserError

NOTIFY_CHANNEL = "rebal_journal"
# the advisory lock every journal write transaction takes (any constant: one lock per database)
_LOCK_KEY = 0x7265_6261_6C  # "rebal"


class JournalUnreachable(UserError):
    """The journal's database cannot be reached (server down, network, credentials)."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Store(Protocol):
    """What the journal needs from a database: statements, transactions, a schema version."""

    backend: str  # "sqlite" or "postgresql"
    where: str  # for messages: the file, or the URL without its password

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def schema_version(self) -> int: ...

    def set_schema_version(self, version: int) -> None: ...

    def ddl(self, statement: str) -> str: ...

    def reset_ids(self, table: str) -> None:
        """After rows were inserted with explicit ids: the next id follows the largest."""

    def close(self) -> None: ...


def is_url(target: str | Path | None) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def safe_url(url: str) -> str:
    """The URL with its password masked: what messages and the header may show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# ----------------------------------------------------------------------------- SQLite


class SqliteStore:
    backend = "sqlite"

    def __init__(self, conn: sqlite3.Connection, where: str) -> None:
        self.conn = conn
        self.where = where

    @classmethod
    def open(cls, path: Path | None, synchronous: str) -> SqliteStore:
        """``path=None``: a throwaway in-memory journal (tests)."""
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
        try:
            conn = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None,
                                   check_same_thread=False, timeout=10.0)
        except sqlite3.Error as exc:
            raise UserError(f"cannot open the journal {path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        if path is not None:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise UserError(f"{path}: the journal needs WAL mode, SQLite gave {mode!r}")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        return cls(conn, ":memory:" if path is None else str(path))

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(sql, tuple(params))

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.conn.execute(f"PRAGMA user_version={int(version)}")

    def ddl(self, statement: str) -> str:
        return statement

    def reset_ids(self, table: str) -> None:
        pass  # AUTOINCREMENT follows explicit ids by itself

    def close(self) -> None:
        self.conn.close()


# ----------------------------------------------------------------------------- PostgreSQL


class PgRow(tuple):  # type: ignore[type-arg]
    """A row read by column name or position, as ``sqlite3.Row`` is."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _pg_rows(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, names)


_PLACEHOLDER = re.compile(r"\?")
_DDL_TYPES = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
)


def pg_sql(sql: str) -> str:
    """The journal's SQL for psycopg: ``?`` → ``%s`` (no statement has a literal ``%`` or ``?``)."""
    return _PLACEHOLDER.sub("%s", sql)


class PgStore:
    """A PostgreSQL journal over one psycopg connection (autocommit; transactions explicit)."""

    backend = "postgresql"

    def __init__(self, url: str, origin: str, connect_timeout_s: float = 3.0, *, allow_offline: bool = False) -> None:
        self.url = url
        self.where = safe_url(url)
        self.origin = origin  # sent with each change notice: a console skips its own
        self._timeout = connect_timeout_s
        self._conn: Any = None
        self._in_tx = False
        # run once on the first connection made later (a console started while the server was
        # down migrates the journal when it first reaches it)
        self.on_connect: Callable[[], None] | None = None
        try:
            self._connect()
        except JournalUnreachable:
            if not allow_offline:
                raise

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def _connect(self) -> None:
        import psycopg

        try:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self._timeout)),
                                         application_name="rebal-tui")
        except psycopg.Error as exc:
            self._conn = None
            raise JournalUnreachable(f"the journal database {self.where} is unreachable: "
                                     f"{_pg_reason(exc)}") from None

    def _live(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._connect()
            hook, self.on_connect = self.on_connect, None
            if hook is not None:
                try:
                    hook()
                except BaseException:
                    self.on_connect = hook  # the next connection tries again
                    raise
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._in_tx

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        import psycopg

        # Outside a transaction a statement is a read or a BEGIN (every write is inside one),
        # so one that meets a connection the server closed meanwhile (a restart) is run again
        # on a new connection: the console resumes on its own. Inside a transaction, never:
        # the transaction is gone with its connection and the caller must know.
        attempts = 1 if self._in_tx else 2
        for attempt in range(attempts):
            conn = self._live()
            try:
                cur = conn.cursor(row_factory=_pg_rows)
                cur.execute(pg_sql(sql), tuple(params) if params else None)
                return cur  # type: ignore[no-any-return]
            except psycopg.OperationalError as exc:
                self._drop()
                if attempt + 1 == attempts:
                    raise JournalUnreachable(f"the journal database {self.where} went away: "
                                             f"{_pg_reason(exc)}") from None
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        """Forget a broken connection: the next statement outside a transaction reconnects."""
        conn, self._conn = self._conn, None
        self._in_tx = False
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken
                conn.close()

    def begin(self) -> None:
        if self._in_tx:
            raise RuntimeError("journal transaction already open")
        self.execute("BEGIN")
        self._in_tx = True
        try:
            self.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK_KEY,))
        except BaseException:
            self.rollback()
            raise

    def commit(self) -> None:
        try:
            # delivered to listeners only if the COMMIT succeeds: a notice is never a lie
            self.execute("SELECT pg_notify(?, ?)", (NOTIFY_CHANNEL, self.origin))
            self.execute("COMMIT")
        finally:
            self._in_tx = False

    def rollback(self) -> None:
        if not self._in_tx:
            return
        self._in_tx = False
        if self._conn is not None and not self._conn.closed:
            # the server rolls back a transaction whose connection is gone
            with contextlib.suppress(JournalUnreachable):
                self.execute("ROLLBACK")

    def schema_version(self) -> int:
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        row = self.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def set_schema_version(self, version: int) -> None:
        self.execute("DELETE FROM schema_version")
        self.execute("INSERT INTO schema_version(version) VALUES (?)", (int(version),))

    def ddl(self, statement: str) -> str:
        for pattern, replacement in _DDL_TYPES:
            statement = pattern.sub(replacement, statement)
        return statement

    def reset_ids(self, table: str) -> None:
        if table in ("fills", "events"):  # the identity columns
            self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")

    def close(self) -> None:
        self._drop()


def _pg_reason(exc: BaseException) -> str:
    """psycopg's message, first line, without the password (libpq may quote the URL)."""
    from console.core.redact import redact

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact(re.sub(r"(password=|://[^:/@\s]*:)[^@\s]*", r"\1***", text))


class ChangeListener:
    """Tells a console when the shared journal changed and whether it can reach it.

    PostgreSQL: a connection of its own LISTENs for other consoles' commit notices
    (``on_change`` at once), and polls the newest event id every ``poll_s`` as the fallback
    (a notice lost across a reconnect, or a pooler that does not pass LISTEN on). That
    connection failing is what ``on_health(False, why)`` reports; it retries every
    ``poll_s`` and reports ``on_health(True, "")`` when the server answers again. The
    console's own journal connection is never used here, so a down server never holds up
    the executor's journal lock. SQLite (``url=None``): the newest event id, polled.
    Callbacks run on the listener's thread."""

    def __init__(self, url: str | None, origin: str, on_change: Callable[[], None],
                 on_health: Callable[[bool, str], None], *, latest: Callable[[], int | None] | None = None,
                 poll_s: float = 1.0) -> None:
        self.url = url
        self._origin = origin
        self._on_change = on_change
        self._on_health = on_health
        self._latest = latest
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._seen: int | None = None  # the newest event id read (None: an empty journal)
        self._read = False
        self._healthy: bool | None = None
        self._thread = threading.Thread(target=self._run, name="rebal-journal-listen", daemon=True)

    def start(self) -> ChangeListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _health(self, ok: bool, why: str = "") -> None:
        if ok is not self._healthy:
            self._healthy = ok
            self._on_health(ok, why)

    def _saw(self, latest: int | None) -> None:
        """A new newest event id is a change (the first reading only sets the mark)."""
        if not self._read:
            self._read, self._seen = True, latest
        elif latest != self._seen:
            self._seen = latest
            self._on_change()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.url is None:
                if self._latest is not None:
                    try:
                        self._saw(self._latest())
                        self._health(True)
                    except Exception as exc:  # noqa: BLE001 - reported in the header; keep polling
                        self._health(False, str(exc))
            else:
                self._listen()
            self._stop.wait(self._poll_s)

    def _listen(self) -> None:
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self._poll_s * 3)),
                                   application_name="rebal-tui-listen")
        except psycopg.Error as exc:
            self._health(False, f"the journal database {safe_url(self.url or '')} is unreachable: {_pg_reason(exc)}")
            return
        try:
            listening = True
            try:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            except psycopg.errors.FeatureNotSupported:
                listening = False  # e.g. a pooler in transaction mode: polling alone
            self._health(True)
            while not self._stop.is_set():
                told = False
                if listening:
                    for n in conn.notifies(timeout=self._poll_s, stop_after=1):
                        if n.payload != self._origin:
                            told = True
                            self._on_change()
                else:
                    self._stop.wait(self._poll_s)
                row = conn.execute("SELECT MAX(id) FROM events").fetchone()
                latest = None if row is None or row[0] is None else int(row[0])
                if told and self._read:
                    self._seen = latest  # already told: the poll only moves the mark
                else:
                    self._saw(latest)
        except psycopg.Error as exc:
            self._health(False, f"the journal database {safe_url(self.url or '')} went away: {_pg_reason(exc)}")
        finally:
            with contextlib.suppress(Exception):  # already broken
                conn.close()
