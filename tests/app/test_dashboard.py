"""Dashboard: the table by key, expand, sort, goal, alerts with ack, live-update coalescing."""

from __future__ import annotations

from dataclasses import replace

from console.app.app import RebalApp
from console.app.messages import StateReady
from console.app.screens.dashboard import DashboardScreen
from tests.app.conftest import SIZE, loaded, make_app, settle
from tests.app.sample import T0, sample_snapshot
from widgets.alerts_panel import AlertsPanel
from widgets.allocation_table import AllocationTable
from widgets.header import HeaderBar


async def test_first_state_fills_table_header_and_alerts() -> None:
    seen: list[StateReady] = []
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=lambda m: seen.append(m) if isinstance(m, StateReady) else None) as pilot:
        await loaded(pilot)
        assert len(seen) == 1
        st = seen[0].state
        assert {r.name for r in st.alloc.rows} == {"BTC", "ETH", "ALTS", "STABLE"}
        table = app.screen.query_one(AllocationTable)
        assert [k.value for k in table.rows] == ["S:BTC", "S:ETH", "S:ALTS", "S:STABLE"]
        assert str(table.get_cell("S:ALTS", "status")) == "breach"
        assert str(table.get_cell("S:BTC", "status")) == "warn"
        header = str(app.screen.query_one(HeaderBar).render())
        assert "DEMO" in header and "436,400.00" in header
        kinds = sorted(i.alert.key for i in app.alerts)
        assert "band:ALTS:breach" in kinds and "band:BTC:warn" in kinds
        assert any(k.startswith("funding:futures:SOL") for k in kinds)  # +87.6 %/yr spikes


async def test_expand_sleeve_shows_assets_and_positions(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.screen.query_one(AllocationTable)
        await pilot.press("enter")  # cursor starts on BTC
        keys = [k.value for k in table.rows]
        assert keys[:3] == ["S:BTC", "A:BTC:BTC", "P:BTC:futures:BTC/USDT:USDT"]
        await pilot.press("enter")
        assert [k.value for k in table.rows] == ["S:BTC", "S:ETH", "S:ALTS", "S:STABLE"]


async def test_sort_cycles_columns(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.screen.query_one(AllocationTable)
        await pilot.press("o")  # by name
        assert [k.value for k in table.rows] == ["S:ALTS", "S:BTC", "S:ETH", "S:STABLE"]
        await pilot.press("o")  # by net exposure, ascending
        assert [k.value for k in table.rows][0] == "S:ALTS"
        await pilot.press("O")
        assert [k.value for k in table.rows][0] == "S:BTC"


async def test_goal_toggle_changes_delta_column(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.screen.query_one(AllocationTable)
        to_target = str(table.get_cell("S:ALTS", "delta"))
        await pilot.press("g")
        to_band = str(table.get_cell("S:ALTS", "delta"))
        row = app.state.alloc.row("ALTS")
        assert to_target == f"{row.delta_target:,.0f}" == "-9,540"
        assert to_band == f"{row.delta_band:,.0f}" == "-812"  # down to the band's upper edge, 17 %


async def test_update_writes_only_changed_cells(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.screen.query_one(AllocationTable)
        before = table.cells_written
        app.ingest(sample_snapshot())  # the same world again: nothing to write
        await settle(pilot)
        assert table.cells_written == before
        applies = app.applies
        app.ingest(sample_snapshot(prices={"ETH": 3_010.0}))  # one price moves
        await settle(pilot)
        for _ in range(40):  # applies are spaced by what the last one cost to paint
            if app.applies > applies:
                break
            await pilot.pause(0.05)
        written = table.cells_written - before
        assert 0 < written < 4 * 9  # some cells of some rows, never a rebuild of the table
        assert [k.value for k in table.rows] == ["S:BTC", "S:ETH", "S:ALTS", "S:STABLE"]


async def test_bursts_coalesce_into_few_repaints(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        applies = app.applies
        for i in range(200):
            app.ingest(sample_snapshot(prices={"BTC": 90_000.0 + i}))
        await settle(pilot, rounds=6)
        await pilot.pause(0.2)
        assert app.applies - applies < 20  # 200 snapshots, a handful of applies
        table = app.screen.query_one(AllocationTable)
        st = app.state
        assert st is not None and st.alloc.prices["BTC"] == 90_199.0  # the newest one won
        assert str(table.get_cell("S:BTC", "spot")) == f"{st.alloc.row('BTC').spot_value:,.0f}"


async def test_acknowledge_alert(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        panel = app.screen.query_one(AlertsPanel)
        newest = max(i.seq for i in app.alerts)
        await pilot.press("a")  # the alerts cursor starts on the newest
        await settle(pilot)
        acked = {i.seq for i in app.alerts if i.acked}
        assert acked == {newest}
        row = panel.row_of(newest)
        assert row == 0 and str(panel.get_row_at(row)[2]).startswith("✓ ")
        await pilot.press("A")  # every alert, from the dashboard as on the alerts screen
        await settle(pilot)
        assert all(i.acked for i in app.alerts)


async def test_alerts_fire_on_transitions_only(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        n = len(app.alerts)
        app.ingest(sample_snapshot())
        await settle(pilot)
        assert len(app.alerts) == n  # still breached: no new alert
        snap = sample_snapshot()
        stale = replace(snap.accounts["futures"], fetched_at={p: T0 - 120_000 for p in snap.accounts["futures"].fetched_at})
        app.ingest(snap.with_account(stale))
        await settle(pilot)
        assert any(i.alert.key == "stale:futures" for i in app.alerts[n:])


async def test_screens_switch_by_number(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for key, title in (("4", "Alerts"), ("5", "Quarter-end flows"), ("3", "Blotter"), ("1", "Dashboard")):
            await pilot.press(key)
            await settle(pilot)
            assert title == app.screen.TITLE
        assert isinstance(app.screen, DashboardScreen)


async def test_short_terminal_keeps_the_mode_badge_and_nav_in_sight() -> None:
    """At 80×24 (a default SSH window) the dashboard fits without scrolling, and the header
    with the mode badge and NAV is docked: moving focus down the screen never scrolls it away."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert screen.max_scroll_y == 0
        table = screen.query_one(AllocationTable)
        assert app.focused is table
        await pilot.press("tab")
        await settle(pilot)
        assert app.focused is not table  # tab moves to the next pane (the risk panel)
        header = screen.query_one(HeaderBar)
        assert header.region.y == 0 and header.region.height == 1
        assert "DEMO" in str(header.render()) and "NAV" in str(header.render())
        assert screen.query_one("#lower").region.bottom <= 23  # above the footer


async def test_band_alerts_raised_together_share_one_toast(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        band = [i.alert for i in app.alerts if i.alert.kind == "band"]
        assert len(band) == 3  # BTC and STABLE warn, ALTS breaches: each in the panel and journal
        toasts = [n for n in app._notifications if "band" in n.title]  # noqa: SLF001 - what the trader saw
        assert [(n.title, n.severity) for n in toasts] == [("3 band alerts", "error")]
        breach = next(a for a in band if a.key == "band:ALTS:breach")
        assert toasts[0].message == f"{breach.message}; and 2 more (4: every alert)"  # the worst named first
        # other kinds keep a toast each (the funding spike)
        assert any(n.title == "funding" for n in app._notifications)  # noqa: SLF001


async def test_drift_history_follows_new_points_and_the_cursor_at_most_every_gap(
        app: RebalApp, monkeypatch) -> None:  # noqa: ANN001
    import types

    import console.app.screens.dashboard as dashboard

    clock = [1000.0]  # the screen's pacing clock, moved by hand
    monkeypatch.setattr(dashboard, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    gap = DashboardScreen.SPARK_GAP_S
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = app.screen
        spark = screen.query_one(dashboard.DriftSpark)
        table = screen.query_one(AllocationTable)
        sleeve = spark._data[0]  # noqa: SLF001 - what the chart draws: (sleeve, points, band)
        history = app.drift_history[sleeve]

        def newest() -> float:
            return spark._data[1][-1]  # noqa: SLF001

        async def due_redraw() -> None:  # the redraw a timer holds (real time: bounded, not exact)
            for _ in range(100):
                if screen._spark_pace.timer is None:  # noqa: SLF001
                    return
                await pilot.pause(gap)
            raise AssertionError("the drift history's redraw never came")

        await due_redraw()  # one the first state's paint may have left due
        clock[0] += 1.0
        history.append(0.5)
        screen.show_state(app.state)
        assert newest() == 0.5  # the last redraw was long ago: at once
        history.append(0.7)
        screen.show_state(app.state)
        assert newest() == 0.5  # within the gap: not yet
        clock[0] += gap
        await due_redraw()
        assert newest() == 0.7

        await pilot.press("down")  # the cursor on another sleeve: its history follows
        await pilot.pause()
        clock[0] += gap
        await due_redraw()
        assert spark._data[0] == table.current_sleeve() != sleeve  # noqa: SLF001
