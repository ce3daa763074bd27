"""Fixtures for the console's Pilot and snapshot tests: a fixed clock, a seeded state, and
(for the journey tests) the console wired to the loopback emulator through the real venue
layer, executor and journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from console import runtime
from console.app.app import RebalApp
from tests.app.sample import T0, sample_config, sample_snapshot

SIZE = (120, 36)


async def settle(pilot: Pilot, rounds: int = 3) -> None:
    """Let workers finish and the screen repaint (derive thread, plan worker, journal reads)."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


def freeze(app: RebalApp) -> None:
    """Stable pixels: no toasts, no blinking cursors."""
    app.clear_notifications()
    for inp in app.screen.query(Input):
        inp.cursor_blink = False


def make_app(**kw: Any) -> RebalApp:
    return RebalApp(sample_config(), now_ms=lambda: T0, **kw)


@pytest.fixture
def app() -> RebalApp:
    return make_app()


async def loaded(pilot: Pilot) -> None:
    pilot.app.ingest(sample_snapshot())
    await settle(pilot)


async def sample_builder(pilot: Pilot) -> Any:
    """The builder on the sample state, opened with `s` (the spread the drift calls for)."""
    from console.app.screens.builder import BuilderScreen

    await loaded(pilot)
    await pilot.press("s")
    await settle(pilot, 5)
    b = pilot.app.screen
    assert isinstance(b, BuilderScreen) and b.ticket is not None
    return b


async def sample_confirmation(pilot: Pilot) -> Any:
    """The confirmation of the sample builder's ticket on top (not answered); returns the builder."""
    from console.app.screens.confirm import ConfirmScreen

    b = await sample_builder(pilot)
    pilot.app.push_screen(ConfirmScreen(b.ticket, b.preview))
    await settle(pilot)
    return b


# --------------------------------------------------------------------- the emulator rig


class Rig:
    """The console on the emulator: venues, journal and executor on a service loop."""

    def __init__(self, emulator: Any, tmp: Path) -> None:
        from console.execution.executor import ExecPolicy
        from console.venues.demo import demo_config

        self.emulator = emulator
        self.config = demo_config()
        self.clock = emulator.emulator.now_ms
        self.services = runtime.Services(loop=runtime.ServiceLoop())
        runtime.connect(self.config, self.services, emulator_url=emulator.url, clock=self.clock,
                        journal_path=tmp / "journal.sqlite3")
        self.loop, self.venues, self.journal = self.services.loop, self.services.venues, self.services.journal
        self.app = RebalApp(self.config, feed=self._feed, services=self.services, now_ms=self.clock)
        policy = ExecPolicy(lookup_backoff_s=0.05, lookup_backoff_max_s=0.2, lookup_timeout_s=20.0,
                            not_found_grace_s=1.0, poll_s=0.05)
        runtime.attach_executor(self.services, self.config, self.app.exec_event, policy=policy, clock=self.clock)

    async def _feed(self) -> Any:
        yield await self.venues.refresh()  # the emulator's clock is frozen: one snapshot, then on demand

    def leave_an_unsent_ticket(self) -> str:
        """A discrepancy for the startup reconciliation: a ticket an earlier session confirmed
        and died before sending (the report then waits for the trader)."""
        from console.core.overlay import Leg
        from console.core.ticket import Ticket, TicketKind, TicketLeg

        leg = Leg(sleeve="ETH", account="futures", symbol="ETH/USDT:USDT", side="buy", contracts=0.01,
                  contract_size=1.0, linear=True, price=3_000.0, reduce_only=False, purpose="open")
        old = Ticket(kind=TicketKind.HEDGE, legs=(TicketLeg(leg),), snapshot_ts=self.clock() - 3_600_000)
        tid = self.journal.record_ticket(old, {}, {}, ts=self.clock() - 3_600_000)
        self.journal.confirm(tid, "y", old.snapshot_ts, ts=self.clock() - 3_600_000)
        return tid

    def close(self) -> None:
        runtime.close(self.services)


@pytest.fixture
def rig(emulator: Any, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(emulator, tmp_path)
    try:
        yield r
    finally:
        r.close()


async def read_through(pilot: Pilot) -> None:
    """Page the confirmation modal to its last line: `y` is refused until the ticket has been
    read to its end (a ticket taller than the window)."""
    for _ in range(40):
        if getattr(pilot.app.screen, "read_to_end", True):
            return
        await pilot.press("pagedown")
    raise AssertionError("the confirmation body never reached its end")
