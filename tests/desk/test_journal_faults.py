"""The journal's database going away: nothing half-written, no send while it is away (and
the header says so), and everything resumes when it is back, without a restart.

These tests stop and start a server of their own (not the session's)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from console import runtime
from console.execution.journal import Journal
from console.execution.lifecycle import TicketState
from console.execution.store import ChangeListener, JournalUnreachable
from tests.desk.consoles import confirmed, console
from tests.desk.pgserver import PgServer, pg_server, wait_until
from tests.execution.emu import venue_orders
from tests.execution.helpers import hedge_ticket
from tests.execution.test_journal import _order
from widgets.header import header_text


@pytest.fixture(scope="module")
def own_pg(pg: PgServer) -> Iterator[PgServer]:  # after `pg`: the same skip (or CI failure) without binaries
    with pg_server() as server:
        yield server


@pytest.fixture
def url(own_pg: PgServer) -> Iterator[str]:
    yield own_pg.new_database()
    if not _up(own_pg):  # a failed test must not leave it down for the next
        own_pg.start()


def _up(server: PgServer) -> bool:
    try:
        psycopg.connect(server.admin_url, connect_timeout=1).close()
        return True
    except psycopg.Error:
        return False


def test_a_transaction_cut_by_the_server_leaves_nothing(url):
    j = Journal.open(url)
    try:
        tid = j.record_ticket(hedge_ticket(), {}, {})
        j.confirm(tid, "y", 1)
        insert = j._insert_order
        calls = []

        def cut_after_first(c, ticket_id, o, ts):  # the server drops the connection mid-transaction
            insert(c, ticket_id, o, ts)
            calls.append(o.client_id)
            if len(calls) == 1:
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (j._conn._conn.info.backend_pid,))

        j._insert_order = cut_after_first
        with pytest.raises(JournalUnreachable, match="went away"):
            j.begin_sending(tid, [_order("o1"), _order("o2", leg=1)])
        j._insert_order = insert
        # the same journal object reconnects: the ticket is still confirmed, no order row, no transition
        assert j.ticket(tid).state is TicketState.CONFIRMED
        assert j.orders(tid) == []
        assert [e.dst for e in j.events(tid) if e.kind == "transition"] == ["planned", "confirmed"]
        j.begin_sending(tid, [_order("o1")])  # and the send it refused can happen now, once
        assert [o.client_id for o in j.orders(tid)] == ["o1"]
    finally:
        j.close()


async def test_no_send_while_the_server_is_down_then_resume_without_restart(emulator, own_pg, url):
    a = await console(emulator, url, "a")
    try:
        now = emulator.emulator.now_ms()
        tid = confirmed(a, hedge_ticket(0.002), now)
        snap = a.executor.snapshot_provider()

        def down_then_snapshot():  # the server stops after the pre-check, before the send is recorded
            own_pg.stop("immediate")
            return snap

        a.executor.snapshot_provider = down_then_snapshot
        with pytest.raises(JournalUnreachable):
            await a.executor.submit(tid)
        assert not [o for o in venue_orders(emulator) if tid in o["clientOrderId"]]  # nothing reached the venue
        with pytest.raises(JournalUnreachable, match="unreachable"):
            await a.executor.submit(tid)  # still down: refused before anything
        own_pg.start()
        a.executor.snapshot_provider = lambda: snap
        res = await a.executor.submit(tid)  # the same console, the same journal object
        assert res.state is TicketState.FILLED
        assert len([o for o in venue_orders(emulator) if tid in o["clientOrderId"]]) == 1
    finally:
        await a.close()


def test_the_listener_reports_down_and_back(own_pg, url):
    health: list[bool] = []
    whys: list[str] = []

    def on_health(ok: bool, why: str) -> None:
        health.append(ok)
        whys.append(why)

    ear = ChangeListener(url, "me", lambda: None, on_health, poll_s=0.3).start()
    try:
        assert wait_until(lambda: health == [True])
        own_pg.stop("immediate")
        assert wait_until(lambda: health == [True, False], timeout=5)
        assert "unreachable" in whys[1] or "went away" in whys[1]
        own_pg.start()
        assert wait_until(lambda: health == [True, False, True], timeout=8)
    finally:
        ear.stop()


async def test_the_console_says_so_in_the_header_and_refuses_to_send(own_pg, url):
    from tests.app.conftest import SIZE, make_app, settle

    j = Journal.open(url)
    services = runtime.Services(journal=j)
    app = make_app(services=services)
    try:
        async with app.run_test(size=SIZE) as pilot:
            runtime.watch_journal(services, app.journal_changed, app.journal_health, poll_s=0.3)
            await settle(pilot)
            own_pg.stop("immediate")
            for _ in range(100):
                await pilot.pause(0.05)
                if app.journal_down:
                    break
            assert app.journal_down is not None
            await pilot.pause(0.1)
            bar = app.screen.query_one("#header")
            assert "JOURNAL UNREACHABLE" in header_text(bar._content).plain
            app.review(hedge_ticket(), None)
            await settle(pilot)
            assert any("journal is unreachable" in n.message and "nothing is sent" in n.message
                       for n in app._notifications)  # noqa: SLF001
            own_pg.start()
            for _ in range(160):
                await pilot.pause(0.05)
                if app.journal_down is None:
                    break
            assert app.journal_down is None
            await pilot.pause(0.1)
            assert "JOURNAL" not in header_text(app.screen.query_one("#header")._content).plain
            assert j.tickets() == []  # the refused review journalled nothing
    finally:
        if services.listener is not None:
            services.listener.stop()
        j.close()


def test_the_header_keeps_the_badge_at_every_width():
    from widgets.header import LEVELS, HeaderContent

    c = HeaderContent("demo", "Book", 1.0, "USDT", {}, "2026-11-21 12:00:00Z", journal_down=True)
    for level in range(LEVELS):
        assert "JOURNAL" in header_text(c, level).plain
    assert "JOURNAL" not in header_text(HeaderContent("demo", "Book", 1.0, "USDT", {}, "x")).plain


async def test_q_still_quits_while_the_journal_is_away(own_pg, url):
    from tests.app.conftest import SIZE, loaded, make_app
    from tests.app.test_journeys_emulator import until

    j = Journal.open(url)
    app = make_app(services=runtime.Services(journal=j))
    try:
        own_pg.stop("immediate")
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            await pilot.press("q")
            await until(pilot, lambda: app._exit, what="the exit")  # noqa: SLF001
    finally:
        j.close()


def test_a_console_started_while_the_server_is_down_carries_on_when_it_is_back(own_pg, url):
    own_pg.stop("immediate")
    with pytest.raises(JournalUnreachable, match="unreachable"):
        Journal.open(url)  # a command: a clear message
    j = Journal.open(url, allow_offline=True)  # the console: starts anyway
    try:
        with pytest.raises(JournalUnreachable):
            j.record_ticket(hedge_ticket(), {}, {})
        own_pg.start()
        tid = j.record_ticket(hedge_ticket(), {}, {})  # connects, creates the schema, writes
        assert j.schema_version == 2
        assert [t.id for t in j.tickets()] == [tid]
    finally:
        j.close()
