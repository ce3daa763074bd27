"""Fills from the user data stream: the console on the emulator (the real venue layer,
ccxt.pro's watch_orders, the executor and the journal) records a working order's fill when the
venue streams it, with no REST read of that order meanwhile; an update it cannot read, or one
older than what the journal knows, changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console import runtime
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.executor import ExecPolicy, OrderUpdate, TicketDone
from console.execution.lifecycle import OrderState, TicketState
from console.venues.demo import demo_config
from tests.execution.helpers import leg

# REST reads of a streamed account's working orders: once an hour, i.e. never in this test
POLICY = ExecPolicy(lookup_backoff_s=0.05, lookup_backoff_max_s=0.2, lookup_timeout_s=20.0,
                    not_found_grace_s=1.0, poll_s=0.05, streamed_poll_s=3600.0)


class Console:
    def __init__(self, emulator: Any, tmp: Path) -> None:
        self.emulator = emulator.emulator
        self.config = demo_config()
        self.services = runtime.Services(loop=runtime.ServiceLoop())
        runtime.connect(self.config, self.services, emulator_url=emulator.url, clock=self.emulator.now_ms,
                        journal_path=tmp / "journal.sqlite3")
        self.events: list[Any] = []
        self.ex = runtime.attach_executor(self.services, self.config, self.events.append, policy=POLICY,
                                          clock=self.emulator.now_ms)
        self.loop, self.venues, self.journal = self.services.loop, self.services.venues, self.services.journal

    def run(self, coro: Any) -> Any:
        return self.loop.run(coro, timeout=30)


@pytest.fixture
def console(emulator: Any, tmp_path: Path) -> Iterator[Console]:
    c = Console(emulator, tmp_path)
    try:
        yield c
    finally:
        runtime.close(c.services)


def wait(cond: Any, what: str, timeout: float = 15.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_resting_order_fill_arrives_on_the_stream_without_polling(console: Console) -> None:
    c = console
    c.run(c.venues.refresh())  # opens the user data streams
    fut = c.venues.venues["futures"]
    wait(lambda: fut.streams_orders and c.emulator.user_streams >= 1, "the futures user data stream")
    c.ex.allow_trading(c.run(c.ex.reconcile()))
    bid, _ = c.run(c.ex.ports["futures"].touch("BTC/USDT:USDT"))  # the book's best bid
    assert bid
    now = c.emulator.now_ms()
    ticket = Ticket(kind=TicketKind.HEDGE, snapshot_ts=now, legs=(TicketLeg(
        leg("BTC/USDT:USDT", "buy", 0.002), style=OrderStyle(type=OrderType.LIMIT), limit_price=bid),))
    tid = c.journal.record_ticket(ticket, {}, {}, legging_s=0.1)
    c.journal.confirm(tid, "y", now, ts=now)
    res = c.run(c.ex.submit(tid))
    [order] = res.orders
    assert order.state is OrderState.OPEN  # resting at the bid, watched after its legging time

    # from now on, count the executor's REST reads of the order
    port = c.ex.ports["futures"]
    reads: list[str] = []
    lookup = port.lookup

    async def counted(symbol: str, client_id: str) -> Any:
        reads.append(client_id)
        return await lookup(symbol, client_id)

    port.lookup = counted  # type: ignore[method-assign]

    # an update it cannot read, and one that says less than the journal knows: nothing changes
    c.run(_call(c.ex.on_streamed_order, "futures", {"clientOrderId": order.client_id, "status": "closed",
                                                     "filled": "nan", "amount": 0.002, "id": "1"}))
    c.run(_call(c.ex.on_streamed_order, "futures", {"clientOrderId": order.client_id, "status": "open",
                                                     "filled": float("inf"), "amount": 0.002}))
    assert c.journal.order(order.client_id).state is OrderState.OPEN
    assert c.journal.fills() == []

    # the market comes to the order: the emulator fills it (its clock moves, prices replay)
    for _ in range(200):
        c.emulator.advance(120)
        if any(o["clientOrderId"] == order.client_id and o["status"] == "FILLED" for o in c.emulator.orders()):
            break
    else:
        pytest.fail("the emulator never filled the resting order")
    wait(lambda: c.journal.order(order.client_id).state is OrderState.FILLED, "the streamed fill in the journal")
    wait(lambda: c.journal.ticket(tid).state is TicketState.FILLED, "the ticket's outcome")
    assert reads == []  # no REST read: the stream told it
    [fill] = c.journal.fills()
    assert fill.client_id == order.client_id and fill.amount == pytest.approx(0.002)
    assert fill.price == pytest.approx(bid)  # a resting limit fills at its own price
    wait(lambda: any(isinstance(e, TicketDone) and e.ticket_id == tid for e in c.events), "the ticket done event")
    assert any(isinstance(e, OrderUpdate) and e.client_id == order.client_id and e.state is OrderState.FILLED
               for e in c.events)  # the blotter's update

    # an older update arriving late (the order was open) does not undo the fill
    c.run(_call(c.ex.on_streamed_order, "futures", {"clientOrderId": order.client_id, "status": "open",
                                                     "filled": 0.0, "amount": 0.002, "id": order.venue_id}))
    assert c.journal.order(order.client_id).state is OrderState.FILLED
    assert len(c.journal.fills()) == 1


async def _call(fn: Any, *args: Any) -> None:
    fn(*args)  # on the service loop, where the venue's stream calls it
