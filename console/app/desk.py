"""The trading desk: what the console does with money, step by step, apart from the App.

Each step is a sequence the trader must be able to follow and that must never lose a journal
row: journal the ticket, show the confirmation, confirm or cancel, send, report. The App owns
the screen (it pushes the modals and shows the toasts the desk asks for) and runs these as
its workers; the desk owns the order of the steps and what is said at each.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.app.messages import TicketFinished

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.execution.journal import Confirmation

FOLLOW_UP_EXPLAIN = {
    "chase": "Cancels the waiting legs' working orders, then sends what is left of them as a limit at the "
    "far touch (the ask to buy, the bid to sell), within the price collar: it takes liquidity "
    "and pays the spread, whatever the legs' own style. Sent only if what is left is still "
    "exactly this.",
    "unwind": "Cancels the ticket's working orders, then undoes what filled with market orders; the "
    "residual is accepted and the ticket ends. Sent only if what filled is still exactly this.",
}


class TradingDesk:
    """Review, follow-up (chase / unwind), the kill switch and reconciliation for ``app``."""

    def __init__(self, app: RebalApp) -> None:
        self.app = app

    def trading_closed(self, what: str) -> bool:
        """Say so before a confirmation, not after `y`: the executor would refuse the send."""
        app = self.app
        if app.journal_down is not None:
            # a send the journal cannot record would be a send no console knows of
            app.notify(
                f"{what}: the journal is unreachable ({app.journal_down}); nothing is sent until it "
                "answers again (the header says when)",
                severity="error",
                timeout=8,
            )
            return True
        executor = app.services.executor
        if executor is not None and not executor.trading_allowed:
            app.notify(
                f"{what}: trading is closed until a reconciliation is accepted (R runs one, enter "
                "accepts it); nothing was journaled",
                severity="warning",
                timeout=6,
            )
            return True
        return False

    async def reconcile(self, *, startup: bool = False) -> None:
        """Journal vs venues. At start-up a clean report opens trading by itself (a notice and
        a journal row say so): only a discrepancy stops the trader with the report. A
        reconciliation the trader asked for (R) is always shown, and trading opens when the
        trader accepts it."""
        from console.app.screens.reconcile import ReconcileScreen

        app = self.app
        executor = app.services.executor
        if executor is None:
            app.notify("no executor is connected: nothing to reconcile", severity="error")
            return
        # closed while it runs and until its report is accepted: a report is a picture of one
        # moment, and sends must wait for the trader's yes to the new one (the kill switch
        # does not look at the gate)
        was_open = executor.trading_allowed
        await app.services.call(_close_trading(executor))
        closed = "trading is closed" if was_open else "trading stays closed"
        while True:
            try:
                report = await app.services.call(executor.reconcile())
            except Exception as exc:  # noqa: BLE001 - shown; trading stays closed
                app.notify(
                    f"reconciliation failed: {exc}; {closed} (R runs it again)",
                    severity="error",
                    timeout=10,
                )
                return
            app.last_reconcile = report
            if startup and report.clean:
                await asyncio.to_thread(
                    executor.allow_trading,
                    report,
                    "the startup reconciliation was clean: the journal matches every venue",
                )
                app.notify(
                    "startup reconciliation clean: the journal matches every venue; trading is open "
                    "(R shows the report)",
                    title="Reconciled",
                    timeout=5,
                )
                app.tick_now()  # the header drops its TRADING CLOSED badge now, not in a second
                return
            answer = await app.push_screen_wait(ReconcileScreen(report, startup=startup))
            startup = False  # "run again" is the trader's own request: its report is shown
            if answer == "again":
                continue
            if answer == "accept":
                await asyncio.to_thread(executor.allow_trading, report)
                app.notify("reconciled: trading is open", timeout=3)
            else:
                app.notify(
                    f"{closed} until a reconciliation is accepted (R); the kill switch (K) still works",
                    severity="warning",
                )
            return

    async def review(self, ticket: Any, preview: Any) -> None:
        """Journal the ticket as planned, show the confirmation modal, then confirm and send
        it, or cancel it. The modal decides once; the journal refuses a second confirm.
        Whatever ends the modal (n, escape, a screen switch, the worker cancelled), a planned
        ticket is never left planned: it is cancelled in the journal."""
        from console.app.screens.confirm import ConfirmScreen
        from console.core.snapshot import snapshot_to_dict
        from console.execution.journal import Confirmation

        app = self.app

        journal = app.services.journal
        tid: str | None = None
        decided = False
        try:
            if journal is None:
                app.notify(
                    "no journal is open, so nothing can be sent", severity="error", timeout=6
                )
                return
            snap = app.state.snapshot if app.state is not None else None
            tid = await asyncio.to_thread(
                journal.record_ticket,
                ticket,
                preview.to_dict() if preview is not None else None,
                snapshot_to_dict(snap) if snap is not None else None,
                ts=app.now_ms(),
                legging_s=app.config.limits.legging_s,
            )
            executor = app.services.executor
            confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            sending: asyncio.Future[Any] | None = None

            def send_now(keystroke: str) -> None:
                # on `y`, before the modal closes: the yes and the send go to the service loop
                # at once, as one step there (the journal commits the yes with the order rows),
                # and this (UI) thread holds still until the order is out: the repaint as the
                # modal closes comes after the first byte, not in turns with it
                nonlocal sending
                assert tid is not None
                app.submitting.add(tid)
                yes = Confirmation(keystroke, int(ticket.snapshot_ts), app.now_ms())
                out = threading.Event()
                sending = app.services.start(_confirm_then_submit(executor, tid, yes, confirmed, out.set))
                sending.add_done_callback(_retrieved)
                app.services.hold_for(out)

            modal = ConfirmScreen(ticket, preview, threshold=app.confirm_threshold,
                                  on_yes=send_now if executor is not None else None)
            ok = await app.push_screen_wait(modal)
            app.reviewing = False  # answered: the next ctrl+r may open a confirmation
            if not ok:
                await asyncio.to_thread(journal.abandon, tid, "cancelled at the confirmation")
                decided = True
                app.notify(f"ticket {tid} cancelled; nothing was sent", timeout=3)
                return
            if sending is None:  # no executor: the yes is journalled, and nothing can send it
                keystroke, ts = modal.keystroke or "y", app.now_ms()
                await asyncio.to_thread(journal.confirm, tid, keystroke, ticket.snapshot_ts, ts=ts)
            else:
                await confirmed
            decided = True
        finally:
            app.reviewing = False
            if tid is not None and not decided:  # cancelled, or failed before an answer
                app.submitting.discard(tid)
                with contextlib.suppress(Exception):
                    journal.abandon(tid, "the confirmation was closed without an answer")
        app.last_ticket_id = tid
        if executor is None:
            await asyncio.to_thread(journal.abandon, tid, "no executor is connected: not sent")
            app.notify(
                f"ticket {tid} confirmed, but no executor is connected: not sent (cancelled)",
                severity="error",
            )
            return
        assert sending is not None
        app.notify(f"ticket {tid} confirmed; sending", timeout=3)
        app.action_show("blotter")
        try:
            result = await sending
        except Exception as exc:  # noqa: BLE001 - a refusal is shown, not raised
            state = await asyncio.to_thread(lambda: journal.ticket(tid).state.value)
            if state == "failed":
                # refused before anything was sent: the executor's Refused event says why
                # (one toast, not two); the blotter shows the ticket failed with its reason
                app.post_message(TicketFinished(tid))
            else:
                app.post_message(TicketFinished(tid, error=str(exc)))
            return
        finally:
            app.submitting.discard(tid)
        app.post_message(TicketFinished(tid, result=result))

    async def follow_up(self, ticket_id: str, action: str) -> None:
        from dataclasses import asdict

        app = self.app
        from console.app.screens.confirm import ConfirmScreen
        from console.core.allocation import contract_mark
        from console.core.preview import follow_up_preview, preview
        from console.execution.executor import ExecutionRefused

        executor, journal = app.services.executor, app.services.journal
        try:
            if executor is None or journal is None:
                app.notify(f"{action}: no executor is connected, nothing sent", severity="error")
                return
            try:
                fu = await app.services.call(executor.plan_follow_up(ticket_id, action))
            except ExecutionRefused as exc:
                app.notify(f"{action} {ticket_id}: {exc}", severity="warning", timeout=8)
                return
            if fu.reasons:
                app.notify(
                    f"{action} {ticket_id} refused, nothing sent: {'; '.join(fu.reasons)}",
                    severity="error",
                    timeout=10,
                )
                return
            if not fu.orders:
                app.notify(
                    f"{action} {ticket_id}: nothing to send (what is left is under one lot); "
                    "L leaves the residual",
                    severity="warning",
                    timeout=8,
                )
                return
            row = await asyncio.to_thread(journal.ticket, ticket_id)
            snap = app.state.snapshot if app.state is not None else None
            marks = {
                (o.account, o.symbol): m
                for o in fu.orders
                if snap is not None and (m := contract_mark(snap, o.account, o.symbol))
            }
            ticket = fu.as_ticket(row.ticket, marks)
            pv = None
            if snap is not None:
                # the books and tiers the builder prices with, so margin and liquidation read
                # as on the dashboard (not the labelled fallback tiers)
                books, book_errors = await app.services.books.books(
                    (o.account, o.symbol) for o in fu.orders
                )
                tiers, tier_errors = await app.services.books.tiers(
                    ticket, app.state.snapshot if app.state else None
                )
                pv = await asyncio.to_thread(
                    preview,
                    app.config,
                    snap,
                    ticket,
                    books=books,
                    tiers=tiers or None,
                    now_ms=app.now_ms(),
                    book_errors=book_errors,
                    tier_errors=tier_errors,
                )
                pv = follow_up_preview(pv, action, ticket_id)
            modal = ConfirmScreen(
                ticket,
                pv,
                title=f"{action.upper()} ticket {ticket_id}",
                explain=FOLLOW_UP_EXPLAIN[action],
            )
            ok = await app.push_screen_wait(modal)
        finally:
            app.reviewing = False
        if not ok:
            await asyncio.to_thread(
                journal.note, ticket_id, "follow_up_cancelled", {"action": action}
            )
            app.notify(f"{action} {ticket_id}: cancelled, nothing sent", timeout=3)
            return
        await asyncio.to_thread(
            journal.note,
            ticket_id,
            "follow_up_confirmed",
            {
                "action": action,
                "keystroke": modal.keystroke or "y",
                "orders": [asdict(o) for o in fu.orders],
            },
        )
        app.notify(f"{action} {ticket_id}: confirmed; sending", timeout=3)
        try:
            result = await app.services.call(getattr(executor, action)(ticket_id, expect=fu))
        except Exception as exc:  # noqa: BLE001 - a refusal is shown, not raised
            app.post_message(TicketFinished(ticket_id, error=f"{action}: {exc}"))
            return
        app.post_message(TicketFinished(ticket_id, result=result))

    async def kill_switch(self) -> None:
        from console.app.screens.confirm import ConfirmScreen
        from console.app.screens.kill import KillProgressScreen
        from console.execution.kill import flatten_legs, flatten_ticket

        app = self.app
        executor = app.services.executor
        if executor is None:
            app.notify("no executor is connected: the kill switch cannot act", severity="error")
            return
        snap = app.state.snapshot if app.state is not None else None
        positions = {n: list(a.open_positions()) for n, a in snap.accounts.items()} if snap else {}
        ticket = flatten_ticket(flatten_legs(app.config, positions), app.now_ms())
        working = await asyncio.to_thread(app.working_orders)
        slices = executor.unsent_slices()
        stops = f"{working} working order{'' if working == 1 else 's'} of the console" + (
            f" and {slices} slice{'' if slices == 1 else 's'} not yet sent" if slices else ""
        )
        modal = ConfirmScreen(
            ticket,
            None,
            threshold=float("inf"),
            title="KILL SWITCH",
            kill=True,
            explain=f"Cancels {stops} (as the journal knows them, plus any console order "
            "the venues show), then closes every futures position with reduce-only "
            "market orders (positions re-read from the venues; spot is never "
            "touched). The legs below are from the last snapshot.",
        )
        if not await app.push_screen_wait(modal):
            app.notify("kill switch: cancelled, nothing done", timeout=3)
            return
        progress = app.kill_progress = KillProgressScreen()
        app.push_screen(progress)
        try:
            report = await app.services.call(executor.kill(confirmed=True))
        except Exception as exc:  # noqa: BLE001
            app.notify(f"kill switch failed: {exc}", severity="error", timeout=10)
            return
        finally:
            app.kill_progress = None
            if progress.is_attached and progress in app.screen_stack:
                progress.dismiss(None)
        flat = report.flatten
        n = len(report.cancelled)
        # per account, what is done and what is not (it retried until done, or you stopped it)
        app.notify(
            f"kill switch: {n} order{'' if n == 1 else 's'} cancelled; flatten "
            f"{flat.state.value if flat else 'not needed'}\n" + "\n".join(report.lines()),
            severity="information" if report.done else "warning",
            timeout=10,
        )
        app.post_message(TicketFinished(flat.ticket_id if flat else "", result=flat))


async def _close_trading(executor: Any) -> None:
    """On the service loop, where the executor lives (its gate is read there)."""
    close = getattr(executor, "close_trading", None)
    if close is not None:
        close("a reconciliation was started (R)")


async def _confirm_then_submit(
    executor: Any, tid: str, yes: Confirmation, confirmed: asyncio.Future[None],
    on_wire: Callable[[], Any],
) -> Any:
    """On the service loop: the checks, then the trader's yes journalled with the order rows,
    then the send. ``confirmed`` (on the UI's loop) settles once the yes is in the journal, or
    with the error that kept it out (nothing was sent then). ``on_wire``: the order is out (or
    nothing will be sent now)."""
    ui = confirmed.get_loop()
    try:
        return await executor.submit(
            tid, confirm=yes, on_confirmed=lambda exc: ui.call_soon_threadsafe(_settle, confirmed, exc),
            on_wire=on_wire,
        )
    except Exception as exc:
        # a failure before the executor told either (its first journal read, say): the review
        # must not wait for a yes that will never be written, nor the UI hold to its cap
        ui.call_soon_threadsafe(_settle, confirmed, exc)  # a no-op once told
        on_wire()
        raise


def _retrieved(fut: asyncio.Future[Any]) -> None:
    """A send whose confirm failed is reported through ``confirmed``; its own copy of the
    error is read here so asyncio does not log it as never retrieved."""
    if not fut.cancelled():
        fut.exception()


def _settle(fut: asyncio.Future[None], exc: BaseException | None) -> None:
    if fut.done():  # the review was cancelled meanwhile
        return
    if exc is None:
        fut.set_result(None)
    else:
        fut.set_exception(exc)
