"""The Textual console: dashboard, spread builder, confirmation, blotter, help, palette.

Data flows one way. A feed worker pulls Snapshots from the venue layer (or a test injects
them with ``ingest``); a derive worker (a thread) turns the newest one into a frozen
``DashboardState`` (allocation, risk readings, alerts) and posts it; the UI applies it, at most
``APPLY_HZ`` times a second, by key and changed cells only. A burst of snapshots collapses
into the newest, so input never waits on I/O or on maths.

The derived state lives in ``console.app.state``, the messages in ``console.app.messages``,
the services in ``console.runtime``; worker failures are handled once, in
``on_worker_state_changed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.worker import Worker, WorkerState

from console.app.messages import (
    AlertsChanged,
    ExecEvent,
    FeedStatus,
    JournalChanged,
    JournalHealth,
    StateReady,
    TicketFinished,
)
from console.app.palette import ConsoleCommands
from console.app.state import DashboardState, derive_state
from console.core.alerts import Alert, Severity, Watch
from console.core.clock import Clock, wall_ms
from console.core.config import Config, Goal, Mode
from console.core.errors import UserError
from console.core.snapshot import Snapshot
from console.runtime import Services
from widgets.alerts_panel import AlertItem

APPLY_HZ = 20.0
APPLY_SHARE = 0.25  # the most of the UI thread's time that applying states may take
HISTORY = 240  # points of drift and funding history kept per sleeve / symbol


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
    """
    COMMANDS = App.COMMANDS | {ConsoleCommands}
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
        # priority: a modal (a confirmation, the reconciliation report) must not swallow the
        # kill switch; a focused field that types letters still gets its K (action_kill)
        Binding("K", "kill", "Kill", key_display="K", id="app.kill", priority=True,
                tooltip="Kill switch: flatten the overlay with reduce-only market orders (asks to confirm)"),
        Binding("R", "reconcile", "Reconcile", id="app.reconcile", show=False,
                tooltip="Reconcile the journal with the venues; trading opens when you accept the report"),
        Binding("ctrl+b", "toggle_bell", "Bell", id="app.bell", show=False,
                tooltip="Turn the terminal bell on alerts on or off"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave the console"),
    ]

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
        config: Config,
        *,
        feed: Callable[[], AsyncIterator[Any]] | None = None,
        now_ms: Clock = wall_ms,
        services: Services | None = None,
        mode: Mode | str | None = None,
        bell: bool = False,
        confirm_threshold: float | None = None,  # None: the config's limits.confirm_typed_notional
        goal: Goal = Goal.TARGET,
        connect: Callable[[RebalApp], Callable[[], AsyncIterator[Any]]] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.feed = feed
        self.now_ms = now_ms
        self.services = services or Services()
        self.mode = Mode(mode) if mode is not None else _strictest_mode(config)
        self.bell_on = bell
        self.confirm_threshold = confirm_threshold
        self.goal = goal
        self.connect = connect  # slow start-up (emulator, ccxt, journal) after the first frame
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
        self._watch = Watch()
        self._seq = 0
        self._apply_timer = None
        self._last_apply = 0.0
        self._apply_cost = 0.0  # seconds the last apply took on the UI thread
        self.applies = 0  # states applied to the screen (tests, benchmark)
        self.last_ticket_id: str | None = None
        self.last_reconcile: Any = None
        self.submitting: set[str] = set()  # tickets confirmed and being sent right now
        self.reviewing = False  # a confirmation is open or being prepared: one at a time
        self.killing = False  # the kill switch's confirmation is open or the kill runs
        self.kill_progress: Any = None  # the KillProgressScreen while a confirmed kill runs
        self.journal_down: str | None = None  # why the journal's database is unreachable; None = it answers

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        from console.app.screens.dashboard import DashboardScreen

        self._ui_loop = asyncio.get_running_loop()
        self.install_screen(DashboardScreen(), name="dashboard")
        self.push_screen("dashboard")
        self.set_interval(1.0, self._tick)
        if self.connect is not None:
            self.notify("connecting to the venues…", timeout=3)
            self._connect()
        else:
            self._start()

    def _start(self) -> None:
        if self.feed is not None:
            self.run_feed()
        executor = self.services.executor
        if executor is not None and not getattr(executor, "trading_allowed", True):
            self.startup_reconcile()

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

    def _tick(self) -> None:
        screen = self.screen
        if hasattr(screen, "tick") and screen.is_mounted:  # a screen just switched to may not be composed
            screen.tick()

    # ------------------------------------------------------------------ feed and derive

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def run_feed(self) -> None:
        assert self.feed is not None
        feed = self.feed
        if self.services.loop is None:
            async for item in feed():
                self.ingest(getattr(item, "snapshot", item))
            return
        ui_loop = asyncio.get_running_loop()

        async def pump() -> None:  # on the service loop: hand each snapshot over, never wait
            async for item in feed():
                ui_loop.call_soon_threadsafe(self.ingest, getattr(item, "snapshot", item))

        await self.services.call(pump())

    def ingest(self, snap: Snapshot) -> None:
        """Hand a Snapshot to the console (call on the app's loop; from a thread use
        ``call_from_thread``). Bursts collapse into the newest."""
        with self._lock:
            self._pending = snap
            if self._deriving:
                return
            self._deriving = True
        self._derive()

    @work(thread=True, group="derive", exit_on_error=False)
    def _derive(self) -> None:
        while True:
            with self._lock:
                snap, self._pending = self._pending, None
                if snap is None:
                    self._deriving = False
                    return
            state, self._watch = derive_state(self.config, snap, self._watch, self.now_ms())
            self.post_message(StateReady(state))

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
        self._schedule_apply()

    def _schedule_apply(self) -> None:
        if self._apply_timer is not None:
            return  # an apply is already due: it will take the newest state
        # at most APPLY_HZ, and never more than APPLY_SHARE of the UI thread's time: a heavy
        # apply (hundreds of changed cells) spaces the next one out, so keys always get a turn
        gap = max(1.0 / APPLY_HZ, self._apply_cost / APPLY_SHARE)
        wait = max(0.0, self._last_apply + gap - time.monotonic())
        if wait <= 0:
            self._apply()
        else:
            self._apply_timer = self.set_timer(wait, self._apply)

    def _apply(self) -> None:
        self._apply_timer = None
        t0 = self._last_apply = time.monotonic()
        if self.state is None:
            return
        self.applies += 1
        for screen in self._listening_screens("show_state"):
            screen.show_state(self.state)
        self._apply_cost = time.monotonic() - t0

    def _listening_screens(self, method: str) -> list[Any]:
        seen: dict[int, Any] = {}
        for screen in [*self._installed_screens.values(), *self.screen_stack]:
            if not isinstance(screen, str) and hasattr(screen, method) and screen.is_mounted:
                seen[id(screen)] = screen
        return list(seen.values())

    @on(FeedStatus)
    def _on_feed_status(self, event: FeedStatus) -> None:
        self.feed_error = event.text
        self.notify(event.text, title="Feed", severity="warning", timeout=6)

    # ------------------------------------------------------------------ alerts

    def _raise_alerts(self, alerts: tuple[Alert, ...]) -> None:
        for a in alerts:
            self._seq += 1
            self.alerts.append(AlertItem(self._seq, a))
            sev = {Severity.INFO: "information", Severity.WARN: "warning", Severity.CRITICAL: "error"}[a.severity]
            self.notify(a.message, title=a.kind.replace("_", " "), severity=sev, timeout=6)
            self._journal_alert(a)
        if self.bell_on and any(a.severity is not Severity.INFO for a in alerts):
            self.bell()
        self.post_message(AlertsChanged())

    def _journal_alert(self, a: Alert) -> None:
        journal = self.services.journal
        if journal is not None:
            detail = {"key": a.key, "kind": a.kind, "severity": a.severity.value, "subject": a.subject,
                      "message": a.message}
            self.run_worker(lambda: journal.note(None, "alert", detail, ts=a.at_ms),
                            thread=True, group="journal", exit_on_error=False)

    def acknowledge(self, seqs: tuple[int, ...]) -> None:
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
        for screen in self._listening_screens("show_alerts"):
            screen.show_alerts(self.alerts)

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        from console.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_show(self, name: str) -> None:
        from console.app.screens import SCREENS

        factory = SCREENS[name]
        while len(self.screen_stack) > 2 and self.screen.is_modal:
            self._close_modal(self.screen)
        if name == "dashboard":
            self.switch_screen("dashboard") if self.screen is not self.get_screen("dashboard") else None
            return
        if name not in self._installed_screens:
            self.install_screen(factory(), name=name)
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
    async def startup_reconcile(self) -> None:
        """Journal vs venues; the report is shown and trading opens when the trader accepts it."""
        from console.app.screens.reconcile import ReconcileScreen

        executor = self.services.executor
        if executor is None:
            self.notify("no executor is connected: nothing to reconcile", severity="error")
            return
        # closed while it runs and until its report is accepted: a report is a picture of one
        # moment, and sends must wait for the trader's yes to the new one (the kill switch
        # does not look at the gate)
        was_open = executor.trading_allowed
        await self.services.call(_close_trading(executor))
        closed = "trading is closed" if was_open else "trading stays closed"
        while True:
            try:
                report = await self.services.call(executor.reconcile())
            except Exception as exc:  # noqa: BLE001 - shown; trading stays closed
                self.notify(f"reconciliation failed: {exc}; {closed} (R runs it again)",
                            severity="error", timeout=10)
                return
            self.last_reconcile = report
            answer = await self.push_screen_wait(ReconcileScreen(report))
            if answer == "again":
                continue
            if answer == "accept":
                executor.allow_trading(report)
                self.notify("reconciled: trading is open", timeout=3)
            else:
                self.notify(f"{closed} until a reconciliation is accepted (R); the kill switch (K) still works",
                            severity="warning")
            return

    # ------------------------------------------------------------------ tickets

    def review(self, ticket: Any, preview: Any) -> None:
        """Show one ticket's confirmation. One review at a time: a second request while a
        confirmation is open (or still being prepared) is refused, not stacked."""
        if self.reviewing:
            self.notify("a confirmation is already open: answer it (y / n) first", severity="warning", timeout=3)
            return
        if self._trading_closed("review"):
            return
        self.reviewing = True
        self._review(ticket, preview)

    def _trading_closed(self, what: str) -> bool:
        """Say so before a confirmation, not after `y`: the executor would refuse the send."""
        if self.journal_down is not None:
            # a send the journal cannot record would be a send no console knows of
            self.notify(f"{what}: the journal is unreachable ({self.journal_down}); nothing is sent until it "
                        "answers again (the header says when)", severity="error", timeout=8)
            return True
        executor = self.services.executor
        if executor is not None and not executor.trading_allowed:
            self.notify(f"{what}: trading is closed until a reconciliation is accepted (R runs one, enter "
                        "accepts it); nothing was journaled", severity="warning", timeout=6)
            return True
        return False

    @work(group="ticket", exit_on_error=False)
    async def _review(self, ticket: Any, preview: Any) -> None:
        """Journal the ticket as planned, show the confirmation modal, then confirm and send
        it, or cancel it. The modal decides once; the journal refuses a second confirm.
        Whatever ends the modal (n, escape, a screen switch, the worker cancelled), a planned
        ticket is never left planned: it is cancelled in the journal."""
        from console.app.screens.confirm import ConfirmScreen
        from console.core.snapshot import snapshot_to_dict

        journal = self.services.journal
        tid: str | None = None
        decided = False
        try:
            if journal is None:
                self.notify("no journal is open, so nothing can be sent", severity="error", timeout=6)
                return
            snap = self.state.snapshot if self.state is not None else None
            tid = await asyncio.to_thread(
                journal.record_ticket, ticket, preview.to_dict() if preview is not None else None,
                snapshot_to_dict(snap) if snap is not None else None, ts=self.now_ms(),
                legging_s=self.config.limits.legging_s)
            modal = ConfirmScreen(ticket, preview, threshold=self.confirm_threshold)
            ok = await self.push_screen_wait(modal)
            self.reviewing = False  # answered: the next ctrl+r may open a confirmation
            if not ok:
                await asyncio.to_thread(journal.abandon, tid, "cancelled at the confirmation")
                decided = True
                self.notify(f"ticket {tid} cancelled; nothing was sent", timeout=3)
                return
            await asyncio.to_thread(journal.confirm, tid, modal.keystroke or "y", ticket.snapshot_ts,
                                    ts=self.now_ms())
            decided = True
        finally:
            self.reviewing = False
            if tid is not None and not decided:  # cancelled, or failed before an answer
                with contextlib.suppress(Exception):
                    journal.abandon(tid, "the confirmation was closed without an answer")
        self.last_ticket_id = tid
        executor = self.services.executor
        if executor is None:
            await asyncio.to_thread(journal.abandon, tid, "no executor is connected: not sent")
            self.notify(f"ticket {tid} confirmed, but no executor is connected: not sent (cancelled)",
                        severity="error")
            return
        self.notify(f"ticket {tid} confirmed; sending", timeout=3)
        self.action_show("blotter")
        self.submitting.add(tid)
        try:
            result = await self.services.call(executor.submit(tid))
        except Exception as exc:  # noqa: BLE001 - a refusal is shown, not raised
            state = await asyncio.to_thread(lambda: journal.ticket(tid).state.value)
            if state == "failed":
                # refused before anything was sent: the executor's Refused event says why
                # (one toast, not two); the blotter shows the ticket failed with its reason
                self.post_message(TicketFinished(tid))
            else:
                self.post_message(TicketFinished(tid, error=str(exc)))
            return
        finally:
            self.submitting.discard(tid)
        self.post_message(TicketFinished(tid, result=result))

    def follow_up(self, ticket_id: str, action: str) -> None:
        """`C` / `U` on the blotter: show what a chase or an unwind of ``ticket_id`` would
        send, ask (a confirmation like any ticket's), then send exactly that. Shares the one
        review at a time with new tickets."""
        if self.reviewing:
            self.notify("a confirmation is already open: answer it (y / n) first", severity="warning", timeout=3)
            return
        if self._trading_closed(action):
            return
        self.reviewing = True
        self._follow_up(ticket_id, action)

    FOLLOW_UP_EXPLAIN = {
        "chase": "Cancels the waiting legs' working orders, then sends what is left of them as a limit at the "
                 "far touch (the ask to buy, the bid to sell), within the price collar: it takes liquidity "
                 "and pays the spread, whatever the legs' own style. Sent only if what is left is still "
                 "exactly this.",
        "unwind": "Cancels the ticket's working orders, then undoes what filled with market orders; the "
                  "residual is accepted and the ticket ends. Sent only if what filled is still exactly this.",
    }

    @work(group="ticket", exit_on_error=False)
    async def _follow_up(self, ticket_id: str, action: str) -> None:
        from dataclasses import asdict

        from console.app.screens.confirm import ConfirmScreen
        from console.core.allocation import contract_mark
        from console.core.preview import follow_up_preview, preview
        from console.execution.executor import ExecutionRefused

        executor, journal = self.services.executor, self.services.journal
        try:
            if executor is None or journal is None:
                self.notify(f"{action}: no executor is connected, nothing sent", severity="error")
                return
            try:
                fu = await self.services.call(executor.plan_follow_up(ticket_id, action))
            except ExecutionRefused as exc:
                self.notify(f"{action} {ticket_id}: {exc}", severity="warning", timeout=8)
                return
            if fu.reasons:
                self.notify(f"{action} {ticket_id} refused, nothing sent: {'; '.join(fu.reasons)}",
                            severity="error", timeout=10)
                return
            if not fu.orders:
                self.notify(f"{action} {ticket_id}: nothing to send (what is left is under one lot); "
                            "L leaves the residual", severity="warning", timeout=8)
                return
            row = await asyncio.to_thread(journal.ticket, ticket_id)
            snap = self.state.snapshot if self.state is not None else None
            marks = {(o.account, o.symbol): m for o in fu.orders
                     if snap is not None and (m := contract_mark(snap, o.account, o.symbol))}
            ticket = fu.as_ticket(row.ticket, marks)
            pv = None
            if snap is not None:
                # the books and tiers the builder prices with, so margin and liquidation read
                # as on the dashboard (not the labelled fallback tiers)
                books, book_errors = await self.services.books.books((o.account, o.symbol) for o in fu.orders)
                tiers, tier_errors = await self.services.books.tiers(ticket, self.state.snapshot if self.state else None)
                pv = await asyncio.to_thread(preview, self.config, snap, ticket, books=books, tiers=tiers or None,
                                             now_ms=self.now_ms(), book_errors=book_errors, tier_errors=tier_errors)
                pv = follow_up_preview(pv, action, ticket_id)
            modal = ConfirmScreen(ticket, pv, title=f"{action.upper()} ticket {ticket_id}",
                                  explain=self.FOLLOW_UP_EXPLAIN[action])
            ok = await self.push_screen_wait(modal)
        finally:
            self.reviewing = False
        if not ok:
            await asyncio.to_thread(journal.note, ticket_id, "follow_up_cancelled", {"action": action})
            self.notify(f"{action} {ticket_id}: cancelled, nothing sent", timeout=3)
            return
        await asyncio.to_thread(journal.note, ticket_id, "follow_up_confirmed",
                                {"action": action, "keystroke": modal.keystroke or "y",
                                 "orders": [asdict(o) for o in fu.orders]})
        self.notify(f"{action} {ticket_id}: confirmed; sending", timeout=3)
        try:
            result = await self.services.call(getattr(executor, action)(ticket_id, expect=fu))
        except Exception as exc:  # noqa: BLE001 - a refusal is shown, not raised
            self.post_message(TicketFinished(ticket_id, error=f"{action}: {exc}"))
            return
        self.post_message(TicketFinished(ticket_id, result=result))

    # its own group, not exclusive: a kill must neither cancel a review nor be cancelled by
    # one (``killing`` keeps it to one at a time)
    @work(group="kill", exit_on_error=False)
    async def kill_switch(self) -> None:
        """Show what the kill switch will close, ask (its own confirmation), then run it."""
        try:
            await self._kill_switch()
        finally:
            self.killing = False

    async def _kill_switch(self) -> None:
        from console.app.screens.confirm import ConfirmScreen
        from console.execution.kill import flatten_legs, flatten_ticket

        executor = self.services.executor
        if executor is None:
            self.notify("no executor is connected: the kill switch cannot act", severity="error")
            return
        snap = self.state.snapshot if self.state is not None else None
        positions = {n: list(a.open_positions()) for n, a in snap.accounts.items()} if snap else {}
        ticket = flatten_ticket(flatten_legs(self.config, positions), self.now_ms())
        working = await asyncio.to_thread(self.working_orders)
        slices = executor.unsent_slices()
        stops = (f"{working} working order{'' if working == 1 else 's'} of the console"
                 + (f" and {slices} slice{'' if slices == 1 else 's'} not yet sent" if slices else ""))
        modal = ConfirmScreen(ticket, None, threshold=float("inf"), title="KILL SWITCH", kill=True,
                              explain=f"Cancels {stops} (as the journal knows them, plus any console order "
                                      "the venues show), then closes every futures position with reduce-only "
                                      "market orders (positions re-read from the venues; spot is never "
                                      "touched). The legs below are from the last snapshot.")
        if not await self.push_screen_wait(modal):
            self.notify("kill switch: cancelled, nothing done", timeout=3)
            return
        from console.app.screens.kill import KillProgressScreen

        progress = self.kill_progress = KillProgressScreen()
        self.push_screen(progress)
        try:
            report = await self.services.call(executor.kill(confirmed=True))
        except Exception as exc:  # noqa: BLE001
            self.notify(f"kill switch failed: {exc}", severity="error", timeout=10)
            return
        finally:
            self.kill_progress = None
            if progress.is_attached and progress in self.screen_stack:
                progress.dismiss(None)
        flat = report.flatten
        n = len(report.cancelled)
        # per account, what is done and what is not (it retried until done, or you stopped it)
        self.notify(f"kill switch: {n} order{'' if n == 1 else 's'} cancelled; flatten "
                    f"{flat.state.value if flat else 'not needed'}\n" + "\n".join(report.lines()),
                    severity="information" if report.done else "warning", timeout=10)
        self.post_message(TicketFinished(flat.ticket_id if flat else "", result=flat))

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
        for screen in self._listening_screens("refresh_blotter"):
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
        for screen in self._listening_screens("refresh_blotter"):
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
        ev = event.event
        name = type(ev).__name__
        if name == "LeggingAlert":
            # an alert like the others (panel, toast, bell, journal): the trader must act on it
            left = {r.leg: r.remaining for r in ev.residual}
            waiting = ", ".join(f"{i + 1} (left {left.get(i, 0):+g})" for i in ev.waiting_legs)
            done = ", ".join(str(i + 1) for i in ev.done_legs)
            self._raise_alerts((Alert(f"legging:{ev.ticket_id}", "legging", Severity.WARN, ev.ticket_id,
                                      f"ticket {ev.ticket_id} legging: leg {done} done, leg {waiting} waiting; "
                                      "on the blotter (3) C chase, U unwind, L leave", self.now_ms()),))
        elif name == "Refused":
            self.notify(f"ticket {ev.ticket_id} refused, nothing more sent: {'; '.join(ev.reasons)}",
                        severity="error", timeout=10)
        elif name == "KillProgress":
            if self.kill_progress is not None:
                self.kill_progress.show_progress(ev.report, ev.next_in_s)
        elif name == "AmbiguousOutcome":
            self.notify(f"order {ev.client_id}: outcome unknown ({ev.reason}); looking it up by client id",
                        severity="warning")
        for screen in self._listening_screens("refresh_blotter"):
            screen.refresh_blotter()

    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def refresh_now(self) -> None:
        """After a fill: refresh every venue at once instead of waiting for the next poll."""
        venues = self.services.venues
        snap = await self.services.call(venues.refresh())
        self.ingest(snap)

    # ------------------------------------------------------------------ workers

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are reported."""
        if event.state is not WorkerState.ERROR:
            return
        err = event.worker.error
        group = event.worker.group
        text = f"{type(err).__name__}: {err}" if err is not None else "failed"
        if group == "connect":
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


async def _close_trading(executor: Any) -> None:
    """On the service loop, where the executor lives (its gate is read there)."""
    close = getattr(executor, "close_trading", None)
    if close is not None:
        close("a reconciliation was started (R)")


def _strictest_mode(config: Config) -> Mode:
    modes = {Mode(a.mode) for a in config.accounts}
    for m in (Mode.LIVE, Mode.PAPER):
        if m in modes:
            return m
    return Mode.DEMO
