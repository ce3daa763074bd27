"""Holes found in the adversarial review of the order path, one test each."""

import asyncio
import dataclasses
import time

import pytest

from console.core.ticket import OrderStyle, Ticket, TicketKind, TicketLeg
from console.emulator.testing import ccxt_client
from console.execution.executor import ExecutionRefused, Executor
from console.execution.journal import Journal
from console.execution.lifecycle import ORDER_LIVE, OrderState, TicketState
from tests import factories as f
from tests.execution.emu import EMU_POLICY, emu_snapshot, venue_orders
from tests.execution.fakes import FakeVenue
from tests.execution.helpers import config, hedge_ticket, leg, snapshot, spread_ticket
from tests.execution.test_executor import FAST, Clock, confirmed, make


@pytest.fixture
def journal(tmp_path):
    j = Journal.open(tmp_path / "j.sqlite3")
    yield j
    j.close()


# -- 1. a Binance refusal that ccxt maps only on Binance's hostname is a rejection -----------


async def test_unmapped_binance_refusal_is_rejected_not_ambiguous(emulator, tmp_path):
    fut = ccxt_client(emulator, "usdm", timeout=600)
    j = Journal.open(tmp_path / "j.sqlite3")
    try:
        snap = await emu_snapshot(emulator, {"futures": fut})
        slow = dataclasses.replace(EMU_POLICY, not_found_grace_s=5.0)
        ex = Executor(j, {"futures": fut}, config(), lambda: snap, clock=emulator.emulator.now_ms,
                      policy=slow, require_reconcile=False)
        # the demo account is short the BTC perp: a reduce-only sell is refused (-2022)
        t = Ticket(kind=TicketKind.HEDGE, snapshot_ts=snap.timestamp,
                   legs=(TicketLeg(leg("BTC/USDT:USDT", "sell", 0.01, reduce_only=True)),))
        tid = j.record_ticket(t, {}, {}, legging_s=1.0)
        j.confirm(tid, "y", t.snapshot_ts)
        t0 = time.monotonic()
        res = await ex.submit(tid)
        (o,) = res.orders
        assert o.state is OrderState.REJECTED, (o.state, o.error)
        assert "-2022" in o.error and res.state is TicketState.FAILED
        assert time.monotonic() - t0 < 3.0  # not looked up for the whole grace period
        assert not [v for v in venue_orders(emulator) if v["clientOrderId"] == o.client_id]
    finally:
        j.close()
        await fut.close()


def test_reject_codes_read_from_a_bare_exchange_error():
    import ccxt

    from console.execution.ports import Ambiguous, Rejected, classify_send_error

    def kind(exc):
        return type(classify_send_error(exc))

    for code in (-2019, -4164, -2022, -5022):
        assert kind(ccxt.ExchangeError(f'binanceusdm {{"code":{code},"msg":"x"}}')) is Rejected
    assert kind(ccxt.ExchangeError('binanceusdm {"code":-1007,"msg":"Timeout; execution status unknown"}')) is Ambiguous
    assert kind(ccxt.ExchangeError('binanceusdm {"code":-4015,"msg":"Client order id is not valid."}')) is Ambiguous
    assert kind(ccxt.ExchangeError('binanceusdm {"code":-1000,"msg":"An unknown error occured"}')) is Ambiguous
    assert kind(ccxt.ExchangeNotAvailable('binanceusdm {"code":-2019,"msg":"x"}')) is Ambiguous
    assert kind(ccxt.ExchangeError("binanceusdm 502 Bad Gateway")) is Ambiguous


# -- 2. the confirmation's age is measured on the console's clock, not the wall clock -------


async def test_confirmation_age_on_the_console_clock(journal):
    # the app stamps the confirmation with its clock (the emulator's in demo mode), which is
    # the executor's clock; the wall clock is somewhere else entirely
    clock = Clock(f.T0 + 5_000)
    ex, venue = make(journal, clock=clock)
    t = hedge_ticket()
    tid = journal.record_ticket(t, {}, {}, ts=f.T0)
    journal.confirm(tid, "y", t.snapshot_ts, ts=f.T0 + 4_000)
    res = await ex.submit(tid)
    assert res.state is TicketState.FILLED
    # and an old one is still refused on that clock
    t2 = journal.record_ticket(t, {}, {}, ts=f.T0)
    journal.confirm(t2, "y", t.snapshot_ts, ts=f.T0 + 4_000)
    clock.t = f.T0 + 4_000 + 31_000
    ex.snapshot_provider = lambda: snapshot(at=clock.t)
    with pytest.raises(ExecutionRefused, match="confirmation is 31 s old"):
        await ex.submit(t2)


# -- 3. a chase or unwind pressed twice sends the remainder once ---------------------------


async def test_double_chase_sends_the_remainder_once(journal):
    ex, venue = make(journal)
    venue.rest.add("ETH/USDT:USDT")  # the ETH leg rests, and so will its chase
    tid = confirmed(journal, spread_ticket(limit=True), legging_s=0.05)
    assert (await ex.submit(tid)).alert is not None
    results = await asyncio.gather(ex.chase(tid), ex.chase(tid), return_exceptions=True)
    assert sum(isinstance(r, ExecutionRefused) for r in results) == 1, results
    open_eth = [o for o in venue.orders.values() if o["symbol"] == "ETH/USDT:USDT" and o["status"] == "open"]
    assert sum(o["amount"] for o in open_eth) == pytest.approx(5.0)
    assert len([o for o in journal.orders(tid) if o.leg == 1 and o.state in ORDER_LIVE]) == 1


async def test_double_unwind_undoes_once(journal):
    ex, venue = make(journal)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(), legging_s=0.05)
    assert (await ex.submit(tid)).alert is not None
    await asyncio.gather(ex.unwind(tid), ex.unwind(tid), return_exceptions=True)
    assert venue.positions_["BTC/USDT:USDT"] == pytest.approx(0.0)  # not flipped long


async def test_chase_refused_while_a_working_order_remains(journal, tmp_path):
    # a second console process sent a chase meanwhile: the journal refuses a second one
    ex, venue = make(journal)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(limit=True), legging_s=0.05)
    await ex.submit(tid)
    from console.execution.journal import JournalError, NewOrder
    eth = [o for o in journal.orders(tid) if o.leg == 1][0]
    other = NewOrder("rbt" + tid + "abaac", 1, 2, "chase", "futures", eth.symbol, "buy", "limit", 5.0, 3000.0)
    with pytest.raises(JournalError, match="still open"):
        journal.add_orders(tid, [other], exclusive_legs=True)
    assert journal.order(other.client_id) is None


# -- 4. the kill switch: twice at once, and while a submit or a slice schedule runs ---------


async def test_kill_pressed_twice_at_once_flattens_once(journal):
    ex, venue = make(journal)
    venue.positions_ = {"BTC/USDT:USDT": -0.5, "ETH/USDT:USDT": 2.0}
    reps = await asyncio.gather(ex.kill(confirmed=True), ex.kill(confirmed=True))
    assert venue.positions_ == {"BTC/USDT:USDT": pytest.approx(0.0), "ETH/USDT:USDT": pytest.approx(0.0)}
    assert sum(1 for r in reps if r.flatten is not None) == 1
    assert len(venue.orders) == 2


async def test_kill_while_a_submit_waits_for_data(journal):
    venue = FakeVenue()
    gate = asyncio.Event()
    s = snapshot()

    async def slow_snapshot():
        await gate.wait()
        return s
    ex = Executor(journal, {"futures": venue}, config(), slow_snapshot, policy=FAST, clock=Clock(),
                  require_reconcile=False)
    tid = confirmed(journal, hedge_ticket())
    task = asyncio.create_task(ex.submit(tid))
    await asyncio.sleep(0.02)  # the submit passed its first checks and waits for the snapshot
    ex.snapshot_provider = lambda: s
    await ex.kill(confirmed=True)
    gate.set()
    with pytest.raises(Exception, match="cancelled"):
        await task
    assert venue.orders == {} and journal.ticket(tid).state is TicketState.CANCELLED


async def test_kill_stops_a_slice_schedule(journal):
    ex, venue = make(journal)
    gate = asyncio.Event()

    async def held_sleep(s):
        await gate.wait()
    ex._sleep = held_sleep
    t = hedge_ticket(0.3)
    sliced = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], style=OrderStyle(slices=3, over_minutes=3)),))
    tid = confirmed(journal, sliced)
    task = asyncio.create_task(ex.submit(tid))
    while not journal.orders(tid):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)
    await ex.kill(confirmed=True)  # flattens the first slice's 0.1
    gate.set()
    await task
    assert [o.attempt for o in journal.orders(tid)] == [1]
    assert venue.positions_["BTC/USDT:USDT"] == pytest.approx(0.0)


# -- 5. a failed COMMIT leaves no transaction open and nothing half-written ----------------


def test_failed_commit_rolls_back(journal):
    import sqlite3

    store = journal._conn  # the SQLite store; its connection is swapped for a flaky one
    real = store.conn

    class Flaky:
        fail = True

        def execute(self, sql, *a):
            if sql == "COMMIT" and Flaky.fail:
                Flaky.fail = False
                raise sqlite3.OperationalError("database is locked")
            return real.execute(sql, *a)

        def __getattr__(self, name):
            return getattr(real, name)
    store.conn = Flaky()
    try:
        with pytest.raises(sqlite3.OperationalError):
            journal.record_ticket(hedge_ticket(), {}, {})
        assert journal.tickets() == [] and not real.in_transaction
        tid = journal.record_ticket(hedge_ticket(), {}, {})  # the next write works
        assert [t.id for t in journal.tickets()] == [tid]
    finally:
        store.conn = real


# -- 6. secrets in JSON columns -----------------------------------------------------------


def test_no_api_key_in_json_columns(journal):
    snap = {"accounts": {"futures": {"exchange": {"apiKey": "AKxyzLEAK123", "secret": "SeCrEtLEAK456"}}}}
    preview = {"note": "ccxt said {'X-MBX-APIKEY': 'AKxyzLEAK123'}", "headers": "X-MBX-APIKEY: AKxyzLEAK123"}
    tid = journal.record_ticket(hedge_ticket(), preview, snap)
    journal.note(tid, "debug", {"request": {"headers": {"X-MBX-APIKEY": "AKxyzLEAK123"}}})
    journal.note(tid, "debug", {"error": 'binanceusdm {"apiKey": "AKxyzLEAK123"}'})
    from console.execution.journal import NewOrder
    journal.confirm(tid, "y", f.T0)
    journal.begin_sending(tid, [NewOrder("rbt" + tid + "aaaab", 0, 1, "leg", "futures", "BTC/USDT:USDT", "sell",
                                         "market", 0.25)])
    journal.update_order("rbt" + tid + "aaaab", OrderState.UNKNOWN,
                         error="ExchangeError: binanceusdm {'apiKey': 'AKxyzLEAK123', 'secret': 'SeCrEtLEAK456'}")
    dump = "\n".join(journal._conn.conn.iterdump())
    assert "LEAK" not in dump
    assert journal.ticket(tid).ticket == hedge_ticket()


# -- 7. reconciliation asks the venue for trades on the venue's clock ----------------------


async def test_reconcile_finds_external_fills_on_the_venue_clock(tmp_path):
    from console.emulator.clock import DEFAULT_START_MS
    from console.emulator.testing import start_emulator

    # a demo venue whose clock is days behind the wall clock (a fixed start, replayed later)
    h = start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS - 400 * 86_400_000)
    fut = ccxt_client(h, "usdm", timeout=2_000)
    j = Journal.open(tmp_path / "j.sqlite3")
    try:
        ex = Executor(j, {"futures": fut}, config(), lambda: None, clock=h.emulator.now_ms, policy=EMU_POLICY)
        await fut.load_markets()
        await fut.create_order("ETH/USDT:USDT", "market", "buy", 0.05, None, {"clientOrderId": "web_mkt"})
        rep = await ex.reconcile()
        # Binance's trade list carries no client id: adopted under the venue order id
        assert [(a.symbol, a.side, a.filled) for a in rep.adopted] == [("ETH/USDT:USDT", "buy", pytest.approx(0.05))]
    finally:
        j.close()
        await fut.close()
        h.stop()


# -- 8. a chase re-runs the pre-trade checks before it cancels or sends anything ------------


async def test_chase_reruns_pretrade_checks(journal):
    ex, venue = make(journal)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(limit=True), legging_s=0.05)
    assert (await ex.submit(tid)).alert is not None
    # the margin went (a loss elsewhere): the chase's remainder would be far over the leverage limit
    from tests.execution.helpers import PRICES
    poor = f.snapshot(f.account("futures", "binanceusdm", markets=[f.market(s) for s in PRICES],
                                balance={"USDT": 50.0}, tickers=[f.ticker(s, p) for s, p in PRICES.items()],
                                at=f.T0), at=f.T0)
    ex.snapshot_provider = lambda: poor
    with pytest.raises(ExecutionRefused, match="leverage"):
        await ex.chase(tid)
    assert [o.state for o in journal.orders(tid) if o.leg == 1] == [OrderState.OPEN]  # not cancelled either


# -- 9. opening the journal (the `journal` CLI) while the console holds the write lock ------


def test_open_does_not_need_the_write_lock(tmp_path):
    import sqlite3

    path = tmp_path / "j.sqlite3"
    Journal.open(path).close()
    writer = sqlite3.connect(str(path), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the console, mid-transaction
    try:
        t0 = time.monotonic()
        with Journal.open(path) as j:
            assert j.tickets() == []
        assert time.monotonic() - t0 < 2.0
    finally:
        writer.execute("ROLLBACK")
        writer.close()


# -- 10. a batch entry that says "internal error / disconnected" is not a rejection ---------


def test_batch_entry_internal_error_is_ambiguous():
    import ccxt.async_support as ccxt_async

    from console.execution.ports import Ambiguous, CcxtPort, OrderRequest, Rejected

    port = CcxtPort("futures", ccxt_async.binanceusdm())
    req = OrderRequest("rbtaaaaaaaaaaaaab", "BTC/USDT:USDT", "sell", "market", 0.01)
    for code, msg in ((-1001, "Internal error; unable to process your request. Please try again."),
                      (-1000, "An unknown error occured while processing the request."),
                      (-1006, "An unexpected response was received from the message bus.")):
        with pytest.raises(Ambiguous):
            port._checked({"id": None, "info": {"code": code, "msg": msg}}, req)
    with pytest.raises(Rejected):
        port._checked({"id": None, "info": {"code": -2019, "msg": "Margin is insufficient."}}, req)


# -- 11. a venue with hashed client ids (Hyperliquid) still books fills to their leg ---------


async def test_hashed_client_ids_keep_their_leg(journal):
    ex, venue = make(journal, FakeVenue(exchange_id="hyperliquid"))
    tid = confirmed(journal, hedge_ticket())
    res = await ex.submit(tid)
    (o,) = res.orders
    assert o.client_id.startswith("0x") and (o.leg, o.attempt) == (0, 1)
    assert res.state is TicketState.FILLED and res.residual[0].settled


async def test_each_slice_reruns_pretrade_checks(journal):
    ex, venue = make(journal)
    from tests.execution.helpers import PRICES
    poor = f.snapshot(f.account("futures", "binanceusdm", markets=[f.market(s) for s in PRICES],
                                balance={"USDT": 50.0}, tickers=[f.ticker(s, p) for s, p in PRICES.items()],
                                at=f.T0), at=f.T0)

    async def margin_gone(s):
        ex.snapshot_provider = lambda: poor
    ex._sleep = margin_gone
    t = hedge_ticket(0.3, "buy")
    sliced = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], style=OrderStyle(slices=3, over_minutes=3)),))
    tid = confirmed(journal, sliced)
    res = await ex.submit(tid)
    assert [o.attempt for o in res.orders] == [1]
    assert any(e.kind == "slices_stopped" and "leverage" in str(e.detail) for e in journal.events(tid))
