"""What a screen listens to, as protocols: the App hands each kind of news to the screens that
implement it, by type, instead of probing them for method names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from console.app.state import DashboardState
    from console.core.pnl import PnlReport, PnlSample
    from widgets.alerts_panel import AlertItem


@runtime_checkable
class ShowsState(Protocol):
    def show_state(self, state: DashboardState) -> None: ...


@runtime_checkable
class ShowsAlerts(Protocol):
    def show_alerts(self, items: list[AlertItem]) -> None: ...


@runtime_checkable
class ShowsBlotter(Protocol):
    def refresh_blotter(self) -> None: ...


@runtime_checkable
class ShowsPnl(Protocol):
    def show_pnl(self, report: PnlReport | None, history: Sequence[PnlSample]) -> None: ...


@runtime_checkable
class Ticks(Protocol):
    """Every second (the app's clock): data ages grow while no new state comes."""

    def tick(self) -> None: ...
