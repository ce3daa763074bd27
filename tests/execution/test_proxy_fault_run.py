"""Submits through unmodified ccxt and an HTTP fault proxy (tests/execution/faultproxy.py),
with chases, unwinds, leaves and kills mixed in, then one reconciliation with the faults
cleared. The figures a trader's money depends on must all be 0:

- duplicates: a (ticket, leg) whose fills at the venue exceed what the leg asked for (a
  double fill), or a client id the venue holds twice;
- untracked venue orders: a console order at the venue without its journal row;
- journal/venue disagreements: an order whose journal state or fill differs from the venue's,
  or a journal order missing at the venue that is not "never seen" or "rejected";
- position differences: a symbol whose venue position is not the start plus the journal's fills.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

from console.emulator.testing import ccxt_client, emulator_urls
from console.execution.clientid import parse_client_order_id
from console.execution.executor import ExecPolicy, ExecutionRefused, Executor
from console.execution.journal import Journal
from console.execution.lifecycle import ORDER_LIVE, OrderState, TicketState
from console.execution.ports import signed_contracts
from console.execution.reconcile import reconcile
from tests.execution.emu import emu_snapshot, venue_orders
from tests.execution.faultproxy import ORDER_KINDS, READ_KINDS, FaultProxy
from tests.execution.helpers import config, hedge_ticket, spread_ticket

STATUS = {"FILLED": OrderState.FILLED, "NEW": OrderState.OPEN, "PARTIALLY_FILLED": OrderState.PARTIAL,
          "CANCELED": OrderState.CANCELLED, "EXPIRED": OrderState.EXPIRED, "REJECTED": OrderState.REJECTED}
ORDER_ENDPOINTS = ("POST /fapi/v1/order", "POST /fapi/v1/batchOrders")
READ_ENDPOINTS = ("GET /fapi/v1/order", "DELETE /fapi/v1/order", "GET /fapi/v1/openOrders",
                  "GET /fapi/v2/positionRisk")
CLIENT_TIMEOUT_S = 0.25
RECV_WINDOW_S = 0.35
# "not found" trusted only for a lookup sent 0.8 s after the request: longer than any hold
# (the recvWindow, 0.35 s, refuses anything later at the venue). The client timeout is short
# to keep the run fast; on a loaded machine more requests time out, which is more faults,
# not wrong figures.
POLICY = ExecPolicy(lookup_backoff_s=0.03, lookup_backoff_max_s=0.1, lookup_timeout_s=20.0,
                    not_found_grace_s=0.8, poll_s=0.03, kill_backoff_s=0.03, kill_backoff_max_s=0.1)


def _ticket(rng: random.Random, marks: dict[str, float]):
    """A BTC hedge, a market spread, or a spread whose ETH leg is a limit 0.3 % behind the
    market (it rests, the ticket legs, and the run chases, unwinds or leaves it)."""
    import dataclasses

    from console.core.ticket import OrderStyle, OrderType

    side = rng.choice(("buy", "sell"))
    r = rng.random()
    if r < 0.3:
        return hedge_ticket(rng.choice((0.002, 0.003)), side, "BTC/USDT:USDT")
    t = spread_ticket(0.002, rng.choice((0.05, 0.08)))
    if side == "buy":  # mirror half of them so positions stay near flat
        legs = tuple(dataclasses.replace(tl, leg=dataclasses.replace(
            tl.leg, side="buy" if tl.leg.side == "sell" else "sell")) for tl in t.legs)
        t = dataclasses.replace(t, legs=legs)
    if r > 0.6:
        eth = t.legs[1]
        away = -0.003 if eth.leg.side == "buy" else 0.003
        price = round(marks["ETH/USDT:USDT"] * (1 + away), 2)
        t = dataclasses.replace(t, legs=(t.legs[0], dataclasses.replace(
            eth, style=OrderStyle(type=OrderType.LIMIT), limit_price=price)))
    return t


async def _follow_up(ex: Executor, rng: random.Random, tid: str, counts: Counter[str]) -> None:
    action = rng.choice(("chase", "chase", "unwind", "leave"))
    try:
        if action == "leave":
            await ex.leave(tid)
        else:
            fu = await ex.plan_follow_up(tid, action)
            if fu.reasons:
                counts[f"{action}_refused"] += 1
                return
            await getattr(ex, action)(tid, expect=fu)
        counts[action] += 1
    except ExecutionRefused:  # a fill came in meanwhile, an order not yet cancellable: nothing sent
        counts[f"{action}_refused"] += 1


async def _positions(direct) -> dict[str, float]:
    return {str(p["symbol"]): signed_contracts(p) for p in await direct.fetch_positions()
            if float(p.get("contracts") or 0)}


async def proxy_fault_run(h, tmp_path, *, submits: int, batch: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    proxy = FaultProxy(h.url, client_timeout_s=CLIENT_TIMEOUT_S, recv_window_s=RECV_WINDOW_S, seed=seed)
    await proxy.start()
    direct = ccxt_client(h, "usdm")  # the test's own view of the venue, no proxy
    fut = ccxt_client(h, "usdm", timeout=int(CLIENT_TIMEOUT_S * 1000))
    fut.urls["api"] = emulator_urls(fut.urls["api"], proxy.url)
    fut.options["recvWindow"] = int(RECV_WINDOW_S * 1000)
    journal = Journal.open(tmp_path / "proxy.sqlite3")
    try:
        snap = await emu_snapshot(h, {"futures": direct})
        marks = {s: float(t["last"]) for s, t in snap.accounts["futures"].tickers.items()}
        await fut.load_markets()
        start = await _positions(direct)
        actions: Counter[str] = Counter()
        refusals: Counter[str] = Counter()
        ex = Executor(journal, {"futures": fut}, config(), lambda: snap, clock=h.emulator.now_ms, policy=POLICY,
                      require_reconcile=False)
        sent = batches = 0
        while sent < submits:
            proxy.clear()
            for _ in range(rng.randint(16, 30)):
                if rng.random() < 0.5:
                    proxy.arm(rng.choice(ORDER_ENDPOINTS), rng.choice(ORDER_KINDS))
                else:
                    proxy.arm(rng.choice(READ_ENDPOINTS), rng.choice(READ_KINDS))
            ids = []
            for _ in range(min(batch, submits - sent)):
                t = _ticket(rng, marks)
                tid = journal.record_ticket(t, {}, {}, legging_s=0.1)
                journal.confirm(tid, "y", t.snapshot_ts, ts=h.emulator.now_ms())
                ids.append(tid)
            sent += len(ids)
            results = await asyncio.gather(*(ex.submit(tid) for tid in ids), return_exceptions=True)
            legging = []
            for tid, r in zip(ids, results, strict=True):
                if isinstance(r, ExecutionRefused):
                    actions["submit_refused"] += 1
                    refusals.update(r.reasons)
                elif isinstance(r, BaseException):
                    raise r  # no exception may escape the executor
                elif r.alert is not None:
                    legging.append(tid)
            await asyncio.gather(*(_follow_up(ex, rng, tid, actions) for tid in legging))
            batches += 1
            if batches % 3 == 0:  # a kill every third batch, while the faults are armed
                report = await ex.kill(confirmed=True)
                assert report.done, report.lines()
                actions["kill"] += 1
        proxy.clear()
        await proxy.settle()
        # what the run left working (a leave refused because a cancel failed, say) is stopped
        # the way a trader would: one last kill, on a quiet wire
        assert (await ex.kill(confirmed=True)).done
        await ex.stop_watching()
        report = await reconcile(journal, {"futures": fut}, config(), policy=POLICY)
        assert report.complete, report.lines()

        venue = [o for o in venue_orders(h) if parse_client_order_id(o["clientOrderId"] or "")]
        cids = Counter(o["clientOrderId"] for o in venue)
        rows = {o.client_id: o for o in journal.orders()}
        done: Counter[tuple[str, int]] = Counter()
        for o in venue:
            row = rows.get(o["clientOrderId"])
            if row is not None and row.ticket_id is not None and row.leg is not None:
                done[(row.ticket_id, row.leg)] += o["executedQty"] * (1 if o["side"].lower() == "buy" else -1)
        overfilled = 0
        for (tid, leg), n in done.items():
            target = journal.ticket(tid).ticket.legs[leg].leg.signed_contracts
            if n * (1 if target > 0 else -1) > abs(target) + 1e-9:
                overfilled += 1
        untracked = sum(1 for o in venue if o["clientOrderId"] not in rows or rows[o["clientOrderId"]].external)
        disagree = sum(1 for o in venue if (row := rows.get(o["clientOrderId"])) is not None
                       and (row.state is not STATUS[o["status"]] or abs(row.filled - o["executedQty"]) > 1e-9))
        disagree += sum(1 for r in rows.values() if r.client_id not in cids and not r.external
                        and r.state not in (OrderState.NEVER_SEEN, OrderState.REJECTED))
        expected = dict(start)
        for f in journal.fills():
            expected[f.symbol] = expected.get(f.symbol, 0.0) + (f.amount if f.side == "buy" else -f.amount)
        now = await _positions(direct)
        position_diff = sum(1 for s in set(expected) | set(now)
                            if abs(expected.get(s, 0.0) - now.get(s, 0.0)) > 1e-9)
        states = Counter(journal.ticket(t.id).state for t in journal.tickets())
        print("refusals:", refusals.most_common(3))
        return {"submits": sent, "faults": dict(sorted(proxy.counts.items())), "actions": dict(sorted(actions.items())),
                "venue_orders": len(venue),
                "duplicates": overfilled + sum(n - 1 for n in cids.values()),
                "untracked_venue_orders": untracked, "journal_venue_disagreements": disagree,
                "position_differences": position_diff,
                "live_after": sum(r.state in ORDER_LIVE for r in rows.values()),
                "tickets_not_final": sum(n for s, n in states.items()
                                         if s in (TicketState.CONFIRMED, TicketState.SENDING, TicketState.WORKING))}
    finally:
        journal.close()
        await fut.close()
        await direct.close()
        await proxy.stop()


def _check(stats: dict[str, object]) -> None:
    print("proxy fault run:", stats)
    for k in ("duplicates", "untracked_venue_orders", "journal_venue_disagreements", "position_differences",
              "live_after", "tickets_not_final"):
        assert stats[k] == 0, (k, stats)


async def test_proxy_fault_run_1000(tmp_path):
    # an emulator of its own: one that earlier tests filled with thousands of orders answers
    # slower than the 0.25 s client timeout, and the run would measure that instead
    from console.emulator.clock import DEFAULT_START_MS
    from console.emulator.testing import start_emulator

    t0 = time.monotonic()
    with start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS) as h:
        stats = await proxy_fault_run(h, tmp_path, submits=1000, batch=100, seed=2026)
    stats["seconds"] = round(time.monotonic() - t0, 1)
    _check(stats)
