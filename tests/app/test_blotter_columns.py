"""The blotter at 120 and 80 columns: whole client ids, a price column, leg numbers as `journal
show` prints them, and the detail pane following the ticket just sent."""

from __future__ import annotations

import pytest

from console.app.screens.blotter import BlotterScreen
from console.app.screens.builder import BuilderScreen
from console.execution import TicketState
from tests.app.conftest import Rig
from tests.app.test_journeys_emulator import confirm, open_builder, retype, to_hedge, until


def table_text(table) -> str:
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def rest_a_post_only_hedge(pilot, builder) -> str:
    """A one-leg hedge, post-only 150 bp from mid: it rests, with a limit price. (It prices
    cheapest on Bybit, whose demo margin would not carry it at 5x: the planner sends it to the
    venue that can.)"""
    await to_hedge(pilot, builder)
    builder.query_one("#b-style").focus()
    await pilot.press("enter", "down", "down", "enter")
    await retype(pilot, builder, "#b-offset", "150")
    await until(pilot, lambda: builder.settled and builder.inputs.offset_bps == 150.0
                and builder.ticket.legs[0].limit_price is not None, what="the post-only ticket")
    return await confirm(pilot, builder)


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
async def test_whole_client_ids_a_price_column_and_leg_numbers(rig: Rig, size: tuple[int, int]) -> None:
    from console.cli.journal import render_replay, replay

    app = rig.app
    async with app.run_test(size=size) as pilot:
        builder = await open_builder(pilot)
        tid = await rest_a_post_only_hedge(pilot, builder)
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                    and app.screen.data.selected == tid and app.screen.data.orders, what="the order")
        (order,) = rig.journal.orders(tid)
        table = app.screen.query_one("#bl-orders")
        await pilot.pause(0.1)
        text = table_text(table)
        assert order.client_id in text  # whole, not cut
        assert f"{order.price:,.6g}" in text and "price" in text  # the limit price
        sign = "+" if order.side == "buy" else "-"
        assert f"{sign}{order.amount:g}" in text  # the side as the amount's sign
        # leg 1 on the blotter is leg 1 in `journal show`
        row = text.splitlines()[1]
        assert row.split()[0] == "1"
        shown = render_replay(replay(rig.journal, tid))
        assert f"{order.client_id}  leg 1 try" in shown and "  leg 1: " in shown


async def test_the_detail_pane_follows_the_ticket_just_sent(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=(120, 36)) as pilot:
        builder = await open_builder(pilot)
        first = await rest_a_post_only_hedge(pilot, builder)
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.selected == first)
        await until(pilot, lambda: rig.journal.ticket(first).state is TicketState.WORKING, what="a working order")
        await pilot.press("1", "s")  # a new spread from the dashboard
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled
                    and app.screen.ticket is not None and app.screen.ticket.legs, what="the builder again")
        second = await confirm(pilot, app.screen)
        assert second != first
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                    and app.screen.data.selected == second, what="the pane on the new ticket")
        assert f"Ticket {second}" in str(app.screen.query_one("#bl-side").render())
        tickets = app.screen.query_one("#bl-tickets")
        assert tickets.coordinate_to_cell_key(tickets.cursor_coordinate).row_key.value == second
