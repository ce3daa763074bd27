"""Randomized submissions against the emulator with faults injected inside the venue.

Faults (timeouts through latency, lost replies, 5xx, 429, 418, dropped connections) are armed
at random on the order, batch and lookup endpoints while tickets are sent concurrently in
batches. Afterwards, with the faults cleared, one reconciliation settles what is left, and:
no client id appears twice at the venue, no (ticket, leg) was sent twice, every venue order
has its journal row with the same state and fill, and every journal order missing at the
venue is one the venue refused or never saw.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from console.emulator.testing import ccxt_client
from console.execution.clientid import parse_client_order_id
from console.execution.executor import Executor
from console.execution.journal import Journal
from console.execution.lifecycle import ORDER_LIVE, OrderState, TicketState
from console.execution.reconcile import reconcile
from tests.execution.emu import EMU_POLICY, emu_snapshot, venue_orders
from tests.execution.helpers import config, hedge_ticket, spread_ticket

ENDPOINTS = ("POST /fapi/v1/order", "POST /fapi/v1/batchOrders", "GET /fapi/v1/order")
KINDS = ("latency", "5xx", "429", "418", "drop", "lost_reply")
STATUS = {"FILLED": OrderState.FILLED, "NEW": OrderState.OPEN, "PARTIALLY_FILLED": OrderState.PARTIAL,
          "CANCELED": OrderState.CANCELLED, "EXPIRED": OrderState.EXPIRED, "REJECTED": OrderState.REJECTED}


def _ticket(rng: random.Random):
    side = rng.choice(("buy", "sell"))
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            return hedge_ticket(rng.choice((0.002, 0.003)), side, "BTC/USDT:USDT")
        return hedge_ticket(rng.choice((0.05, 0.08)), side, "ETH/USDT:USDT")
    t = spread_ticket(0.002, rng.choice((0.05, 0.08)))
    if side == "buy":  # mirror the spread half of the time so positions stay near flat
        import dataclasses
        legs = tuple(dataclasses.replace(tl, leg=dataclasses.replace(tl.leg, side="buy" if tl.leg.side == "sell" else "sell"))
                     for tl in t.legs)
        t = dataclasses.replace(t, legs=legs)
    return t


async def fault_run(h, tmp_path, *, submissions: int, batch: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    emu = h.emulator
    fut = ccxt_client(h, "usdm", timeout=400)
    journal = Journal.open(tmp_path / "fault.sqlite3")
    try:
        snap = await emu_snapshot(h, {"futures": fut})
        events: Counter[str] = Counter()
        ex = Executor(journal, {"futures": fut}, config(), lambda: snap, clock=emu.now_ms, policy=EMU_POLICY,
                      require_reconcile=False,
                      on_event=lambda e: events.update([type(e).__name__]))
        tids: list[str] = []
        faults = 0
        for start in range(0, submissions, batch):
            emu.clear_faults()
            for _ in range(rng.randint(3, 8)):
                kind = rng.choice(KINDS)
                latency = rng.uniform(0.05, 0.3) if kind in ("latency", "lost_reply") else 0.0
                if kind == "latency" and rng.random() < 0.3:
                    latency = 0.6  # past ccxt's 0.4 s timeout: a client-side timeout
                emu.set_fault(rng.choice(ENDPOINTS), kind, count=rng.randint(1, 3), latency_s=latency)
                faults += 1
            ids = []
            for _ in range(min(batch, submissions - start)):
                t = _ticket(rng)
                tid = journal.record_ticket(t, {}, {}, legging_s=2.0)
                journal.confirm(tid, "y", t.snapshot_ts, ts=emu.now_ms())  # on the executor's clock
                ids.append(tid)
            results = await asyncio.gather(*(ex.submit(tid) for tid in ids), return_exceptions=True)
            for r in results:
                if isinstance(r, BaseException):
                    raise r
            tids += ids
        emu.clear_faults()
        report = await reconcile(journal, {"futures": fut}, config(), policy=EMU_POLICY)
        assert report.complete, report.lines()

        venue = [o for o in venue_orders(h) if parse_client_order_id(o["clientOrderId"] or "")]
        cids = Counter(o["clientOrderId"] for o in venue)
        duplicates = sum(n - 1 for n in cids.values())
        legs = Counter(parse_client_order_id(c)[:2] for c in cids)
        resent = sum(n - 1 for n in legs.values())
        rows = {o.client_id: o for o in journal.orders()}
        unmatched = 0
        for o in venue:
            row = rows.get(o["clientOrderId"])
            if row is None or row.external or row.state is not STATUS[o["status"]] \
                    or abs(row.filled - o["executedQty"]) > 1e-9:
                unmatched += 1
        missing = [r for r in rows.values() if r.client_id not in cids and not r.external]
        wrong_missing = [r for r in missing if r.state not in (OrderState.NEVER_SEEN, OrderState.REJECTED)]
        live = [r for r in rows.values() if r.state in ORDER_LIVE]
        states = Counter(journal.ticket(t).state for t in tids)
        return {"submissions": len(tids), "faults_armed": faults, "ambiguous_outcomes": events["AmbiguousOutcome"],
                "venue_orders": len(venue),
                "duplicates": duplicates, "resent_legs": resent, "unmatched": unmatched,
                "wrong_missing": len(wrong_missing), "live_after": len(live),
                "never_seen": sum(r.state is OrderState.NEVER_SEEN for r in rows.values()),
                "unreconciled_tickets": sum(n for s, n in states.items() if s is not TicketState.RECONCILED)}
    finally:
        journal.close()
        await fut.close()


def _check(stats: dict[str, int]) -> None:
    print("fault run:", stats)
    assert stats["duplicates"] == 0
    assert stats["resent_legs"] == 0
    assert stats["unmatched"] == 0
    assert stats["wrong_missing"] == 0
    assert stats["live_after"] == 0
    assert stats["unreconciled_tickets"] == 0


async def test_fault_run_small(emulator, tmp_path):
    """Faults inside the venue (the emulator's own knobs), where the proxy run's are on the
    wire: 60 submissions. The 1,000-submit run goes through the HTTP fault proxy
    (test_proxy_fault_run.py), which covers every kind here too (late answers, lost replies,
    5xx, 429, 418, dropped connections)."""
    _check(await fault_run(emulator, tmp_path, submissions=60, batch=20, seed=1))
