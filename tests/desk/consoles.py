"""Two consoles of a desk in one test: each its own journal connection (its own origin) and
its own executor, on the same emulator accounts and the same PostgreSQL journal."""

from __future__ import annotations

import dataclasses
from typing import Any

from console.core.ticket import OrderStyle, OrderType, Ticket
from console.emulator.testing import ccxt_client
from console.execution.executor import Executor
from console.execution.journal import Journal, Origin
from tests.execution.emu import EMU_POLICY, emu_snapshot
from tests.execution.helpers import config, hedge_ticket


@dataclasses.dataclass
class Console:
    journal: Journal
    executor: Executor
    fut: Any

    async def close(self) -> None:
        self.journal.close()
        await self.fut.close()


async def console(h: Any, url: str, name: str) -> Console:
    fut = ccxt_client(h, "usdm", timeout=2000)
    j = Journal.open(url, origin=Origin("trader", f"host-{name}", name))
    snap = await emu_snapshot(h, {"futures": fut})
    ex = Executor(j, {"futures": fut}, config(), lambda: snap, clock=h.emulator.now_ms, policy=EMU_POLICY)
    ex.allow_trading(await ex.reconcile())
    return Console(j, ex, fut)


def confirmed(c: Console, ticket: Ticket, now: int) -> str:
    tid = c.journal.record_ticket(ticket, {}, {}, legging_s=1.0, ts=now)
    c.journal.confirm(tid, "y", now, ts=now)
    return tid


async def resting_sell(c: Console, h: Any) -> Ticket:
    """A limit sell 1.5 % above the market (inside the price collar): it rests, working."""
    mark = float((await c.fut.fetch_ticker("BTC/USDT:USDT"))["last"])
    t = hedge_ticket(0.002, "sell")
    leg = dataclasses.replace(t.legs[0], style=OrderStyle(type=OrderType.LIMIT), limit_price=round(mark * 1.015, 1))
    return dataclasses.replace(t, legs=(leg,), snapshot_ts=h.emulator.now_ms())
