"""The executor and the reconciler against the emulator, through unmodified ccxt."""

import asyncio
import dataclasses
from collections import Counter

import pytest

from console.emulator.testing import ccxt_client
from console.execution.executor import ExecutionRefused, Executor
from console.execution.journal import Journal, JournalError
from console.execution.lifecycle import OrderState, TicketState
from console.execution.ports import CcxtPort
from console.execution.reconcile import reconcile
from tests.execution.emu import EMU_POLICY as _BASE
from tests.execution.emu import emu_snapshot, venue_orders
from tests.execution.helpers import config, hedge_ticket, spread_ticket

# single faults, no latency beyond ccxt's timeout here: a shorter grace keeps these quick
EMU_POLICY = dataclasses.replace(_BASE, not_found_grace_s=0.4)


@pytest.fixture
async def setup(emulator, tmp_path):
    fut = ccxt_client(emulator, "usdm", timeout=600)
    spot = ccxt_client(emulator, "spot", timeout=600)
    j = Journal.open(tmp_path / "journal.sqlite3")
    snap = await emu_snapshot(emulator, {"futures": fut})
    ex = Executor(j, {"futures": fut, "spot": spot}, config(), lambda: snap,
                  clock=emulator.emulator.now_ms, policy=EMU_POLICY)
    ex.allow_trading(await ex.reconcile())  # the startup gate, as the console does it
    yield emulator, ex, j, fut, spot
    j.close()
    await fut.close()
    await spot.close()


def confirm(j, ticket):
    tid = j.record_ticket(ticket, {}, {}, legging_s=1.0)
    j.confirm(tid, "y", ticket.snapshot_ts, ts=ticket.snapshot_ts)  # the console clock: the (frozen) emulator's
    return tid


def test_max_retries_must_be_zero():
    import ccxt.async_support as ccxt_async

    ex = ccxt_async.binanceusdm()
    ex.options["maxRetriesOnFailure"] = 3
    with pytest.raises(ValueError, match="maxRetriesOnFailure"):
        CcxtPort("futures", ex)
    ex.options["maxRetriesOnFailure"] = 0
    assert CcxtPort("futures", ex).exchange.options["maxRetriesOnFailure"] == 0


async def test_spread_via_batch_with_client_ids(setup):
    h, ex, j, *_ = setup
    tid = confirm(j, spread_ticket(0.01, 0.2))
    res = await ex.submit(tid)
    assert res.state is TicketState.FILLED
    venue = {o["clientOrderId"]: o for o in venue_orders(h)}
    for o in res.orders:
        assert venue[o.client_id]["status"] == "FILLED"
        assert venue[o.client_id]["executedQty"] == pytest.approx(o.filled)
    assert len(j.fills(tid)) == 2


@pytest.mark.parametrize("kind", ["lost_reply", "drop", "5xx", "429", "418", "latency"])
async def test_each_fault_no_duplicate(setup, kind):
    h, ex, j, *_ = setup
    h.emulator.set_fault("POST /fapi/v1/order", kind, count=1, latency_s=0.8 if kind == "latency" else 0.05)
    tid = confirm(j, hedge_ticket(0.01))
    res = await ex.submit(tid)
    cids = Counter(o["clientOrderId"] for o in venue_orders(h))
    assert all(n == 1 for n in cids.values())
    (o,) = res.orders
    if kind == "lost_reply":  # applied at the venue: found by its client id
        assert o.state is OrderState.FILLED and cids[o.client_id] == 1
    elif kind == "latency":
        # ccxt timed out first and closed the connection: the emulator never read the
        # body. Either way the journal must say what the venue says.
        assert (o.state is OrderState.FILLED) == (o.client_id in cids)
        assert o.state in (OrderState.FILLED, OrderState.NEVER_SEEN)
    else:  # never reached the matching engine: known as such, not resent
        assert o.state is OrderState.NEVER_SEEN and o.client_id not in cids
        assert res.state is TicketState.FAILED


async def test_double_confirm_sends_once(setup):
    h, ex, j, *_ = setup
    t = hedge_ticket(0.01)
    tid = j.record_ticket(t, {}, {})
    j.confirm(tid, "y", t.snapshot_ts, ts=t.snapshot_ts)
    with pytest.raises(JournalError):
        j.confirm(tid, "y", t.snapshot_ts)
    before = len(venue_orders(h))
    results = await asyncio.gather(ex.submit(tid), ex.submit(tid), return_exceptions=True)
    assert sum(isinstance(r, ExecutionRefused | JournalError) for r in results) == 1
    assert len(venue_orders(h)) == before + 1


async def test_startup_reconcile_adopts_and_marks(setup, tmp_path):
    h, ex, j, fut, spot = setup
    tid = confirm(j, hedge_ticket(0.01))
    await ex.submit(tid)
    # an order placed elsewhere (the web UI), and a journal row whose request never left
    await fut.create_order("ETH/USDT:USDT", "limit", "buy", 0.05, 1000.0, {"clientOrderId": "web_abc"})
    from console.execution.clientid import client_order_id
    from console.execution.journal import NewOrder

    t2 = confirm(j, hedge_ticket(0.02))
    cid = client_order_id(t2, 0, 1)
    j.begin_sending(t2, [NewOrder(cid, 0, 1, "leg", "futures", "BTC/USDT:USDT", "sell", "market", 0.02)])
    await asyncio.sleep(EMU_POLICY.not_found_grace_s)
    rep = await reconcile(j, {"futures": fut}, config(), policy=EMU_POLICY)
    assert rep.complete
    assert [a.client_id for a in rep.adopted] == ["web_abc"]
    assert [n.client_id for n in rep.never_seen] == [cid]
    assert j.order("web_abc").external
    assert j.ticket(t2).state is TicketState.RECONCILED and j.ticket(tid).state is TicketState.RECONCILED
    lines = rep.lines()
    assert any("external" in s for s in lines) and any("Never seen" in s for s in lines)
    rep2 = await reconcile(j, {"futures": fut}, config(), policy=EMU_POLICY)
    assert rep2.clean, rep2.lines()


async def test_kill_switch_on_emulator(setup):
    h, ex, j, fut, spot = setup
    # a working console limit order 1.5 % through the market on the passive side
    snap = await ex._snapshot()
    mark = snap.accounts["futures"].tickers["BTC/USDT:USDT"]["last"]
    t = spread_ticket(0.01, 0.2, limit=True)
    resting = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], limit_price=round(mark * 1.015, 1)),))
    tid = j.record_ticket(resting, {}, {}, legging_s=0.1)
    j.confirm(tid, "y", t.snapshot_ts, ts=t.snapshot_ts)
    res = await ex.submit(tid)
    assert res.state is TicketState.WORKING and res.orders[0].state is OrderState.OPEN
    spot_before = (await spot.fetch_balance())["total"]
    with pytest.raises(ExecutionRefused, match="confirmation"):
        await ex.kill()
    rep = await ex.kill(confirmed=True)
    assert res.orders[0].client_id in rep.cancelled
    positions = await fut.fetch_positions()
    assert [p for p in positions if float(p["contracts"] or 0) != 0] == []
    assert all(o.reduce_only and o.type == "market" for o in rep.flatten.orders)
    # the seeded BTC perp short and ETH dated long, sent as two requests (ccxt will not batch
    # a perp with a dated future)
    assert {o.symbol for o in rep.flatten.orders} == {"BTC/USDT:USDT", "ETH/USDT:USDT-261225"}
    assert rep.flatten.state is TicketState.FILLED
    assert (await spot.fetch_balance())["total"] == spot_before
    assert j.order(res.orders[0].client_id).state is OrderState.CANCELLED
    assert j.ticket(tid).state is TicketState.CANCELLED
