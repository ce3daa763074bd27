"""QA's money-path bugs, each driven by keys against the seeded emulator (the real venue layer,
executor and journal): R closes trading until its report is accepted; one review at a time and
no 'planned' ticket left hanging; a ticket refused at send time ends failed with its reason on
the blotter; a ticket confirmed in an earlier session can be abandoned with X; K works on top
of any modal."""

from __future__ import annotations

import dataclasses

from textual.command import CommandPalette
from textual.widgets import Input

from console.app.screens.blotter import BlotterScreen
from console.app.screens.builder import BuilderScreen
from console.app.screens.confirm import ConfirmScreen
from console.app.screens.reconcile import ReconcileScreen
from console.core.ticket import OrderStyle, OrderType
from console.execution import TicketState
from tests.app.conftest import SIZE, Rig, read_through, settle
from tests.app.test_journeys_emulator import (
    answer_yes,
    clean_start,
    open_builder,
    retype,
    to_hedge,
    until,
)
from widgets.header import HeaderBar


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]  # noqa: SLF001 - what the trader was told


def modals(app, kind=ConfirmScreen) -> list:
    return [s for s in app.screen_stack if isinstance(s, kind)]


def venue_cids(rig: Rig) -> set:
    return {o.get("client_id") or o.get("clientOrderId") for o in rig.emulator.emulator.orders()}


async def review_and_confirm(pilot, ticket, preview) -> str:
    pilot.app.review(ticket, preview)
    return await answer_yes(pilot)


# -- A: R closes the gate until its report is accepted ------------------------------------------


async def test_R_then_escape_closes_trading_and_says_so_before_a_confirmation(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)  # a clean start: trading is open
        await until(pilot, lambda: builder.settled, what="the builder")
        ticket, preview = builder.ticket, builder.preview
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="the report")
        assert not app.services.executor.trading_allowed  # closed while it runs
        await pilot.press("escape")
        await until(pilot, lambda: any("trading is closed until a reconciliation is accepted" in n
                                       for n in notes(app)), what="the truthful toast")
        assert not app.services.executor.trading_allowed
        # said before any key is pressed: on every header, and the confirmation does not open
        # (it used to open, take y, and then fail the ticket at send time)
        header = app.screen.query_one(HeaderBar)
        await until(pilot, lambda: "TRADING CLOSED" in str(header.render()), what="the header's badge")
        before, tickets = venue_cids(rig), len(rig.journal.tickets())
        app.review(ticket, preview)
        await until(pilot, lambda: any("review: trading is closed" in n for n in notes(app)), what="the refusal")
        await pilot.pause(0.2)
        assert not modals(app) and len(rig.journal.tickets()) == tickets and venue_cids(rig) == before
        # accepting a new report opens trading again
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="R's report")
        await pilot.press("enter")
        await until(pilot, lambda: app.services.executor.trading_allowed, what="trading to open")
        await until(pilot, lambda: "TRADING CLOSED" not in str(app.screen.query_one(HeaderBar).render()),
                    what="the badge to go")


# -- B: one review at a time; nothing left 'planned' ---------------------------------------------


async def test_a_second_review_does_nothing_and_cancels_leave_no_planned_ticket(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await until(pilot, lambda: builder.settled, what="the builder")
        await pilot.press("ctrl+r", "ctrl+r")
        app.review(builder.ticket, builder.preview)  # and once more, while it is being prepared / open
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
        await pilot.pause(0.3)
        assert len(modals(app)) == 1
        assert len(rig.journal.tickets()) == 1
        assert any("a confirmation is already open" in n for n in notes(app))
        await pilot.press("n")
        await until(pilot, lambda: not modals(app), what="the modal to close")
        await until(pilot, lambda: all(t.state is TicketState.CANCELLED for t in rig.journal.tickets()),
                    what="the cancelled ticket")
        # a screen switch while the confirmation is open resolves it as a cancel
        await until(pilot, lambda: not app.reviewing)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
        app.action_show("blotter")
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen), what="the blotter")
        await until(pilot, lambda: len(rig.journal.tickets()) == 2
                    and all(t.state is TicketState.CANCELLED for t in rig.journal.tickets()),
                    what="no planned ticket left")
        await until(pilot, lambda: not modals(app) and not app.reviewing, what="the review closed")
        # and the next review opens normally
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled, what="builder")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
        await pilot.press("escape")
        await until(pilot, lambda: len(rig.journal.tickets()) == 3
                    and all(t.state is TicketState.CANCELLED for t in rig.journal.tickets()))


# -- C: refused at send time → failed with the reason; X abandons a leftover ----------------------


async def test_a_limit_outside_the_collar_fails_at_send_time_with_its_reason(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await until(pilot, lambda: builder.settled, what="the builder")
        t = builder.ticket
        tl = t.legs[0]
        far = tl.leg.price * (1.05 if tl.leg.side == "sell" else 0.95)  # 500 bp: outside the 2% collar
        bad = dataclasses.replace(t, legs=(dataclasses.replace(tl, style=OrderStyle(type=OrderType.LIMIT),
                                                               limit_price=far), *t.legs[1:]))
        before = venue_cids(rig)
        tid = await review_and_confirm(pilot, bad, None)  # no preview: the modal has no checks to block on
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FAILED, what="failed")
        assert not rig.journal.orders(tid) and venue_cids(rig) == before
        (ev,) = [e for e in rig.journal.events(tid) if e.dst == "failed"]
        assert ev.src == "confirmed" and "leg 1" in ev.detail["reason"] and "limit" in ev.detail["reason"]
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                    and app.screen.data.reason(tid) is not None, what="the blotter's reason")
        side = str(app.screen.query_one("#bl-side").render())
        assert "failed: refused at send time, nothing sent" in side
        assert not app.submitting


async def test_X_abandons_a_ticket_confirmed_in_an_earlier_session(rig: Rig) -> None:
    left = rig.leave_an_unsent_ticket()  # an earlier session confirmed it and died before sending it
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="the report")
        assert any(left in line and "X" in line for line in app.screen.report.lines())
        await pilot.press("enter")
        await until(pilot, lambda: app.services.executor.trading_allowed)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                    and app.screen.data.selected == left, what="the blotter")
        assert "never sent: X abandons it" in str(app.screen.query_one("#bl-side").render())
        await pilot.press("X")
        await until(pilot, lambda: rig.journal.ticket(left).state is TicketState.CANCELLED, what="abandoned")
        (ev,) = [e for e in rig.journal.events(left) if e.dst == "cancelled"]
        assert ev.src == "confirmed" and "blotter" in ev.detail["reason"]
        await until(pilot, lambda: str(app.screen.query_one("#bl-tickets").get_cell(left, "state")) == "cancelled")
        await pilot.press("X")  # not twice, and never a ticket that is not planned/confirmed
        await until(pilot, lambda: any("only a planned or confirmed ticket" in n for n in notes(app)))
        assert not rig.journal.orders(left)


# -- D: K on top of any modal, but not in a text field ---------------------------------------------


async def test_K_works_on_the_startup_report_and_over_a_confirmation(rig: Rig) -> None:
    rig.leave_an_unsent_ticket()  # a discrepancy: the startup report waits for the trader
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="the report")
        await until(pilot, lambda: app.state is not None, what="the first snapshot")
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.title_text == "KILL SWITCH",
                    what="the kill modal over the report")
        await pilot.press("K")  # a second K does not stack a second kill modal
        await pilot.pause(0.2)
        assert len(modals(app)) == 1
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="back on the report")
        await pilot.press("enter")
        await until(pilot, lambda: app.services.executor.trading_allowed)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled, what="builder")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the review")
        review = app.screen
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.title_text == "KILL SWITCH",
                    what="the kill modal over the review")
        await read_through(pilot)
        await pilot.press("y")
        await until(pilot, lambda: any(t.kind == "flatten" and t.state is TicketState.FILLED
                                       for t in rig.journal.tickets()), what="the flatten filled")
        # the review was neither cancelled by the kill nor sent: it is still waiting for its answer
        await until(pilot, lambda: app.screen is review, what="the review back on top")
        assert app.reviewing and review.decided is None
        await pilot.press("n")
        await until(pilot, lambda: all(t.state is not TicketState.PLANNED for t in rig.journal.tickets()))


async def test_K_in_the_command_palette_search_is_a_letter(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await clean_start(pilot)
        await settle(pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press("K")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(Input).value == "K"
        assert not modals(app) and not app.killing
        await pilot.press("escape")


# -- E: the quit prompt names the unsent slices; K finishes a sliced ticket at once ---------------


async def test_sliced_ticket_quit_prompt_and_kill_stop_it_at_once(rig: Rig) -> None:
    import time

    from console.app.screens.confirm import QuitScreen
    from tests.app.test_journeys_emulator import confirm

    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await to_hedge(pilot, builder)
        await retype(pilot, builder, "#b-slices", "3")
        await retype(pilot, builder, "#b-over", "1")
        await until(pilot, lambda: builder.settled and builder.ticket is not None
                    and builder.ticket.legs[0].style.slices == 3 and builder.ticket.legs[0].style.over_minutes == 1.0,
                    what="3 slices over 1 min")
        tid = await confirm(pilot, builder)
        ex = app.services.executor
        await until(pilot, lambda: ex.unsent_slices() == 2 and len(rig.journal.fills(tid)) == 1,
                    what="the first slice filled")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), what="the quit question")
        text = app.screen.message()
        assert "2 slices are still to be sent" in text and "Leaving stops the slices" in text, text
        assert "being sent" not in text  # the ticket is counted once, by its slices
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, QuitScreen), what="back")
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the kill modal")
        await read_through(pilot)
        t0 = time.monotonic()
        await pilot.press("y")
        # promptly (the next slice's slot is 20 s away): 1 of 3 filled → partly filled
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.PARTLY_FILLED, timeout=10,
                    what="the sliced ticket finished by the kill")
        assert time.monotonic() - t0 < 10
        assert len([o for o in rig.journal.orders(tid)]) == 1  # no slice went out after the kill
        await until(pilot, lambda: ex.unsent_slices() == 0, what="no slices left")


async def test_too_many_slices_show_a_check_that_names_the_fix(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await to_hedge(pilot, builder)
        await retype(pilot, builder, "#b-slices", "999999999")
        await retype(pilot, builder, "#b-over", "1")
        await until(pilot, lambda: builder.settled and builder.preview is not None
                    and builder.ticket.legs[0].style.slices == 999_999_999, what="the sliced preview")
        leg = builder.ticket.legs[0].leg
        fails = [c.message for c in builder.preview.checks if str(c.code) == "min_amount"]
        assert len(fails) == 1, [c.message for c in builder.preview.checks]
        assert fails[0].startswith(f"leg 1: 999999999 slices of {leg.contracts:g} are 0.000000")
        assert " each, under the minimum amount " in fails[0] and ": use at most " in fails[0]
