"""The Textual console: dashboard, spread builder, confirmation, blotter, help, palette.

Data flows one way. A feed worker pulls Snapshots from the venue layer (or a test injects
them with ``ingest``); a derive worker (a thread) turns the newest one into a frozen
``DashboardState`` (allocation, risk readings, alerts) and posts it; the UI applies it, at most
``APPLY_HZ`` times a second, by key and changed cells only. A burst of snapshots collapses
into the newest, so input never waits on I/O or on maths.

The derived state lives in ``console.app.state``, the messages in ``console.app.messages``,
the services in ``console.runtime``; worker failures are handled once, in
``on_worker_state_changed``.

Start-up: this module imports Textual and little else, so that the first frame (the header's
skeleton) is on the terminal before the config models (pydantic), the dashboard and the maths
are imported. The demo's start (``boot``) reads its config on a worker thread after that frame;
the modules the figures need are imported where they are first used.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.app.listeners import ShowsAlerts, ShowsBlotter, ShowsPnl, ShowsState, Ticks
from console.app.messages import (
    AlertsChanged,
    ExecEvent,
    FeedStatus,
    JournalChanged,
    JournalHealth,
    PnlReady,
    StateReady,
    TicketFinished,
)
from console.app.pacing import Pace
from console.app.screens import paint_header
from console.core.clock import Clock, wall_ms
from console.core.errors import UserError
from console.core.mode import Mode
from console.runtime import Services
from widgets.header import HeaderBar

if TYPE_CHECKING:  # imported where used: none of them is needed for the first frame
    from textual.command import Provider

    from console.app.desk import TradingDesk
    from console.app.state import DashboardState
    from console.core.alerts import Alert, Severity
    from console.core.config import Config, Goal
    from console.core.pnl import PnlReport, PnlSample
    from console.core.snapshot import Snapshot
    from widgets.alerts_panel import AlertItem

L = TypeVar("L")

APPLY_HZ = 20.0
DERIVE_HZ = APPLY_HZ  # states derived per second at most (a burst of snapshots collapses into the newest)
APPLY_SHARE = 0.25  # the most of the UI thread's time that applying states may take
APPLY_MAX_GAP_S = 0.25  # however slow the machine, the figures are at most this much behind
RECONCILE_WAIT_S = 5.0  # the startup reconciliation opens after this long without a first state
HISTORY = 240  # points of drift and funding history kept per sleeve / symbol
BAND_TOAST_GAP_S = 2.0  # band alerts share one toast at most this often (the panel shows each at once)
PNL_REFRESH_S = 30.0  # the overlay's trades and funding are re-read this often (and after each ticket)


def _console_commands() -> type[Provider]:
    from console.app.palette import ConsoleCommands

    return ConsoleCommands


def _export_commands() -> type[Provider]:
    from console.app.palette import ExportCommands

    return ExportCommands


@dataclass(frozen=True)
class Startup:
    """What the console starts on: the config and where it came from, how to reach the venues
    (``connect``, on a worker thread once the dashboard is drawn) and the user's keymap. Built
    by ``console.cli.launch``, before the terminal is taken or, for the demo, by ``boot``."""

    config: Config
    connect: Callable[[RebalApp], Callable[[], AsyncIterator[Any]]] | None = None
    first_run: Path | None = None  # no config file there yet: ask (init or the demo) before connecting
    # where the targets screen (8) saves, and the text the running config came from; in demo
    # mode a user copy, never the packaged sample
    config_path: Path | None = None
    config_text: str | None = None
    config_is_demo: bool = False
    # the user's keymap file (binding id -> keys), applied on mount; what it got wrong is said
    # in a toast, the rest still applies
    keymap: Mapping[str, str] = field(default_factory=dict)
    keymap_problems: Sequence[str] = ()


class RebalApp(App[int]):
    TITLE = "rebal-tui"
    # inline, not a .tcss file: the package ships Python files only (no package-data for it)
    CSS = """
    Screen { background: $surface; }
    #main-table { height: 1fr; min-height: 8; }
    /* the lower panes take up to 20 rows and give way first on a short terminal (SSH at 24 rows) */
    #lower { height: 3fr; min-height: 9; max-height: 20; }
    #risk { width: 58; border: round $primary-darken-2; border-title-color: $text-muted; padding: 0 1; }
    #right { width: 1fr; }
    #alerts-panel { height: 9; border: round $primary-darken-2; border-title-color: $text-muted; }
    #funding-plot { height: 1fr; border: round $primary-darken-2; border-title-color: $text-muted; }
    /* narrow terminals: risk and alerts share the width; the funding plot (a picture of the
       risk panel's own rates) gives its rows to the alerts */
    DashboardScreen.-narrow #risk { width: 42; }
    DashboardScreen.-narrow #funding-plot { display: none; }
    DashboardScreen.-narrow #alerts-panel { height: 1fr; }
    DriftSpark { padding: 0 1; }
    /* the focused field is the one the keys go to: plainly marked, not a shade darker */
    Input:focus { background: $accent 40%; text-style: bold; }
    Select:focus > SelectCurrent { background: $accent 40%; text-style: bold; }
    /* toasts never cover key hints: above the footer on a screen, and above a modal's prompt
       (up to two lines and its border on a window the modal fills). The last toast's own
       bottom edge takes one row of the margin. */
    ToastRack { margin-bottom: 2; }
    ModalScreen > ToastRack { margin-bottom: 5; }
    """
    COMMANDS = App.COMMANDS | {_console_commands, _export_commands}  # imported when the palette opens
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?", id="app.help",
                tooltip="Every key of this screen and the global ones"),
        Binding("1", "show('dashboard')", "Dashboard", id="app.dashboard", tooltip="Allocation, risk and alerts"),
        Binding("2", "show('builder')", "Builder", id="app.builder",
                tooltip="Spread builder: legs, costs and what-if before confirming"),
        Binding("3", "show('blotter')", "Blotter", id="app.blotter", tooltip="Working orders and fills per ticket"),
        Binding("4", "show('alerts')", "Alerts", id="app.alerts", tooltip="Every alert this session, with acknowledgement"),
        Binding("5", "show('flows')", "Flows", id="app.flows", tooltip="Quarter-end flows of multi-asset funds"),
        Binding("6", "show('preflight')", "Preflight", id="app.preflight", show=False,
                tooltip="Preflight checklist per account"),
        Binding("7", "show('pnl')", "P&L", id="app.pnl",
                tooltip="Overlay P&L per position and sleeve; NAV history"),
        # priority: a modal (a confirmation, the reconciliation report) must not swallow the
        # kill switch; a focused field that types letters still gets its K (action_kill)
        Binding("8", "show('targets')", "Targets", id="app.targets",
                tooltip="Targets, bands and warn share, edited in place"),
        Binding("K", "kill", "Kill", key_display="K", id="app.kill", priority=True,
                tooltip="Kill switch: cancel, then flatten the overlay (asks first)"),
        Binding("R", "reconcile", "Reconcile", id="app.reconcile", show=False,
                tooltip="Journal vs venues; trading opens when you accept it"),
        Binding("ctrl+b", "toggle_bell", "Bell", id="app.bell", show=False,
                tooltip="Turn the terminal bell on alerts on or off"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave the console"),
    ]

    def get_system_commands(self, screen: Any) -> Any:
        """Textual's own palette commands, less those the console's bindings already list
        (Quit is `q`, Keys is `?`): each action once. The screenshot goes to a folder that
        exists, and says where."""
        from textual.app import SystemCommand

        for cmd in super().get_system_commands(screen):
            if cmd.title in ("Quit", "Keys"):
                continue
            if cmd.title == "Screenshot":
                cmd = SystemCommand("Screenshot", f"Save an SVG picture of the screen to {screenshots_dir()}",
                                    lambda: self.set_timer(0.1, self.action_screenshot))
            yield cmd

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        folder = Path(path) if path else screenshots_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(folder))
        except OSError as exc:
            self.notify(f"screenshot not saved: cannot write to {folder} ({exc.strerror})", severity="error",
                        timeout=8)
            return
        self.notify(f"screenshot saved to {saved}", title="Screenshot", timeout=8)

    def _fatal_error(self) -> None:
        # Textual's crash report renders every frame's locals, and an exchange's config holds
        # its key: show a scrubbed traceback without locals instead.
        from rich.text import Text

        from console.core.redact import scrubbed_traceback

        self.bell()
        exc = getattr(self, "_exception", None)
        self._exit_renderables.append(Text(scrubbed_traceback(exc) if exc else "rebal-tui: fatal error"))
        self._close_messages_no_wait()

    def __init__(
        self,
        config: Config | None = None,  # None: ``boot`` reads it after the first frame
        *,
        feed: Callable[[], AsyncIterator[Any]] | None = None,
        now_ms: Clock = wall_ms,
        services: Services | None = None,
        mode: Mode | str | None = None,
        bell: bool = False,
        confirm_threshold: float | None = None,  # None: the config's limits.confirm_typed_notional
        goal: Goal | None = None,  # None: Goal.TARGET
        connect: Callable[[RebalApp], Callable[[], AsyncIterator[Any]]] | None = None,
        first_run: Path | None = None,
        config_path: Path | None = None,
        config_text: str | None = None,
        config_is_demo: bool = False,
        keymap: Mapping[str, str] | None = None,
        keymap_problems: Sequence[str] = (),
        boot: Callable[[], Startup] | None = None,
    ) -> None:
        super().__init__()
        self.feed = feed
        self.now_ms = now_ms
        self.services = services or Services()
        self._mode_given = None if mode is None else Mode(mode)
        # the skeleton's badge: a start that reads its config after the first frame is the demo's
        self.mode = self._mode_given or Mode.DEMO
        self.bell_on = bell
        self.confirm_threshold = confirm_threshold
        self.goal = goal
        # the demo's start: the config, read on a worker thread once the skeleton is drawn
        self.boot = boot
        self.boot_error: BaseException | None = None  # why ``boot`` failed: the app exits, launch says it
        self.config: Config | None = None
        self.connect: Callable[[RebalApp], Callable[[], AsyncIterator[Any]]] | None = None
        self.first_run: Path | None = None
        self.config_path: Path | None = None
        self.config_text: str | None = None
        self.config_is_demo = False
        self.keymap: dict[str, str] = {}
        self.keymap_problems: tuple[str, ...] = ()
        if config is not None:
            self._configure(Startup(config, connect, first_run, config_path, config_text, config_is_demo,
                                    dict(keymap or {}), tuple(keymap_problems)))
        self.state: DashboardState | None = None
        self.alerts: list[AlertItem] = []
        self.drift_history: dict[str, deque[float]] = {}
        # (snapshot time, rate) per perp: the funding plot's time axis needs each rate's time
        self.funding_history: dict[str, deque[tuple[int, float]]] = {}
        self._funding_at: int | None = None
        self.feed_error: str | None = None
        self._lock = threading.Lock()
        self._pending: Snapshot | None = None
        self._deriving = False
        self._ui_thread: int | None = None  # set on mount: ingest may come from another thread
        self._watch: Any = None  # the alert rules' memory (a core.alerts.Watch), made on the first derive
        self._band_toasts: list[Alert] = []  # band alerts raised since the last band toast
        self._band_toast_timer: Any = None
        self._band_toast_at = float("-inf")  # time.monotonic() of the last band toast
        self._seq = 0
        self._apply_pace = Pace(self, self._apply)
        self._reconcile_due = False  # the startup reconciliation waits for the first painted state
        self._streams_started = False  # so do the venues' websockets (runtime.connect's feed holds them)
        self._apply_cost = 0.0  # seconds the last apply took on the UI thread, its repaint included
        self.applies = 0  # states applied to the screen (tests, benchmark)
        self.last_ticket_id: str | None = None
        self.last_reconcile: Any = None
        self.submitting: set[str] = set()  # tickets confirmed and being sent right now
        self.reviewing = False  # a confirmation is open or being prepared: one at a time
        self.killing = False  # the kill switch's confirmation is open or the kill runs
        self.named_screens: dict[str, Screen[Any]] = {}  # installed by name (1…8): the ones kept alive
        self.kill_progress: Any = None  # the KillProgressScreen while a confirmed kill runs
        self.journal_down: str | None = None  # why the journal's database is unreachable; None = it answers
        self.pnl: PnlReport | None = None  # the last report
        self.pnl_history: list[PnlSample] = []  # oldest first, from the P&L store
        self._pnl_asked = False
        self._pnl_first = False  # the first read from the venues is still to come
        self._pnl_busy = False  # a refresh runs
        self._pnl_again = False  # and another was asked for meanwhile

    def _configure(self, start: Startup) -> None:
        """Take the config and what came with it (at construction, or from ``boot``)."""
        from console.core.config import Goal

        self.config = start.config
        if self._mode_given is None:
            self.mode = _strictest_mode(start.config)
        if self.goal is None:
            self.goal = Goal.TARGET
        self.connect = start.connect  # slow start-up (emulator, ccxt, journal) after the first frame
        self.first_run = start.first_run
        self.config_path, self.config_text = start.config_path, start.config_text
        self.config_is_demo = start.config_is_demo
        self.keymap = dict(start.keymap)
        self.keymap_problems = tuple(start.keymap_problems)

    @functools.cached_property
    def desk(self) -> TradingDesk:
        """Reviews, sends, follow-ups, the kill switch and the reconciliation (made on first use)."""
        from console.app.desk import TradingDesk

        return TradingDesk(self)

    # ------------------------------------------------------------------ lifecycle

    def compose(self) -> ComposeResult:
        if self.connect is not None or self.boot is not None:
            # the skeleton: the first frame is this header (mode badge, book, clock) on the
            # default screen, painted before the dashboard's modules are imported and composed
            yield HeaderBar(id="skeleton-header")

    def on_mount(self) -> None:
        self._ui_loop = asyncio.get_running_loop()
        self._ui_thread = threading.get_ident()
        self.set_interval(1.0, self._tick)
        self.set_interval(PNL_REFRESH_S, self.refresh_pnl)
        if self.boot is not None:
            paint_header(self.screen)
            self.call_after_refresh(self._boot)
        elif self.connect is not None:
            paint_header(self.screen)
            self.call_after_refresh(self._show_dashboard)
        else:
            self._show_dashboard()

    @work(thread=True, group="boot", exit_on_error=False)
    def _boot(self) -> None:
        """The demo's config and the dashboard's modules, off the UI thread, once the skeleton
        is on the terminal; then the dashboard (and the venues after it) as on any start."""
        assert self.boot is not None
        start = self.boot()
        # imported here rather than on the UI thread when the dashboard is composed
        import console.app.desk
        import console.app.screens.dashboard
        import console.app.state  # noqa: F401

        self.call_from_thread(self._booted, start)

    def _booted(self, start: Startup) -> None:
        self._configure(start)
        self._show_dashboard()

    def _show_dashboard(self) -> None:
        from console.app.screens.dashboard import DashboardScreen

        if self.keymap:
            self.set_keymap(self.keymap)
        for problem in self.keymap_problems:
            self.notify(problem, title="Keymap", severity="warning", timeout=15)
        self.named_screens["dashboard"] = dashboard = DashboardScreen()
        self.install_screen(dashboard, name="dashboard")
        self.push_screen("dashboard")
        if self.first_run is not None:
            from console.app.screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen(self.first_run), self._first_run_chosen)
        else:
            self._begin()
        self._check_size()

    def _begin(self) -> None:
        if self.connect is not None:
            self.notify("connecting to the venues…", timeout=3)
            # after the dashboard is on the terminal: the connect thread imports ccxt and
            # starts the emulator, and would hold the GIL the first paint needs
            self.call_after_refresh(self._connect)
        else:
            self._start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while the skeleton is up (a moment) the screens the keys switch between do not exist
        if action != "quit" and not self.is_screen_installed("dashboard"):
            return False
        return super().check_action(action, parameters)

    def _first_run_chosen(self, choice: str | None) -> None:
        path, self.first_run = self.first_run, None
        if choice == "init":
            self.config_path, self.config_is_demo = path, False  # the targets screen saves there now
            self.notify(f"wrote the commented sample config to {path}; its accounts are demo ones: edit them "
                        "for your venues, then `rebal-tui check-config`", title="Config written", timeout=15)
        else:
            self.notify("running the demo portfolio on the local emulator; nothing was written "
                        "(`rebal-tui init` writes a config)", title="Demo", timeout=8)
        self._begin()

    def _start(self) -> None:
        if self.feed is not None:
            self.run_feed()
        executor = self.services.executor
        if executor is not None and not getattr(executor, "trading_allowed", True):
            # the report opens once the first figures are painted: opened before them, its modal
            # kept them off the terminal until it closed. Without data it opens after a while.
            self._reconcile_due = True
            if self.feed is None:
                self._reconcile_if_due()
            else:
                self.set_timer(RECONCILE_WAIT_S, self._reconcile_if_due)

    def _reconcile_if_due(self) -> None:
        if self._reconcile_due:
            self._reconcile_due = False
            self.startup_reconcile(startup=True)

    @work(thread=True, group="connect", exit_on_error=False)
    def _connect(self) -> None:
        """Start the venues (and the demo emulator), journal and executor off the UI thread,
        after the first frame is on the screen."""
        assert self.connect is not None
        feed = self.connect(self)
        self.call_from_thread(self._connected, feed)

    def _connected(self, feed: Callable[[], AsyncIterator[Any]]) -> None:
        self.feed = feed
        self._start()

    def on_resize(self, event: Any) -> None:
        if getattr(self, "_ui_loop", None) is not None:  # mounted: the dashboard is on the stack
            self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int | None = None, height: int | None = None) -> None:
        """Below the minimum size a "window too small" notice instead of cut columns."""
        from console.app.screens.too_small import TooSmallScreen, too_small

        small = too_small(width or self.size.width, height or self.size.height)
        top = self.screen_stack[-1] if self.screen_stack else None
        if small and not any(isinstance(s, TooSmallScreen) for s in self.screen_stack):
            self.push_screen(TooSmallScreen())
        elif not small and isinstance(top, TooSmallScreen):
            top.dismiss(None)

    def tick_now(self) -> None:
        """The 1 s tick at once (the header shows a change without waiting for it)."""
        self._tick()

    def _tick(self) -> None:
        stack = self.screen_stack
        if not stack:
            return  # shutting down: the screens are gone before the timer
        if self._pnl_first:
            self._first_pnl()
        screen = stack[-1]
        if isinstance(screen, Ticks) and screen.is_mounted:  # a screen just switched to may not be composed
            screen.tick()

    def apply_config(self, config: Config, text: str) -> None:
        """A new config (the targets screen saved one): every figure is derived from it at once,
        and the executor checks sends against it."""
        self.config, self.config_text = config, text
        executor = self.services.executor
        if executor is not None:
            executor.config = config
        if self.state is not None:
            self.ingest(self.state.snapshot)  # re-derive allocation, bands and alerts now

    # ------------------------------------------------------------------ feed and derive

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def run_feed(self) -> None:
        assert self.feed is not None
        feed = self.feed
        if self.services.loop is None:
            async for item in feed():
                self.ingest(getattr(item, "snapshot", item))
            return

        async def pump() -> None:  # on the service loop: hand each snapshot over, never wait
            async for item in feed():
                self.ingest(getattr(item, "snapshot", item))

        await self.services.call(pump())

    def ingest(self, snap: Snapshot) -> None:
        """Hand a Snapshot to the console, from any thread. Bursts collapse into the newest.

        A snapshot that arrives while the derive thread runs wakes nothing else: the UI loop
        is woken once per burst (to start that thread), not once per ticker update."""
        with self._lock:
            self._pending = snap
            if self._deriving:
                return
            self._deriving = True
        if self._ui_thread in (None, threading.get_ident()):  # on the UI loop (or before it runs)
            self._derive()
        else:
            self._ui_loop.call_soon_threadsafe(self._derive)

    @work(thread=True, group="derive", exit_on_error=False)
    def _derive(self) -> None:
        # imported here, not at the top: the first frame needs neither (once per burst, not per state)
        from console.app.state import derive_state
        from console.core.alerts import Watch

        while True:
            with self._lock:
                snap, self._pending = self._pending, None
                if snap is None:
                    self._deriving = False
                    return
            t0 = time.monotonic()
            state, self._watch = derive_state(self.config, snap, self._watch or Watch(), self.now_ms())
            self.post_message(StateReady(state))
            # at most DERIVE_HZ: the UI applies no faster, and a derive thread running flat out
            # holds the GIL the UI thread needs for keys; snapshots arriving meanwhile collapse
            rest = t0 + 1.0 / DERIVE_HZ - time.monotonic()
            if rest > 0:
                time.sleep(rest)

    @on(StateReady)
    def _on_state(self, event: StateReady) -> None:
        st = event.state
        self.state = st
        self.feed_error = None
        for r in st.alloc.rows:
            if r.drift is not None:
                self.drift_history.setdefault(r.name, deque(maxlen=HISTORY)).append(r.drift * 100)
        if st.snapshot.timestamp != self._funding_at:  # one point per snapshot, not per re-derive
            self._funding_at = st.snapshot.timestamp
            for fl in st.risk.funding:
                self.funding_history.setdefault(fl.symbol, deque(maxlen=HISTORY)).append(
                    (st.snapshot.timestamp, fl.rate))
        if st.alerts:
            self._raise_alerts(st.alerts)
        if not self._pnl_asked and self.services.pnl is not None and self.services.venues is not None:
            self._pnl_asked = self._pnl_first = True
            self._load_pnl_history()  # a restart: the stored history and its last total at once
            self._first_pnl()
        self._schedule_apply()

    def _schedule_apply(self) -> None:
        # at most APPLY_HZ, and never more than APPLY_SHARE of the UI thread's time: a heavy
        # apply (hundreds of changed cells) spaces the next one out, so keys always get a turn;
        # an apply already due takes the newest state
        gap = min(max(1.0 / APPLY_HZ, self._apply_cost / APPLY_SHARE), APPLY_MAX_GAP_S)
        self._apply_pace.soon(time.monotonic(), gap)

    def _apply(self) -> None:
        t0 = time.monotonic()
        if self.state is None:
            return
        self.applies += 1
        for screen in self._listening(ShowsState):
            screen.show_state(self.state)
        self._apply_cost = time.monotonic() - t0
        # the repaint the apply causes is the larger part of its cost: counted once it is done,
        # so APPLY_SHARE bounds what data takes of the UI thread, painting included
        self.call_after_refresh(self._painted, t0)
        if self._reconcile_due:
            self.call_after_refresh(self._reconcile_if_due)

    def _painted(self, applied_at: float) -> None:
        self._apply_cost = max(self._apply_cost, time.monotonic() - applied_at)
        if not self._streams_started:  # the first figures are on the screen: now the websockets
            self._streams_started = True
            venues = self.services.venues
            if venues is not None:
                self.services.call_soon(venues.start_streams)
        freeze_startup()

    def _listening(self, kind: type[L]) -> list[L]:
        """The mounted screens (installed or on the stack) that listen to ``kind`` of news."""
        if not self.screen_stack:
            # shutting down: the screens' widgets are gone, and news (a state the derive thread
            # finished meanwhile) has nowhere to go
            return []
        seen: dict[int, L] = {}
        for screen in [*self.named_screens.values(), *self.screen_stack]:
            if isinstance(screen, kind) and screen.is_mounted:
                seen[id(screen)] = screen
        return list(seen.values())

    @on(FeedStatus)
    def _on_feed_status(self, event: FeedStatus) -> None:
        self.feed_error = event.text
        self.notify(event.text, title="Feed", severity="warning", timeout=6)

    # ------------------------------------------------------------------ alerts

    def _raise_alerts(self, alerts: tuple[Alert, ...]) -> None:
        """Every alert goes to the panel and the journal at once. Its toast too, except band
        alerts: a market move can take many sleeves across their bands within a second, and a
        toast each would stack up over the screen (and mount and lay out a widget each). Those
        share one toast at most every BAND_TOAST_GAP_S, naming the most severe and counting the rest."""
        from console.core.alerts import Severity
        from widgets.alerts_panel import AlertItem

        for a in alerts:
            self._seq += 1
            self.alerts.append(AlertItem(self._seq, a))
            if a.kind == "band":
                self._band_toasts.append(a)
            else:
                self._toast(a.message, a.kind.replace("_", " "), a.severity)
            self._journal_alert(a)
        if self._band_toasts and self._band_toast_timer is None:
            wait = self._band_toast_at + BAND_TOAST_GAP_S - time.monotonic()
            if wait <= 0:
                self._toast_band_alerts()
            else:
                self._band_toast_timer = self.set_timer(wait, self._toast_band_alerts)
        if self.bell_on and any(a.severity is not Severity.INFO for a in alerts):
            self.bell()
        self.post_message(AlertsChanged())

    def _toast(self, message: str, title: str, severity: Severity) -> None:
        from console.core.alerts import Severity

        sev = {Severity.INFO: "information", Severity.WARN: "warning", Severity.CRITICAL: "error"}[severity]
        self.notify(message, title=title, severity=sev, timeout=6)

    def _toast_band_alerts(self) -> None:
        self._band_toast_timer = None
        due, self._band_toasts = self._band_toasts, []
        if not due:
            return
        self._band_toast_at = time.monotonic()
        from console.core.alerts import SEVERITY_RANK

        top = max(due, key=lambda a: SEVERITY_RANK[a.severity])  # the first of the most severe
        if len(due) == 1:
            self._toast(top.message, "band", top.severity)
        else:
            self._toast(f"{top.message}; and {len(due) - 1} more (4: every alert)", f"{len(due)} band alerts",
                        top.severity)

    def _journal_alert(self, a: Alert) -> None:
        journal = self.services.journal
        if journal is not None:
            detail = {"key": a.key, "kind": a.kind, "severity": a.severity.value, "subject": a.subject,
                      "message": a.message}
            self.run_worker(lambda: journal.note(None, "alert", detail, ts=a.at_ms),
                            thread=True, group="journal", exit_on_error=False)

    def acknowledge(self, seqs: tuple[int, ...]) -> None:
        from widgets.alerts_panel import AlertItem

        wanted = set(seqs)
        journal = self.services.journal
        if journal is not None:
            keys = [i.alert.key for i in self.alerts if i.seq in wanted and not i.acked]
            if keys:
                now = self.now_ms()
                self.run_worker(lambda: journal.note(None, "alert_ack", {"keys": keys}, ts=now),
                                thread=True, group="journal", exit_on_error=False)
        self.alerts = [AlertItem(i.seq, i.alert, True) if i.seq in wanted else i for i in self.alerts]
        self.post_message(AlertsChanged())

    @on(AlertsChanged)
    def _on_alerts_changed(self) -> None:
        for screen in self._listening(ShowsAlerts):
            screen.show_alerts(self.alerts)

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        from console.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_show(self, name: str) -> None:
        from console.app.screens import SCREENS
        from console.app.screens.too_small import TooSmallScreen

        if isinstance(self.screen, TooSmallScreen):
            return  # nothing would fit: the notice stays until the window is big enough
        factory = SCREENS[name]
        while len(self.screen_stack) > 2 and self.screen.is_modal:
            self._close_modal(self.screen)
        if name == "dashboard":
            self.switch_screen("dashboard") if self.screen is not self.get_screen("dashboard") else None
            return
        if name not in self.named_screens:
            self.named_screens[name] = screen = factory()
            self.install_screen(screen, name=name)
        self.switch_screen(name)  # the screen reads app.state when it mounts

    def _close_modal(self, modal: Any) -> None:
        """Close a modal as its "no": a plain pop would leave whoever awaits its answer (a
        review, the kill switch, the reconciliation) waiting for good, and a planned ticket
        with it."""
        from console.app.screens.confirm import ConfirmScreen, QuitScreen
        from console.app.screens.reconcile import ReconcileScreen

        if isinstance(modal, ConfirmScreen) and modal.decided is None:
            modal.action_cancel()
        elif isinstance(modal, ReconcileScreen):
            modal.dismiss("later")
        elif isinstance(modal, QuitScreen):
            modal.dismiss(False)
        elif isinstance(modal, ConfirmScreen):
            self.pop_screen()  # decided already: its answer has been delivered
        else:
            modal.dismiss(None)

    async def action_quit(self) -> None:
        """Leave at once, unless orders would stay working at the venue (or a ticket is being
        sent): then ask first, naming how many."""
        from console.app.screens.confirm import QuitScreen

        if isinstance(self.screen, QuitScreen):
            return
        self.ask_quit()

    @work(group="quit", exclusive=True, exit_on_error=False)
    async def ask_quit(self) -> None:
        from console.app.screens.confirm import QuitScreen

        try:
            working, sending = await asyncio.to_thread(self._quit_counts)
        except UserError:  # the journal does not answer: what this console knows, without it
            working, sending = 0, len(self.submitting)
        executor = self.services.executor
        slices = executor.unsent_slices() if executor is not None and hasattr(executor, "unsent_slices") else 0
        if not working and not sending and not slices:
            self.exit()
            return
        demo = self.services.demo_session is not None  # an emulator inside this process
        if await self.push_screen_wait(QuitScreen(working, sending, slices, demo=demo)):
            self.exit()

    def _quit_counts(self) -> tuple[int, int]:
        """(orders live at a venue, tickets being sent that have no live order yet): a ticket
        with a working order is counted once, by its order (a journal read: off the UI thread)."""
        working = self.working_orders()
        journal = self.services.journal
        sending = len(self.submitting)
        if journal is not None and sending and hasattr(journal, "ticket"):
            from console.execution.lifecycle import ORDER_LIVE, TicketState

            sending = 0
            for tid in list(self.submitting):
                try:
                    state = journal.ticket(tid).state
                except Exception:  # noqa: BLE001 - unreadable: count it, to ask rather than not
                    sending += 1
                    continue
                if state in (TicketState.CONFIRMED, TicketState.SENDING) and not journal.orders(tid, states=ORDER_LIVE):
                    sending += 1
        return working, sending

    def working_orders(self) -> int:
        """The console's orders the journal holds as live at a venue (a journal read: call it
        off the UI thread)."""
        journal = self.services.journal
        if journal is None:
            return 0
        from console.execution.lifecycle import ORDER_LIVE

        return len(journal.orders(states=ORDER_LIVE, include_external=False))

    def action_export(self, kind: str) -> None:
        """Write the allocation, the tickets or the P&L as CSV (palette: "Export … to CSV")."""
        self._export(kind)

    @work(thread=True, group="export", exit_on_error=False)
    def _export(self, kind: str) -> None:
        from console.app.export import export_csv, write_export
        from console.core.errors import UserError

        try:
            text = export_csv(kind, alloc=self.state.alloc if self.state else None, journal=self.services.journal,
                              pnl=self.pnl)
            path = write_export(kind, text, self.now_ms())
        except UserError as exc:
            self.call_from_thread(self.notify, f"{kind} not exported: {exc}", title="Export", severity="warning",
                                  timeout=8)
            return
        self.call_from_thread(self.notify, f"{kind} written to {path}", title="Export", timeout=10)

    def action_toggle_bell(self) -> None:
        self.bell_on = not self.bell_on
        self.notify(f"terminal bell on alerts {'on' if self.bell_on else 'off'}", timeout=2)

    def action_kill(self) -> None:
        from textual.actions import SkipAction
        from textual.widgets import Input

        focused = self.focused
        if isinstance(focused, Input) and focused.check_consume_key("K", "K"):
            raise SkipAction()  # a search box or text field: the K is a letter typed, not the switch
        if self.kill_progress is not None:
            self.stop_kill()  # K while the kill runs: stop it after the round in progress
            return
        if self.killing:
            self.notify("the kill switch is already open", severity="warning", timeout=3)
            return
        self.killing = True
        self.kill_switch()

    def action_reconcile(self) -> None:
        self.startup_reconcile()

    @work(group="reconcile", exclusive=True, exit_on_error=False)
    async def startup_reconcile(self, startup: bool = False) -> None:
        """Journal vs venues. At start-up a clean report opens trading by itself (a notice and
        a journal row say so): only a discrepancy stops the trader with the report. A
        reconciliation the trader asked for (R) is always shown, and trading opens when the
        trader accepts it."""
        await self.desk.reconcile(startup=startup)

    # ------------------------------------------------------------------ tickets

    def review(self, ticket: Any, preview: Any) -> None:
        """Show one ticket's confirmation. One review at a time: a second request while a
        confirmation is open (or still being prepared) is refused, not stacked."""
        if self.reviewing:
            self.notify("a confirmation is already open: answer it (y / n) first", severity="warning", timeout=3)
            return
        if self.desk.trading_closed("review"):
            return
        self.reviewing = True
        self._review(ticket, preview)

    @work(group="ticket", exit_on_error=False)
    async def _review(self, ticket: Any, preview: Any) -> None:
        await self.desk.review(ticket, preview)

    def follow_up(self, ticket_id: str, action: str) -> None:
        """`C` / `U` on the blotter: show what a chase or an unwind of ``ticket_id`` would
        send, ask (a confirmation like any ticket's), then send exactly that. Shares the one
        review at a time with new tickets."""
        if self.reviewing:
            self.notify("a confirmation is already open: answer it (y / n) first", severity="warning", timeout=3)
            return
        if self.desk.trading_closed(action):
            return
        self.reviewing = True
        self._follow_up(ticket_id, action)

    @work(group="ticket", exit_on_error=False)
    async def _follow_up(self, ticket_id: str, action: str) -> None:
        await self.desk.follow_up(ticket_id, action)

    # its own group, not exclusive: a kill must neither cancel a review nor be cancelled by
    # one (``killing`` keeps it to one at a time)
    @work(group="kill", exit_on_error=False)
    async def kill_switch(self) -> None:
        """Show what the kill switch will close, ask (its own confirmation), then run it."""
        try:
            await self.desk.kill_switch()
        finally:
            self.killing = False

    def stop_kill(self) -> None:
        """The trader stops a running kill switch; it ends after the round in progress and
        its report says what was left."""
        executor = self.services.executor
        if executor is None or self.kill_progress is None:
            return
        if self.kill_progress.stopping:
            return
        self.kill_progress.mark_stopping()
        self.services.call_soon(executor.stop_kill)
        self.notify("kill switch: stopping after the round in progress", severity="warning", timeout=5)

    def exec_event(self, event: Any) -> None:
        """The executor's ``on_event``: called on the service loop's thread."""
        self.call_later_threadsafe(ExecEvent(event))

    def call_later_threadsafe(self, message: Message) -> None:
        loop = getattr(self, "_ui_loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(self.post_message, message)

    @on(TicketFinished)
    def _on_ticket_finished(self, event: TicketFinished) -> None:
        if event.error:
            self.notify(f"ticket {event.ticket_id} not sent: {event.error}", severity="error", timeout=10)
        elif event.result is not None:
            r = event.result
            self.notify(f"ticket {r.ticket_id}: {r.state.value}" + (f"; legging: {r.alert.options}" if r.alert else ""),
                        timeout=5)
        for screen in self._listening(ShowsBlotter):
            screen.refresh_blotter()
        if self.feed is not None and self.services.venues is not None:
            self.refresh_now()

    # ------------------------------------------------------------------ the shared journal

    def journal_changed(self) -> None:
        """The journal listener's ``on_change`` (its thread): another console wrote."""
        self.call_later_threadsafe(JournalChanged())

    def journal_health(self, ok: bool, why: str) -> None:
        """The journal listener's ``on_health`` (its thread)."""
        self.call_later_threadsafe(JournalHealth(ok, why))

    @on(JournalChanged)
    def _on_journal_changed(self, event: JournalChanged) -> None:
        for screen in self._listening(ShowsBlotter):
            screen.refresh_blotter()

    @on(JournalHealth)
    def _on_journal_health(self, event: JournalHealth) -> None:
        was = self.journal_down
        self.journal_down = None if event.ok else (event.why or "no answer")
        if event.ok and was is not None:
            self.notify("the journal answers again: sending is possible again", timeout=5)
            self._on_journal_changed(JournalChanged())  # what others did meanwhile
        elif not event.ok and was is None:
            self.notify(f"the journal is unreachable: {self.journal_down}; nothing is sent until it is back",
                        severity="error", timeout=10)
        self._tick()  # the header says so now, not at the next second

    @on(ExecEvent)
    def _on_exec_event(self, event: ExecEvent) -> None:
        from console.core.alerts import Alert, Severity
        from console.execution.executor import AmbiguousOutcome, KillProgress, LeggingAlert, Refused

        ev = event.event
        match ev:
            case LeggingAlert():
                # an alert like the others (panel, toast, bell, journal): the trader must act on it
                left = {r.leg: r.remaining for r in ev.residual}
                waiting = ", ".join(f"{i + 1} (left {left.get(i, 0):+g})" for i in ev.waiting_legs)
                done = ", ".join(str(i + 1) for i in ev.done_legs)
                self._raise_alerts((Alert(f"legging:{ev.ticket_id}", "legging", Severity.WARN, ev.ticket_id,
                                          f"ticket {ev.ticket_id} legging: leg {done} done, leg {waiting} waiting; "
                                          "on the blotter (3) C chase, U unwind, L leave", self.now_ms()),))
            case Refused():
                self.notify(f"ticket {ev.ticket_id} refused, nothing more sent: {'; '.join(ev.reasons)}",
                            severity="error", timeout=10)
            case KillProgress():
                if self.kill_progress is not None:
                    self.kill_progress.show_progress(ev.report, ev.next_in_s)
            case AmbiguousOutcome():
                self.notify(f"order {ev.client_id}: outcome unknown ({ev.reason}); looking it up by client id",
                            severity="warning")
        for screen in self._listening(ShowsBlotter):
            screen.refresh_blotter()

    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def refresh_now(self) -> None:
        """After a fill: refresh every venue at once instead of waiting for the next poll."""
        venues = self.services.venues
        snap = await self.services.call(venues.refresh())
        self.ingest(snap)
        self.refresh_pnl(snap)

    # ------------------------------------------------------------------ overlay P&L

    def pnl_total(self) -> float | None:
        """The header's overlay P&L: the last report's, else the last stored sample's (a restart)."""
        if self.pnl is not None:
            return self.pnl.totals.net
        return self.pnl_history[-1].overlay if self.pnl_history else None

    def refresh_pnl(self, snapshot: Snapshot | None = None, force: bool = False) -> None:
        """Read the overlay's trades and funding (venues, on the service loop), keep them in
        the P&L store, sample the history and show the figures. One at a time: a refresh
        asked for while one runs follows it, once (after a fill the figures must move)."""
        if self.services.pnl is None or self.services.venues is None:
            return
        if self.submitting:
            # ccxt throttles each exchange by the venue's request weights (Binance's income read
            # weighs 30): a P&L read now would queue the ticket's orders behind it. The ticket's
            # end asks for a refresh anyway.
            return
        if self._pnl_busy:
            self._pnl_again = True
            return
        self._pnl_busy = True
        self._refresh_pnl(snapshot, force)

    @work(group="pnl", exit_on_error=False)
    async def _refresh_pnl(self, snapshot: Snapshot | None, force: bool) -> None:
        try:
            await self._sync_pnl(snapshot, force)
            while self._pnl_again:
                self._pnl_again = False
                await self._sync_pnl(None, force)
        finally:
            self._pnl_busy = False

    async def _sync_pnl(self, snapshot: Snapshot | None, force: bool) -> None:
        from console.core.allocation import compute_allocation
        from console.runtime import sync_pnl

        store = self.services.pnl
        assert store is not None
        snap = snapshot or (self.state.snapshot if self.state is not None else None)
        if snap is None:
            return
        alloc = await asyncio.to_thread(compute_allocation, self.config, snap)
        report = await self.services.call(sync_pnl(self.services, self.config, alloc, self.now_ms(), force=force))
        self.post_message(PnlReady(report, await asyncio.to_thread(store.history)))

    def _first_pnl(self) -> None:
        """The first P&L read, as soon as trading is open: while the startup reconciliation
        reads the venues it waits (ccxt's throttle would queue those reads behind its own)."""
        executor = self.services.executor
        if executor is None or getattr(executor, "trading_allowed", True):
            self._pnl_first = False
            self.refresh_pnl()

    @work(thread=True, group="pnl-history", exit_on_error=False)
    def _load_pnl_history(self) -> None:
        store = self.services.pnl
        if store is not None:
            self.post_message(PnlReady(None, store.history()))

    @on(PnlReady)
    def _on_pnl(self, event: PnlReady) -> None:
        if event.report is not None:
            self.pnl = event.report
        self.pnl_history = event.history
        for screen in self._listening(ShowsPnl):
            screen.show_pnl(self.pnl, self.pnl_history)
        for screen in self._listening(Ticks):
            screen.tick()  # the header's total

    # ------------------------------------------------------------------ workers

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are reported."""
        if event.state is not WorkerState.ERROR:
            return
        err = event.worker.error
        group = event.worker.group
        text = f"{type(err).__name__}: {err}" if err is not None else "failed"
        if group == "boot":  # no config to run on: leave, and launch says why (as before the UI)
            self.boot_error = err
            self.exit(return_code=2)
        elif group == "connect":
            self.notify(f"could not connect: {text}", title="Start-up", severity="error", timeout=30)
        elif group == "feed":
            self.feed_error = text
            self.notify(f"the feed stopped: {text}", title="Feed", severity="error", timeout=10)
        elif group == "derive":
            with self._lock:
                self._deriving = False
            self.notify(f"could not compute the allocation: {text}", title="Allocation", severity="error")
        else:
            self.notify(text, title=group or "worker", severity="error", timeout=8)


_startup_frozen = False
# Until the first figures are painted the young generation is collected every STARTUP_GC_GEN0
# allocations instead of Python's 700: start-up (imports, the venues' clients, the first
# snapshot) makes hundreds of thousands of objects that all live on, and walking them again and
# again cost ~0.1 s of the demo's ~1 s to its first data (372 collections, two of them full).
# Still a bound, not a switch: a start whose venues never answer keeps collecting.
STARTUP_GC_GEN0 = 50_000
_gc_thresholds: tuple[int, int, int] | None = None


def collect_less_until_painted() -> None:
    """Called once as the console starts (the CLI); ``freeze_startup`` restores the thresholds."""
    global _gc_thresholds
    if _gc_thresholds is None and not _startup_frozen:
        _gc_thresholds = gc.get_threshold()
        gc.set_threshold(STARTUP_GC_GEN0, *_gc_thresholds[1:])


def freeze_startup() -> None:
    """Once per process, when the first figures are on the screen: what start-up made (modules,
    config, widgets, the venues' clients) lives as long as the console. Collected once, then
    moved out of the collector's sight, a full collection walks only what came since rather than
    every object of the process: a pause of 100-200 ms on the UI thread under a price stream,
    with a key waiting behind it, becomes a few ms."""
    global _startup_frozen
    if _startup_frozen:
        return
    _startup_frozen = True
    gc.collect()  # start-up's garbage is freed, not frozen with the rest
    gc.freeze()
    if _gc_thresholds is not None:
        gc.set_threshold(*_gc_thresholds)


def screenshots_dir() -> Path:
    """Where screenshots go: a folder of the user data folder, made when the first one is saved
    (Textual's default, the Downloads folder, is missing on a headless server)."""
    import platformdirs

    return platformdirs.user_data_path("rebal-tui") / "screenshots"


def _strictest_mode(config: Config) -> Mode:
    modes = {Mode(a.mode) for a in config.accounts}
    for m in (Mode.LIVE, Mode.PAPER):
        if m in modes:
            return m
    return Mode.DEMO
