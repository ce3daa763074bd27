"""Small windows, the limits: below the minimum size a notice instead of cut columns; toasts
never over key hints; alert text uses the panel's width."""

from __future__ import annotations

from console.app.screens.dashboard import DashboardScreen
from console.app.screens.too_small import MIN_SIZE, TooSmallScreen
from tests.app.conftest import loaded, make_app, sample_confirmation, settle
from widgets.alerts_panel import AlertsPanel, fit_lines
from widgets.footer import KeyFooter


async def test_below_the_minimum_a_notice_and_back_when_it_fits() -> None:
    app = make_app()
    async with app.run_test(size=(MIN_SIZE[0] - 10, MIN_SIZE[1] - 4)) as pilot:
        await loaded(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        text = str(app.screen.query_one("#too-small-text").render()).replace("\n", " ")
        assert "window too small" in text and f"{MIN_SIZE[0]}×{MIN_SIZE[1]}" in text
        await pilot.press("3")  # nothing would fit: the notice stays
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(*MIN_SIZE)
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.resize_terminal(MIN_SIZE[0], MIN_SIZE[1] - 1)  # one row short is too small
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(120, 36)
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not any(isinstance(s, TooSmallScreen) for s in app.screen_stack)


def overlaps(a, b) -> bool:
    return bool(a.intersection(b).area)


async def test_toasts_never_cover_the_footer_or_a_modals_keys() -> None:
    app = make_app()
    async with app.run_test(size=MIN_SIZE, notifications=True) as pilot:
        await loaded(pilot)  # four alerts: four toasts
        app.notify("ticket confirmed; sending", timeout=30)
        await pilot.pause(0.3)
        footer = app.screen.query_one(KeyFooter).region
        toasts = [t.region for t in app.screen.query("Toast")]
        assert toasts and not any(overlaps(t, footer) for t in toasts)
        await sample_confirmation(pilot)
        app.notify("another toast", timeout=30)
        await pilot.pause(0.3)
        prompt = app.screen.query_one("#confirm-prompt").region
        toasts = [t.region for t in app.screen.query("Toast")]
        assert toasts and not any(overlaps(t, prompt) for t in toasts)


def test_fit_lines_wraps_at_words_and_cuts_the_last_line() -> None:
    msg = "ALTS breached its band: drift +2.19 pp (band ±2.00 pp)"
    assert fit_lines(msg, 20, 2) == "ALTS breached its\nband: drift +2.19…"
    assert fit_lines("short", 20, 2) == "short"
    assert all(len(line) <= 20 for line in fit_lines(msg, 20, 2).splitlines())


async def test_a_narrow_alerts_panel_gives_each_alert_two_lines() -> None:
    app = make_app()
    async with app.run_test(size=MIN_SIZE) as pilot:
        await loaded(pilot)
        panel = app.screen.query_one(AlertsPanel)
        width = panel.size.width - AlertsPanel.FIXED
        assert width < AlertsPanel.TWO_LINES_BELOW
        shown = [str(panel.get_row_at(i)[2]) for i in range(panel.row_count)]
        assert all(len(s.splitlines()) <= 2 and all(len(x) <= width for x in s.splitlines()) for s in shown)
        assert any(len(s.splitlines()) == 2 for s in shown)  # the second line is used
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        panel = app.screen.query_one(AlertsPanel)
        shown = [str(panel.get_row_at(i)[2]) for i in range(panel.row_count)]
        assert all(len(s.splitlines()) == 1 for s in shown if s)  # rows without an alert are blank
