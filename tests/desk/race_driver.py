"""One console of the send-once race: ``python -m tests.desk.race_driver EMU_URL KEY SECRET PG_URL NAME NOW_MS``.

It opens the shared PostgreSQL journal as console NAME, builds an executor on the emulator
and reconciles (as a starting console does), prints ``{"ready": NAME}``, then reads one
ticket id per line on stdin and submits it at once, answering ``{"ticket", "sent"|"refused"}``.
The test writes each ticket id to every console together: they race on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from types import SimpleNamespace

from console.emulator.testing import ccxt_client
from console.execution.executor import ExecPolicy, ExecutionRefused, Executor
from console.execution.journal import Journal, JournalError, Origin
from tests import factories as f
from tests.execution.emu import PERPS
from tests.execution.helpers import config

POLICY = ExecPolicy(lookup_backoff_s=0.02, lookup_backoff_max_s=0.1, lookup_timeout_s=5.0,
                    not_found_grace_s=0.5, poll_s=0.02)


def emit(obj: dict) -> None:
    os.write(1, (json.dumps(obj) + "\n").encode())


async def run(url: str, key: str, secret: str, pg_url: str, name: str, now: int) -> None:
    fut = ccxt_client(SimpleNamespace(url=url, api_key=key, secret=secret), "usdm", timeout=2000)
    journal = Journal.open(pg_url, origin=Origin("trader", f"host-{name}", name))
    try:
        await fut.load_markets()
        tick = await fut.fetch_tickers(list(PERPS))
        acct = f.account("futures", "binanceusdm", markets=[fut.markets[s] for s in PERPS],
                         balance={"USDT": 1_000_000.0}, tickers=list(tick.values()), at=now)
        snap = f.snapshot(acct, at=now)
        ex = Executor(journal, {"futures": fut}, config(), lambda: snap, clock=lambda: now, policy=POLICY)
        ex.allow_trading(await ex.reconcile())
        emit({"ready": name})
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line.strip():
                break
            tid = line.strip()
            try:
                await ex.submit(tid)
                emit({"ticket": tid, "result": "sent"})
            except (ExecutionRefused, JournalError) as exc:
                emit({"ticket": tid, "result": "refused", "why": str(exc)[:200]})
    finally:
        journal.close()
        await fut.close()


if __name__ == "__main__":
    asyncio.run(run(*sys.argv[1:6], int(sys.argv[6])))
