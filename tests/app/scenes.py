"""Deterministic scenes of every screen, shared by the SVG snapshot tests and
scripts/export_screenshots.py: the seeded sample state, a fixed clock, and a journal with a
filled ticket whose id is pinned."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from console.app.app import RebalApp
from console.runtime import Services
from tests.app.conftest import freeze, settle
from tests.app.sample import T0, sample_config, sample_snapshot

Scene = Callable[[Pilot], Awaitable[None]]


def seeded_journal() -> Any:
    """An in-memory journal with one filled spread (pinned id, fixed times)."""
    from console.core.planner import build_spread
    from console.execution import Journal, OrderState
    from console.execution import journal as jmod
    from console.execution.journal import NewOrder

    j = Journal.open(":memory:")
    ticket = build_spread(sample_config(), sample_snapshot(), "ALTS", "BTC", now_ms=T0)
    real = jmod.new_ticket_id
    jmod.new_ticket_id = lambda: "t0demo0001"
    try:
        tid = j.record_ticket(ticket, {"demo": True}, {"timestamp": T0}, ts=T0)
    finally:
        jmod.new_ticket_id = real
    j.confirm(tid, "y", T0, ts=T0 + 1_000)
    orders = [NewOrder(f"rbt{tid}{i:04d}", i, 1, "leg", tl.leg.account, tl.leg.symbol, tl.leg.side, "market",
                       tl.leg.contracts, None, tl.leg.reduce_only) for i, tl in enumerate(ticket.legs)]
    j.begin_sending(tid, orders, ts=T0 + 1_100)
    j.mark_sent([o.client_id for o in orders], ts=T0 + 1_200)
    for i, o in enumerate(orders):
        j.update_order(o.client_id, OrderState.OPEN, venue_id=f"40000000{i}", filled=0.0, ts=T0 + 1_300)
        j.update_order(o.client_id, OrderState.FILLED, venue_id=f"40000000{i}", filled=o.amount,
                       average=ticket.legs[i].leg.price, ts=T0 + 2_000 + i * 150)
    from console.execution import TicketState

    j.set_ticket_state(tid, TicketState.WORKING, ts=T0 + 1_300)
    j.set_ticket_state(tid, TicketState.FILLED, ts=T0 + 2_400)
    return j


def scene_app() -> RebalApp:
    return RebalApp(sample_config(), now_ms=lambda: T0, services=Services(journal=seeded_journal()))


async def _load(pilot: Pilot) -> None:
    app = pilot.app
    app.ingest(sample_snapshot(prices={"BTC": 89_400.0, "SOL": 149.0}, at=T0 - 10_000))
    await settle(pilot)
    app.ingest(sample_snapshot())  # two points of history, and alerts on the way
    await settle(pilot)


async def dashboard(pilot: Pilot) -> None:
    await _load(pilot)
    await pilot.press("enter")  # expand BTC: assets and positions
    await settle(pilot)
    freeze(pilot.app)


async def _until(pilot: Pilot, cond: Callable[[], object], tries: int = 400) -> None:
    """Poll (not a fixed pause): a loaded machine is slower, never differently drawn."""
    for _ in range(tries):
        if cond():
            return
        await pilot.pause(0.05)


async def builder(pilot: Pilot) -> None:
    from console.app.screens.builder import BuilderScreen

    await _load(pilot)
    await pilot.press("s")
    app = pilot.app
    await _until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled
                 and app.screen.preview is not None)
    await settle(pilot, rounds=4)
    await pilot.pause(0.3)
    await settle(pilot)
    freeze(pilot.app)


async def confirm(pilot: Pilot) -> None:
    from console.app.screens.confirm import ConfirmScreen

    await builder(pilot)
    await pilot.press("ctrl+r")
    for _ in range(200):  # the review worker waits on the modal: poll, do not wait for workers
        if isinstance(pilot.app.screen, ConfirmScreen) and pilot.app.screen.shown:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)
    freeze(pilot.app)


async def blotter(pilot: Pilot) -> None:
    await _load(pilot)
    await pilot.press("3")
    await settle(pilot, rounds=4)
    await pilot.pause(0.2)
    await settle(pilot)
    freeze(pilot.app)


async def alerts(pilot: Pilot) -> None:
    await _load(pilot)
    await pilot.press("4")
    await settle(pilot)
    freeze(pilot.app)


async def flows(pilot: Pilot) -> None:
    await _load(pilot)
    await pilot.press("5")
    await settle(pilot, rounds=4)
    await pilot.pause(0.2)
    freeze(pilot.app)


async def help_screen(pilot: Pilot) -> None:
    await _load(pilot)
    await pilot.press("question_mark")
    await settle(pilot)
    freeze(pilot.app)


def sample_pnl(alloc: Any) -> tuple[Any, list[Any]]:
    """A P&L report on the sample's positions: each opened a day before T0 at its entry (a
    taker fee of 0.05 %), one funding payment since, and a day of hourly history."""
    from console.core.pnl import Fill, FundingPayment, PnlSample, build_report, open_lines

    day = 86_400_000
    opened = T0 - day
    fills, funding = {}, {}
    for p in open_lines(alloc):
        entry = p.entry_price or p.mark
        q = abs(p.contracts)
        fills[(p.account, p.symbol)] = [Fill("1", opened, "buy" if p.contracts > 0 else "sell", q, entry,
                                             q * p.contract_size * entry * 0.0005, alloc.quote)]
        funding[(p.account, p.symbol)] = [FundingPayment("f1", opened + 8 * 3_600_000,
                                                         -p.notional * 0.0001, alloc.quote)]
    start = {(a, opened): px * 0.98 for a, px in alloc.prices.items()}
    report = build_report(alloc, fills, funding, T0 - 7 * day, {}, start, T0)
    t = report.totals
    history = [PnlSample(T0 - day + h * 3_600_000, alloc.nav * (1 - 0.0004 * (24 - h)), t.upnl * h / 24,
                         t.realised * h / 24, t.funding * h / 24, t.fees * h / 24) for h in range(24)]
    history.append(PnlSample(T0, alloc.nav, t.upnl, t.realised, t.funding, t.fees))
    return report, history


async def pnl_screen(pilot: Pilot) -> None:
    from console.app.messages import PnlReady

    await _load(pilot)
    app = pilot.app
    report, history = sample_pnl(app.state.alloc)
    app.post_message(PnlReady(report, history))
    await settle(pilot)
    await pilot.press("7")
    await settle(pilot)
    await pilot.pause(0.2)
    freeze(app)


SCENES: dict[str, Scene] = {
    "dashboard": dashboard, "builder": builder, "confirm": confirm, "blotter": blotter,
    "alerts": alerts, "flows": flows, "help": help_screen, "pnl": pnl_screen,
}
