"""The preflight checklist per account (``console.venues.preflight.run_preflight``), run on the
service loop: venue and mode, credentials, trading permission, position and margin mode,
leverage, hedge instruments, minimum order sizes; and for a paper account, what its paper
venue supports (the capability matrix)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from console.app.screens import paint_header
from widgets.capability_table import capability_table
from widgets.footer import KeyFooter
from widgets.header import HeaderBar

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.app.state import DashboardState

COLOUR = {True: "green", False: "bold red", None: "yellow"}


def checklist(results: list[Any]) -> Group:
    """One table per account, all with the same columns: the check's name in full, the
    detail taking the rest of the width (and folding)."""
    name_w = max((len(r.name) for ac in results for r in ac.results), default=12)
    parts = []
    for ac in results:
        label, style = ac.badge
        t = Table(title=Text.assemble((f" {label} ", style), f" {ac.account} ({ac.exchange})  ",
                                      ("ready" if ac.passed else "NOT READY", "green" if ac.passed else "bold red")),
                  title_justify="left", show_header=False, expand=True, box=None)
        t.add_column("", width=1, no_wrap=True)
        t.add_column("check", style="bold", width=name_w, no_wrap=True)
        t.add_column("detail", ratio=1, overflow="fold")
        for r in ac.results:
            t.add_row(Text(r.mark, style=COLOUR[r.ok]), r.name, r.detail)
        parts += [t, Text("")]
        if ac.capabilities:
            parts += [capability_table(ac.capabilities, expand=True), Text("")]
    return Group(*parts)


class PreflightScreen(Screen):
    TITLE = "Preflight"
    BINDINGS = [Binding("ctrl+r", "run", "Run again", id="preflight.run", tooltip="Run every check again")]

    app: RebalApp
    results: list[Any] | None = None  # the last run's AccountChecks (tests read them)

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with VerticalScroll():
            yield Static(Text("running the checks…", style="dim"), id="pf-body")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self._header()
        self.action_run()

    @work(exclusive=True, group="preflight", exit_on_error=False)
    async def action_run(self) -> None:
        from console.venues.preflight import run_preflight

        app = self.app
        services = app.services
        if services.credentials is None:
            self.query_one("#pf-body", Static).update(Text(
                "no venue connection in this session (state injected): run `rebal-tui preflight`", style="yellow"))
            return
        body = self.query_one("#pf-body", Static)
        body.update(Text("running the checks…", style="dim"))
        try:
            results = await services.call(run_preflight(app.config, services.credentials,
                                                        emulator_url=services.emulator_url))
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            body.update(Text(f"preflight failed: {exc}", style="bold red"))
            return
        self.results = list(results)
        body.update(checklist(results))

    def show_state(self, state: DashboardState) -> None:
        self._header()

    def tick(self) -> None:
        """Every second (the app's clock): the data ages grow while no new state comes."""
        self._header()

    def _header(self) -> None:
        paint_header(self, "Preflight")
