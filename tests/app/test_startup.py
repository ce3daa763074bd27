"""Start-up order as the trader sees it: a header first, then the dashboard, then the venues;
snapshots from the feed's own thread reach the table."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

from console.app.app import RebalApp, Startup
from console.app.screens.dashboard import DashboardScreen
from console.core.errors import UserError
from tests.app.conftest import SIZE, make_app, settle
from tests.app.sample import T0, sample_config, sample_snapshot
from tests.app.test_journeys_emulator import until
from widgets.allocation_table import AllocationTable
from widgets.header import HeaderBar


async def test_the_header_comes_first_and_the_venues_after_the_dashboard() -> None:
    seen: dict[str, Any] = {}

    def connect(app: RebalApp) -> Any:  # the app calls this on a worker thread
        seen["dashboard shown"] = isinstance(app.screen, DashboardScreen)
        seen["thread"] = threading.get_ident()

        async def feed() -> AsyncIterator[Any]:
            yield sample_snapshot()

        return feed

    app = make_app(connect=connect)
    async with app.run_test(size=SIZE) as pilot:
        skeleton = app.screen_stack[0].query_one("#skeleton-header", HeaderBar)
        assert skeleton._content is not None and skeleton._content.mode == "demo"  # noqa: SLF001
        await until(pilot, lambda: app.state is not None, what="the first state")
        assert seen["dashboard shown"] is True  # the venues started once the dashboard was up
        assert seen["thread"] != threading.get_ident()
        nav = app.state.alloc.nav
        header = app.screen.query_one(HeaderBar)
        assert header._content is not None and header._content.nav == nav  # noqa: SLF001


async def test_a_snapshot_ingested_from_another_thread_reaches_the_table() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        moved = sample_snapshot(prices={"BTC": 95_000.0}, at=T0)
        th = threading.Thread(target=app.ingest, args=(moved,))  # as the feed's pump does
        th.start()
        th.join()
        await until(pilot, lambda: app.state is not None, what="the state")
        await settle(pilot)
        row = app.state.alloc.row("BTC")
        table = app.screen.query_one(AllocationTable)
        assert str(table.get_cell("S:BTC", "spot")) == f"{row.spot_value:,.0f}"
        assert app.state.alloc.prices["BTC"] == 95_000.0


async def test_the_demo_reads_its_config_after_the_skeleton_then_shows_the_dashboard_and_figures() -> None:
    seen: dict[str, Any] = {}
    release = threading.Event()

    def boot() -> Startup:  # the demo's start: on a worker thread once the skeleton is drawn
        seen["boot thread"] = threading.get_ident()
        release.wait(10)  # the test looks at the skeleton meanwhile

        def connect(app: RebalApp) -> Any:
            seen["dashboard shown"] = isinstance(app.screen, DashboardScreen)

            async def feed() -> AsyncIterator[Any]:
                yield sample_snapshot()

            return feed

        return Startup(sample_config(), connect)

    app = RebalApp(now_ms=lambda: T0, boot=boot)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        skeleton = app.screen_stack[0].query_one("#skeleton-header", HeaderBar)
        assert skeleton._content is not None and skeleton._content.mode == "demo"  # noqa: SLF001
        assert app.config is None and not app.is_screen_installed("dashboard")
        await pilot.press("1")  # no screen to switch to yet: nothing happens, nothing breaks
        assert app.config is None
        release.set()
        await until(pilot, lambda: app.state is not None, what="the first state")
        assert seen["boot thread"] != threading.get_ident()
        assert seen["dashboard shown"] is True
        assert app.config == sample_config() and app.mode.value == "demo"
        header = app.screen.query_one(HeaderBar)
        assert header._content is not None and header._content.nav == app.state.alloc.nav  # noqa: SLF001
        assert header._content.book == sample_config().portfolio.name  # noqa: SLF001


async def test_a_config_the_demo_cannot_read_ends_the_console_with_its_message() -> None:
    def boot() -> Startup:
        raise UserError("demo-portfolio.toml: sleeves[0].target: must be between 0 and 1")

    app = RebalApp(now_ms=lambda: T0, boot=boot)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.return_code is not None, what="the console to end")
    assert app.return_code == 2  # bad input, as before the UI
    assert isinstance(app.boot_error, UserError) and "sleeves[0].target" in str(app.boot_error)


async def test_a_state_finished_while_the_console_shuts_down_goes_nowhere() -> None:
    # the derive thread can post a state after the screens are taken down: it must not raise
    # (a traceback on the way out) by looking for widgets that are gone
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.ingest(sample_snapshot())
        await until(pilot, lambda: app.state is not None, what="the first state")
    assert not app.screen_stack and len(app.named_screens["dashboard"].children) == 0
    app._apply()  # noqa: SLF001 - what the state's message runs if it comes this late


def test_the_collector_runs_less_often_only_until_the_first_figures_are_painted(monkeypatch: Any) -> None:
    """Start-up's objects all live on, so the young generation is collected far less often
    until the first paint; then Python's own thresholds are back, so the running console's
    garbage is collected as usual (its memory does not grow by a start-up setting)."""
    import gc

    from console.app import app as app_module

    monkeypatch.setattr(app_module, "_startup_frozen", False)  # this process painted earlier tests
    monkeypatch.setattr(app_module, "_gc_thresholds", None)
    before = gc.get_threshold()
    try:
        app_module.collect_less_until_painted()
        assert gc.get_threshold() == (app_module.STARTUP_GC_GEN0, *before[1:])
        app_module.freeze_startup()  # the first figures are on the screen
        assert gc.get_threshold() == before
        app_module.collect_less_until_painted()  # a second console in this process: nothing to hold
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


async def test_the_venues_websockets_start_once_the_first_figures_are_painted(emulator: Any, tmp_path: Any) -> None:
    """The feed the console connects to reads its first snapshot over REST and holds the
    websockets back; once that snapshot's figures are on the screen the console starts them,
    with no poll in between (the emulator's clock is frozen: no poll ever comes due)."""
    from console import runtime
    from console.venues.demo import demo_config

    config = demo_config()
    services = runtime.Services(loop=runtime.ServiceLoop())
    try:
        feed = runtime.connect(config, services, emulator_url=emulator.url, clock=emulator.emulator.now_ms,
                               journal_path=tmp_path / "journal.sqlite3")
        app = RebalApp(config, feed=feed, services=services, now_ms=emulator.emulator.now_ms)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.applies > 0, what="the first figures")
            # both demo accounts that stream orders (spot over the ws-api, futures by listen key)
            await until(pilot, lambda: emulator.emulator.user_streams >= 2, what="the user data streams")
    finally:
        runtime.close(services)
