"""SIGKILL at random points of execution, then restart and reconcile.

A zygote process (tests/execution/kill_driver.py) forks one child per trial; the child
submits three tickets against the emulator (running in this process's thread) and traces
every step; the test SIGKILLs it after a seeded random number of steps plus a random few
milliseconds (so kills land inside requests and commits too, with lost replies and
latency armed). Then, as a restarted console would, it reopens the journal and reconciles,
and checks that the journal says exactly what the venue says: nothing lost, nothing doubled.
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

import pytest

from console.emulator import start_emulator
from console.emulator.testing import ccxt_client
from console.execution.clientid import parse_client_order_id
from console.execution.journal import Journal
from console.execution.lifecycle import ORDER_LIVE, OrderState, TicketState
from console.execution.ports import signed_contracts
from console.execution.reconcile import reconcile
from tests.execution.emu import venue_orders
from tests.execution.helpers import config
from tests.execution.kill_driver import POLICY

ROOT = Path(__file__).resolve().parents[2]
STATUS = {"FILLED": OrderState.FILLED, "NEW": OrderState.OPEN, "PARTIALLY_FILLED": OrderState.PARTIAL,
          "CANCELED": OrderState.CANCELLED, "EXPIRED": OrderState.EXPIRED, "REJECTED": OrderState.REJECTED}


class Zygote:
    def __init__(self, h) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "tests.execution.kill_driver", h.url, h.api_key, h.secret],
                                  cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

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


async def run_trials(n: int, seed: int, tmp: Path) -> dict[str, int]:
    rng = random.Random(seed)
    h = start_emulator(seed=7, speed=0.0)
    z = Zygote(h)
    fut = ccxt_client(h, "usdm", timeout=3000)
    stats: Counter[str] = Counter()
    try:
        await fut.load_markets()
        for trial in range(n):
            h.emulator.clear_faults()
            r = rng.random()
            if r < 0.3:
                h.emulator.set_fault(rng.choice(["POST /fapi/v1/order", "POST /fapi/v1/batchOrders"]), "lost_reply",
                                     count=1, latency_s=rng.uniform(0.02, 0.15))
            elif r < 0.6:
                h.emulator.set_fault("*", "latency", latency_s=rng.uniform(0.005, 0.03))
            before = await _positions(fut)
            db = tmp / "journal.sqlite3"  # one journal, restarted 50 times, as a console's would be
            trial_start = int(time.time() * 1000)
            cmd = {"db": str(db), "seed": seed * 1000 + trial, "tickets": 3, "now_ms": h.emulator.now_ms()}
            kill_after = rng.randint(0, 14)
            seen, killed = await asyncio.to_thread(z.trial, cmd, kill_after, rng.uniform(0, 0.03))
            stats["killed" if killed else "finished_before_kill"] += 1
            if killed:
                stats[f"killed_after_{z.last_phase}"] += 1
            h.emulator.clear_faults()
            # --- restart: a fresh journal handle, reconciliation first ---
            journal = Journal.open(db)
            try:
                report = await reconcile(journal, {"futures": fut}, config(), policy=POLICY)
                assert report.complete, report.lines()
                assert not report.adopted, report.lines()  # no console order without its row
                assert not report.position_mismatches, report.lines()
                mine = {t.id for t in journal.tickets()}
                venue = [o for o in venue_orders(h)
                         if (p := parse_client_order_id(o["clientOrderId"] or "")) and p[0] in mine]
                cids = Counter(o["clientOrderId"] for o in venue)
                assert all(c == 1 for c in cids.values()), f"trial {trial}: duplicate client id"
                assert all(c == 1 for c in Counter(parse_client_order_id(c)[:2] for c in cids).values()), \
                    f"trial {trial}: a leg was sent twice"
                rows = {o.client_id: o for o in journal.orders()}
                for o in venue:  # every venue order is in the journal, as the venue has it
                    row = rows.get(o["clientOrderId"])
                    assert row is not None and not row.external, f"trial {trial}: lost {o['clientOrderId']}"
                    assert row.state is STATUS[o["status"]], (trial, row.state, o["status"])
                    assert abs(row.filled - o["executedQty"]) < 1e-9
                for row in rows.values():  # and nothing in the journal the venue does not have
                    if row.client_id not in cids:
                        assert row.state in (OrderState.NEVER_SEEN, OrderState.REJECTED), (trial, row)
                        stats["never_seen"] += row.created_ms >= trial_start
                    elif row.state in ORDER_LIVE:
                        stats["working_after_restart"] += 1
                for t in journal.tickets():
                    assert t.state in (TicketState.PLANNED, TicketState.CONFIRMED, TicketState.RECONCILED,
                                       TicketState.WORKING), (trial, t.state)
                    if t.state is TicketState.WORKING:
                        assert any(o.state in ORDER_LIVE for o in journal.orders(t.id))
                # positions moved by exactly the journal's fills: nothing lost or doubled
                after = await _positions(fut)
                moved: dict[str, float] = {}
                for f in journal.fills(since_ms=trial_start):
                    moved[f.symbol] = moved.get(f.symbol, 0.0) + (f.amount if f.side == "buy" else -f.amount)
                for sym in set(before) | set(after) | set(moved):
                    assert abs(after.get(sym, 0.0) - before.get(sym, 0.0) - moved.get(sym, 0.0)) < 1e-9, \
                        (trial, sym, before.get(sym), after.get(sym), moved.get(sym))
                stats["venue_orders"] += sum(o["time"] >= 0 for o in venue if rows[o["clientOrderId"]].created_ms >= trial_start)
                stats["trials"] += 1
            finally:
                journal.close()
            for sym in ("BTC/USDT:USDT", "ETH/USDT:USDT"):  # leave no resting order to the next trial
                await fut.cancel_all_orders(sym)
    finally:
        z.close()
        await fut.close()
        h.stop()
    return dict(stats)


async def test_sigkill_few(tmp_path):
    stats = await run_trials(6, seed=11, tmp=tmp_path)
    print("sigkill:", stats)
    assert stats["trials"] == 6


@pytest.mark.slow
async def test_sigkill_50(tmp_path):
    t0 = time.monotonic()
    stats = await run_trials(50, seed=2026, tmp=tmp_path)
    stats["seconds"] = int(time.monotonic() - t0)
    print("sigkill:", stats)
    assert stats["trials"] == 50
    assert stats["killed"] >= 40  # most trials die mid-execution, not after it
