"""The builder never offers a ticket built on a book that has since changed, nor one computed
from a field the trader did not type: after a fill it builds the ticket again; a field that is
not a number is named, and there is nothing to review until it is fixed."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from console.app.screens.builder import BuilderScreen
from console.app.screens.confirm import ConfirmScreen
from console.core.snapshot import book_key
from console.execution import TicketState
from tests.app.conftest import SIZE, Rig
from tests.app.test_journeys_emulator import clean_start, confirm, open_builder, until


async def test_after_a_fill_the_builder_rebuilds_and_never_offers_the_old_ticket(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await clean_start(pilot)
        await until(pilot, lambda: app.state is not None, what="the first snapshot")
        await pilot.press("2")  # the builder screen that stays installed, as a trader comes back to it
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled
                    and app.screen.ticket.legs, what="the proposal's ticket")
        builder = app.screen
        sent = builder.ticket
        tid = await confirm(pilot, builder)
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the fill")
        await until(pilot, lambda: book_key(app.state.snapshot) != book_key(builder.built_on),
                    what="a snapshot with the fill")
        await pilot.press("2")
        await until(pilot, lambda: app.screen is builder and not builder._building  # noqa: SLF001
                    and book_key(builder.built_on) == book_key(app.state.snapshot), what="the ticket built again")
        # the spread is done: the builder says so (or what little is left), never the ticket it sent
        if builder.ticket is None:
            assert "BTC is not underweight against its target" in str(builder.query_one("#b-preview").render())
            await pilot.press("ctrl+r")
            await pilot.pause(0.3)
            assert not isinstance(app.screen, ConfirmScreen)
        else:
            assert builder.ticket.gross_notional < sent.gross_notional / 4


async def test_review_refuses_a_ticket_built_before_the_book_changed(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await until(pilot, lambda: builder.settled, what="the ticket")
        # as if a fill had landed since the ticket was built: one position fewer in the book it rests on
        old = builder.built_on
        acct = next(n for n, a in old.accounts.items() if a.open_positions())
        a = old.accounts[acct]
        gone = replace(a, positions=tuple(a.open_positions()[1:]))
        builder.built_on = replace(old, accounts={**old.accounts, acct: gone})
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("changed since this ticket was built" in n.message for n in app._notifications)  # noqa: SLF001
        await until(pilot, lambda: builder.settled and book_key(builder.built_on) == book_key(app.state.snapshot),
                    what="the ticket built again")


async def test_a_field_that_is_not_a_number_is_named_and_nothing_can_be_reviewed(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await until(pilot, lambda: builder.settled, what="the ticket")
        builder.query_one("#b-horizon").focus()
        await pilot.press("backspace", "1", ".", ".", "5")
        await until(pilot, lambda: "horizon (days) '1..5' is not a number" in str(
            builder.query_one("#b-preview").render()), what="the field named")
        assert builder.ticket is None  # withdrawn: nothing computed from a value not typed
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert isinstance(app.screen, BuilderScreen)


async def test_a_focused_number_field_leaves_the_letter_keys_to_their_bindings() -> None:
    """Textual hands every printable key to a focused Input; the builder's number fields take
    digits only, so `?` (help) — and `K`, `q` — still work while the cursor is in one."""
    from console.app.screens.help import HelpScreen
    from tests.app.conftest import loaded, make_app

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen), what="the builder")
        app.screen.query_one("#b-horizon").focus()
        await pilot.press("4")
        assert app.screen.query_one("#b-horizon").value.endswith("4")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")


async def test_confirming_an_aging_ticket_switches_to_the_blotter_without_a_stray_rebuild(
        rig: Rig, monkeypatch) -> None:  # noqa: ANN001
    """The builder the `s` key pushed is removed when a confirmed ticket switches to the
    blotter; its resume (the modal gone) may be handled after that. A rebuild due then (the
    ticket had aged past REFRESH_MS) must not run on the removed screen."""
    monkeypatch.setattr(BuilderScreen, "REFRESH_MS", 0)  # every new snapshot makes it 'outdated'
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await until(pilot, lambda: builder.settled, what="the ticket")
        tid = await confirm(pilot, builder)
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the fill")
        for _ in range(3):  # new snapshots arrive; the removed builder must stay quiet
            app.ingest(await asyncio.wrap_future(rig.loop.submit(rig.venues.refresh())))
            await pilot.pause(0.3)
        assert app.is_running and not app._exit  # noqa: SLF001
