"""Everyone sees everything: another console's writes reach this one within a second, its
orders are never taken for "external", and the kill switch from any console stops every
console's working orders."""

from __future__ import annotations

import threading
import time

from console.execution.journal import Journal, Origin
from console.execution.lifecycle import ORDER_LIVE, OrderState
from console.execution.store import ChangeListener
from tests.desk.consoles import confirmed, console, resting_sell
from tests.execution.emu import venue_orders
from tests.execution.helpers import hedge_ticket


def _listener(url, origin, *, latest=None):
    changed = threading.Event()
    health: list[bool] = []
    ear = ChangeListener(url, origin, changed.set, lambda ok, why: health.append(ok), latest=latest, poll_s=0.5)
    return ear.start(), changed, health


def test_another_consoles_write_is_heard_within_a_second(pg_url):
    a = Journal.open(pg_url, origin=Origin("alice", "desk-1", "a"))
    ear, changed, health = _listener(pg_url, "bob@desk-2/b")
    try:
        deadline = time.monotonic() + 5
        while health != [True] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert health == [True]
        time.sleep(0.1)  # listening
        changed.clear()
        t0 = time.monotonic()
        a.record_ticket(hedge_ticket(), {}, {})
        assert changed.wait(1.0), "no change notice within a second"
        assert time.monotonic() - t0 < 1.0
    finally:
        ear.stop()
        a.close()


def test_a_sqlite_journal_is_polled(tmp_path):
    path = tmp_path / "j.sqlite3"
    mine, other = Journal.open(path), Journal.open(path)
    ear, changed, health = _listener(None, mine.origin.label, latest=mine.latest_event)
    try:
        time.sleep(0.2)  # the first reading sets the mark
        other.record_ticket(hedge_ticket(), {}, {})
        assert changed.wait(1.5)
        assert health == [True]
    finally:
        ear.stop()
        mine.close()
        other.close()


async def test_other_consoles_orders_are_not_external_and_any_kill_switch_stops_them(emulator, pg_url):
    a = await console(emulator, pg_url, "a")
    b = await console(emulator, pg_url, "b")
    try:
        now = emulator.emulator.now_ms()
        tid = confirmed(a, await resting_sell(a, emulator), now)
        res = await a.executor.submit(tid)
        (o,) = res.orders
        assert o.state is OrderState.OPEN and o.origin == "trader@host-a/a"
        # b reconciles the same accounts: a's order is known by its client id, not adopted
        report = await b.executor.reconcile()
        assert report.adopted == () or list(report.adopted) == []
        assert [x.client_id for x in b.journal.orders(states=ORDER_LIVE)] == [o.client_id]
        assert not any(x.external for x in b.journal.orders())
        # b's kill switch cancels a's working order at the venue
        kill = await b.executor.kill(confirmed=True)
        assert o.client_id in kill.cancelled
        venue = {v["clientOrderId"]: v for v in venue_orders(emulator)}
        assert venue[o.client_id]["status"] == "CANCELED"
        assert a.journal.order(o.client_id).state is OrderState.CANCELLED
    finally:
        await a.close()
        await b.close()


async def test_the_blotter_shows_another_consoles_ticket_and_who_sent_it(pg_url):
    from textual.widgets import DataTable

    from console import runtime
    from console.execution.journal import NewOrder
    from tests.app.conftest import SIZE, make_app, settle

    mine = Journal.open(pg_url, origin=Origin("alice", "desk-1", "a"))
    bob = Journal.open(pg_url, origin=Origin("bob", "desk-2", "b"))
    services = runtime.Services(journal=mine)
    app = make_app(services=services)
    try:
        async with app.run_test(size=SIZE) as pilot:
            runtime.watch_journal(services, app.journal_changed, app.journal_health, poll_s=0.5)
            await pilot.press("3")
            await settle(pilot)
            t0 = time.monotonic()
            tid = bob.record_ticket(hedge_ticket(), {}, {})
            bob.confirm(tid, "y", 1)
            bob.begin_sending(tid, [NewOrder("rbtbob1", 0, 1, "leg", "futures", "BTC/USDT:USDT", "sell",
                                             "market", 0.25)])
            table = app.screen.query_one("#bl-tickets", DataTable)
            while tid not in [k.value for k in table.rows] and time.monotonic() - t0 < 3:
                await pilot.pause(0.02)
            assert time.monotonic() - t0 < 1.0, "another console's ticket took over a second to show"
            await settle(pilot)
            assert str(table.get_cell(tid, "by")) == "bob@desk-2/b"
            orders = app.screen.query_one("#bl-orders", DataTable)
            assert str(orders.get_cell("rbtbob1", "by")) == "bob@desk-2/b"
    finally:
        if services.listener is not None:
            services.listener.stop()
        mine.close()
        bob.close()
