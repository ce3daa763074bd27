"""The alerts panel keeps newest first as alerts arrive, adding only the new rows."""

from __future__ import annotations

from textual.app import App, ComposeResult

from console.core.alerts import Alert, Severity
from tests.app.conftest import SIZE
from widgets.alerts_panel import AlertItem, AlertsPanel


def item(seq: int, acked: bool = False) -> AlertItem:
    return AlertItem(seq, Alert(f"band:S{seq}", "band", Severity.WARN, f"S{seq}", f"alert number {seq}",
                                1_700_000_000_000 + seq * 1000), acked)


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield AlertsPanel(id="p")


async def test_new_alerts_go_on_top_and_acknowledgements_show() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(AlertsPanel)
        panel.show([item(1), item(2), item(3)])
        await pilot.pause()
        panel.move_cursor(row=2)
        panel.show([item(1), item(2, acked=True), item(3), item(4), item(5)])
        await pilot.pause()
        keys = [panel.coordinate_to_cell_key((r, 0)).row_key.value for r in range(panel.row_count)]
        assert keys == ["5", "4", "3", "2", "1"]  # newest first
        assert str(panel.get_cell("2", "msg")).startswith("✓ ")  # the acknowledgement is shown
        assert str(panel.get_cell("5", "msg")) == "alert number 5"
        assert panel.cursor_row == 0  # the newest alert under the cursor, as a rebuild left it
        panel.show([item(9)])  # a list that is not the shown one plus new alerts: rebuilt
        await pilot.pause()
        assert panel.row_count == 1 and panel.get_row_at(0)[2].plain == "alert number 9"
