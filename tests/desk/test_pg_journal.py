"""The journal on a real PostgreSQL server: the same behaviour as on SQLite, the same schema,
and what a shared journal adds (who confirmed, two consoles seeing each other's rows)."""

from __future__ import annotations

import psycopg
import pytest

from console.execution.journal import Journal, JournalError, Origin
from console.execution.lifecycle import OrderState, TicketState
from console.execution.store import safe_url
from tests.execution.helpers import spread_ticket

# The SQLite journal's own tests, run here against PostgreSQL through the `journal` fixture below.
from tests.execution.test_journal import (  # noqa: F401
    _order,
    test_abandon,
    test_begin_sending_once,
    test_confirm_once,
    test_errors_scrubbed_of_signatures,
    test_every_transition_is_an_event,
    test_fills_are_idempotent_and_priced,
    test_forbidden_transition,
    test_secrets_never_stored,
)

ALICE = Origin("alice", "desk-1", "c1")
BOB = Origin("bob", "desk-2", "c2")


@pytest.fixture
def journal(pg_url):
    j = Journal.open(pg_url, origin=ALICE)
    yield j
    j.close()



def test_same_schema_as_sqlite(pg_url, tmp_path):
    pg = Journal.open(pg_url)
    lite = Journal.open(tmp_path / "j.sqlite3")
    try:
        assert pg.schema_version == lite.schema_version == 2
        with psycopg.connect(pg_url) as c:
            pg_cols = {(t, n) for t, n in c.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema='public' "
                "AND table_name <> 'schema_version'").fetchall()}
        lite_cols = set()
        for (t,) in lite._conn.conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                            "AND name NOT LIKE 'sqlite_%'").fetchall():
            lite_cols |= {(t, r[1]) for r in lite._conn.conn.execute(f"PRAGMA table_info({t})").fetchall()}
        assert pg_cols == lite_cols
    finally:
        pg.close()
        lite.close()


def test_reopening_migrates_nothing_and_keeps_rows(pg_url):
    with Journal.open(pg_url) as j:
        tid = j.record_ticket(spread_ticket(), {"p": 1}, {"s": 1})
    with Journal.open(pg_url) as j:
        assert j.migrate() == (2, 2)
        assert j.ticket(tid).state is TicketState.PLANNED


def test_a_newer_schema_is_refused_with_the_fix(pg_url):
    Journal.open(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(JournalError, match="newer than this rebal-tui.*upgrade rebal-tui"):
        Journal.open(pg_url)


def test_two_consoles_see_each_others_rows_and_who_confirmed(pg_url):
    a = Journal.open(pg_url, origin=ALICE)
    b = Journal.open(pg_url, origin=BOB)
    try:
        tid = a.record_ticket(spread_ticket(), {}, {})
        b.confirm(tid, "y", 1)
        with pytest.raises(JournalError, match="not planned"):
            a.confirm(tid, "y", 1)  # a double confirm across consoles is refused too
        row = a.ticket(tid)
        assert (row.confirmed_by, row.confirmed_console) == ("bob@desk-2", "c2")
        b.begin_sending(tid, [_order("a1")])
        with pytest.raises(JournalError, match="sent once"):
            a.begin_sending(tid, [_order("a2")])
        (o,) = a.orders(tid)
        assert (o.client_id, o.origin, o.external) == ("a1", "bob@desk-2/c2", False)
        b.update_order("a1", OrderState.FILLED, filled=0.25, average=100.0)
        assert [f.amount for f in a.fills(tid)] == [0.25]
    finally:
        a.close()
        b.close()


def test_failed_transaction_leaves_nothing(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.confirm(tid, "y", 1)
    with pytest.raises(psycopg.IntegrityError):  # duplicate client id inside one transaction
        journal.begin_sending(tid, [_order("dup"), _order("dup")])
    assert journal.ticket(tid).state is TicketState.CONFIRMED
    assert journal.orders(tid) == []


def test_large_millisecond_timestamps_round_trip(journal):
    # a ms timestamp does not fit 32 bits: the PostgreSQL columns are BIGINT
    ts = 1_795_000_000_123
    tid = journal.record_ticket(spread_ticket(), {}, {}, ts=ts)
    assert journal.ticket(tid).created_ms == ts


def test_an_unreachable_server_is_a_clear_message(pg):
    from console.execution.store import JournalUnreachable

    url = f"postgresql://rebal:hunter2@127.0.0.1:{pg.port + 1}/nowhere"
    with pytest.raises(JournalUnreachable) as err:
        Journal.open(url)
    assert "unreachable" in str(err.value) and "hunter2" not in str(err.value)


def test_safe_url_masks_the_password():
    assert safe_url("postgresql://desk:s3cret@db.lan:5433/journal") == "postgresql://desk:***@db.lan:5433/journal"
    assert safe_url("postgresql://db.lan/journal") == "postgresql://db.lan/journal"


def test_a_role_that_cannot_create_the_tables_gets_the_fix(pg, pg_url):
    with psycopg.connect(pg.admin_url, autocommit=True) as c:
        c.execute("DO $$ BEGIN CREATE ROLE clerk LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    clerk_url = pg_url.replace("postgresql://rebal@", "postgresql://clerk@")
    with pytest.raises(JournalError, match=r"cannot be created.*CREATE on the database.*journal migrate"):
        Journal.open(clerk_url)
