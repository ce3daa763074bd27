"""The journal: every ticket, order, fill and transition, in SQLite.

Why SQLite: one file, atomic transactions, readable by ``rebal-tui journal`` while the
console runs (WAL lets readers and the one writer work at once). ``synchronous=FULL``: a
transition the executor acted on is on disk before the next request goes out, so a crash
or a SIGKILL can never leave a venue order without its row.

Rules the code keeps:
- One transaction per transition: the state change and its ``events`` row commit together.
- State changes are compare-and-set (``WHERE state = ?``): two callers racing to send the
  same ticket cannot both win, even from two processes.
- An order's row (with its client id) commits before its request is sent.
- Secrets never enter: snapshot and preview JSON are scrubbed of registered secrets.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from console.core.errors import UserError
from console.core.overlay import Leg
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.clientid import new_ticket_id
from console.execution.lifecycle import (
    ORDER_LIVE,
    OrderState,
    TicketState,
    order_can,
    ticket_can,
)
from console.execution.sqlite import SqliteFile

JOURNAL_FILENAME = "journal.sqlite3"
DEFAULT_LEGGING_S = 30.0


class JournalError(UserError):
    """A refused journal operation (a second confirm, a second send, an unknown ticket)."""


def default_journal_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("rebal-tui") / JOURNAL_FILENAME


def now_ms() -> int:
    return int(time.time() * 1000)


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


_SIGNATURE = re.compile(r"(signature|apiKey|api_key|secret|x-mbx-apikey)(=|:[ \t]*)[^&\s\"',}]+", re.IGNORECASE)


def _scrub(text: str) -> str:
    """Registered secrets out, and request signatures (ccxt puts signed URLs in its error
    messages): nothing that authenticates a request is ever written to the journal."""
    from console.core.redact import redact

    return _SECRET_FIELD.sub(r"\1\2***\2", _SIGNATURE.sub(r"\1\2***", redact(text)))


_SECRET_KEY = re.compile(r"^(api_?key|secret|password|passphrase|private_?key|signature|"
                         r"x-mbx-apikey|authorization|credentials?)$", re.IGNORECASE)
# the same fields already serialised as JSON or a Python repr inside a string (an error text)
_SECRET_FIELD = re.compile(r"([\"'](?:api_?key|secret|password|passphrase|private_?key|signature|"
                           r"x-mbx-apikey|authorization)[\"']\s*:\s*)([\"'])[^\"']*\2", re.IGNORECASE)


def _scrub_value(value: Any) -> Any:
    """Every value under a secret-looking key replaced, at any depth: a snapshot or preview
    that carries an exchange config (apiKey, secret) must not put it in the journal."""
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and _SECRET_KEY.match(k) and v not in (None, "")
                else _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    if isinstance(value, str):  # an error text quoting a request or a reply (before JSON escapes it)
        return _scrub(value)
    return value


def _scrubbed_json(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(_scrub_value(value), sort_keys=True, default=str)
    return _scrub(text)


# ----------------------------------------------------------------------------- journal


class Journal(SqliteFile):
    """The SQLite journal. Thread-safe (one lock); the executor calls it from its event loop."""

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str | None = None, *, synchronous: str = "FULL") -> Journal:
        """Open (creating and migrating) the journal; ``path=None`` is the user data folder.
        ``":memory:"`` gives a throwaway journal for tests."""
        if path is None:
            path = default_journal_path()
        mem = str(path) == ":memory:"
        p = None if mem else Path(path)
        if p is not None:
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(":memory:" if mem else str(p), isolation_level=None,
                                   check_same_thread=False, timeout=10.0)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal {path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        if not mem:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"{path}: the journal needs WAL mode, SQLite gave {mode!r}")
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        j = cls(conn, p)
        j._migrate()
        return j

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        # an up-to-date journal needs no write lock: `rebal-tui journal` opening it while the
        # console writes must neither wait for the console nor make the console wait
        if self._conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
            return
        with self._tx() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise JournalError(f"{self.path}: journal schema {version} is newer than this "
                                   f"rebal-tui ({len(MIGRATIONS)}); upgrade rebal-tui")
            for i in range(version, len(MIGRATIONS)):
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
            c.execute(f"PRAGMA user_version={len(MIGRATIONS)}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- events ----------------------------------------------------------------------

    @staticmethod
    def _event(c: sqlite3.Connection, ts: int, kind: str, *, ticket_id: str | None = None,
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
        ts = ts or now_ms()
        with self._tx() as c:
            cur = c.execute(
                "UPDATE tickets SET state=?, confirmed_ms=?, confirm_key=?, confirm_snapshot_ts=?, "
                "updated_ms=? WHERE id=? AND state=?",
                (TicketState.CONFIRMED.value, ts, keystroke, int(snapshot_ts), ts, ticket_id,
                 TicketState.PLANNED.value))
            if cur.rowcount != 1:
                state = self._state_in(c, ticket_id)
                raise JournalError(f"ticket {ticket_id} cannot be confirmed: it is {state}, not planned")
            self._event(c, ts, "transition", ticket_id=ticket_id, src=TicketState.PLANNED.value,
                        dst=TicketState.CONFIRMED.value,
                        detail={"keystroke": keystroke, "snapshot_ts": int(snapshot_ts)})

    @staticmethod
    def _state_in(c: sqlite3.Connection, ticket_id: str) -> str:
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

    def begin_sending(self, ticket_id: str, orders: Iterable[NewOrder], *, ts: int | None = None) -> None:
        """confirmed → sending, and every first order's row, in one transaction.

        The compare-and-set on ``confirmed`` is the "cannot be sent twice" guard: of two
        racing submits exactly one gets here."""
        ts = ts or now_ms()
        with self._tx() as c:
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

    def _insert_order(self, c: sqlite3.Connection, ticket_id: str | None, o: NewOrder, ts: int) -> None:
        c.execute(
            "INSERT INTO orders(client_id, ticket_id, leg, attempt, purpose, account, symbol, side, "
            "type, amount, price, reduce_only, post_only, state, created_ms, updated_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (o.client_id, ticket_id, o.leg, o.attempt, o.purpose, o.account, o.symbol, o.side, o.type,
             o.amount, o.price, int(o.reduce_only), int(o.post_only), OrderState.NEW.value, ts, ts))
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
                c.execute("INSERT OR IGNORE INTO fills(client_id, ticket_id, leg, account, symbol, side, "
                          "amount, price, ts, cum_filled) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (client_id, cur.ticket_id, cur.leg, cur.account, cur.symbol, cur.side,
                           delta, price, ts, new_filled))
            error = None if error is None else _scrub(error)
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


def _ticket_row(r: sqlite3.Row) -> TicketRow:
    return TicketRow(
        id=r["id"], created_ms=r["created_ms"], updated_ms=r["updated_ms"], kind=r["kind"],
        state=TicketState(r["state"]), note=r["note"],
        ticket=ticket_from_dict(json.loads(r["ticket_json"])), preview=json.loads(r["preview_json"]),
        snapshot_ts=r["snapshot_ts"], legging_s=r["legging_s"], confirmed_ms=r["confirmed_ms"],
        confirm_key=r["confirm_key"], confirm_snapshot_ts=r["confirm_snapshot_ts"],
        residual_accepted=bool(r["residual_accepted"]))


def _order_row(r: sqlite3.Row) -> OrderRow:
    return OrderRow(
        client_id=r["client_id"], ticket_id=r["ticket_id"], leg=r["leg"], attempt=r["attempt"],
        purpose=r["purpose"], account=r["account"], symbol=r["symbol"], side=r["side"], type=r["type"],
        amount=r["amount"], price=r["price"], reduce_only=bool(r["reduce_only"]),
        post_only=bool(r["post_only"]), state=OrderState(r["state"]), venue_id=r["venue_id"],
        filled=r["filled"], average=r["average"], external=bool(r["external"]), error=r["error"],
        created_ms=r["created_ms"], sent_ms=r["sent_ms"], updated_ms=r["updated_ms"])
