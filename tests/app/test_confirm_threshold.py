"""limits.confirm_typed_notional: above it the trader types the notional's digits; 0 = always."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from console.app.screens.confirm import ConfirmScreen, notional_digits
from console.core.config import Limits
from tests.app.conftest import SIZE, make_app, read_through, settle
from tests.app.test_confirm import spread_ticket


def test_the_limit_defaults_to_100k_and_refuses_negatives() -> None:
    assert Limits().confirm_typed_notional == 100_000
    with pytest.raises(ValueError):
        Limits(confirm_typed_notional=-1)


@pytest.mark.parametrize(("offset", "typed"), [(-1.0, True), (+1.0, False)], ids=["below-gross", "above-gross"])
async def test_both_sides_of_the_threshold(offset: float, typed: bool) -> None:
    t = spread_ticket()
    app = make_app()
    limits = app.config.limits.model_copy(update={"confirm_typed_notional": t.gross_notional + offset})
    app.config = app.config.model_copy(update={"limits": limits})
    results: list[bool] = []
    async with app.run_test(size=SIZE) as pilot:
        modal = ConfirmScreen(t, None)
        app.push_screen(modal, results.append)
        await settle(pilot)
        assert modal.threshold == t.gross_notional + offset
        assert modal.needs_digits is typed
        assert bool(modal.query(Input)) is typed
        await read_through(pilot)
        await pilot.press("y")
        await settle(pilot)
        if typed:
            assert results == []  # y alone is refused above the threshold
            await pilot.press(*notional_digits(t), "enter")
            await settle(pilot)
        assert results == [True]
        assert modal.keystroke == (f"y+{notional_digits(t)}" if typed else "y")


async def test_zero_means_always_type() -> None:
    app = make_app()
    app.config = app.config.model_copy(update={"limits": Limits(confirm_typed_notional=0)})
    async with app.run_test(size=SIZE) as pilot:
        modal = ConfirmScreen(spread_ticket(), None)
        app.push_screen(modal)
        await settle(pilot)
        assert modal.needs_digits
        assert "confirm_typed_notional = 0" in str(modal.query_one("#confirm-prompt").render())


async def test_the_kill_switch_confirmation_names_no_horizon() -> None:
    # a flatten closes now: "horizon 0 d" on the kill modal's heading read as a figure that means nothing
    from dataclasses import replace

    from console.core.ticket import TicketKind

    spread = spread_ticket()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for t, horizon in ((spread, f"horizon {spread.horizon_days:g} d"),
                           (replace(spread, kind=TicketKind.FLATTEN, horizon_days=0.0), None)):
            modal = ConfirmScreen(t, None)
            app.push_screen(modal)
            await settle(pilot)
            heading = str(modal.query_one("#confirm-body").query("Static").first().render())
            assert heading.startswith(f" Confirm ticket   {t.kind.value.upper()}")
            assert (horizon in heading) if horizon else ("horizon" not in heading)
            app.pop_screen()
            await settle(pilot)
