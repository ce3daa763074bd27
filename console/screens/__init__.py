"""The console's screens, by the name the app's `1`…`6` keys show them under."""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen


def _dashboard() -> Screen:
    from console.screens.dashboard import DashboardScreen

    return DashboardScreen()


def _builder() -> Screen:
    from console.screens.builder import BuilderScreen

    return BuilderScreen()


def _blotter() -> Screen:
    from console.screens.blotter import BlotterScreen

    return BlotterScreen()


def _alerts() -> Screen:
    from console.screens.alerts import AlertsScreen

    return AlertsScreen()


def _flows() -> Screen:
    from console.screens.flows import FlowsScreen

    return FlowsScreen()


def _preflight() -> Screen:
    from console.screens.preflight import PreflightScreen

    return PreflightScreen()


SCREENS: dict[str, Callable[[], Screen]] = {
    "dashboard": _dashboard, "builder": _builder, "blotter": _blotter, "alerts": _alerts,
    "flows": _flows, "preflight": _preflight,
}
