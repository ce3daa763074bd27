"""Figures that read right: no -0.00, the cash sleeve's futures figure named, the confirmation
naming venue, account and mode, the focused field plainly marked."""

from __future__ import annotations

import pytest

from console.core.numbers import money, pct, signed_money, signed_whole
from tests.app.conftest import SIZE, loaded, make_app, sample_builder, sample_confirmation, settle
from widgets.allocation_table import CASH_OFFSET


@pytest.mark.parametrize(("x", "shown"), [(-0.001, "0.00"), (-0.0, "0.00"), (0.004, "0.00"), (-0.006, "-0.01"),
                                          (-1234.567, "-1,234.57")])
def test_money_never_shows_minus_zero(x: float, shown: str) -> None:
    assert money(x) == shown


def test_signed_figures_never_show_minus_zero() -> None:
    assert signed_money(-0.004) == "0.00" and signed_money(2.5) == "+2.50" and signed_money(-2.5) == "-2.50"
    assert signed_whole(-0.3) == "0" and signed_whole(1_836.2) == "+1,836" and signed_whole(-60_750) == "-60,750"
    assert pct(-0.000001, signed=True) == "0.00%" and pct(-0.000001) == "0.00%" and pct(0.0123, True) == "+1.23%"


async def test_the_cash_sleeves_futures_figure_is_named_when_expanded() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        row = app.state.alloc.row("STABLE")
        # NAV − risky net − stablecoins: what the overlay's positions stand in for
        risky = sum(r.net for r in app.state.alloc.rows if not r.is_cash)
        assert row.futures_notional == pytest.approx(app.state.alloc.nav - risky - row.spot_value)
        table = app.screen.query_one("#main-table")
        await pilot.press(*["down"] * [r.name for r in app.state.alloc.rows].index("STABLE"), "enter")
        await settle(pilot)
        labels = [str(table.get_row(k)[0]) for k in table.rows]
        assert CASH_OFFSET in labels
        offset = table.get_row("C:STABLE")
        assert str(offset[2]) == f"{round(row.futures_notional):,d}"


async def test_the_confirmation_names_venue_account_and_mode() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        b = await sample_confirmation(pilot)
        text = str(app.screen.query_one("#confirm-venues").render())
        for name in b.ticket.accounts:
            acct = app.config.account(name)
            assert f"account {name} on {acct.exchange}" in text
        assert "DEMO" in text


async def test_the_focused_field_is_plainly_marked() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        b = await sample_builder(pilot)
        horizon, offset = b.query_one("#b-horizon"), b.query_one("#b-offset")
        horizon.focus()
        await settle(pilot)
        assert horizon.styles.background != offset.styles.background
        assert horizon.styles.background.a > 0 and "bold" in str(horizon.styles.text_style)
