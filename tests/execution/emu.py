"""Helpers for execution tests against the loopback emulator (issue #3's venue)."""

from __future__ import annotations

from typing import Any

from console.core.snapshot import Snapshot
from console.emulator.testing import EmulatorHandle
from console.execution.executor import ExecPolicy
from tests import factories as f

PERPS = ("BTC/USDT:USDT", "ETH/USDT:USDT")

# Fast but honest: a lookup's "not found" is trusted only after 1 s, longer than any
# latency fault the tests inject (0.3 s), so a late-applied request is not misjudged.
EMU_POLICY = ExecPolicy(lookup_backoff_s=0.05, lookup_backoff_max_s=0.2, lookup_timeout_s=20.0,
                        not_found_grace_s=1.0, poll_s=0.05)


async def emu_snapshot(h: EmulatorHandle, exchanges: dict[str, Any]) -> Snapshot:
    """A Snapshot of the emulator's futures account, stamped with the emulator's clock."""
    fut = exchanges["futures"]
    await fut.load_markets()
    tickers = await fut.fetch_tickers(list(PERPS))
    now = h.emulator.now_ms()
    acct = f.account("futures", "binanceusdm", markets=[fut.markets[s] for s in PERPS],
                     balance={"USDT": 1_000_000.0}, tickers=list(tickers.values()), at=now)
    return f.snapshot(acct, at=now)


def venue_orders(h: EmulatorHandle) -> list[dict[str, Any]]:
    return [o for o in h.emulator.orders() if o["venue"] == "futures"]
