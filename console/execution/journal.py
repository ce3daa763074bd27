"""The journal: every ticket, order, fill and transition, in SQLite or PostgreSQL.

Why SQLite (the default): one file, atomic transactions, readable by ``rebal-tui journal``
while the console runs (WAL lets readers and the one writer work at once).
``synchronous=FULL`` in WAL mode: a commit is on disk (fsync) before it returns, so neither
a crash of the console nor one of the operating system or a power cut after the next request
went out can leave a venue order without its row. It costs one fsync per commit (a few ms);
between the trader's `y` and the first order byte there is exactly one commit, and the
journal's other writes (alerts, notes) run off the send path.

Why PostgreSQL (``[journal] url = "postgresql://..."``): a desk of several consoles on the
same accounts shares one journal, so a ticket is sent once across all of them and each sees
the others' orders. The SQL and the migrations are the same; ``store.py`` holds what differs.

Rules the code keeps:
- One transaction per transition: the state change and its ``events`` row commit together.
- State changes are compare-and-set (``WHERE state = ?``): two callers racing to send the
  same ticket cannot both win, even from two processes (or two hosts, on PostgreSQL).
- An order's row (with its client id) commits before its request is sent.
- Secrets never enter: snapshot and preview JSON are scrubbed of registered secrets.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from console.core.clock import (
    wall_ms as now_ms,  # the console's one wall clock, by the name this module's callers use
)
from console.core.errors import UserError
from console.core.overlay import Leg
from console.core.redact import scrub, scrub_value
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.clientid import new_ticket_id
from console.execution.lifecycle import (
    ORDER_LIVE,
    OrderState,
    TicketState,
    order_can,
    ticket_can,
)
from console.execution.store import (
    JournalUnreachable,  # noqa: F401  (re-exported: the journal's callers catch it)
    PgStore,
    SqliteStore,
    Store,
    is_url,
)

JOURNAL_FILENAME = "journal.sqlite3"
DEFAULT_LEGGING_S = 30.0


class JournalError(UserError):
    """A refused journal operation (a second confirm, a second send, an unknown ticket)."""


@dataclass(frozen=True)
class Origin:
    """Who writes: the OS user, the host and this console process. Recorded with each
    confirmation and each order, so every console of a desk shows who sent what."""

    user: str
    host: str
    console: str

    @classmethod
    def here(cls) -> Origin:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no login name (a container): say so, do not fail
            user = "unknown"
        console = os.environ.get("REBAL_CONSOLE_ID") or secrets.token_hex(3)
        return cls(user=user, host=socket.gethostname() or "unknown", console=console)

    @property
    def who(self) -> str:
        return f"{self.user}@{self.host}"

    @property
    def label(self) -> str:
        return f"{self.who}/{self.console}"


def default_journal_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("rebal-tui") / JOURNAL_FILENAME



# ----------------------------------------------------------------------------- schema

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        ticket_json TEXT NOT NULL,
        preview_json TEXT NOT NULL,
        snapshot_json TEXT NOT NULL,
        snapshot_ts INTEGER NOT NULL,
        legging_s REAL NOT NULL,
        confirmed_ms INTEGER,
        confirm_key TEXT,
        confirm_snapshot_ts INTEGER,
        residual_accepted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX tickets_created ON tickets(created_ms);
    CREATE TABLE orders (
        client_id TEXT PRIMARY KEY,
        ticket_id TEXT REFERENCES tickets(id),
        leg INTEGER,
        attempt INTEGER,
        purpose TEXT NOT NULL,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        type TEXT NOT NULL,
        amount REAL NOT NULL,
        price REAL,
        reduce_only INTEGER NOT NULL DEFAULT 0,
        post_only INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        venue_id TEXT,
        filled REAL NOT NULL DEFAULT 0,
        average REAL,
        external INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_ms INTEGER NOT NULL,
        sent_ms INTEGER,
        updated_ms INTEGER NOT NULL
    );
    CREATE INDEX orders_ticket ON orders(ticket_id);
    CREATE INDEX orders_state ON orders(state);
    CREATE TABLE fills (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id TEXT NOT NULL REFERENCES orders(client_id),
        ticket_id TEXT,
        leg INTEGER,
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        amount REAL NOT NULL,
        price REAL,
        ts INTEGER NOT NULL,
        cum_filled REAL NOT NULL,
        UNIQUE (client_id, cum_filled)
    );
    CREATE INDEX fills_ticket ON fills(ticket_id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        ticket_id TEXT,
        client_id TEXT,
        kind TEXT NOT NULL,
        src TEXT,
        dst TEXT,
        detail TEXT
    );
    CREATE INDEX events_ticket ON events(ticket_id);
    CREATE TABLE positions (
        account TEXT NOT NULL,
        symbol TEXT NOT NULL,
        contracts REAL NOT NULL,
        ts INTEGER NOT NULL,
        PRIMARY KEY (account, symbol)
    );
    """,
    # 2: who confirmed a ticket and which console wrote an order (a desk shares one journal)
    """
    ALTER TABLE tickets ADD COLUMN confirmed_by TEXT;
    ALTER TABLE tickets ADD COLUMN confirmed_console TEXT;
    ALTER TABLE orders ADD COLUMN origin TEXT;
    """,
)


# every table, parents first (foreign keys), with a column that orders its rows
COPY_TABLES: tuple[tuple[str, str], ...] = (
    ("tickets", "id"), ("orders", "client_id"), ("fills", "id"), ("events", "id"), ("positions", "account, symbol"),
)


# ----------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class TicketRow:
    id: str
    created_ms: int
    updated_ms: int
    kind: str
    state: TicketState
    note: str
    ticket: Ticket
    preview: Any
    snapshot_ts: int
    legging_s: float
    confirmed_ms: int | None
    confirm_key: str | None
    confirm_snapshot_ts: int | None
    residual_accepted: bool
    confirmed_by: str | None = None  # user@host
    confirmed_console: str | None = None


@dataclass(frozen=True)
class OrderRow:
    client_id: str
    ticket_id: str | None
    leg: int | None
    attempt: int | None
    purpose: str  # "leg", "chase", "unwind", "flatten", "external"
    account: str
    symbol: str
    side: str
    type: str
    amount: float
    price: float | None
    reduce_only: bool
    post_only: bool
    state: OrderState
    venue_id: str | None
    filled: float
    average: float | None
    external: bool
    error: str | None
    created_ms: int
    sent_ms: int | None
    updated_ms: int
    origin: str | None = None  # user@host/console that wrote the order; None before migration 2

    @property
    def live(self) -> bool:
        return self.state in ORDER_LIVE

    @property
    def signed_filled(self) -> float:
        return self.filled if self.side == "buy" else -self.filled


@dataclass(frozen=True)
class NewOrder:
    """An order about to be sent: its row is written before the request."""

    client_id: str
    leg: int | None
    attempt: int | None
    purpose: str
    account: str
    symbol: str
    side: str
    type: str
    amount: float
    price: float | None = None
    reduce_only: bool = False
    post_only: bool = False


@dataclass(frozen=True)
class Confirmation:
    """The trader's yes to a planned ticket: when, with which key, on which snapshot."""

    keystroke: str
    snapshot_ts: int
    ts: int


@dataclass(frozen=True)
class FillRow:
    client_id: str
    ticket_id: str | None
    leg: int | None
    account: str
    symbol: str
    side: str
    amount: float
    price: float | None
    ts: int


@dataclass(frozen=True)
class EventRow:
    ts: int
    ticket_id: str | None
    client_id: str | None
    kind: str
    src: str | None
    dst: str | None
    detail: Any


@dataclass(frozen=True)
class LegResidual:
    """What a ticket leg still has to do: ``target`` and ``done`` are signed contracts."""

    leg: int
    account: str
    symbol: str
    target: float
    done: float
    accepted: bool

    @property
    def remaining(self) -> float:
        return self.target - self.done

    @property
    def settled(self) -> bool:
        return self.accepted or abs(self.remaining) <= 1e-12 + 1e-9 * abs(self.target)


# ----------------------------------------------------------------------------- codec


def ticket_to_dict(ticket: Ticket) -> dict[str, Any]:
    return asdict(ticket)


def ticket_from_dict(d: dict[str, Any]) -> Ticket:
    legs = []
    for tl in d["legs"]:
        style = tl.get("style") or {}
        legs.append(TicketLeg(
            leg=Leg(**tl["leg"]),
            style=OrderStyle(type=OrderType(style.get("type", "market")),
                             offset_bps=style.get("offset_bps", 0.0), slices=style.get("slices", 1),
                             over_minutes=style.get("over_minutes", 0.0)),
            limit_price=tl.get("limit_price"),
        ))
    return Ticket(kind=TicketKind(d["kind"]), legs=tuple(legs), snapshot_ts=int(d["snapshot_ts"]),
                  horizon_days=d.get("horizon_days", 7.0), note=d.get("note", ""),
                  warnings=tuple(d.get("warnings", ())))


def _scrubbed_json(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(scrub_value(value), sort_keys=True, default=str)
    return scrub(text)


# ----------------------------------------------------------------------------- journal


class Journal:
    """The journal, on a ``Store`` (SQLite or PostgreSQL). Thread-safe (one lock); the
    executor calls it from its event loop."""

    def __init__(self, conn: Store, path: Path | None, origin: Origin | None = None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.origin = origin or Origin.here()

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None, *, synchronous: str = "FULL",
             origin: Origin | None = None, migrate: bool = True, allow_offline: bool = False) -> Journal:
        """Open (creating and migrating) the journal: a file path (SQLite; ``None`` is the
        user data folder, ``":memory:"`` a throwaway journal for tests) or a
        ``postgresql://`` URL (a journal several consoles share). ``migrate=False``: the
        caller runs ``migrate()`` itself (`rebal-tui journal migrate` reports what it did).
        ``allow_offline``: a PostgreSQL server that does not answer yet is not an error (the
        console starts, says so in its header, and migrates when it first reaches it); every
        call until then raises ``JournalUnreachable``."""
        origin = origin or Origin.here()
        if is_url(path):
            pg = PgStore(str(path), origin.label, allow_offline=allow_offline)
            store: Store = pg
            j = cls(store, None, origin)
            if migrate and not pg.connected:
                pg.on_connect = j._migrate
                return j
        else:
            if path is None:
                path = default_journal_path()
            mem = str(path) == ":memory:"
            p = None if mem else Path(path)
            if p is not None:
                p.parent.mkdir(parents=True, exist_ok=True)
            try:
                store = SqliteStore.open(p, synchronous)
            except UserError as exc:
                raise JournalError(str(exc)) from None
            j = cls(store, p, origin)
        try:
            if migrate:
                j._migrate()
        except UserError:
            store.close()
            raise
        except Exception as exc:
            store.close()
            if not j.shared:
                raise
            # e.g. a role without CREATE on the database: a message, not a traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise JournalError(f"{j.where}: the journal's tables cannot be created or read ({first}); give the "
                               "role CREATE on the database, or run `rebal-tui journal migrate` as its owner "
                               "first") from None
        return j

    @property
    def backend(self) -> str:
        return self._conn.backend

    @property
    def where(self) -> str:
        """The file, or the URL without its password: what messages may show."""
        return self._conn.where

    @property
    def url(self) -> str | None:
        """The PostgreSQL journal's URL (None for a SQLite file): other connections to it
        (the change listener) use it."""
        return self._conn.url if isinstance(self._conn, PgStore) else None

    @property
    def shared(self) -> bool:
        """A journal other consoles may write to at the same time (PostgreSQL)."""
        return self._conn.backend == "postgresql"

    def ping(self) -> None:
        """Raise ``JournalUnreachable`` unless the journal answers now (reconnecting if it can)."""
        with self._lock:
            if not self._conn.in_transaction:
                self._conn.execute("SELECT 1").fetchone()

    def latest_event(self) -> int | None:
        """The newest event's id: it changes whenever any console writes."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(id) FROM events").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Store]:
        """One write transaction that takes the write lock up front (SQLite: BEGIN
        IMMEDIATE; PostgreSQL: the journal's advisory lock), so a compare-and-set read
        inside it cannot be raced by another process, or another console's host."""
        with self._lock:
            self._conn.begin()
            try:
                yield self._conn
                # inside the try: a COMMIT that fails (busy, disk full, I/O error, the server
                # gone) must not leave the transaction open, or every later write would fail
                # ("cannot start a transaction within a transaction") and this one might
                # commit with the next
                self._conn.commit()
            except BaseException:
                self._conn.rollback()
                raise

    def _migrate(self) -> None:
        # an up-to-date journal needs no write lock: `rebal-tui journal` opening it while the
        # console writes must neither wait for the console nor make the console wait
        if self._conn.schema_version() == len(MIGRATIONS):
            return
        with self._tx() as c:
            version = c.schema_version()
            if version > len(MIGRATIONS):
                raise JournalError(f"{self.where}: journal schema {version} is newer than this "
                                   f"rebal-tui ({len(MIGRATIONS)}); upgrade rebal-tui")
            for i in range(version, len(MIGRATIONS)):
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        c.execute(c.ddl(stmt))
            c.set_schema_version(len(MIGRATIONS))

    def migrate(self) -> tuple[int, int]:
        """(version before, version now): `rebal-tui journal migrate` (opening migrates too)."""
        before = self.schema_version
        self._migrate()
        return before, self.schema_version

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._conn.schema_version()

    def copy_to(self, dst: Journal) -> dict[str, int]:
        """Every row of this journal into ``dst`` (an empty journal, e.g. a new PostgreSQL
        one), ids and all, in one transaction of ``dst``: a copy that fails half way leaves
        ``dst`` empty. Returns the rows per table, checked against ``dst`` before commit."""
        if self.schema_version != dst.schema_version:
            raise JournalError(f"{self.where} has schema {self.schema_version}, {dst.where} "
                               f"{dst.schema_version}: run `rebal-tui journal migrate` on both first")
        counts: dict[str, int] = {}
        with self._lock:
            data = {t: self._conn.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall()
                    for t, key in COPY_TABLES}
        with dst._tx() as c:
            for t, _ in COPY_TABLES:
                if c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]:
                    raise JournalError(f"{dst.where} already has {t}; copy into an empty journal "
                                       "(a new database), so that no two consoles' rows mix")
            for t, _ in COPY_TABLES:
                rows = data[t]
                for r in rows:
                    cols = list(r.keys())
                    c.execute(f"INSERT INTO {t}({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                              tuple(r[k] for k in cols))
                c.reset_ids(t)
                got = int(c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
                if got != len(rows):
                    raise JournalError(f"copy of {t}: {len(rows)} rows read, {got} written; nothing was kept")
                counts[t] = got
        return counts

    # -- events ----------------------------------------------------------------------

    @staticmethod
    def _event(c: Store, ts: int, kind: str, *, ticket_id: str | None = None,
               client_id: str | None = None, src: str | None = None, dst: str | None = None,
               detail: Any = None) -> None:
        c.execute("INSERT INTO events(ts, ticket_id, client_id, kind, src, dst, detail) "
                  "VALUES (?,?,?,?,?,?,?)",
                  (ts, ticket_id, client_id, kind, src, dst,
                   None if detail is None else _scrubbed_json(detail)))

    def note(self, ticket_id: str | None, kind: str, detail: Any = None, *,
             client_id: str | None = None, ts: int | None = None) -> None:
        """Record something that is not a transition (a refusal, an alert, a lookup)."""
        with self._tx() as c:
            self._event(c, ts or now_ms(), kind, ticket_id=ticket_id, client_id=client_id,
                        detail=detail)

    # -- tickets ---------------------------------------------------------------------

    def record_ticket(self, ticket: Ticket, preview_json: Any, snapshot_json: Any, *,
                      legging_s: float = DEFAULT_LEGGING_S, ts: int | None = None) -> str:
        """Store a planned ticket with the preview shown and the snapshot it came from."""
        ts = ts or now_ms()
        tid = new_ticket_id()
        with self._tx() as c:
            c.execute(
                "INSERT INTO tickets(id, created_ms, updated_ms, kind, state, note, ticket_json, "
                "preview_json, snapshot_json, snapshot_ts, legging_s) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (tid, ts, ts, ticket.kind.value, TicketState.PLANNED.value, ticket.note,
                 _scrubbed_json(ticket_to_dict(ticket)), _scrubbed_json(preview_json),
                 _scrubbed_json(snapshot_json), ticket.snapshot_ts, float(legging_s)))
            self._event(c, ts, "transition", ticket_id=tid, dst=TicketState.PLANNED.value,
                        detail={"kind": ticket.kind.value, "legs": len(ticket.legs)})
        return tid

    def confirm(self, ticket_id: str, keystroke: str, snapshot_ts: int, *, ts: int | None = None) -> None:
        """planned → confirmed, once. A second confirm (a double key press) is refused."""
        with self._tx() as c:
            self._confirm_in(c, ticket_id, Confirmation(keystroke, int(snapshot_ts), ts or now_ms()))

    def _confirm_in(self, c: Store, ticket_id: str, yes: Confirmation) -> None:
        cur = c.execute(
            "UPDATE tickets SET state=?, confirmed_ms=?, confirm_key=?, confirm_snapshot_ts=?, "
            "confirmed_by=?, confirmed_console=?, updated_ms=? WHERE id=? AND state=?",
            (TicketState.CONFIRMED.value, yes.ts, yes.keystroke, int(yes.snapshot_ts), self.origin.who,
             self.origin.console, yes.ts, ticket_id, TicketState.PLANNED.value))
        if cur.rowcount != 1:
            state = self._state_in(c, ticket_id)
            raise JournalError(f"ticket {ticket_id} cannot be confirmed: it is {state}, not planned")
        self._event(c, yes.ts, "transition", ticket_id=ticket_id, src=TicketState.PLANNED.value,
                    dst=TicketState.CONFIRMED.value,
                    detail={"keystroke": yes.keystroke, "snapshot_ts": int(yes.snapshot_ts),
                            "by": self.origin.label})

    @staticmethod
    def _state_in(c: Store, ticket_id: str) -> str:
        row = c.execute("SELECT state FROM tickets WHERE id=?", (ticket_id,)).fetchone()
        return "unknown (no such ticket)" if row is None else row["state"]

    def set_ticket_state(self, ticket_id: str, dst: TicketState, *, expect: TicketState | None = None,
                         detail: Any = None, ts: int | None = None) -> bool:
        """Move a ticket to ``dst`` if the lifecycle allows it. Returns False when it is already
        there; raises on a transition the lifecycle forbids."""
        ts = ts or now_ms()
        with self._tx() as c:
            row = c.execute("SELECT state FROM tickets WHERE id=?", (ticket_id,)).fetchone()
            if row is None:
                raise JournalError(f"no ticket {ticket_id} in the journal")
            src = TicketState(row["state"])
            if expect is not None and src is not expect:
                raise JournalError(f"ticket {ticket_id} is {src}, not {expect}")
            if src is dst:
                return False
            if not ticket_can(src, dst):
                raise JournalError(f"ticket {ticket_id}: {src} → {dst} is not an allowed transition")
            c.execute("UPDATE tickets SET state=?, updated_ms=? WHERE id=? AND state=?",
                      (dst.value, ts, ticket_id, src.value))
            self._event(c, ts, "transition", ticket_id=ticket_id, src=src.value, dst=dst.value,
                        detail=detail)
            return True

    def begin_sending(self, ticket_id: str, orders: Iterable[NewOrder], *, ts: int | None = None,
                      confirm: Confirmation | None = None) -> None:
        """confirmed → sending, and every first order's row, in one transaction.

        The compare-and-set on ``confirmed`` is the "cannot be sent twice" guard: of two
        racing submits exactly one gets here. ``confirm``: the trader's yes to a planned
        ticket, journalled first in the same transaction (one commit between `y` and the
        send, not two); the confirmed → sending step stays its own conditional UPDATE."""
        ts = ts or now_ms()
        with self._tx() as c:
            if confirm is not None:
                self._confirm_in(c, ticket_id, confirm)
            cur = c.execute("UPDATE tickets SET state=?, updated_ms=? WHERE id=? AND state=?",
                            (TicketState.SENDING.value, ts, ticket_id, TicketState.CONFIRMED.value))
            if cur.rowcount != 1:
                state = self._state_in(c, ticket_id)
                raise JournalError(f"ticket {ticket_id} cannot be sent: it is {state}, not confirmed "
                                   "(a ticket is sent once)")
            self._event(c, ts, "transition", ticket_id=ticket_id, src=TicketState.CONFIRMED.value,
                        dst=TicketState.SENDING.value)
            for o in orders:
                self._insert_order(c, ticket_id, o, ts)

    def add_orders(self, ticket_id: str, orders: Iterable[NewOrder], *, ts: int | None = None,
                   exclusive_legs: bool = False) -> None:
        """Rows for follow-up orders of a ticket (chase, unwind), committed before sending.

        ``exclusive_legs``: refuse (write nothing) when a leg of the new orders still has a
        live order: a chase or unwind sends the leg's remainder, which a working order may
        still fill. Checked inside the write transaction, so two processes cannot both pass."""
        ts = ts or now_ms()
        orders = list(orders)
        with self._tx() as c:
            if exclusive_legs:
                legs = sorted({o.leg for o in orders if o.leg is not None})
                live = [s.value for s in ORDER_LIVE]
                for leg in legs:
                    row = c.execute(f"SELECT client_id, state FROM orders WHERE ticket_id=? AND leg=? AND state IN "
                                    f"({','.join('?' * len(live))}) LIMIT 1", (ticket_id, leg, *live)).fetchone()
                    if row is not None:
                        raise JournalError(f"ticket {ticket_id} leg {leg}: order {row['client_id']} is still "
                                           f"{row['state']}; nothing more is sent for that leg until its fate is known")
            for o in orders:
                self._insert_order(c, ticket_id, o, ts)

    def _insert_order(self, c: Store, ticket_id: str | None, o: NewOrder, ts: int) -> None:
        c.execute(
            "INSERT INTO orders(client_id, ticket_id, leg, attempt, purpose, account, symbol, side, "
            "type, amount, price, reduce_only, post_only, state, created_ms, updated_ms, origin) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (o.client_id, ticket_id, o.leg, o.attempt, o.purpose, o.account, o.symbol, o.side, o.type,
             o.amount, o.price, int(o.reduce_only), int(o.post_only), OrderState.NEW.value, ts, ts,
             self.origin.label))
        self._event(c, ts, "order", ticket_id=ticket_id, client_id=o.client_id, dst=OrderState.NEW.value,
                    detail={"account": o.account, "symbol": o.symbol, "side": o.side, "type": o.type,
                            "amount": o.amount, "price": o.price, "reduce_only": o.reduce_only,
                            "purpose": o.purpose})

    def abandon(self, ticket_id: str, reason: str = "abandoned by the trader") -> None:
        """A planned or confirmed ticket that will not be sent → cancelled."""
        t = self.ticket(ticket_id)
        if t.state not in (TicketState.PLANNED, TicketState.CONFIRMED):
            raise JournalError(f"ticket {ticket_id} is {t.state.value}; only a planned or confirmed "
                               "ticket can be abandoned (cancel its orders instead)")
        self.set_ticket_state(ticket_id, TicketState.CANCELLED, expect=t.state, detail={"reason": reason})

    def accept_residual(self, ticket_id: str, *, ts: int | None = None) -> None:
        ts = ts or now_ms()
        with self._tx() as c:
            c.execute("UPDATE tickets SET residual_accepted=1, updated_ms=? WHERE id=?", (ts, ticket_id))
            self._event(c, ts, "residual_accepted", ticket_id=ticket_id)

    def ticket(self, ticket_id: str) -> TicketRow:
        with self._lock:
            row = self._conn.execute("SELECT * FROM tickets WHERE id=?", (ticket_id,)).fetchone()
        if row is None:
            raise JournalError(f"no ticket {ticket_id!r} in the journal; list them with `rebal-tui journal`")
        return _ticket_row(row)

    def tickets(self, since_ms: int | None = None, *, states: Iterable[TicketState] | None = None) -> list[TicketRow]:
        q = "SELECT * FROM tickets WHERE created_ms >= ?"
        args: list[Any] = [since_ms or 0]
        if states is not None:
            sl = [s.value for s in states]
            q += f" AND state IN ({','.join('?' * len(sl))})"
            args += sl
        with self._lock:
            rows = self._conn.execute(q + " ORDER BY created_ms, id", args).fetchall()
        return [_ticket_row(r) for r in rows]

    def end_reasons(self, ticket_ids: Iterable[str]) -> dict[str, str]:
        """Why each of these tickets was cancelled or failed (the ``reason`` its last such
        transition recorded), for the ones that have one: the blotter shows it."""
        ids = list(ticket_ids)
        if not ids:
            return {}
        with self._lock:
            rows = self._conn.execute(
                f"SELECT ticket_id, detail FROM events WHERE kind='transition' AND dst IN (?, ?) "
                f"AND detail IS NOT NULL AND ticket_id IN ({','.join('?' * len(ids))}) ORDER BY id",
                (TicketState.CANCELLED.value, TicketState.FAILED.value, *ids)).fetchall()
        out: dict[str, str] = {}
        for r in rows:
            detail = json.loads(r["detail"])
            if isinstance(detail, dict) and detail.get("reason"):
                out[r["ticket_id"]] = str(detail["reason"])
        return out

    def snapshot_json(self, ticket_id: str) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT snapshot_json FROM tickets WHERE id=?", (ticket_id,)).fetchone()
        if row is None:
            raise JournalError(f"no ticket {ticket_id!r} in the journal")
        return json.loads(row[0])

    # -- orders ----------------------------------------------------------------------

    def mark_sent(self, client_ids: Iterable[str], *, ts: int | None = None) -> None:
        ts = ts or now_ms()
        with self._tx() as c:
            for cid in client_ids:
                c.execute("UPDATE orders SET sent_ms=? WHERE client_id=? AND sent_ms IS NULL", (ts, cid))

    def update_order(self, client_id: str, state: OrderState, *, venue_id: str | None = None,
                     filled: float | None = None, average: float | None = None,
                     error: str | None = None, ts: int | None = None, detail: Any = None) -> OrderRow:
        """Apply what the venue said about an order; a grown ``filled`` becomes a fill row in
        the same transaction (idempotent: the same cumulative fill is recorded once)."""
        ts = ts or now_ms()
        with self._tx() as c:
            row = c.execute("SELECT * FROM orders WHERE client_id=?", (client_id,)).fetchone()
            if row is None:
                raise JournalError(f"no order {client_id!r} in the journal")
            cur = _order_row(row)
            if not order_can(cur.state, state) and cur.state is not state:
                # A stale or out-of-order answer (e.g. "open" after we saw "filled"): keep the
                # journal's later state and note the disagreement.
                self._event(c, ts, "order_stale_update", ticket_id=cur.ticket_id, client_id=client_id,
                            src=cur.state.value, dst=state.value, detail=detail)
                return cur
            new_filled = cur.filled if filled is None else max(cur.filled, float(filled))
            new_avg = average if average is not None else cur.average
            if new_filled > cur.filled + 1e-15:
                delta = new_filled - cur.filled
                price = new_avg
                if new_avg is not None and cur.average is not None and cur.filled > 0:
                    # the price of this increment, from the two cumulative averages
                    price = (new_avg * new_filled - cur.average * cur.filled) / delta
                c.execute("INSERT INTO fills(client_id, ticket_id, leg, account, symbol, side, "
                          "amount, price, ts, cum_filled) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                          (client_id, cur.ticket_id, cur.leg, cur.account, cur.symbol, cur.side,
                           delta, price, ts, new_filled))
            error = None if error is None else scrub(error)
            c.execute("UPDATE orders SET state=?, venue_id=COALESCE(?, venue_id), filled=?, average=?, "
                      "error=COALESCE(?, error), updated_ms=? WHERE client_id=?",
                      (state.value, venue_id, new_filled, new_avg, error, ts, client_id))
            if state is not cur.state or new_filled != cur.filled:
                self._event(c, ts, "order", ticket_id=cur.ticket_id, client_id=client_id,
                            src=cur.state.value, dst=state.value,
                            detail={"filled": new_filled, "average": new_avg, "venue_id": venue_id,
                                    **({"error": error} if error else {}), **(detail or {})})
            out = c.execute("SELECT * FROM orders WHERE client_id=?", (client_id,)).fetchone()
            return _order_row(out)

    def adopt_external(self, *, client_id: str, account: str, symbol: str, side: str, type: str,
                       amount: float, price: float | None, state: OrderState, venue_id: str | None,
                       filled: float, average: float | None, reduce_only: bool = False,
                       purpose: str = "external", ts: int | None = None) -> bool:
        """Record a venue order the journal did not have (placed elsewhere), labelled
        external. Returns False when it was already adopted."""
        ts = ts or now_ms()
        with self._tx() as c:
            if c.execute("SELECT 1 FROM orders WHERE client_id=?", (client_id,)).fetchone():
                return False
            c.execute(
                "INSERT INTO orders(client_id, ticket_id, leg, attempt, purpose, account, symbol, side, "
                "type, amount, price, reduce_only, state, venue_id, filled, average, external, "
                "created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?)",
                (client_id, None, None, None, purpose, account, symbol, side, type, amount, price,
                 int(reduce_only), state.value, venue_id, filled, average, ts, ts))
            self._event(c, ts, "adopted_external", client_id=client_id,
                        detail={"account": account, "symbol": symbol, "side": side, "amount": amount,
                                "venue_id": venue_id})
            return True

    def order(self, client_id: str) -> OrderRow | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM orders WHERE client_id=?", (client_id,)).fetchone()
        return None if row is None else _order_row(row)

    def orders(self, ticket_id: str | None = None, *, states: Iterable[OrderState] | None = None,
               account: str | None = None, include_external: bool = True) -> list[OrderRow]:
        q, args = "SELECT * FROM orders WHERE 1=1", []
        if ticket_id is not None:
            q += " AND ticket_id=?"
            args.append(ticket_id)
        if states is not None:
            sl = [s.value for s in states]
            q += f" AND state IN ({','.join('?' * len(sl))})"
            args += sl
        if account is not None:
            q += " AND account=?"
            args.append(account)
        if not include_external:
            q += " AND external=0"
        with self._lock:
            rows = self._conn.execute(q + " ORDER BY created_ms, client_id", args).fetchall()
        return [_order_row(r) for r in rows]

    def fills(self, ticket_id: str | None = None, *, since_ms: int | None = None) -> list[FillRow]:
        q, args = "SELECT * FROM fills WHERE ts >= ?", [since_ms or 0]
        if ticket_id is not None:
            q += " AND ticket_id=?"
            args.append(ticket_id)
        with self._lock:
            rows = self._conn.execute(q + " ORDER BY id", args).fetchall()
        return [FillRow(client_id=r["client_id"], ticket_id=r["ticket_id"], leg=r["leg"],
                        account=r["account"], symbol=r["symbol"], side=r["side"], amount=r["amount"],
                        price=r["price"], ts=r["ts"]) for r in rows]

    def events(self, ticket_id: str | None = None) -> list[EventRow]:
        q, args = "SELECT * FROM events", []
        if ticket_id is not None:
            q += " WHERE ticket_id=?"
            args.append(ticket_id)
        with self._lock:
            rows = self._conn.execute(q + " ORDER BY id", args).fetchall()
        return [EventRow(ts=r["ts"], ticket_id=r["ticket_id"], client_id=r["client_id"], kind=r["kind"],
                         src=r["src"], dst=r["dst"],
                         detail=None if r["detail"] is None else json.loads(r["detail"])) for r in rows]

    # -- residual --------------------------------------------------------------------

    def residual(self, ticket_id: str) -> list[LegResidual]:
        """Per leg: the signed contracts the ticket asked for and what its orders did.

        Chase orders count toward their leg; unwind orders count against it (they undo it)."""
        t = self.ticket(ticket_id)
        done: dict[int, float] = {}
        for o in self.orders(ticket_id):
            if o.leg is None:
                continue
            done[o.leg] = done.get(o.leg, 0.0) + o.signed_filled
        out = []
        for i, tl in enumerate(t.ticket.legs):
            out.append(LegResidual(leg=i, account=tl.leg.account, symbol=tl.leg.symbol,
                                   target=tl.leg.signed_contracts, done=done.get(i, 0.0),
                                   accepted=t.residual_accepted))
        return out

    # -- position baselines (reconciliation) ----------------------------------------

    def position_baseline(self, account: str) -> tuple[dict[str, float], int | None]:
        with self._lock:
            rows = self._conn.execute("SELECT symbol, contracts, ts FROM positions WHERE account=?",
                                      (account,)).fetchall()
        if not rows:
            return {}, None
        return {r["symbol"]: r["contracts"] for r in rows if r["symbol"] != "*"}, min(r["ts"] for r in rows)

    def set_position_baseline(self, account: str, positions: dict[str, float], ts: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM positions WHERE account=?", (account,))
            c.execute("INSERT INTO positions(account, symbol, contracts, ts) VALUES (?,?,?,?)",
                      (account, "*", 0.0, ts))  # marks "baseline taken" even with no positions
            for sym, n in positions.items():
                c.execute("INSERT INTO positions(account, symbol, contracts, ts) VALUES (?,?,?,?)",
                          (account, sym, n, ts))
            self._event(c, ts, "position_baseline", detail={"account": account, "positions": positions})


def _opt(r: Any, name: str) -> Any:
    """A column a later migration added (None on a row that predates it)."""
    return r[name] if name in r.keys() else None  # noqa: SIM118 - a sqlite3.Row iterates its values


def _ticket_row(r: Any) -> TicketRow:
    return TicketRow(
        id=r["id"], created_ms=r["created_ms"], updated_ms=r["updated_ms"], kind=r["kind"],
        state=TicketState(r["state"]), note=r["note"],
        ticket=ticket_from_dict(json.loads(r["ticket_json"])), preview=json.loads(r["preview_json"]),
        snapshot_ts=r["snapshot_ts"], legging_s=r["legging_s"], confirmed_ms=r["confirmed_ms"],
        confirm_key=r["confirm_key"], confirm_snapshot_ts=r["confirm_snapshot_ts"],
        residual_accepted=bool(r["residual_accepted"]), confirmed_by=_opt(r, "confirmed_by"),
        confirmed_console=_opt(r, "confirmed_console"))


def _order_row(r: Any) -> OrderRow:
    return OrderRow(
        client_id=r["client_id"], ticket_id=r["ticket_id"], leg=r["leg"], attempt=r["attempt"],
        purpose=r["purpose"], account=r["account"], symbol=r["symbol"], side=r["side"], type=r["type"],
        amount=r["amount"], price=r["price"], reduce_only=bool(r["reduce_only"]),
        post_only=bool(r["post_only"]), state=OrderState(r["state"]), venue_id=r["venue_id"],
        filled=r["filled"], average=r["average"], external=bool(r["external"]), error=r["error"],
        created_ms=r["created_ms"], sent_ms=r["sent_ms"], updated_ms=r["updated_ms"], origin=_opt(r, "origin"))
