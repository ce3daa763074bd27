"""A long allocation table: a price tick formats only the rows on screen, and a row that
scrolls into view shows the newest figures, not the ones of when it was last seen."""

from __future__ import annotations

from console.app.app import RebalApp
from tests import factories as f
from tests.app.conftest import SIZE, settle
from widgets.allocation_table import AllocationTable

SLEEVES = 40  # the dashboard shows 12 rows at most: most of these are off screen
QTY = 10.0


def wide_app() -> RebalApp:
    w = round(1.0 / (SLEEVES + 1), 6)
    parts = ['[portfolio]\nname = "wide"\nweight_tolerance = 0.01\n']
    parts += [f'[[sleeves]]\nname = "S{i:02d}"\nassets = ["A{i:02d}"]\ntarget = {w}\n' for i in range(SLEEVES)]
    parts.append(f'[[sleeves]]\nname = "STABLE"\nassets = ["USDT"]\ntarget = {1 - SLEEVES * w:.6f}\n')
    parts.append('[[accounts]]\nname = "spot"\nexchange = "binance"\n')
    return RebalApp(f.config("".join(parts)), now_ms=lambda: f.T0)


def wide_snapshot(prices: dict[int, float]):  # noqa: ANN201
    acct = f.account("spot", "binance", markets=[f.market(f"A{i:02d}/USDT") for i in range(SLEEVES)],
                     balance={**{f"A{i:02d}": QTY for i in range(SLEEVES)}, "USDT": 1000.0},
                     tickers=[f.ticker(f"A{i:02d}/USDT", prices.get(i, 100.0)) for i in range(SLEEVES)])
    return f.snapshot(acct)


async def first_table(app: RebalApp, pilot) -> AllocationTable:  # noqa: ANN001
    """The dashboard's table once the first (flat-priced) snapshot is painted."""
    app.ingest(wide_snapshot({}))
    await settle(pilot)
    return app.screen.query_one(AllocationTable)


async def test_an_off_screen_row_is_brought_up_to_date_when_it_scrolls_into_view() -> None:
    app = wide_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await first_table(app, pilot)
        last = f"S:S{SLEEVES - 1:02d}"
        assert str(table.get_cell(last, "spot")) == f"{QTY * 100.0:,.0f}"
        before = table.cells_written
        app.ingest(wide_snapshot({SLEEVES - 1: 250.0}))  # only the last sleeve's price moves
        await settle(pilot)
        # nothing on screen changed its text except weights: the off-screen row is not written yet
        assert str(table.get_cell(last, "spot")) == f"{QTY * 100.0:,.0f}"
        assert table.cells_written - before < 12 * 9
        await pilot.press("ctrl+end")  # to the bottom: the last rows scroll into view
        await settle(pilot)
        assert str(table.get_cell(last, "spot")) == f"{QTY * 250.0:,.0f}"
        assert str(table.get_cell(last, "net")) == f"{QTY * 250.0:,.0f}"


async def test_a_repaint_draws_the_new_figures_of_a_row_that_changed() -> None:
    app = wide_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await first_table(app, pilot)

        def drawn(key: str) -> str:  # the row's line as painted (the header is line 0)
            return table.render_line(table.get_row_index(key) + 1).text

        assert f"{QTY * 100.0:,.0f}" in drawn("S:S01")
        other = drawn("S:S02")
        app.ingest(wide_snapshot({1: 250.0}))
        await settle(pilot)
        assert f"{QTY * 250.0:,.0f}" in drawn("S:S01")  # the line is drawn again, not the cached one
        assert f"{QTY * 100.0:,.0f}" in drawn("S:S02") and drawn("S:S02").split()[:3] == other.split()[:3]
