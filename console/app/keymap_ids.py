"""Every binding id the console declares, from every screen's bindings: what a user keymap
may remap (``keymap.toml``). Its own module, above the screens and the App it lists."""

from __future__ import annotations

from textual.binding import Binding


def all_binding_ids() -> frozenset[str]:
    """Every binding id the console declares: what a user keymap may remap."""
    from console.app.app import RebalApp
    from console.app.screens.alerts import AlertsScreen
    from console.app.screens.blotter import BlotterScreen
    from console.app.screens.builder import BuilderScreen
    from console.app.screens.confirm import ConfirmScreen, QuitScreen
    from console.app.screens.dashboard import DashboardScreen
    from console.app.screens.first_run import FirstRunScreen
    from console.app.screens.flows import FlowsScreen
    from console.app.screens.help import HelpScreen
    from console.app.screens.preflight import PreflightScreen
    from console.app.screens.reconcile import ReconcileScreen
    from console.app.screens.targets import TargetsScreen
    from widgets.allocation_table import AllocationTable
    from widgets.inputs import NumberInput

    classes = (RebalApp, AlertsScreen, BlotterScreen, BuilderScreen, ConfirmScreen, QuitScreen, DashboardScreen,
               FirstRunScreen, FlowsScreen, HelpScreen, PreflightScreen, ReconcileScreen, TargetsScreen,
               AllocationTable, NumberInput)
    return frozenset(b.id for cls in classes for b in cls.BINDINGS if isinstance(b, Binding) and b.id)
