"""Every trading flow, driven by keys, through the real venue layer, executor and journal,
against the loopback emulator: propose → edit → confirm → the order reaches the emulator →
the blotter shows the fill; cancel a resting order; the kill switch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.pilot import Pilot

from console.app.screens.blotter import BlotterScreen
from console.app.screens.builder import BuilderScreen
from console.app.screens.confirm import ConfirmScreen, QuitScreen
from console.app.screens.reconcile import ReconcileScreen
from console.execution import TicketState
from tests.app.conftest import SIZE, Rig, read_through, settle


async def until(pilot: Pilot, cond: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            notes = [n.message for n in pilot.app._notifications]  # noqa: SLF001 - the why, on failure
            raise AssertionError(f"timed out waiting for {what or cond}; notifications: {notes}")
        await pilot.pause(0.05)


async def clean_start(pilot: Pilot) -> None:
    """A clean startup reconciliation opens trading by itself: no report, no key."""
    app = pilot.app
    await until(pilot, lambda: app.services.executor.trading_allowed, what="trading to open")
    assert not isinstance(app.screen, ReconcileScreen)


async def open_builder(pilot: Pilot) -> BuilderScreen:
    app = pilot.app
    await clean_start(pilot)
    await until(pilot, lambda: app.state is not None, what="the first snapshot")
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.ticket is not None,
                what="the proposal's ticket")
    return app.screen


async def to_hedge(pilot: Pilot, builder: BuilderScreen) -> None:
    """Switch the builder's kind to a hedge (one leg) with the keys, and wait for its ticket."""
    builder.query_one("#b-kind").focus()
    await pilot.press("enter", "down", "enter")
    await until(pilot, lambda: builder.settled and builder.inputs.kind == "hedge", what="the hedge")


async def retype(pilot: Pilot, builder: BuilderScreen, field: str, text: str) -> None:
    """Replace a one-character number field's value by typing ``text`` (as the trader does)."""
    builder.query_one(field).focus()
    await pilot.press("backspace", *text)


async def confirm(pilot: Pilot, builder: BuilderScreen) -> str:
    app = pilot.app
    await until(pilot, lambda: builder.settled, what="the builder to settle")
    await pilot.press("ctrl+r")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
    assert app.screen.ticket == builder.ticket  # the modal shows exactly what the builder showed
    return await answer_yes(pilot)


async def answer_yes(pilot: Pilot, *, new_ticket: bool = True) -> str:
    """The confirmation on screen: read it to its end, press y, and return the ticket's id
    (a new ticket's; a chase or an unwind confirms more orders of the same one)."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
    await read_through(pilot)
    before = app.last_ticket_id  # an earlier ticket's: this y's ticket is the next one
    modal = app.screen
    if modal._needs_digits():  # noqa: SLF001 - above limits.confirm_typed_notional: the digits first, as a trader types them
        from console.app.screens.confirm import notional_digits

        await pilot.press(*notional_digits(modal.ticket))
    await pilot.press("y")
    if not new_ticket:
        await until(pilot, lambda: app.screen is not modal, what="the confirmation answered")
        return app.last_ticket_id
    await until(pilot, lambda: app.last_ticket_id not in (None, before), what="the confirm")
    return app.last_ticket_id


async def test_propose_edit_confirm_fill_shows_on_blotter(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        first = builder.ticket
        assert first.legs and builder.preview is not None
        # edit: a 14-day horizon recomputes the carry and the verdict
        builder.query_one("#b-horizon").focus()
        await pilot.press("backspace", "1", "4")
        await until(pilot, lambda: builder.settled and builder.preview.horizon_days == 14.0,
                    what="the recomputed preview")
        assert builder.ticket.horizon_days == 14.0
        assert builder.ticket.legs == first.legs
        tid = await confirm(pilot, builder)
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the fill")
        row = rig.journal.ticket(tid)
        assert row.confirm_key == "y" and row.ticket.horizon_days == 14.0
        cids = {o.client_id for o in rig.journal.orders(tid)}
        venue = {o.get("client_id") or o.get("clientOrderId") for o in rig.emulator.emulator.orders()}
        assert cids <= venue, (cids, venue)  # each order reached the emulator under its client id
        # a spread: the blotter settles once every leg's fill has been read back
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                    and app.screen.data.selected == tid and app.screen.data.fills
                    and all(r.settled for r in app.screen.data.residual), what="the blotter's fills")
        blotter = app.screen
        assert len(blotter.data.residual) == len(row.ticket.legs)
        await until(pilot, lambda: str(blotter.query_one("#bl-tickets").get_cell(tid, "state")) == "filled",
                    what="the blotter's ticket state")


async def test_a_clean_start_opens_trading_by_itself_and_says_so(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        # no key is pressed: the report would wait for one, so an open gate means none was shown
        await until(pilot, lambda: app.services.executor.trading_allowed, what="trading to open, no key pressed")
        await until(pilot, lambda: app.state is not None, what="the dashboard's data")
        assert not isinstance(app.screen, ReconcileScreen)
        # the notice follows the gate opening (a journal commit away, on another thread)
        await until(pilot, lambda: any("startup reconciliation clean" in n.message and "trading is open" in n.message
                                       for n in app._notifications),  # noqa: SLF001 - what the trader was told
                    what="the notice that trading is open")
        (row,) = [e for e in rig.journal.events(None) if e.kind == "trading_opened"]
        assert "clean" in row.detail["why"]
        # R is the trader's own request: its report is shown, titled for what it is
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="R's report")
        assert app.screen.heading.strip().startswith("Reconciliation (R)")
        assert "Startup" not in app.screen.heading


async def test_a_discrepancy_at_start_keeps_trading_closed_until_the_report_is_accepted(rig: Rig) -> None:
    left = rig.leave_an_unsent_ticket()
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="the reconciliation report")
        assert app.screen.heading.strip().startswith("Startup reconciliation")
        assert any(left in line for line in app.screen.report.lines())
        await pilot.press("escape")
        await until(pilot, lambda: app.state is not None)
        assert not app.services.executor.trading_allowed
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="R's report")
        await pilot.press("enter")
        await until(pilot, lambda: app.services.executor.trading_allowed, what="trading to open")
        (row,) = [e for e in rig.journal.events(None) if e.kind == "trading_opened"]
        assert "accepted" in row.detail["why"]


async def test_a_ticket_is_confirmed_once(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
        await read_through(pilot)
        await pilot.press("y", "y", "y")
        await until(pilot, lambda: app.last_ticket_id is not None)
        tid = app.last_ticket_id
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the fill")
        assert len(rig.journal.tickets()) == 1
        confirms = [e for e in rig.journal.events(tid) if e.dst == "confirmed"]
        assert len(confirms) == 1
        assert builder.ticket is not None


async def test_cancel_a_resting_order_from_the_blotter(rig: Rig) -> None:
    # a post-only hedge prices cheapest on Bybit (ccxt's listed maker fee there is lower), whose
    # demo margin would not carry it at 5x: the planner sends it to the venue that can
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        # one leg: a hedge of the sleeve the spread sells
        await to_hedge(pilot, builder)
        assert len(builder.ticket.legs) == 1
        # post-only 150 bp away from mid: it rests on the book
        builder.query_one("#b-style").focus()
        await pilot.press("enter", "down", "down", "enter")
        await retype(pilot, builder, "#b-offset", "150")
        await until(pilot, lambda: builder.settled and builder.inputs.offset_bps == 150.0
                    and builder.ticket.legs[0].limit_price is not None, what="the post-only ticket")
        tid = await confirm(pilot, builder)
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.WORKING, what="a working order")
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                    and app.screen.data.selected == tid and app.screen.data.orders
                    and app.screen.data.orders[0].state.value == "open", what="the blotter's open order")
        # q while it works at the venue: asked first, naming it; n stays
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), what="the quit question")
        assert "1 order stays working at the venue" in app.screen.message()
        # the ticket is still being watched, but it is counted once: by its working order
        assert "being sent" not in app.screen.message(), app.screen.message()
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen), what="back on the blotter")
        await pilot.press("tab", "c")
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.CANCELLED, what="the cancel")
        assert all(o.state.value == "cancelled" for o in rig.journal.orders(tid))
        await until(pilot, lambda: str(app.screen.query_one("#bl-tickets").get_cell(tid, "state")) == "cancelled")


async def test_kill_switch_flattens_the_overlay(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state is not None, what="the first snapshot")
        snap = rig.loop.run(rig.venues.refresh())
        contracts = ("futures", "bybit", "coinm")  # the overlay spans both venues and COIN-M
        before = {(n, p["symbol"]) for n in contracts for p in snap.accounts[n].open_positions()}
        assert {n for n, _ in before} == set(contracts)  # the demo book holds an overlay on each
        assert {s for _, s in before} >= {"BTC/USD:BTC"}  # an inverse position too
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the kill modal")
        assert app.screen.title_text == "KILL SWITCH"
        assert {(tl.leg.account, tl.leg.symbol) for tl in app.screen.ticket.legs} == before
        await read_through(pilot)
        await pilot.press("y")
        await until(pilot, lambda: any(t.kind == "flatten" and t.state is TicketState.FILLED
                                       for t in rig.journal.tickets()), what="the flatten ticket filled")
        after = await asyncio.wrap_future(rig.loop.submit(rig.venues.refresh()))
        assert all(after.accounts[n].open_positions() == [] for n in contracts)  # COIN-M's inverse one too
        assert after.accounts["spot"].total_balance() == rig.loop.run(rig.venues.refresh()).accounts["spot"].total_balance()


async def test_kill_switch_needs_its_own_confirmation(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await clean_start(pilot)
        await until(pilot, lambda: app.state is not None)
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown)
        # it says what it will stop, not only what it will close
        assert app.screen.explain.startswith("Cancels 0 working orders of the console (")
        await pilot.press("n")
        await settle(pilot)
        assert not any(t.kind == "flatten" for t in rig.journal.tickets())
        assert rig.loop.run(rig.venues.refresh()).accounts["futures"].open_positions()


async def test_fills_arrive_on_the_user_data_stream(rig: Rig) -> None:
    """The console's streaming path in the app: demo runs ccxt.pro against the emulator's
    websockets, and the futures fill of a confirmed ticket reaches the venue layer on the user
    data stream (the feed here never polls: one snapshot, then on demand)."""
    app = rig.app
    fut = rig.venues.venues["futures"]
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        # both accounts' user data streams are open (spot over the ws-api, futures by listen key)
        await until(pilot, lambda: rig.emulator.emulator.user_streams >= 2, what="the user data streams")
        tid = await confirm(pilot, builder)
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the fill")
        sent = {o.client_id for o in rig.journal.orders(tid)}
        streamed: list[dict] = []

        def heard() -> bool:
            streamed.extend(fut.take_order_updates())
            return any(o["clientOrderId"] in sent and o["status"] == "closed" and o["filled"] for o in streamed)

        await until(pilot, heard, what="the streamed fill")
        on_venue = {o["clientOrderId"]: o for o in rig.emulator.emulator.orders() if o["venue"] == "futures"}
        for o in streamed:
            if o["clientOrderId"] in sent and o["status"] == "closed":
                assert o["filled"] == on_venue[o["clientOrderId"]]["executedQty"]
