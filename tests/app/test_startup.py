"""Start-up order as the trader sees it: a header first, then the dashboard, then the venues;
snapshots from the feed's own thread reach the table."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

from console.app.app import RebalApp
from console.app.screens.dashboard import DashboardScreen
from tests.app.conftest import SIZE, make_app, settle
from tests.app.sample import T0, sample_snapshot
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
