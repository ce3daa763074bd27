"""Every binding has an id and a description; help and the palette list them all."""

from __future__ import annotations

import pytest
from rich.console import Console
from textual.binding import Binding

from console.app.app import RebalApp
from console.app.palette import ConsoleCommands, binding_catalog
from console.app.screens.alerts import AlertsScreen
from console.app.screens.blotter import BlotterScreen
from console.app.screens.builder import BuilderScreen
from console.app.screens.confirm import ConfirmScreen
from console.app.screens.dashboard import DashboardScreen
from console.app.screens.first_run import FirstRunScreen
from console.app.screens.flows import FlowsScreen
from console.app.screens.help import HelpScreen, help_table
from console.app.screens.preflight import PreflightScreen
from console.app.screens.reconcile import ReconcileScreen
from console.app.screens.targets import TargetsScreen
from tests.app.conftest import SIZE, loaded, settle
from widgets.allocation_table import AllocationTable

OURS = (RebalApp, DashboardScreen, BuilderScreen, ConfirmScreen, BlotterScreen, HelpScreen, AlertsScreen,
        FlowsScreen, PreflightScreen, ReconcileScreen, FirstRunScreen, TargetsScreen, AllocationTable)


@pytest.mark.parametrize("cls", OURS, ids=lambda c: c.__name__)
def test_every_binding_has_id_and_description(cls: type) -> None:
    bindings = [b for b in cls.BINDINGS if isinstance(b, Binding)]
    assert bindings and len(bindings) == len(cls.BINDINGS)
    for b in bindings:
        assert b.id, f"{cls.__name__} {b.key} has no id"
        assert b.description, f"{cls.__name__} {b.key} has no description"
        assert b.tooltip, f"{cls.__name__} {b.key} has no tooltip (the help text)"


def test_binding_ids_are_unique() -> None:
    ids = [b.id for cls in OURS for b in cls.BINDINGS]
    assert len(ids) == len(set(ids))


async def test_help_lists_screen_and_global_bindings(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        dash = app.screen
        ids = {e.binding.id for e in binding_catalog(dash)}
        want = {b.id for b in DashboardScreen.BINDINGS} | {b.id for b in RebalApp.BINDINGS} | {
            b.id for b in AllocationTable.BINDINGS}
        assert want <= ids
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True)
        console.print(help_table(dash))
        text = console.export_text()
        for b in DashboardScreen.BINDINGS:
            assert b.description in text or b.tooltip in text
        await pilot.press("escape")
        assert app.screen is dash


async def test_palette_offers_every_action(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        provider = ConsoleCommands(app.screen)
        hits = [h async for h in provider.discover()]
        texts = " ".join(str(h.display) for h in hits)
        for b in (*DashboardScreen.BINDINGS, *RebalApp.BINDINGS):
            assert b.description in texts
        found = [h async for h in provider.search("kill switch")]
        assert found and "Kill" in str(found[0].match_display)
