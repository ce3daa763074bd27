"""The flows screen (key 5) in small windows: the table keeps its rows and its key columns (fund,
asset, drift, flow, coins, must sell / must buy); the bar chart gives way first (shrinks, or is
hidden with its totals on a line of their own). At 120×36 the layout is the snapshot's."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from console.app.app import RebalApp
from console.app.screens.flows import COLUMNS, FlowsScreen, fit_columns
from console.core.flows import flow_rows
from tests.app.conftest import SIZE, loaded, make_app, settle
from tests.app.test_journeys_emulator import until

SMALL = (80, 24)
MEDIUM = (100, 30)
SHORT = (80, 16)  # under the minimum: the "window too small" notice
KEY_COLUMNS = ("fund", "asset", "drift", "flow", "coins", "action")


def screen_lines(app: RebalApp) -> list[str]:
    """What the terminal shows, line by line."""
    return [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]  # noqa: SLF001


async def open_flows(pilot: Pilot) -> FlowsScreen:
    app: RebalApp = pilot.app  # type: ignore[assignment]
    await loaded(pilot)
    await pilot.press("5")
    await until(pilot, lambda: isinstance(app.screen, FlowsScreen)
                and app.screen.query_one("#fl-table", DataTable).row_count > 0, what="the flows table")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, FlowsScreen)
    return screen


def table_of(screen: FlowsScreen) -> DataTable:
    return screen.query_one("#fl-table", DataTable)


def expected_rows(screen: FlowsScreen) -> list[tuple[str, str, str]]:
    """(asset, flow as shown, action) for each table row, in order."""
    assert screen._report is not None  # noqa: SLF001
    return [(r.asset, f"{r.flow:,.0f}", r.action) for r in flow_rows(screen._report)]  # noqa: SLF001


def row_on_screen(lines: list[str], asset: str, flow: str, action: str) -> bool:
    """A screen line with the row's asset, its whole flow figure (not a cut one) and its action."""
    return any(asset in line.split() and flow in line.split() and action in line for line in lines)


def visible_rows(table: DataTable) -> range:
    view = table.scrollable_content_region.height - 1  # less the header line
    first = round(table.scroll_y)
    return range(first, min(table.row_count, first + view))


async def _every_row_reachable(pilot: Pilot, screen: FlowsScreen) -> None:
    """Down from the first row to the last: each row comes into sight, uncut, on the screen."""
    table = table_of(screen)
    rows = expected_rows(screen)
    assert table.row_count == len(rows) == 11
    assert pilot.app.focused is table  # the arrows move through it
    await pilot.press("home")
    for i, row in enumerate(rows):
        if i:
            await pilot.press("down")
        await pilot.pause()
        assert table.cursor_row == i
        assert i in visible_rows(table), (i, table.scroll_y)
        lines = screen_lines(pilot.app)  # type: ignore[arg-type]
        assert row_on_screen(lines, *row), (row, "\n".join(lines))
    # whatever is in sight shows its figures whole
    lines = screen_lines(pilot.app)  # type: ignore[arg-type]
    for i in visible_rows(table):
        assert row_on_screen(lines, *rows[i]), (rows[i], "\n".join(lines))


def _columns_fit(table: DataTable) -> None:
    keys = [c.value for c in table.columns]
    assert all(k in keys for k in KEY_COLUMNS), keys
    assert table.virtual_size.width <= table.scrollable_content_region.width, "no sideways scrolling"


async def test_flows_at_80x24_show_every_row_with_its_flow_and_action() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_flows(pilot)
        table = table_of(screen)
        _columns_fit(table)
        keys = [c.value for c in table.columns]
        assert "rule" not in keys  # the least important columns gave way
        # the chart gave its space to the table: every row in sight at once
        assert table.size.height >= table.row_count + 1
        assert len(visible_rows(table)) == table.row_count
        lines = screen_lines(app)
        for row in expected_rows(screen):
            assert row_on_screen(lines, *row), (row, "\n".join(lines))
        assert any("must buy" in line or "must sell" in line for line in lines)
        # the fund names are shortened, not the figures
        assert any("…" in line and "BTC" in line for line in lines)
        await _every_row_reachable(pilot, screen)


async def test_flows_chart_gives_way_at_80x24_and_its_totals_stay() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_flows(pilot)
        chart = screen.query_one("#fl-chart", PlotextPlot)
        totals = screen.query_one("#fl-totals", Static)
        assert not chart.display and screen.has_class("-no-chart")
        assert totals.display and totals.size.height >= 1
        text = " ".join(" ".join(screen_lines(app)).split())
        assert "chart hidden at this window size" in text
        assert screen._report is not None  # noqa: SLF001
        for a in screen._report.assets:  # noqa: SLF001
            assert f"{a.asset} {a.flow / 1e6:,.1f}m {a.action}" in text, text


async def test_flows_in_a_window_under_the_minimum_give_way_to_the_notice() -> None:
    """Shorter than 24 rows the table would be cut: the "window too small" notice instead, and
    the flows come back whole when the window does."""
    from console.app.screens.too_small import TooSmallScreen

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_flows(pilot)
        await pilot.resize_terminal(*SHORT)
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(*SMALL)
        await settle(pilot)
        assert app.screen is screen
        table = table_of(screen)
        _columns_fit(table)
        assert table.size.height >= table.row_count + 1


async def test_flows_at_100x30_shrink_the_chart_and_keep_every_row() -> None:
    app = make_app()
    async with app.run_test(size=MEDIUM) as pilot:
        screen = await open_flows(pilot)
        table = table_of(screen)
        _columns_fit(table)
        keys = [c.value for c in table.columns]
        assert "rule" not in keys and "target" in keys and "current" in keys
        assert len(visible_rows(table)) == table.row_count == 11
        chart = screen.query_one("#fl-chart", PlotextPlot)
        assert chart.display and screen.CHART_MIN <= chart.size.height < screen.CHART_ROWS
        assert not screen.query_one("#fl-totals", Static).display
        lines = screen_lines(app)
        for row in expected_rows(screen):
            assert row_on_screen(lines, *row), (row, "\n".join(lines))


async def test_flows_at_120x36_keep_the_full_table_and_chart() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_flows(pilot)
        table = table_of(screen)
        assert [(c.value, w) for c, w in ((c.key, c.width) for c in table.columns.values())] == \
            [(k, w) for k, _, w in COLUMNS]
        chart = screen.query_one("#fl-chart", PlotextPlot)
        assert chart.display and chart.size.height == screen.CHART_ROWS
        assert not screen.query_one("#fl-totals", Static).display


async def test_flows_follow_a_resize_both_ways() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_flows(pilot)
        table = table_of(screen)
        await pilot.press("down", "down", "down")
        await pilot.resize_terminal(*SMALL)
        await settle(pilot)
        assert [c.value for c in table.columns] == [k for k, _, _ in fit_columns(SMALL[0])]
        assert table.row_count == 11 and table.cursor_row == 3  # the rows and the cursor stay
        assert not screen.query_one("#fl-chart", PlotextPlot).display
        _columns_fit(table)
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        assert [c.value for c in table.columns] == [k for k, _, _ in COLUMNS]
        chart = screen.query_one("#fl-chart", PlotextPlot)
        assert chart.display and chart.size.height == screen.CHART_ROWS


def test_columns_give_way_in_order() -> None:
    assert fit_columns(120) == COLUMNS
    seen = []
    for width in range(140, 69, -1):
        cols = fit_columns(width)
        keys = [k for k, _, _ in cols]
        assert all(k in keys for k in KEY_COLUMNS), width
        fixed = dict((k, w) for k, _, w in COLUMNS if k != "fund")
        assert all(w == fixed[k] for k, _, w in cols if k != "fund"), width  # figures never narrowed
        assert sum(w + 2 for _, _, w in cols) <= width - 2, width  # fits beside a scrollbar
        seen.append(keys)
    # the rule column goes before target and now
    first_without_rule = next(k for k in seen if "rule" not in k)
    assert "target" in first_without_rule and "current" in first_without_rule
    assert "target" not in seen[-1] and "rule" not in seen[-1]


async def test_at_80x24_every_note_is_whole_when_the_sample_levels_are_old() -> None:
    # two weeks after the sample's last index level the notes say the flows are figured as of
    # that date: the last note's end used to fall below the notes' four lines at 80 columns
    from tests.app.sample import T0, sample_config

    app = RebalApp(sample_config(), now_ms=lambda: T0 + 14 * 86_400_000)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_flows(pilot)
        notes = screen.query_one("#fl-notes", Static)
        shown = " ".join(strip.text.strip() for strip in (notes.render_line(y) for y in range(notes.size.height)))
        assert "flows figured as of 2026-11-20" in shown, shown
        assert "`rebal-tui flows --funds` for yours" in shown, shown
