"""Send once across consoles: N console processes share one PostgreSQL journal and race on
the same confirmed tickets; each ticket reaches the venue exactly once.

The consoles are separate processes (tests/desk/race_driver.py) with their own journal
connections and their own executors; the venue is the loopback emulator in this process.
Each round writes one ticket id to every console at the same moment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from console.emulator import start_emulator
from console.emulator.clock import DEFAULT_START_MS
from console.execution.journal import Journal, Origin
from console.execution.lifecycle import TicketState
from tests.execution.emu import venue_orders
from tests.execution.helpers import hedge_ticket

ROOT = Path(__file__).resolve().parents[2]
CONSOLES = 4
RACES = 100


def _line(p: subprocess.Popen) -> dict:
    raw = p.stdout.readline()
    if not raw:
        raise RuntimeError(f"a race console died: {p.stderr.read()[-2000:]}")
    return json.loads(raw)


def test_each_ticket_is_sent_once_across_consoles(pg_url):
    h = start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS)
    procs: list[subprocess.Popen] = []
    try:
        now = h.emulator.now_ms()
        planner = Journal.open(pg_url, origin=Origin("trader", "planner", "p0"))
        tids = []
        for i in range(RACES):
            tid = planner.record_ticket(hedge_ticket(0.002, "buy" if i % 2 else "sell"), {}, {"ts": now},
                                        legging_s=0.2, ts=now)
            planner.confirm(tid, "y", now, ts=now)
            tids.append(tid)
        planner.close()
        for n in range(CONSOLES):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "tests.desk.race_driver", h.url, h.api_key, h.secret, pg_url, f"c{n}",
                 str(now)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, bufsize=1))
        assert sorted(_line(p)["ready"] for p in procs) == [f"c{n}" for n in range(CONSOLES)]
        t0 = time.monotonic()
        winners: dict[str, list[str]] = {}
        lost_at_cas = 0  # refusals by the journal's compare-and-set itself, not the pre-check
        for tid in tids:
            for p in procs:  # the same ticket to every console, back to back
                p.stdin.write(tid + "\n")
            for p in procs:
                p.stdin.flush()
            answers = [_line(p) for p in procs]
            assert {a["ticket"] for a in answers} == {tid}
            winners[tid] = [f"c{n}" for n, a in enumerate(answers) if a["result"] == "sent"]
            lost_at_cas += sum("cannot be sent" in a.get("why", "") for a in answers)
        elapsed = time.monotonic() - t0
        # exactly one console sent each ticket ...
        assert {tid: len(w) for tid, w in winners.items()} == {tid: 1 for tid in tids}
        # ... the venue got exactly one order per ticket (each a one-leg hedge) ...
        per_ticket = Counter(next(t for t in tids if t in o["clientOrderId"]) for o in venue_orders(h))
        assert per_ticket == Counter({tid: 1 for tid in tids})
        # ... and the journal names the console that sent it
        with Journal.open(pg_url) as j:
            for tid in tids:
                (o,) = j.orders(tid)
                assert o.origin == f"trader@host-{winners[tid][0]}/{winners[tid][0]}"
                assert j.ticket(tid).state is TicketState.FILLED
        assert len({w[0] for w in winners.values()}) > 1, "one console won every race: no race happened"
        assert lost_at_cas > 0, "every loser stopped at the pre-check: the compare-and-set was never raced"
        print(f"{RACES} races x {CONSOLES} consoles in {elapsed:.1f} s; wins {Counter(w[0] for w in winners.values())}; "
              f"{lost_at_cas} lost at the compare-and-set")
    finally:
        for p in procs:
            if p.stdin and not p.stdin.closed:
                p.stdin.close()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        h.stop()
