"""The console's screens, by the name the app's `1`…`8` keys show them under."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.screen import Screen


def clock_text(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def paint_header(screen: Screen, book: str | None = None) -> None:
    """``screen``'s header bar from the app's state and clock. One place, so every screen shows
    the same mode badge, NAV and data ages; ``book`` names the screen (the portfolio's name on
    the dashboard)."""
    from widgets.header import HeaderBar

    app = screen.app
    st = app.state
    now = app.now_ms()
    executor = app.services.executor if app.services is not None else None
    closed = executor is not None and not executor.trading_allowed
    config = app.config  # None on the skeleton of a start whose config is still being read
    if st is not None:
        # imported here: it needs the config models, which come after the first frame
        from console.core.freshness import freshness

        fresh = freshness(st.snapshot, st.stale, now)
    else:
        fresh = {}  # no data, no ages
    # no bar yet when a tick or a state comes between a screen's switch and its compose
    for bar in screen.query(HeaderBar):
        bar.show(mode=app.mode.value, book=book or (config.portfolio.name if config else ""),
                 nav=st.alloc.nav if st else None,
                 quote=st.alloc.quote if st else (config.portfolio.quote if config else ""),
                 fresh=fresh,
                 clock=clock_text(now), closed=closed, journal_down=app.journal_down is not None,
                 pnl=app.pnl_total())


def _dashboard() -> Screen:
    from console.app.screens.dashboard import DashboardScreen

    return DashboardScreen()


def _builder() -> Screen:
    from console.app.screens.builder import BuilderScreen

    return BuilderScreen()


def _blotter() -> Screen:
    from console.app.screens.blotter import BlotterScreen

    return BlotterScreen()


def _alerts() -> Screen:
    from console.app.screens.alerts import AlertsScreen

    return AlertsScreen()


def _flows() -> Screen:
    from console.app.screens.flows import FlowsScreen

    return FlowsScreen()


def _pnl() -> Screen:
    from console.app.screens.pnl import PnlScreen

    return PnlScreen()


def _preflight() -> Screen:
    from console.app.screens.preflight import PreflightScreen

    return PreflightScreen()


def _targets() -> Screen:
    from console.app.screens.targets import TargetsScreen

    return TargetsScreen()


SCREENS: dict[str, Callable[[], Screen]] = {
    "dashboard": _dashboard, "builder": _builder, "blotter": _blotter, "alerts": _alerts,
    "flows": _flows, "preflight": _preflight, "pnl": _pnl, "targets": _targets,
}
