"""The allocation table draws a line again only when its row changed: a line or cell rewritten
twice is served from the cache at its newest version, not drawn on every repaint."""

from __future__ import annotations

from textual.cache import LRUCache
from textual.widgets import DataTable

from tests.app.conftest import SIZE, settle
from tests.app.test_table_offscreen import QTY, wide_app, wide_snapshot
from widgets.allocation_table import AllocationTable, _versioned


def test_a_value_made_at_an_older_version_is_replaced_and_the_newest_is_served() -> None:
    cache: LRUCache[tuple[object, ...], tuple[int, str]] = LRUCache(4)
    made: list[str] = []

    def make(text: str):  # noqa: ANN202
        return lambda: made.append(text) or text

    assert _versioned(cache, ("k",), 0, make("v0")) == "v0"
    assert _versioned(cache, ("k",), 1, make("v1")) == "v1"
    assert _versioned(cache, ("k",), 2, make("v2")) == "v2"
    assert _versioned(cache, ("k",), 2, make("again")) == "v2"  # same version: not made again
    assert made == ["v0", "v1", "v2"]
    assert len(cache) == 1  # one entry per key, whatever its history


async def test_a_tick_draws_again_only_the_lines_whose_figures_changed(monkeypatch) -> None:  # noqa: ANN001
    app = wide_app()
    async with app.run_test(size=SIZE) as pilot:
        app.ingest(wide_snapshot({}))
        await settle(pilot)
        table = app.screen.query_one(AllocationTable)
        for price in (250.0, 260.0):  # every row on screen rewritten twice (the weights move with NAV)
            app.ingest(wide_snapshot({1: price}))
            await settle(pilot)

        drawn: set[str] = set()
        real = DataTable._render_line_in_row

        def counting(self, row_key, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            drawn.add(row_key.value)
            return real(self, row_key, *args, **kwargs)

        monkeypatch.setattr(DataTable, "_render_line_in_row", counting)
        # S01 up and S02 down by the same value: NAV, and so every other row's figures, unchanged
        up, down = 260.0 + 10.0, 100.0 - 10.0
        app.ingest(wide_snapshot({1: up, 2: down}))
        await settle(pilot)
        assert drawn == {"S:S01", "S:S02"}
        line = table.render_line(table.get_row_index("S:S01") + 1).text  # the header is line 0
        assert f"{QTY * up:,.0f}" in line
