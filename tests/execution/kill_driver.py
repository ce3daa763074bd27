"""Driver for the SIGKILL trials: ``python -m tests.execution.kill_driver``.

A zygote: it imports ccxt and the console once, reads the venue (``{"venue": {"url",
"api_key", "secret"}}``, the first line on stdin) and its markets, then reads one JSON
command per line on stdin and forks a child per trial, so each trial is a real process that the test can
SIGKILL at any point without paying ccxt's import again. The child submits a few tickets
against the emulator (through the test's HTTP fault proxy when URL is the proxy's) and
writes a JSON trace line at each step of execution (on fd 1, unbuffered, one write per
line); the zygote writes the child's pid, then its exit status.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from types import SimpleNamespace
from typing import Any

import ccxt.async_support  # noqa: F401  (preloaded for the children)

from console.emulator.testing import ccxt_client
from console.execution.executor import ExecPolicy, Executor
from console.execution.journal import Journal
from tests.execution.emu import PERPS
from tests.execution.helpers import config, hedge_ticket, spread_ticket

# "not found" trusted only for a lookup sent 0.8 s after the request: longer than any hold of
# the fault proxy (the recvWindow, 0.35 s, refuses anything later at the venue)
POLICY = ExecPolicy(lookup_backoff_s=0.02, lookup_backoff_max_s=0.1, lookup_timeout_s=5.0,
                    not_found_grace_s=0.8, poll_s=0.02)


def emit(obj: dict[str, Any]) -> None:
    os.write(1, (json.dumps(obj) + "\n").encode())


def tickets(n: int, seed: int):
    import dataclasses
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.45:
            out.append(spread_ticket(0.002, 0.05))
        elif r < 0.8:
            out.append(hedge_ticket(0.002, rng.choice(("buy", "sell"))))
        else:  # a limit that rests (2 % through the market on the passive side): a working order
            t = spread_ticket(0.002, 0.05, limit=True)
            legs = (dataclasses.replace(t.legs[0], limit_price=None),)
            out.append(dataclasses.replace(t, legs=legs, note=f"rest {i}"))
    return out


async def preload(venue: dict[str, str]) -> dict[str, Any]:
    """The markets and tickers, read once by the zygote (the emulator's clock is frozen):
    a child then starts as fast as a restarted console can, at its reconciliation."""
    fut = ccxt_client(SimpleNamespace(**venue), "usdm")
    try:
        await fut.load_markets()
        return {"markets": fut.markets, "tickers": await fut.fetch_tickers(list(PERPS))}
    finally:
        await fut.close()


async def child(venue: dict[str, str], cache: dict[str, Any], cmd: dict[str, Any]) -> None:
    fut = ccxt_client(SimpleNamespace(**venue), "usdm", timeout=int(cmd.get("timeout_ms", 1000)))
    if "recv_window_ms" in cmd:  # behind the fault proxy: a request held past it never exists
        fut.options["recvWindow"] = int(cmd["recv_window_ms"])
    journal = Journal.open(cmd["db"])
    try:
        from tests import factories as f

        fut.set_markets(cache["markets"])
        tick = cache["tickers"]
        now = int(cmd["now_ms"])
        acct = f.account("futures", "binanceusdm", markets=[fut.markets[s] for s in PERPS],
                         balance={"USDT": 1_000_000.0}, tickers=list(tick.values()), at=now)
        snap = f.snapshot(acct, at=now)
        ex = Executor(journal, {"futures": fut}, config(), lambda: snap, clock=lambda: now, policy=POLICY,
                      trace=lambda phase, tid: emit({"trace": phase, "ticket": tid}))
        ex.allow_trading(await ex.reconcile())  # a restarted console reconciles before trading
        emit({"trace": "reconciled", "ticket": ""})
        for t in tickets(int(cmd["tickets"]), int(cmd["seed"])):
            if t.note.startswith("rest"):
                mark = float(tick[t.legs[0].leg.symbol]["last"])
                import dataclasses
                price = round(mark * (1.015 if t.legs[0].leg.side == "sell" else 0.985), 1)
                t = dataclasses.replace(t, legs=(dataclasses.replace(t.legs[0], limit_price=price),))
            tid = journal.record_ticket(t, {"trial": cmd["seed"]}, {"ts": now}, legging_s=0.2)
            emit({"trace": "planned", "ticket": tid})
            journal.confirm(tid, "y", now, ts=now)  # on the executor's clock
            emit({"trace": "confirmed", "ticket": tid})
            await ex.submit(tid)
        emit({"trace": "finished", "ticket": ""})
    finally:
        journal.close()
        await fut.close()


def main() -> None:
    # the venue (url, api_key, secret) comes on stdin, never on the command line
    venue: dict[str, str] = {}
    cache: dict[str, Any] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if "venue" in cmd:
            venue = cmd["venue"]
            cache = asyncio.run(preload(venue))
            emit({"ready": True})
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                asyncio.run(child(venue, cache, cmd))
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        emit({"pid": pid})
        _, status = os.waitpid(pid, 0)
        emit({"exit": pid, "status": status})


if __name__ == "__main__":
    main()
