"""Money-path holes from QA: a ticket refused at send time ends failed (with the reason) and
never stays 'confirmed'; every sliced leg is checked against the venue's per-order minimums,
reduce-only or not; a ticket that was never sent can be abandoned; the kill switch finishes
a sliced ticket it stopped at once."""

import asyncio
import dataclasses

import pytest

from console.core.checks import pretrade_checks
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.executor import ExecutionRefused
from console.execution.lifecycle import TicketState
from tests import factories as f
from tests.execution.helpers import config, hedge_ticket, leg, snapshot
from tests.execution.test_executor import Clock, confirmed, journal, make  # noqa: F401 - the fixture

LIMIT = OrderStyle(type=OrderType.LIMIT)


def sliced(contracts: float, slices: int, *, reduce_only: bool = False, symbol: str = "ETH/USDT:USDT",
           side: str = "buy") -> Ticket:
    style = OrderStyle(type=OrderType.MARKET, slices=slices, over_minutes=1.0)
    return Ticket(kind=TicketKind.HEDGE, snapshot_ts=f.T0,
                  legs=(TicketLeg(leg(symbol, side, contracts, reduce_only=reduce_only), style=style),))


def test_slices_under_the_minimum_amount_say_how_many_fit():
    pos = [f.position("ETH/USDT:USDT", -6.0, mark=3_000.0)]
    for reduce_only in (False, True):  # a reduce-only leg was skipped before
        fails = pretrade_checks(config(), snapshot(positions=pos), sliced(5.641, 999_999_999, reduce_only=reduce_only),
                                f.T0 + 1_000)
        msgs = [x.message for x in fails if x.code == "min_amount"]
        assert msgs == ["leg 1: 999999999 slices of 5.641 are 0.0000000056 each, under the minimum amount 0.001: "
                        "use at most 5641 slices"], (reduce_only, [x.message for x in fails])
    # slices that fit the lot pass the amount check
    ok = pretrade_checks(config(), snapshot(positions=pos), sliced(5.641, 5641, reduce_only=True), f.T0 + 1_000)
    assert not [x for x in ok if x.code == "min_amount"]


def test_reduce_only_slices_under_the_venue_min_cost_are_refused():
    cfg = config()
    snap = snapshot(positions=[f.position("ETH/USDT:USDT", -6.0, mark=3_000.0)])
    acct = snap.accounts["futures"]
    acct.markets["ETH/USDT:USDT"] = f.market("ETH/USDT:USDT", min_cost=20.0)
    # 6 × 3,000 = 18,000 in 1,000 slices of 18: under the 20 minimum cost
    fails = pretrade_checks(cfg, snap, sliced(6.0, 1000, reduce_only=True), f.T0 + 1_000)
    (cost,) = [x for x in fails if x.code == "min_notional"]
    assert "each order is 18.00, under ETH/USDT:USDT's venue minimum 20.00" in cost.message
    assert "use at most 900 slices" in cost.message
    # one reduce-only order (a small close) stays allowed
    assert not pretrade_checks(cfg, snap, sliced(6.0, 1, reduce_only=True), f.T0 + 1_000)


async def test_collar_refusal_at_send_time_fails_the_ticket(journal):  # noqa: F811
    events: list = []
    ex, venue = make(journal, events=events)
    t = hedge_ticket()
    bad = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], style=LIMIT, limit_price=50_000.0),))
    tid = confirmed(journal, bad)
    with pytest.raises(ExecutionRefused, match="limit"):
        await ex.submit(tid)
    assert venue.orders == {} and journal.orders(tid) == []
    row = journal.ticket(tid)
    assert row.state is TicketState.FAILED
    (ev,) = [e for e in journal.events(tid) if e.dst == "failed"]
    assert "nothing sent" in ev.detail["reason"] and "50000" in ev.detail["reason"]
    assert [type(e).__name__ for e in events] == ["Refused"]


async def test_too_many_slices_fail_before_anything_is_sent(journal):  # noqa: F811
    ex, venue = make(journal)
    tid = confirmed(journal, sliced(5.641, 999_999_999))
    with pytest.raises(ExecutionRefused, match="use at most 5641 slices"):
        await ex.submit(tid)
    assert venue.orders == {} and journal.ticket(tid).state is TicketState.FAILED


async def test_abandon_only_what_was_never_sent(journal):  # noqa: F811
    ex, venue = make(journal)
    left = confirmed(journal, hedge_ticket())  # confirmed in an earlier session, never sent
    ex.abandon(left)
    assert journal.ticket(left).state is TicketState.CANCELLED
    with pytest.raises(ExecutionRefused, match="not confirmed"):
        await ex.submit(left)
    sent = confirmed(journal, hedge_ticket())
    assert (await ex.submit(sent)).state is TicketState.FILLED
    with pytest.raises(ExecutionRefused, match="was sent"):
        ex.abandon(sent)
    assert journal.ticket(sent).state is TicketState.FILLED
    assert len(venue.orders) == 1


async def test_kill_finishes_a_sliced_ticket_between_slices(journal):  # noqa: F811
    ex, venue = make(journal)
    tid = confirmed(journal, sliced(3.0, 3), legging_s=60.0)
    task = asyncio.ensure_future(ex.submit(tid))
    for _ in range(200):  # the first slice is sent and filled; the next waits 20 s
        await asyncio.sleep(0.01)
        if ex.unsent_slices() == 2:
            break
    assert ex.unsent_slices() == 2 and journal.ticket(tid).state is TicketState.WORKING
    report = await asyncio.wait_for(ex.kill(confirmed=True), 5)
    assert report is not None
    # at once, not when the schedule would have woken: 1 of 3 slices filled → partly filled
    assert journal.ticket(tid).state is TicketState.PARTLY_FILLED
    res = await asyncio.wait_for(task, 5)
    assert res.state is TicketState.PARTLY_FILLED
    assert ex.unsent_slices() == 0
    assert len([o for o in journal.orders(tid)]) == 1
