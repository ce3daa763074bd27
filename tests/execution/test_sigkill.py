"""SIGKILL at random points of execution, through the HTTP fault proxy, then restart and reconcile.

A zygote process (tests/execution/kill_driver.py) forks one child per trial (ccxt and the
console imported once, so a trial costs no cold start); the child submits three tickets
through unmodified ccxt and the fault proxy (tests/execution/faultproxy.py) to one
long-lived emulator, and traces every step. The test SIGKILLs it after a seeded random number
of steps plus a random few milliseconds (so kills land inside requests and commits too, with
answers dropped, held or garbled on the wire). Then, as a restarted console would, it reopens
the journal and reconciles on a quiet wire, and counts what a trader's money depends on:

- duplicates: a client id the venue holds twice, or a (ticket, leg) sent twice;
- untracked venue orders: a console order at the venue without its journal row;
- journal/venue disagreements: an order whose journal state or fill differs from the venue's,
  a journal order missing at the venue that is not "never seen" or "rejected", a ticket left
  in a state that is not final (or "working" with nothing working), or an incomplete report;
- position differences: a symbol whose venue position moved by other than the journal's fills.

All printed, with the kills by phase, and all 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import ccxt_client, start_emulator
from console.execution.clientid import parse_client_order_id
from console.execution.journal import Journal
from console.execution.lifecycle import ORDER_LIVE, OrderState, TicketState
from console.execution.ports import signed_contracts
from console.execution.reconcile import reconcile
from tests.execution.emu import venue_orders
from tests.execution.faultproxy import ORDER_KINDS, READ_KINDS, FaultProxy
from tests.execution.helpers import config
from tests.execution.kill_driver import POLICY

ROOT = Path(__file__).resolve().parents[2]
STATUS = {"FILLED": OrderState.FILLED, "NEW": OrderState.OPEN, "PARTIALLY_FILLED": OrderState.PARTIAL,
          "CANCELED": OrderState.CANCELLED, "EXPIRED": OrderState.EXPIRED, "REJECTED": OrderState.REJECTED}
ORDER_ENDPOINTS = ("POST /fapi/v1/order", "POST /fapi/v1/batchOrders")
# the order lookup only: a fault on the restarted child's own reconciliation reads (open
# orders, positions) keeps its trading closed, and the trial would end before any kill
READ_ENDPOINTS = ("GET /fapi/v1/order",)
CLIENT_TIMEOUT_S = 0.25  # as the proxy fault run: short, to keep trials fast
RECV_WINDOW_S = 0.35
FIGURES = ("duplicates", "untracked_venue_orders", "journal_venue_disagreements", "position_differences")
FINAL_OR_OPEN = (TicketState.PLANNED, TicketState.CONFIRMED, TicketState.RECONCILED, TicketState.WORKING)


class Zygote:
    def __init__(self) -> None:
        # started first: its imports run while the emulator and the proxy start
        self.p = subprocess.Popen([sys.executable, "-m", "tests.execution.kill_driver"],
                                  cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.last_phase = "start"

    def connect(self, url: str, key: str, secret: str) -> None:
        self.p.stdin.write(json.dumps({"venue": {"url": url, "api_key": key, "secret": secret}}) + "\n")
        self.p.stdin.flush()
        assert self.line() == {"ready": True}

    def line(self) -> dict:
        raw = self.p.stdout.readline()
        if not raw:
            raise RuntimeError("the kill driver died")
        return json.loads(raw)

    def trial(self, cmd: dict, kill_after: int, extra_s: float) -> tuple[int, bool]:
        """Run one trial; SIGKILL the child after ``kill_after`` trace lines (+ extra_s).
        Returns (trace lines seen, killed)."""
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        pid = self.line()["pid"]
        seen, killed = 0, False
        self.last_phase = "start"
        if kill_after == 0:
            time.sleep(extra_s)
            os.kill(pid, signal.SIGKILL)
            killed = True
        while True:
            msg = self.line()
            if "exit" in msg:
                return seen, killed
            if "trace" in msg:
                seen += 1
                if not killed:
                    self.last_phase = msg["trace"]
                if not killed and seen >= kill_after:
                    time.sleep(extra_s)
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed = True
                    except ProcessLookupError:
                        pass

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=10)


async def _positions(fut) -> dict[str, float]:
    return {p["symbol"]: signed_contracts(p) for p in await fut.fetch_positions()}


def _disagreements(journal: Journal, venue: list[dict], trial_start: int) -> tuple[int, int, int, Counter[str]]:
    """(duplicates, untracked venue orders, journal/venue disagreements, other counts)."""
    other: Counter[str] = Counter()
    cids = Counter(o["clientOrderId"] for o in venue)
    duplicates = sum(n - 1 for n in cids.values())
    duplicates += sum(n - 1 for n in Counter(parse_client_order_id(c)[:2] for c in cids).values())
    rows = {o.client_id: o for o in journal.orders()}
    untracked = disagree = 0
    for o in venue:  # every venue order is in the journal, as the venue has it
        row = rows.get(o["clientOrderId"])
        if row is None or row.external:
            untracked += 1
        elif row.state is not STATUS[o["status"]] or abs(row.filled - o["executedQty"]) > 1e-9:
            disagree += 1
    for row in rows.values():  # and nothing in the journal the venue does not have
        if row.client_id not in cids:
            if row.state not in (OrderState.NEVER_SEEN, OrderState.REJECTED):
                disagree += 1
            elif row.created_ms >= trial_start:
                other["never_seen_or_rejected"] += 1
        elif row.state in ORDER_LIVE:
            other["working_after_restart"] += 1
    for t in journal.tickets():
        if t.state not in FINAL_OR_OPEN or (t.state is TicketState.WORKING and not any(
                o.state in ORDER_LIVE for o in journal.orders(t.id))):
            disagree += 1
    return duplicates, untracked, disagree, other


async def run_trials(n: int, seed: int, tmp: Path) -> dict[str, object]:
    rng = random.Random(seed)
    figures: Counter[str] = Counter({k: 0 for k in FIGURES})
    phases: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    # one emulator of its own for the whole run (an earlier test's thousands of orders would
    # slow its answers past the short client timeout), and one proxy in front of it
    z = Zygote()
    with start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS) as h:
        proxy = FaultProxy(h.url, client_timeout_s=CLIENT_TIMEOUT_S, recv_window_s=RECV_WINDOW_S, seed=seed)
        await proxy.start()
        fut = ccxt_client(h, "usdm", timeout=3000)  # the test's own view and the restarted console's: no proxy
        db = tmp / "journal.sqlite3"  # one journal, restarted n times, as a console's would be
        try:
            await fut.load_markets()
            await asyncio.to_thread(z.connect, proxy.url, h.api_key, h.secret)
            for trial in range(n):
                proxy.clear()
                for _ in range(rng.randint(0, 4)):
                    if rng.random() < 0.6:
                        proxy.arm(rng.choice(ORDER_ENDPOINTS), rng.choice(ORDER_KINDS))
                    else:
                        proxy.arm(rng.choice(READ_ENDPOINTS), rng.choice(READ_KINDS))
                before = await _positions(fut)
                trial_start = int(time.time() * 1000)
                cmd = {"db": str(db), "seed": seed * 1000 + trial, "tickets": 3, "now_ms": h.emulator.now_ms(),
                       "timeout_ms": int(CLIENT_TIMEOUT_S * 1000), "recv_window_ms": int(RECV_WINDOW_S * 1000)}
                kill_after = rng.randint(0, 10)
                _, killed = await asyncio.to_thread(z.trial, cmd, kill_after, rng.uniform(0, 0.03))
                stats["killed" if killed else "finished_before_kill"] += 1
                if killed:
                    phases[z.last_phase] += 1
                proxy.clear()
                await proxy.settle()  # what the proxy held reaches the venue before the restart
                # --- restart: a fresh journal handle, reconciliation first ---
                journal = Journal.open(db)
                try:
                    report = await reconcile(journal, {"futures": fut}, config(), policy=POLICY)
                    if not report.complete or report.position_mismatches:
                        figures["journal_venue_disagreements"] += 1
                    figures["untracked_venue_orders"] += len(report.adopted)  # a console order without its row
                    mine = {t.id for t in journal.tickets()}
                    venue = [o for o in venue_orders(h)
                             if (p := parse_client_order_id(o["clientOrderId"] or "")) and p[0] in mine]
                    dup, untracked, disagree, other = _disagreements(journal, venue, trial_start)
                    figures["duplicates"] += dup
                    figures["untracked_venue_orders"] += untracked
                    figures["journal_venue_disagreements"] += disagree
                    stats.update(other)
                    # positions moved by exactly the journal's fills: nothing lost or doubled
                    after = await _positions(fut)
                    moved: dict[str, float] = {}
                    for f in journal.fills(since_ms=trial_start):
                        moved[f.symbol] = moved.get(f.symbol, 0.0) + (f.amount if f.side == "buy" else -f.amount)
                    figures["position_differences"] += sum(
                        1 for s in set(before) | set(after) | set(moved)
                        if abs(after.get(s, 0.0) - before.get(s, 0.0) - moved.get(s, 0.0)) > 1e-9)
                    stats["venue_orders"] += sum(1 for o in venue if o["time"] >= 0 and any(
                        r.client_id == o["clientOrderId"] and r.created_ms >= trial_start for r in journal.orders()))
                    stats["trials"] += 1
                finally:
                    journal.close()
                for sym in ("BTC/USDT:USDT", "ETH/USDT:USDT"):  # leave no resting order to the next trial
                    await fut.cancel_all_orders(sym)
        finally:
            z.close()
            await fut.close()
            await proxy.stop()
    return {**dict(stats), "faults": dict(sorted(proxy.counts.items())),
            "kills_by_phase": dict(sorted(phases.items())), **dict(figures)}


async def test_sigkill_through_the_fault_proxy(tmp_path):
    t0 = time.monotonic()
    stats = await run_trials(16, seed=2026, tmp=tmp_path)
    stats["seconds"] = round(time.monotonic() - t0, 1)
    print("sigkill:", stats)
    assert stats["trials"] == 16
    assert stats["killed"] >= 12  # most trials die mid-execution, not after it
    assert len(stats["kills_by_phase"]) >= 4  # and at many different points
    assert sum(stats["faults"].values()) >= 10  # with the wire misbehaving
    for k in FIGURES:
        assert stats[k] == 0, (k, stats)
