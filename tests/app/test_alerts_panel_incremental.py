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


ROWS = 5  # the fixed panel below: 6 lines high, the header takes one


class FixedHost(App[None]):
    CSS = f"AlertsPanel {{ height: {ROWS + 1}; }}"

    def compose(self) -> ComposeResult:
        yield AlertsPanel(id="p", fixed=True)


def messages(panel: AlertsPanel) -> list[str]:
    return [panel.get_row_at(r)[2].plain for r in range(panel.row_count)]


async def test_the_dashboards_panel_rewrites_rows_it_made_once() -> None:
    app = FixedHost()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(AlertsPanel)
        await pilot.pause()
        panel.show([item(1), item(2)])
        await pilot.pause()
        assert messages(panel) == ["alert number 2", "alert number 1", "", "", ""]
        await pilot.press("down", "down", "down")
        assert panel.cursor_row == 1  # not onto a row without an alert
        panel.show([item(i) for i in range(1, 10)])
        await pilot.pause()
        # as many rows as fit, the newest first; no row added for the seven new alerts
        assert messages(panel) == [f"alert number {n}" for n in range(9, 9 - ROWS, -1)]
        assert panel.row_count == ROWS and panel.cursor_row == 0
        panel.show([*(item(i) for i in range(1, 8)), item(8, acked=True), item(9)])
        await pilot.pause()
        assert messages(panel)[1].startswith("✓ ") and panel.row_of(8) == 1
        assert panel.row_of(1) is None  # an older alert is on the alerts screen, not here


async def test_acknowledge_all_on_the_dashboards_panel_takes_the_alerts_it_has_no_row_for() -> None:
    app = FixedHost()
    acked: list[tuple[int, ...]] = []
    async with app.run_test(size=SIZE, message_hook=lambda m: acked.append(m.seqs)
                            if isinstance(m, AlertsPanel.Acknowledge) else None) as pilot:
        panel = app.query_one(AlertsPanel)
        await pilot.pause()
        panel.show([item(i, acked=i == 3) for i in range(1, 10)])
        await pilot.pause()
        panel.action_acknowledge_all()
        await pilot.pause()
        # (the hook sees the message at each node it bubbles through)
        assert set(acked) == {tuple(i for i in range(1, 10) if i != 3)}  # nine alerts, five rows; one acked already
