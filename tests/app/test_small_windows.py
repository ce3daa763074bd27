"""The console in small windows (80×24, the default SSH terminal, and 100×30): nothing the
trader needs is cut away or left out of reach. Plus the QA findings that go with them: the
footer's screen keys, the flows' trading-day count, the palette's keys, no ``-0``."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from console.app.app import RebalApp
from console.app.palette import ConsoleCommands, binding_catalog
from console.app.screens.alerts import AlertsScreen
from console.app.screens.dashboard import DashboardScreen
from console.app.screens.flows import FlowsScreen, compute_report
from console.app.screens.help import HelpScreen, help_table
from console.app.state import derive_state
from console.core.alerts import Watch
from console.core.freshness import Freshness, freshness
from console.core.numbers import money, whole
from tests.app.conftest import SIZE, loaded, make_app, settle
from tests.app.sample import T0, sample_config, sample_snapshot
from tests.app.test_journeys_emulator import until
from widgets.allocation_table import AllocationTable
from widgets.footer import KeyFooter
from widgets.header import HeaderBar, HeaderContent, fit_header
from widgets.risk_panel import RiskPanel

SMALL = (80, 24)
MEDIUM = (100, 30)
T0_DAY = dt.date(2026, 11, 21)  # T0 is Saturday 2026-11-21 12:00Z


def lines_of(widget: Widget) -> list[str]:
    """The widget's whole content as plain lines (what scrolling can bring into view)."""
    w, h = widget.size
    return [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, w, h))]


# ------------------------------------------------------------------------------ help


async def test_help_at_80x24_keeps_every_key_and_names_the_table() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        dash = app.screen
        entries = binding_catalog(dash)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table", Static)
        assert table.size.width < 80
        rows = lines_of(table)
        for e in entries:
            # each row starts with its key, then its action, on one line
            assert any(line.split()[:1] == [e.key_display] and e.text in line for line in rows if line), (e, rows)
        text = "\n".join(rows)
        assert "allocation table" in text
        assert "main-table" not in text


async def test_help_table_never_cuts_the_key_column() -> None:
    """Narrower than the help box ever gets: the description wraps, the keys stay."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        console = Console(width=60, record=True)
        console.print(help_table(app.screen))
        out = console.export_text()
        spread = next(line for line in out.splitlines() if "Spread" in line and "builder" in line)
        assert spread.split()[0] == "s"


# ------------------------------------------------------------------------------ risk panel


async def _risk_reaches_basis(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        risk = app.screen.query_one(RiskPanel)
        assert risk.focusable
        # keyboard: shift+tab from the allocation table goes round to the risk panel
        for _ in range(4):
            if app.focused is risk:
                break
            await pilot.press("shift+tab")
        assert app.focused is risk
        body = lines_of(risk.query_one(Static))
        basis_at = next(i for i, line in enumerate(body) if line.startswith("Basis"))
        last = next(i for i in range(len(body) - 1, -1, -1) if body[i].startswith("ETH-261225"))
        assert last > basis_at
        assert risk.max_scroll_y > 0, "the panel is shorter than its content at this size"
        view = risk.scrollable_content_region.height
        assert not (risk.scroll_y <= last < risk.scroll_y + view)  # out of sight at first
        await pilot.press("end")
        await settle(pilot)
        assert risk.scroll_y == risk.max_scroll_y
        assert risk.scroll_y <= last < risk.scroll_y + view  # the basis row is in sight
        await pilot.press("home")
        await pilot.press("down")
        await settle(pilot)
        assert risk.scroll_y == 1


async def test_risk_panel_scrolls_to_basis_at_80x24() -> None:
    await _risk_reaches_basis(SMALL)


async def test_risk_panel_scrolls_to_basis_at_100x30() -> None:
    await _risk_reaches_basis(MEDIUM)


async def test_risk_panel_figures_are_not_cut_in_the_narrow_panel() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        body = lines_of(app.screen.query_one(RiskPanel).query_one(Static))
        assert not [line for line in body if "…" in line], body
        assert any(line.startswith("BTC-PERP") and "-27,000" in line and "%" in line for line in body), body


# ------------------------------------------------------------------------------ allocation table


async def test_position_row_shows_its_notional_at_80x24() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        table = app.screen.query_one(AllocationTable)
        assert "futures" not in table.shown_columns  # the narrow column set
        await pilot.press("enter")  # cursor starts on BTC
        await settle(pilot)
        key = "P:BTC:futures:BTC/USDT:USDT"
        assert key in [k.value for k in table.rows]
        assert str(table.get_cell(key, "net")) == "-27,000"


async def test_position_row_keeps_futures_and_net_at_120() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.screen.query_one(AllocationTable)
        await pilot.press("enter")
        await settle(pilot)
        key = "P:BTC:futures:BTC/USDT:USDT"
        assert str(table.get_cell(key, "futures")) == str(table.get_cell(key, "net")) == "-27,000"
        assert "@" in str(table.get_cell(key, "drift"))


def test_whole_money_never_prints_minus_zero() -> None:
    # the table's and the risk panel's whole units (a flattened leg's -0.3 is 0)
    assert whole(-0.3) == "0" and whole(-0.0) == "0" and whole(0.4) == "0"
    assert whole(-0.6) == "-1" and whole(-64_607.4) == "-64,607"
    assert whole(float("nan")) == "nan"


# ------------------------------------------------------------------------------ header


async def test_header_at_80_columns_keeps_the_time() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        text = str(app.screen.query_one(HeaderBar).render())
        assert "DEMO" in text and "NAV 436,400.00" in text
        assert "12:00:00Z" in text  # the clock's time; the date gave way
        assert len(text.rstrip()) <= 80


def test_header_gives_way_in_order() -> None:
    fresh = {"spot": Freshness("spot", 1_000, False, None), "futures": Freshness("futures", 125_000, True, None)}
    c = HeaderContent("demo", "Demo book", 1_000_066.95, "USDT", fresh, "2026-11-21 15:40:48Z")
    full = fit_header(c, 200).plain
    assert "2026-11-21 15:40:48Z" in full and "spot 1s" in full and "futures 2m" in full
    seen = []
    for width in range(len(full), 32, -1):
        plain = fit_header(c, width).plain
        assert plain.startswith(" DEMO ") and "NAV 1,000,066.95 USDT" in plain, (width, plain)
        seen.append(plain)
    # the date goes before the time, the ages before the badge and NAV
    first_without_date = next(p for p in seen if "2026-11-21" not in p)
    assert "15:40:48Z" in first_without_date and "spot" in first_without_date
    # last of all: the badge, NAV and one coloured dot per account (red on an error)
    assert seen[-1] == " DEMO  NAV 1,000,066.95 USDT  ● ●"


def test_header_at_80_columns_keeps_mode_nav_and_the_screen_name() -> None:
    """Off the dashboard the book slot names the screen: it says where a keypress goes, so at
    80 columns it stays in sight; the P&L and the clock give way before it."""
    fresh = {a: Freshness(a, 1_000, False, None) for a in ("spot", "futures", "bybit", "okx")}
    c = HeaderContent("demo", "Spread builder", 1_056_057.17, "USDT", fresh, "2026-11-21 09:38:53Z",
                      pnl=3_833.05)
    assert "overlay P&L +3,833.05" in fit_header(c, 200).plain
    plain = fit_header(c, 80).plain
    assert plain.startswith(" DEMO ") and "NAV 1,056,057.17 USDT" in plain and "Spread builder" in plain, plain
    assert len(plain) <= 80
    # closed, the journal down and a big P&L: the screen's name still outlasts the P&L and clock
    worst = HeaderContent("demo", "Spread builder", 1_056_057.17, "USDT", fresh, "2026-11-21 09:38:53Z",
                          closed=True, journal_down=True, pnl=-123_833.05)
    plain = fit_header(worst, 80).plain
    assert plain.startswith(" DEMO ") and "NAV 1,056,057.17 USDT" in plain and "Spread builder" in plain, plain
    assert "TRADING CLOSED" in plain and "JOURNAL" in plain and len(plain) <= 80


def test_freshness_from_the_state() -> None:
    state, _ = derive_state(sample_config(), sample_snapshot(), Watch(), T0)
    fresh = freshness(state.snapshot, state.stale, T0 + 5_000)
    assert set(fresh) == set(state.snapshot.accounts)
    assert all(f.age_ms is not None and f.age_ms >= 5_000 for f in fresh.values())
    assert freshness(None, {}, T0) == {}


async def test_alerts_screen_header_shows_data_ages() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)
        text = str(app.screen.query_one(HeaderBar).render())
        assert "● spot" in text and "● futures" in text


async def test_header_ages_grow_with_the_clock_off_the_dashboard() -> None:
    """A feed that stops must show in the age: the header is redrawn on the clock's tick,
    not only when a new state comes."""
    clock = [T0]
    app = RebalApp(sample_config(), now_ms=lambda: clock[0])
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for key in ("4", "5", "6"):
            await pilot.press(key)
            await settle(pilot)
            clock[0] = T0 + 125_000
            app.screen.tick()
            await pilot.pause()
            text = str(app.screen.query_one(HeaderBar).render())
            assert "● spot 2m" in text and "12:02:05Z" in text, (key, text)
            clock[0] = T0


# ------------------------------------------------------------------------------ footer


async def test_footer_lists_every_screen_key() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        footer = app.screen.query_one(KeyFooter)
        keys = [k.key for k in footer.query(FooterKey) if k.action.startswith("show(")]
        assert keys == ["1", "2", "3", "4", "5", "6", "7", "8"]


# ------------------------------------------------------------------------------ flows


def test_flows_count_trading_days_from_the_clock_date() -> None:
    # the sample index levels end Friday 2026-11-20; on Saturday 11-21 NYSE has 27 sessions
    # left in Q4 (11-20 itself would make 28)
    report, _ = compute_report(None, T0_DAY)
    assert report.window.trading_days_left == 27
    report, _ = compute_report(sample_snapshot())  # the snapshot's date by default
    assert report.window.trading_days_left == 27
    # long after the sample ends: figures at its last date, the count still from the clock
    report, notes = compute_report(None, dt.date(2026, 12, 28))
    assert report.window.trading_days_left == 4
    assert any("sample index levels end" in n for n in notes)


async def _flows_window_text(pilot: Pilot) -> str:
    app: RebalApp = pilot.app  # type: ignore[assignment]
    await pilot.press("5")
    await until(pilot, lambda: isinstance(app.screen, FlowsScreen)
                and "trading day" in str(app.screen.query_one("#fl-window", Static).render()), what="the window")
    return str(app.screen.query_one("#fl-window", Static).render())


async def test_flows_screen_says_27_trading_days_on_2026_11_21() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert (await _flows_window_text(pilot)).startswith("27 trading days left in Q4 2026")


# ------------------------------------------------------------------------------ palette


async def test_palette_entries_show_their_keys_kill_included() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert isinstance(app.screen, DashboardScreen)
        provider = ConsoleCommands(app.screen)
        shown = [str(h.display) for h in [h async for h in provider.discover()]]
        assert "Kill  [K]" in shown and "Spread  [s]" in shown and "Help  [?]" in shown
        found = [h async for h in provider.search("kill")]
        best = max(found, key=lambda h: h.score)
        assert str(best.match_display) == "Kill  [K]"


# ------------------------------------------------------------------------------ builder


async def test_builder_legs_at_80x24_show_every_field_without_sideways_scrolling() -> None:
    """The legs table is wider than 80 columns: each leg is stacked on two lines instead, so
    side, contracts, symbol, notional, order type, reduce-only, account and purpose are all in
    view (they used to sit off to the right of a horizontally scrolling table)."""
    from console.app.screens.builder import BuilderScreen
    from widgets.legs_table import LegsTable

    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await settle(pilot, 5)
        b = app.screen
        assert isinstance(b, BuilderScreen) and b.ticket is not None and b.ticket.legs
        legs = b.query_one(LegsTable)
        assert legs.size.width < 80 and legs.virtual_size.width <= legs.size.width
        text = "\n".join(lines_of(legs))
        for tl in b.ticket.legs:
            leg = tl.leg
            assert f"{leg.side.upper()} {leg.contracts:g} {leg.symbol}" in " ".join(text.split()), text
            assert money(leg.notional) in text
            assert f"reduce-only {'yes' if leg.reduce_only else 'no'} · {leg.account} · {leg.sleeve} · {leg.purpose}" in text
    # wide enough, the same legs are one table row each, with their column headings
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await settle(pilot, 5)
        lines = lines_of(app.screen.query_one(LegsTable))
        assert lines[0].split()[:3] == ["sleeve", "account", "symbol"]
        assert len(lines) == 1 + len(app.screen.ticket.legs)


def test_at_80_columns_the_overlay_p_and_l_outlasts_the_clock() -> None:
    """The README puts the overlay's P&L in every header: at 80 columns, trading closed, four
    accounts, the clock gives way before the P&L does (the time is on the trader's own clock)."""
    fresh = {a: Freshness(a, 1_000, False, None) for a in ("spot", "futures", "bybit", "coinm")}
    c = HeaderContent("demo", "Demo book", 1_057_766.82, "USDT", fresh, "2026-12-05 15:29:47Z",
                      closed=True, pnl=3_825.83)
    plain = fit_header(c, 80).plain
    assert "TRADING CLOSED" in plain and "Demo book" in plain and "NAV 1,057,766.82 USDT" in plain, plain
    assert "P&L +3,825.83" in plain and "15:29:47Z" not in plain and len(plain) <= 80, plain
