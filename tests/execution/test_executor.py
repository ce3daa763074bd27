import asyncio

import pytest

from console.execution.executor import ExecPolicy, ExecutionRefused, Executor, LeggingAlert
from console.execution.journal import Confirmation, Journal, JournalError
from console.execution.lifecycle import OrderState, TicketState
from console.execution.reconcile import reconcile
from tests import factories as f
from tests.execution.fakes import FakeVenue
from tests.execution.helpers import config, hedge_ticket, snapshot, spread_ticket

FAST = ExecPolicy(lookup_backoff_s=0.01, lookup_backoff_max_s=0.02, lookup_timeout_s=2.0,
                  not_found_grace_s=0.05, poll_s=0.01)


class Clock:
    def __init__(self, t: int = f.T0 + 1_000) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def journal(tmp_path):
    j = Journal.open(tmp_path / "j.sqlite3")
    yield j
    j.close()


def make(journal, venue=None, *, snap=None, clock=None, events=None, policy=FAST):
    venue = venue or FakeVenue()
    s = snap or snapshot()
    ex = Executor(journal, {"futures": venue}, config(), lambda: s, policy=policy, require_reconcile=False,
                  clock=clock or Clock(), on_event=(events.append if events is not None else None))
    return ex, venue


def confirmed(journal, ticket, legging_s=0.2):
    tid = journal.record_ticket(ticket, {"preview": True}, {"snap": True}, legging_s=legging_s)
    journal.confirm(tid, "y", ticket.snapshot_ts, ts=Clock()())  # stamped on the console's clock, as the app does
    return tid


async def test_spread_fills_as_one_unit(journal):
    ex, venue = make(journal)
    tid = confirmed(journal, spread_ticket())
    res = await ex.submit(tid)
    assert res.state is TicketState.FILLED
    assert all(o.state is OrderState.FILLED for o in res.orders)
    assert all(r.settled for r in res.residual)
    assert set(venue.place_calls.values()) == {1}
    assert {o.client_id for o in res.orders} == set(venue.orders)
    assert len(journal.fills(tid)) == 2


async def test_unconfirmed_and_double_submit(journal):
    ex, venue = make(journal)
    tid = journal.record_ticket(spread_ticket(), {}, {})
    with pytest.raises(ExecutionRefused, match="not confirmed"):
        await ex.submit(tid)
    journal.confirm(tid, "y", f.T0, ts=Clock()())
    results = await asyncio.gather(ex.submit(tid), ex.submit(tid), return_exceptions=True)
    assert sum(isinstance(r, JournalError) for r in results) == 1
    assert len(venue.orders) == 2 and set(venue.place_calls.values()) == {1}
    with pytest.raises(ExecutionRefused):
        await ex.submit(tid)
    assert len(venue.orders) == 2


async def test_double_submit_from_two_executors(journal):
    # two console processes / two executors racing on one journal: the journal decides
    ex1, venue = make(journal)
    ex2 = Executor(journal, {"futures": venue}, config(), lambda: snapshot(), policy=FAST, clock=Clock(),
                   require_reconcile=False)
    tid = confirmed(journal, hedge_ticket())
    results = await asyncio.gather(ex1.submit(tid), ex2.submit(tid), return_exceptions=True)
    assert sum(isinstance(r, JournalError) for r in results) == 1
    assert len(venue.orders) == 1


async def test_stale_data_refused_and_the_ticket_fails_with_the_reason(journal):
    events = []
    ex, venue = make(journal, clock=Clock(f.T0 + 31_000), events=events)
    tid = confirmed(journal, hedge_ticket())
    with pytest.raises(ExecutionRefused, match="old"):
        await ex.submit(tid)
    assert venue.orders == {}
    # refused before anything was written or sent: finished as failed, never left sendable
    assert journal.ticket(tid).state is TicketState.FAILED
    (failed,) = [e for e in journal.events(tid) if e.dst == "failed"]
    assert failed.src == "confirmed" and "old" in failed.detail["reason"]
    with pytest.raises(ExecutionRefused, match="not confirmed"):
        await ex.submit(tid)  # and it cannot be sent later either
    assert any(e.kind == "refused" for e in journal.events(tid))
    assert events and type(events[0]).__name__ == "Refused"


async def test_a_yes_given_at_send_time_is_journalled_before_the_first_byte(journal):
    # the app hands the executor the trader's yes with the planned ticket: the yes, the
    # sending step and the order rows are in the journal when the venue is first called
    seen, told = [], []

    class Watching(FakeVenue):
        async def place(self, req):
            t = journal.ticket(tid)
            seen.append((t.state, t.confirm_key, t.confirmed_ms, [o.client_id for o in journal.orders(tid)]))
            return await super().place(req)

    ex, _ = make(journal, Watching())
    tid = journal.record_ticket(hedge_ticket(), {}, {}, legging_s=0.2)
    at = Clock()()
    res = await ex.submit(tid, confirm=Confirmation("y", f.T0, at), on_confirmed=told.append)
    assert res.state is TicketState.FILLED
    (cid,) = [o.client_id for o in res.orders]
    assert seen == [(TicketState.SENDING, "y", at, [cid])]
    assert told == [None]


async def test_the_ui_is_told_the_order_is_out_before_its_answer_and_after_its_rows(journal):
    # the UI holds its repaint until `on_wire`: that must come once the request has been written
    # (its rows committed first), not once the venue has answered
    told, written, answer = [], [], asyncio.Event()

    class Answering(FakeVenue):
        async def place(self, req):
            async def write():  # as aiohttp: the request is written by a task of its own
                written.append(req.client_id)

            writer = asyncio.ensure_future(write())
            await answer.wait()  # the request is out; its answer is on its way
            await writer
            return await super().place(req)

    ex, _ = make(journal, Answering())
    tid = journal.record_ticket(hedge_ticket(), {}, {}, legging_s=0.2)

    def on_wire():
        told.append((list(written), journal.ticket(tid).state, [o.client_id for o in journal.orders(tid)]))
        answer.set()

    res = await asyncio.wait_for(ex.submit(tid, confirm=Confirmation("y", f.T0, Clock()()), on_wire=on_wire), 5)
    (cid,) = [o.client_id for o in res.orders]
    assert told == [([cid], TicketState.SENDING, [cid])]
    assert res.state is TicketState.FILLED


async def test_a_yes_on_stale_data_is_journalled_then_refused(journal):
    told = []
    late = f.T0 + int(config().limits.max_data_age_s * 1000) + 1_000  # the data are a second too old
    ex, venue = make(journal, clock=Clock(late))
    tid = journal.record_ticket(hedge_ticket(), {}, {})
    with pytest.raises(ExecutionRefused, match="old"):
        await ex.submit(tid, confirm=Confirmation("y", f.T0, late), on_confirmed=told.append,
                        on_wire=lambda: told.append("nothing will be sent"))
    assert venue.orders == {} and journal.orders(tid) == []
    steps = [(e.src, e.dst) for e in journal.events(tid) if e.kind == "transition"]
    assert steps == [(None, "planned"), ("planned", "confirmed"), ("confirmed", "failed")]
    assert journal.ticket(tid).confirm_key == "y"
    # the yes is in the journal (the refusal comes as the submit's error); the UI stops holding
    assert told == [None, "nothing will be sent"]


async def test_a_yes_to_a_ticket_no_longer_planned_sends_nothing(journal):
    told = []
    ex, venue = make(journal)
    tid = journal.record_ticket(hedge_ticket(), {}, {})
    journal.abandon(tid, "closed elsewhere")
    with pytest.raises(ExecutionRefused, match="cancelled, not planned"):
        await ex.submit(tid, confirm=Confirmation("y", f.T0, Clock()()), on_confirmed=told.append,
                        on_wire=lambda: told.append("nothing will be sent"))
    assert venue.orders == {} and journal.ticket(tid).state is TicketState.CANCELLED
    assert len(told) == 2 and isinstance(told[0], ExecutionRefused) and told[1] == "nothing will be sent"


async def test_price_collar_at_send_time(journal):
    ex, venue = make(journal)
    t = spread_ticket(limit=True)
    import dataclasses
    bad = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], limit_price=50_000.0), t.legs[1]))
    tid = confirmed(journal, bad)
    with pytest.raises(ExecutionRefused, match="from the mark"):
        await ex.submit(tid)
    assert venue.orders == {}


@pytest.mark.parametrize("fault", ["lost_reply", "drop"])
async def test_ambiguous_is_looked_up_never_resent(journal, fault):
    events = []
    clock = Clock()
    ex, venue = make(journal, events=events, clock=clock)
    venue.fail("place", fault)
    venue.fail("lookup", "fail", "fail")  # the first lookups fail too

    tid = confirmed(journal, hedge_ticket())

    async def tick():
        while True:
            await asyncio.sleep(0.01)
            clock.t += 20
    ticker = asyncio.create_task(tick())
    try:
        res = await ex.submit(tid)
    finally:
        ticker.cancel()
    (o,) = res.orders
    assert venue.place_calls[o.client_id] == (1 if fault == "lost_reply" else 0)
    if fault == "lost_reply":
        assert o.state is OrderState.FILLED and res.state is TicketState.FILLED
    else:
        assert o.state is OrderState.NEVER_SEEN and res.state is TicketState.FAILED
    assert any(type(e).__name__ == "AmbiguousOutcome" for e in events)


async def test_rejected_leg(journal):
    ex, venue = make(journal, FakeVenue(batch=False))
    venue.fail("place", "reject")
    tid = confirmed(journal, hedge_ticket())
    res = await ex.submit(tid)
    assert res.state is TicketState.FAILED
    assert res.orders[0].state is OrderState.REJECTED and "InsufficientFunds" in res.orders[0].error


async def test_batch_lost_reply_resolves_both_legs(journal):
    ex, venue = make(journal)
    venue.fail("place_many", "lost_reply")
    tid = confirmed(journal, spread_ticket())
    res = await ex.submit(tid)
    assert res.state is TicketState.FILLED
    assert set(venue.place_calls.values()) == {1}


async def test_legging_alert_then_chase(journal):
    events = []
    ex, venue = make(journal, events=events)
    venue.rest.add("ETH/USDT:USDT")  # the ETH leg rests, BTC fills
    tid = confirmed(journal, spread_ticket(limit=True), legging_s=0.05)
    res = await ex.submit(tid)
    assert res.state is TicketState.WORKING
    assert isinstance(res.alert, LeggingAlert)
    assert res.alert.done_legs == (0,) and res.alert.waiting_legs == (1,)
    assert any(isinstance(e, LeggingAlert) for e in events)
    venue.rest.clear()
    res2 = await ex.chase(tid)
    assert res2.state is TicketState.FILLED
    eth = [o for o in res2.orders if o.leg == 1]
    assert [o.state for o in eth] == [OrderState.CANCELLED, OrderState.FILLED]
    assert eth[1].attempt == 2 and eth[1].price == pytest.approx(3_000.2)  # re-priced at the ask (rounded)
    assert all(r.settled for r in res2.residual)


async def test_legging_unwind(journal):
    ex, venue = make(journal)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(), legging_s=0.05)
    res = await ex.submit(tid)
    assert res.alert is not None
    res2 = await ex.unwind(tid)
    btc = [o for o in res2.orders if o.leg == 0]
    assert [(o.side, o.purpose, o.reduce_only) for o in btc] == [("sell", "leg", False), ("buy", "unwind", True)]
    assert venue.positions_["BTC/USDT:USDT"] == pytest.approx(0.0)
    assert res2.state is TicketState.PARTLY_FILLED
    assert all(r.accepted for r in res2.residual)


async def test_leave_accepts_residual(journal):
    ex, venue = make(journal)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(), legging_s=0.05)
    await ex.submit(tid)
    (eth,) = [o for o in journal.orders(tid) if o.leg == 1]
    await ex.leave(tid)
    # the waiting leg's order is cancelled with it: left working, it could fill what was given up
    assert journal.order(eth.client_id).state is OrderState.CANCELLED
    assert venue.orders[eth.client_id]["status"] != "open"
    t = journal.ticket(tid)
    assert t.residual_accepted and t.state is TicketState.PARTLY_FILLED


async def test_kill_switch(journal):
    ex, venue = make(journal)
    venue.positions_ = {"BTC/USDT:USDT": -0.5, "ETH/USDT:USDT": 2.0}
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, hedge_ticket(1.0, "buy", "ETH/USDT:USDT"), legging_s=0.01)
    await ex.submit(tid)  # rests
    venue.external_order("BTC/USDT:USDT", "buy", 0.1)  # not ours: must survive
    with pytest.raises(ExecutionRefused, match="confirmation"):
        await ex.kill()
    venue.rest.clear()
    rep = await ex.kill(confirmed=True)
    assert rep.cancelled and not rep.cancel_failed
    assert venue.orders["web_123"]["status"] == "open"
    legs = {(o.symbol, o.side, o.amount, o.reduce_only, o.type) for o in rep.flatten.orders}
    assert legs == {("BTC/USDT:USDT", "buy", 0.5, True, "market"), ("ETH/USDT:USDT", "sell", 2.0, True, "market")}
    assert all(abs(v) < 1e-12 for v in venue.positions_.values())
    assert journal.ticket(rep.flatten.ticket_id).confirm_key == "kill"


async def test_kill_never_touches_spot(journal):
    spot = FakeVenue("spot", "binance", contract=False)
    fut = FakeVenue()
    fut.positions_ = {"BTC/USDT:USDT": -0.5}
    s = snapshot()
    ex = Executor(journal, {"futures": fut, "spot": spot}, config(), lambda: s, policy=FAST, clock=Clock(),
                  require_reconcile=False)
    rep = await ex.kill(confirmed=True)
    assert spot.orders == {} and len(fut.orders) == 1
    assert rep.flatten.state is TicketState.FILLED


async def test_reconcile_after_lost_journal_update(journal):
    ex, venue = make(journal)
    venue.fail("place", "lost_reply")
    venue.fail("lookup", *["fail"] * 500)  # the venue cannot be asked: order stays unknown
    tid = confirmed(journal, hedge_ticket())
    ex.policy = ExecPolicy(lookup_backoff_s=0.01, lookup_backoff_max_s=0.01, lookup_timeout_s=0.05,
                           not_found_grace_s=0.0, poll_s=0.01)
    res = await ex.submit(tid)
    assert res.unresolved and res.state is TicketState.WORKING
    venue.faults.clear()
    venue.external_order("ETH/USDT:USDT", "sell", 1.0)
    rep = await reconcile(journal, {"futures": venue}, config(), policy=FAST, clock=Clock())
    assert rep.complete
    assert [a.client_id for a in rep.adopted] == ["web_123"]
    assert journal.ticket(tid).state is TicketState.RECONCILED
    assert journal.orders(tid)[0].state is OrderState.FILLED
    # every venue order has a journal row
    assert set(venue.orders) <= {o.client_id for o in journal.orders()}
    # the next run sees a clean venue, and a position change nobody made is a mismatch
    rep2 = await reconcile(journal, {"futures": venue}, config(), policy=FAST, clock=Clock())
    assert rep2.clean, rep2.lines()
    venue.positions_["BTC/USDT:USDT"] -= 1.0
    rep3 = await reconcile(journal, {"futures": venue}, config(), policy=FAST, clock=Clock())
    assert [(m.symbol, m.expected, m.venue) for m in rep3.position_mismatches] == [("BTC/USDT:USDT", -0.25, -1.25)]
    assert "Position mismatch" in str(rep3)


async def test_reconcile_marks_never_seen(journal):
    venue = FakeVenue()
    tid = confirmed(journal, hedge_ticket())
    from console.execution.clientid import client_order_id
    from console.execution.journal import NewOrder
    cid = client_order_id(tid, 0, 1)
    journal.begin_sending(tid, [NewOrder(cid, 0, 1, "leg", "futures", "BTC/USDT:USDT", "sell", "market", 0.25)])
    # crash here: the row is written, the request never left
    rep = await reconcile(journal, {"futures": venue}, config(), policy=FAST, clock=Clock(f.T0 + 10_000_000))
    assert [n.client_id for n in rep.never_seen] == [cid]
    assert journal.ticket(tid).state is TicketState.RECONCILED


async def test_trading_waits_for_startup_reconciliation(journal):
    venue = FakeVenue()
    ex = Executor(journal, {"futures": venue}, config(), lambda: snapshot(), policy=FAST, clock=Clock())
    tid = confirmed(journal, hedge_ticket())
    with pytest.raises(ExecutionRefused, match="reconciliation"):
        await ex.submit(tid)
    # refused while closed: finished (failed), so it cannot go out once trading opens
    assert journal.ticket(tid).state is TicketState.FAILED and not venue.orders
    venue.fail("lookup", "fail")
    stuck = journal.record_ticket(hedge_ticket(), {}, {})
    journal.confirm(stuck, "y", f.T0)
    from console.execution.journal import NewOrder
    journal.begin_sending(stuck, [NewOrder("rbtzzzzzzzzzzaaab", 0, 1, "leg", "futures", "BTC/USDT:USDT",
                                           "sell", "market", 0.25)])
    ex.policy = ExecPolicy(lookup_backoff_s=0.01, lookup_timeout_s=0.0, not_found_grace_s=0.0)
    report = await ex.reconcile()
    assert not report.complete
    with pytest.raises(ExecutionRefused, match="incomplete"):
        ex.allow_trading(report)
    ex.policy = FAST
    report = await ex.reconcile()
    ex.allow_trading(report)
    assert ex.trading_allowed
    assert journal.ticket(tid).state in (TicketState.FAILED, TicketState.RECONCILED)
    again = confirmed(journal, hedge_ticket())  # planned again, after the report was accepted
    assert (await ex.submit(again)).state is TicketState.FILLED
    ex.close_trading()  # R: closed again while a reconciliation runs
    later = confirmed(journal, hedge_ticket())
    with pytest.raises(ExecutionRefused, match="reconciliation"):
        await ex.submit(later)
    assert journal.ticket(later).state is TicketState.FAILED


async def test_chase_refused_on_stale_data(journal):
    clock = Clock()
    ex, venue = make(journal, clock=clock)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(limit=True), legging_s=0.05)
    res = await ex.submit(tid)
    assert res.alert is not None
    clock.t += 60_000
    with pytest.raises(ExecutionRefused, match="old"):
        await ex.chase(tid)
    # nothing was cancelled: the resting leg still works
    assert [o.state for o in journal.orders(tid) if o.leg == 1] == [OrderState.OPEN]


async def test_sliced_legs_go_out_on_schedule(journal):
    import dataclasses

    from console.core.ticket import OrderStyle

    ex, venue = make(journal)
    waits = []

    async def fast_sleep(s):
        waits.append(s)
    ex._sleep = fast_sleep
    t = spread_ticket(0.25, 5.0)
    style = OrderStyle(slices=3, over_minutes=6)
    sliced = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], style=style), t.legs[1]))
    tid = confirmed(journal, sliced)
    res = await ex.submit(tid)
    assert res.state is TicketState.FILLED
    btc = [o for o in res.orders if o.leg == 0]
    assert [o.attempt for o in btc] == [1, 2, 3] and [o.purpose for o in btc] == ["leg", "slice", "slice"]
    assert sum(o.amount for o in btc) == pytest.approx(0.25) and btc[0].amount == pytest.approx(0.083333)
    assert waits == [120.0, 120.0]  # 6 minutes / 3 slices
    assert len([o for o in res.orders if o.leg == 1]) == 1


async def test_slices_stop_on_stale_data(journal):
    import dataclasses

    from console.core.ticket import OrderStyle

    clock = Clock()
    ex, venue = make(journal, clock=clock)

    async def stale_sleep(s):
        clock.t += 60_000
    ex._sleep = stale_sleep
    t = hedge_ticket()
    sliced = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], style=OrderStyle(slices=2, over_minutes=1)),))
    tid = confirmed(journal, sliced)
    res = await ex.submit(tid)
    assert len(res.orders) == 1 and res.state is TicketState.PARTLY_FILLED
    assert res.residual[0].remaining == pytest.approx(-0.125)
    assert any(e.kind == "slices_stopped" for e in journal.events(tid))


async def test_old_confirmation_refused(journal):
    ex, venue = make(journal)
    t = hedge_ticket()
    tid = journal.record_ticket(t, {}, {})
    journal.confirm(tid, "y", t.snapshot_ts, ts=Clock()() - 120_000)  # on the console's clock
    with pytest.raises(ExecutionRefused, match="confirmation is"):
        await ex.submit(tid)
    assert venue.orders == {}


async def test_late_appearance_is_corrected(journal):
    """Binance -1007: the order was declared never seen, then shows up filled."""
    clock = Clock()
    ex, venue = make(journal, clock=clock)
    venue.fail("place", "drop")
    tid = confirmed(journal, hedge_ticket())
    res = await ex.submit(tid)
    assert res.state is TicketState.FAILED
    rep = await reconcile(journal, {"futures": venue}, config(), policy=FAST)
    assert journal.ticket(tid).state is TicketState.RECONCILED
    # the backend executed it after all
    from console.execution.ports import OrderRequest
    (o,) = res.orders
    venue._apply(OrderRequest(o.client_id, o.symbol, o.side, o.type, o.amount))
    rep = await reconcile(journal, {"futures": venue}, config(), policy=FAST)
    assert [(c.src, c.dst) for c in rep.corrected] == [("never_seen", "filled")]
    assert journal.order(o.client_id).state is OrderState.FILLED
    assert journal.ticket(tid).state is TicketState.RECONCILED
    states = [e.dst for e in journal.events(tid) if e.kind == "transition"]
    assert states[-3:] == ["working", "filled", "reconciled"]
