"""The P&L screen and the header's total without a venue: a report on the sample state
(tests/app/scenes.py), its figures as the table shows them, and the header's total."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from console.app.messages import PnlReady
from console.app.screens.pnl import PnlScreen
from console.core.freshness import Freshness
from console.core.numbers import money
from console.core.pnl import PnlReport
from tests.app.conftest import SIZE, settle
from tests.app.scenes import _load, sample_pnl, scene_app
from widgets.header import HeaderContent, header_text


async def open_pnl(pilot) -> PnlReport:
    """The sample state and its P&L report delivered, then the P&L screen (`7`) on show."""
    app = pilot.app
    await _load(pilot)
    report, history = sample_pnl(app.state.alloc)
    app.post_message(PnlReady(report, history))
    await settle(pilot)
    await pilot.press("7")
    await settle(pilot)
    return report


async def test_the_screen_shows_each_position_and_sleeve_and_the_header_its_total() -> None:
    app = scene_app()
    async with app.run_test(size=SIZE) as pilot:
        report = await open_pnl(pilot)
        assert isinstance(app.screen, PnlScreen)
        table = app.screen.query_one("#pnl-positions", DataTable)
        cols = [str(c.key.value) for c in table.ordered_columns]
        for p in report.positions:
            row = table.get_row(f"{p.account}|{p.symbol}")
            # net = unrealised + realised + funding − fees, each as the table prints it
            assert str(row[cols.index("net")]) == money(p.upnl + p.realised + p.funding - p.fees)
            assert str(row[cols.index("entry")]) == f"{p.entry:,.2f}"
        sleeves = app.screen.query_one("#pnl-sleeves", DataTable)
        scols = [str(c.key.value) for c in sleeves.ordered_columns]
        for h in report.sleeves:
            row = sleeves.get_row(h.sleeve)
            assert str(row[scols.index("offset")]) == f"{-h.overlay / h.spot * 100:.2f}%"
        t = report.totals
        total = t.upnl + t.realised + t.funding - t.fees
        assert f"overlay P&L {'+' if total > 0 else ''}{money(total)}" in str(app.screen.query_one("#header").render())


@pytest.mark.parametrize("pnl", [-0.001, 0.004])
def test_a_total_of_nothing_reads_zero_not_minus_zero(pnl: float) -> None:
    c = HeaderContent("demo", "Book", 1_000.0, "USDT", {"spot": Freshness("spot", 0, False, None)},
                      "2026-11-21 12:00:00Z", pnl=pnl)
    text = header_text(c).plain
    assert "overlay P&L 0.00" in text and "-0.00" not in text


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
async def test_the_total_line_shows_every_term_whole(size: tuple[int, int]) -> None:
    app = scene_app()
    async with app.run_test(size=size) as pilot:
        report = await open_pnl(pilot)
        w = app.screen.query_one("#pnl-totals")
        shown = " ".join("".join(s.text for s in w.render_line(y)).strip() for y in range(w.size.height))
        t = report.totals
        # every term of net = uPnL + realised + funding − fees, label beside its figure, none cut
        for term in (f"uPnL {money(t.upnl)}", f"realised {money(t.realised)}", f"funding {money(t.funding)}",
                     f"fees {money(t.fees)}", f"Overlay {money(t.upnl + t.realised + t.funding - t.fees)}"):
            assert term in shown, (term, shown)
        assert "…" not in shown


@pytest.mark.parametrize(("span_ms", "unit", "per"), [
    (30_000, "seconds", 1_000),  # a fresh demo: 30 s of history, never "0.0081 hours"
    (45 * 60_000, "minutes", 60_000),
    (20 * 3_600_000, "hours", 3_600_000),
    (17 * 86_400_000, "days", 86_400_000),
])
def test_the_history_plot_counts_time_in_a_unit_its_span_reads_in(span_ms: int, unit: str, per: int) -> None:
    from widgets.pnl_view import time_axis

    assert time_axis(span_ms) == (unit, per)
    # the ticks then read as whole-ish numbers: the span is at least 1 and under 120 of the unit
    assert 1 <= span_ms / per < 120 or unit == "days"
