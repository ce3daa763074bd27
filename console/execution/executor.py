"""The executor: a confirmed ticket's legs → venue orders, tracked until their fate is known.

Discipline (seed 003, issue #5), in the order the code applies it:

1. Guards at send time, whatever the UI checked: the ticket must be ``confirmed`` (a ticket
   is sent once: the journal's compare-and-set decides between racing submits), the data it
   is sent on must be fresher than ``limits.max_data_age_s``, and the planner's pre-trade
   checks are re-run on that fresh snapshot.
2. Every order's row, with its deterministic client id, commits before its request leaves.
3. Legs go out together: one ``create_orders`` request per account where the venue has it,
   otherwise concurrent ``create_order`` requests.
4. An ambiguous outcome is never resent. The order is looked up by client id (with backoff)
   until the venue says what it is; "not found" only counts once the request is older than
   a grace period (a request can still be in flight). Unresolved orders stay ``unknown`` for
   the reconciler.
5. Legging rule: when one leg is done and another is not after the ticket's ``legging_s``,
   a ``LeggingAlert`` offers chase (re-price the rest), unwind (undo what filled) or leave
   (accept the residual). The residual per leg is tracked until zero or accepted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import inspect
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from console.core.clock import Clock, wall_ms
from console.core.config import Config
from console.core.lots import split
from console.core.numbers import num
from console.core.snapshot import Snapshot
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.clientid import client_order_id, is_console_id
from console.execution.journal import (
    Confirmation,
    Journal,
    JournalError,
    LegResidual,
    NewOrder,
    OrderRow,
    now_ms,
)
from console.execution.kill import flatten_legs, flatten_ticket
from console.execution.lifecycle import (
    ORDER_LIVE,
    OrderState,
    TicketState,
    order_state_from_ccxt,
    ticket_outcome,
)
from console.execution.lookup import ExecPolicy, look_up
from console.execution.ports import (
    Ambiguous,
    LookupFailed,
    OrderRequest,
    Rejected,
    VenueOrder,
    VenuePort,
    as_port,
    signed_contracts,
    venue_order_from_ccxt,
)

SnapshotProvider = Callable[[], "Snapshot | None | Awaitable[Snapshot | None]"]



class ExecutionRefused(JournalError):
    """A guard said no; nothing was sent. ``reasons`` are sentences a trader reads."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("; ".join(self.reasons))


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class OrderUpdate:
    ticket_id: str | None
    client_id: str
    state: OrderState
    filled: float


@dataclass(frozen=True)
class AmbiguousOutcome:
    ticket_id: str | None
    client_id: str
    reason: str


@dataclass(frozen=True)
class LeggingAlert:
    """One leg is done and another is not after the ticket's legging time."""

    ticket_id: str
    done_legs: tuple[int, ...]
    waiting_legs: tuple[int, ...]
    residual: tuple[LegResidual, ...]
    options: tuple[str, ...] = ("chase", "unwind", "leave")


@dataclass(frozen=True)
class Refused:
    ticket_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TicketDone:
    ticket_id: str
    state: TicketState
    residual: tuple[LegResidual, ...]




@dataclass(frozen=True)
class SubmitResult:
    ticket_id: str
    state: TicketState
    orders: tuple[OrderRow, ...]
    residual: tuple[LegResidual, ...]
    alert: LeggingAlert | None = None
    unresolved: tuple[str, ...] = ()  # client ids still "unknown": the reconciler will settle them


@dataclass(frozen=True)
class OrderTerms:
    """One order about to be sent: a chase, an unwind or a slice (contracts and price venue-rounded)."""

    leg: int
    account: str
    symbol: str
    side: str
    amount: float
    price: float | None  # None: a market order
    reduce_only: bool


@dataclass(frozen=True)
class FollowUp:
    """What a chase or an unwind of a ticket would send, for its confirmation. The executor
    sends exactly these orders or nothing: given back as ``expect``, a remainder that changed
    meanwhile (a fill came in) refuses the send."""

    ticket_id: str
    action: str  # "chase" | "unwind"
    orders: tuple[OrderTerms, ...]
    reasons: tuple[str, ...] = ()  # checks that fail: the executor would refuse it

    def terms(self) -> tuple[tuple[int, str, float, bool], ...]:
        # reduce-only too: it follows the current position, and the confirmation showed it
        return tuple((o.leg, o.side, o.amount, o.reduce_only) for o in self.orders)

    def as_ticket(self, ticket: Ticket, marks: Mapping[tuple[str, str], float] | None = None) -> Ticket:
        """These orders as a ticket of their own (the original's legs, resized), for the
        confirmation and its what-if. ``marks``: (account, symbol) → the current mark, which
        values a market order's notional (a limit's own price does otherwise)."""
        legs = []
        for o in self.orders:
            tl = ticket.legs[o.leg]
            price = o.price if o.price is not None else (marks or {}).get((o.account, o.symbol), tl.leg.price)
            leg = dataclasses.replace(tl.leg, side=o.side, contracts=o.amount, price=price, reduce_only=o.reduce_only,
                                      purpose=f"{self.action} leg {o.leg + 1}")
            style = OrderStyle(OrderType.LIMIT) if o.price is not None else OrderStyle()
            legs.append(TicketLeg(leg, style, o.price))
        what = ("what is left of the waiting legs, as limits at the far touch that take liquidity "
                "(within the price collar)" if self.action == "chase" else "what filled, undone at market")
        return dataclasses.replace(ticket, legs=tuple(legs), warnings=(), reasons=(),
                                   note=f"{self.action} of ticket {self.ticket_id}: {what}")


@dataclass(frozen=True)
class KillAccount:
    """What the kill switch left undone on one account (nothing: done)."""

    account: str
    left: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return not self.left


@dataclass(frozen=True)
class KillReport:
    cancelled: tuple[str, ...]
    cancel_failed: tuple[str, ...]  # still working after the last round
    flatten: SubmitResult | None  # the last flatten ticket sent
    skipped_accounts: tuple[str, ...] = field(default_factory=tuple)  # positions unread at the end
    accounts: tuple[KillAccount, ...] = ()
    rounds: int = 1
    stopped: bool = False  # the trader stopped it before it was done

    @property
    def done(self) -> bool:
        return all(a.done for a in self.accounts)

    def lines(self) -> list[str]:
        """Per account, what is done and what is not, for the trader."""
        out = []
        for a in self.accounts:
            if a.done:
                out.append(f"{a.account}: done (no console order working, no futures position)")
            else:
                out.append(f"{a.account}: NOT done: " + "; ".join(a.left))
        if self.stopped:
            out.append(f"stopped by you after {self.rounds} round{'s' if self.rounds > 1 else ''}")
        return out


@dataclass(frozen=True)
class KillProgress:
    """A kill switch round is over and another follows: per account what is done and what
    is not so far (``report``), and how long until the next round. The trader can stop it."""

    report: KillReport
    next_in_s: float


ExecEvent = OrderUpdate | AmbiguousOutcome | LeggingAlert | Refused | TicketDone | KillProgress


# ----------------------------------------------------------------------------- guards


def _mark(snap: Snapshot, account: str, symbol: str) -> float | None:
    st = snap.accounts.get(account)
    if st is None:
        return None
    t = st.tickers.get(symbol) or {}
    for k in ("markPrice", "last", "close"):
        v = t.get(k)
        if v:
            return float(v)
    bid, ask = t.get("bid"), t.get("ask")
    return (float(bid) + float(ask)) / 2 if bid and ask else None


def data_age_guard(config: Config, snap: Snapshot | None, accounts: Sequence[str], now_ms: int) -> list[str]:
    """Refuse data older than ``limits.max_data_age_s`` (prices, positions, balances)."""
    if snap is None:
        return ["no market data: wait for the first snapshot"]
    limit_s = config.limits.max_data_age_s
    out: list[str] = []
    for acct in accounts:
        st = snap.accounts.get(acct)
        if st is None:
            out.append(f"account {acct}: not in the current state; refresh")
            continue
        for part in ("tickers", "positions", "balance"):
            age = st.age_ms(part, now_ms)
            if age is None:
                out.append(f"account {acct}: no {part} yet; wait for the first refresh")
            elif age > limit_s * 1000:
                out.append(f"account {acct}: {part} are {age / 1000:.0f} s old (limit {limit_s:.0f} s); "
                           "refresh before sending")
    return out


def send_guards(config: Config, snap: Snapshot | None, ticket: Ticket, now_ms: int) -> list[str]:
    """The executor's own checks at send time; they run whether or not the planner's do."""
    out = data_age_guard(config, snap, ticket.accounts, now_ms)
    if out or snap is None:
        return out
    for i, tl in enumerate(ticket.legs):
        mark = _mark(snap, tl.leg.account, tl.leg.symbol)
        if mark is None:
            out.append(f"leg {i + 1} {tl.leg.symbol}: no price in the current state")
            continue
        if tl.limit_price is not None and abs(tl.limit_price / mark - 1) > config.limits.price_collar:
            out.append(f"leg {i + 1} {tl.leg.symbol}: limit {tl.limit_price:g} is more than "
                       f"{config.limits.price_collar:.1%} from the mark {mark:g}; re-plan")
    return out


def planner_checks(config: Config, snap: Snapshot, ticket: Ticket, now_ms: int, *,
                   skip: frozenset[str] = frozenset()) -> list[str]:
    """The planner's pre-trade checks (console.core.checks), re-run on fresh data, when present;
    ``skip``: check codes that do not apply (a follow-up order's size)."""
    if importlib.util.find_spec("console.core.checks") is None:
        return []
    from console.core.checks import pretrade_checks

    return [f.message for f in pretrade_checks(config, snap, ticket, now_ms) if f.code not in skip]


def reduces_position(side: str, amount: float, position: float) -> bool:
    """Whether an order of ``amount`` contracts on ``side`` only reduces a one-way position of
    signed size ``position`` (short negative): the only order a venue accepts reduce-only
    (Binance -2022, Bybit 110017 otherwise). A buy against a short, a sell against a long, no
    larger than the position."""
    toward = amount if side == "buy" else -amount
    return position * toward < 0 and amount <= abs(position) * (1 + 1e-9)


# ----------------------------------------------------------------------------- executor


class Executor:
    """Sends confirmed tickets and tracks their orders. One per console process.

    ``exchanges`` maps account name → a ccxt async exchange (wrapped in ``CcxtPort``) or an
    object that already is a ``VenuePort`` (tests). ``snapshot_provider`` returns the latest
    Snapshot (or an awaitable of it); ``on_event`` receives every ``ExecEvent``."""

    # ``clock`` is the console's clock (the snapshot's, which in demo mode is the emulator's):
    # data staleness and the confirmation's age (stamped by the UI with that clock) are
    # measured on it. Grace periods and the journal's own stamps are wall-clock.
    def __init__(self, journal: Journal, exchanges: Mapping[str, Any], config: Config,
                 snapshot_provider: SnapshotProvider, *, on_event: Callable[[ExecEvent], Any] | None = None,
                 policy: ExecPolicy | None = None, clock: Clock = wall_ms,
                 trace: Callable[[str, str], None] | None = None, require_reconcile: bool = True) -> None:
        self.journal = journal
        self.config = config
        self.ports: dict[str, VenuePort] = {name: as_port(name, ex) for name, ex in exchanges.items()}
        self.snapshot_provider = snapshot_provider
        self.on_event = on_event
        self.policy = policy or ExecPolicy()
        self.clock = clock
        self._trace = trace  # test hook: ("phase", ticket_id) at each step (SIGKILL trials)
        self._inflight: set[str] = set()  # tickets being submitted (sent, sliced, watched)
        self._following: set[str] = set()  # tickets being chased or unwound
        self._kill_lock = asyncio.Lock()  # a second press waits, then finds nothing to do
        self._kill_stop: asyncio.Event | None = None  # set by the trader: a kill stops retrying
        # per ticket still working after its legging time: the task that keeps watching its
        # orders until each is final (a fill shows when it happens, not at the next action)
        self._watchers: dict[str, asyncio.Task[None]] = {}
        # (leg, attempt) of each client id made here: a hashed id (Hyperliquid's 128-bit hex)
        # cannot be parsed back, and a row without its leg would not count toward the residual
        self._cid_meta: dict[str, tuple[int, int]] = {}
        self._sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep  # tests shorten slice waits
        # per sliced ticket: child orders not yet sent (the quit prompt says leaving drops them)
        # and an event the kill switch sets so a slice schedule stops at once, not at its next slot
        self._slices_left: dict[str, int] = {}
        self._stops: dict[str, asyncio.Event] = {}
        # Trading opens only after a startup reconciliation was complete and shown
        # (``allow_trading``); the kill switch works regardless.
        self._trading_allowed = not require_reconcile
        # account → "is its user data stream up now?" (``attach_order_stream``)
        self._streams: dict[str, Callable[[], bool]] = {}
        self._polled: dict[str, float] = {}  # ticket → monotonic time of its last REST read (watcher)

    # -- startup gate ----------------------------------------------------------------

    async def reconcile(self) -> Any:
        """Reconcile the journal with every connected venue (see reconcile.py). Returns the
        ReconcileReport for the UI to show; then call ``allow_trading(report)``."""
        from console.execution.reconcile import reconcile

        return await reconcile(self.journal, self.ports, self.config, policy=self.policy, clock=self.clock)

    def close_trading(self, why: str = "reconciliation started") -> None:
        """Close the gate (a reconciliation is running or was not accepted): submit, chase
        and slices refuse until ``allow_trading``; the kill switch works regardless."""
        if self._trading_allowed:
            self.journal.note(None, "trading_closed", {"why": why})
        self._trading_allowed = False

    def unsent_slices(self) -> int:
        """Child orders of sliced tickets not sent yet (leaving the console drops them)."""
        return sum(self._slices_left.values())

    def allow_trading(self, report: Any, why: str = "the trader accepted the reconciliation report") -> None:
        """Open the gate once a complete reconciliation report has been shown (or, at start-up,
        found clean); the journal says who opened it and why."""
        if not report.complete:
            raise ExecutionRefused(["reconciliation is incomplete: " + "; ".join(report.lines())])
        if not self._trading_allowed:
            self.journal.note(None, "trading_opened", {"why": why})
        self._trading_allowed = True

    @property
    def trading_allowed(self) -> bool:
        return self._trading_allowed

    # -- small helpers -------------------------------------------------------------

    def _emit(self, ev: ExecEvent) -> None:
        if self.on_event is not None:
            self.on_event(ev)

    def _t(self, phase: str, ticket_id: str) -> None:
        if self._trace is not None:
            self._trace(phase, ticket_id)

    async def _snapshot(self) -> Snapshot | None:
        s = self.snapshot_provider()
        if inspect.isawaitable(s):
            s = await s
        return s  # type: ignore[return-value]

    def _port(self, account: str) -> VenuePort:
        try:
            return self.ports[account]
        except KeyError:
            raise ExecutionRefused([f"account {account}: no exchange connected"]) from None

    async def _prepare(self, accounts: Sequence[str]) -> None:
        # one after the other, awaited directly: with the markets loaded (always, after the
        # first refresh) this returns without yielding to the loop, where a gather would put
        # the send behind whatever else is queued there (streamed tickers)
        for a in dict.fromkeys(accounts):
            await self._port(a).prepare()

    # -- submit --------------------------------------------------------------------

    async def submit(self, ticket_id: str, *, confirm: Confirmation | None = None,
                     on_confirmed: Callable[[BaseException | None], Any] | None = None,
                     on_wire: Callable[[], Any] | None = None,
                     _kill: bool = False) -> SubmitResult:
        """Send a confirmed ticket. Raises ``ExecutionRefused`` (nothing sent) when a guard
        fails or the ticket was already sent. A confirmed ticket refused here, before any of
        its order rows was written, is marked ``failed`` with the reasons: nothing reached the
        venue, and a refused ticket must not stay "confirmed" (sendable) for good.

        ``confirm``: the trader's yes to a *planned* ticket, given just now. The guards run
        first; the yes then commits in the same transaction as confirmed → sending and the
        order rows (one journal commit between `y` and the first order byte), or on its own
        before the refusal. ``on_confirmed`` is told once the yes is in the journal (None)
        or could not be written (the error): the UI waits for that, not for the send.
        ``on_wire`` is told once (on this loop) when the first requests are out: the step that
        handed them to the venue's client, and the tasks it started, have run (see
        ``_after_this_step``), so they are written to the socket (or wait on the venue's rate
        limit); or when nothing will be sent now (a refusal, an error). The UI holds its
        repaint until then (``Services.hold_for``)."""
        expect = TicketState.PLANNED if confirm is not None else TicketState.CONFIRMED
        told = wired = False

        def tell(exc: BaseException | None) -> None:
            nonlocal told
            if on_confirmed is not None and not told:
                told = True
                on_confirmed(exc)

        def wire() -> None:
            nonlocal wired
            if on_wire is not None and not wired:
                wired = True
                on_wire()

        row = self.journal.ticket(ticket_id)
        if row.state is not expect or ticket_id in self._inflight:
            # not ours to finish: it was sent (or is being sent) or decided already
            reason = (f"ticket {ticket_id} is {row.state.value}, not {expect.value}; a ticket is sent once"
                      if ticket_id not in self._inflight else f"ticket {ticket_id} is being sent already")
            try:
                self.journal.note(ticket_id, "refused", {"reasons": [reason]})
            finally:
                tell(ExecutionRefused([reason]))
                wire()
            raise ExecutionRefused([reason])
        self._inflight.add(ticket_id)
        try:
            try:
                try:
                    confirmed_ms = confirm.ts if confirm is not None else row.confirmed_ms
                    ticket, snap, reqs, slices = await self._before_send(ticket_id, row, confirmed_ms, _kill)
                except Exception as exc:
                    if confirm is not None:  # the yes is journalled, then why nothing was sent
                        try:
                            self.journal.confirm(ticket_id, confirm.keystroke, confirm.snapshot_ts,
                                                 ts=confirm.ts)
                        except Exception as not_written:
                            tell(not_written)
                            raise
                        tell(None)
                    self._refuse(ticket_id, exc)
                    raise
                try:
                    self.journal.begin_sending(ticket_id, [self._new_order(a, r, purpose="flatten" if _kill
                                                                           else "leg") for a, r in reqs],
                                               confirm=confirm)
                except Exception as exc:
                    tell(exc)
                    raise
                tell(None)
                self._t("recorded", ticket_id)
                await self._send(ticket_id, reqs, on_wire=wire)
            finally:
                wire()  # sent, or nothing will be now: whoever holds for the wire goes on
            self._t("sent", ticket_id)
            self.journal.set_ticket_state(ticket_id, TicketState.WORKING)
            if any(len(s) > 1 for s in slices):
                try:
                    await self._run_slices(ticket_id, ticket, slices)
                finally:
                    self._slices_left.pop(ticket_id, None)  # stopped or done: none left to send
            return await self._watch(ticket_id, row.legging_s)
        finally:
            self._inflight.discard(ticket_id)
            self._slices_left.pop(ticket_id, None)
            self._stops.pop(ticket_id, None)

    async def _before_send(self, ticket_id: str, row: Any, confirmed_ms: int | None, kill: bool
                           ) -> tuple[Ticket, Snapshot | None, list[tuple[str, OrderRequest]], list[list[float]]]:
        """Every guard, and the first requests; nothing is written or sent here. Nothing
        here waits unless it must (markets not loaded yet, a snapshot provider that is a
        coroutine): the send goes out on this turn of the loop, not behind its other work."""
        if not self._trading_allowed and not kill:
            raise ExecutionRefused(["trading is closed until a reconciliation report is accepted "
                                    "(R, then enter); plan the ticket again after that"])
        ticket = row.ticket
        if not ticket.legs:
            raise ExecutionRefused(["the ticket has no legs"])
        await self._prepare(ticket.accounts)
        snap = await self._snapshot()
        now = self.clock()
        if not kill:
            reasons = send_guards(self.config, snap, ticket, now)
            # A confirmation is a yes to numbers on data of that moment; an old one (a
            # ticket confirmed before a restart, say) is not a yes to today's market.
            # The console stamps it with its own clock (the emulator's in demo mode),
            # which is this executor's ``clock``: measured on the wall clock, every demo
            # confirmation would look hours old (or, the other way, never old).
            age_s = (now - (confirmed_ms or 0)) / 1000
            if age_s > self.config.limits.max_data_age_s:
                reasons.append(f"the confirmation is {age_s:.0f} s old (limit "
                               f"{self.config.limits.max_data_age_s:.0f} s); plan the ticket again")
            if not reasons and snap is not None:
                reasons = planner_checks(self.config, snap, ticket, now)
            if reasons:
                self.journal.note(ticket_id, "refused", {"reasons": reasons,
                                                         "snapshot_ts": snap.timestamp if snap else None})
                raise ExecutionRefused(reasons)
        slices = [self._slice_amounts(i, tl) for i, tl in enumerate(ticket.legs)]
        reqs = [self._leg_request(ticket_id, i, tl, 1, snap, amount=slices[i][0])
                for i, tl in enumerate(ticket.legs)]
        return ticket, snap, reqs, slices

    def _refuse(self, ticket_id: str, exc: BaseException) -> None:
        """A confirmed ticket refused before any order row was written → failed, with why.
        Only from ``confirmed`` (compare-and-set): a kill switch that cancelled it meanwhile
        keeps its own state."""
        reasons = exc.reasons if isinstance(exc, ExecutionRefused) else (f"{type(exc).__name__}: {exc}",)
        with suppress(JournalError):
            self.journal.set_ticket_state(ticket_id, TicketState.FAILED, expect=TicketState.CONFIRMED,
                                          detail={"reason": "refused at send time, nothing sent: "
                                                            + "; ".join(reasons)[:400]})
        self._emit(Refused(ticket_id, tuple(reasons)))

    def _slice_amounts(self, leg_no: int, tl: TicketLeg) -> list[float]:
        """The child order sizes of a leg: equal venue-rounded slices, the last one taking
        the rounding remainder, so that the slices add up to exactly the leg."""
        port = self._port(tl.leg.account)
        n = tl.style.slices
        # ccxt raises (InvalidOrder "must be greater than minimum amount precision") for an
        # amount under the lot: said here in the trader's words, naming the leg and the fix
        try:
            total = port.amount_to_precision(tl.leg.symbol, tl.leg.contracts)
        except Exception:  # noqa: BLE001 - nothing has been written or sent yet
            raise ExecutionRefused([f"leg {leg_no + 1} {tl.leg.symbol}: {tl.leg.contracts:g} contracts is under "
                                    "the venue's minimum amount; trade more or drop the leg"]) from None

        def round_down(x: float) -> float:
            try:
                return port.amount_to_precision(tl.leg.symbol, x)
            except Exception:  # noqa: BLE001 - under one lot: said below
                return 0.0

        parts = split(total, n, round_down)
        if not parts:
            raise ExecutionRefused([f"leg {leg_no + 1} {tl.leg.symbol}: {n} slices of {total:g} are under the "
                                    "venue's minimum amount each; use fewer slices"])
        return list(parts)

    async def _run_slices(self, ticket_id: str, ticket: Ticket, slices: list[list[float]]) -> None:
        """Send the remaining slices on schedule (``over_minutes`` spread evenly). Each slice
        is a new attempt with its own client id; a slice is sent only on fresh data, and the
        schedule stops if the trader leaves or unwinds the ticket (the rest stays residual)."""
        n_max = max(len(s) for s in slices)
        stop = self._stops.setdefault(ticket_id, asyncio.Event())
        for k in range(1, n_max):
            self._slices_left[ticket_id] = sum(max(0, len(s) - k) for s in slices)
            due = [i for i, s in enumerate(slices) if len(s) > k]
            interval = min(ticket.legs[i].style.over_minutes * 60 / len(slices[i]) for i in due)
            await self._wait_or_stop(interval, stop)
            t = self.journal.ticket(ticket_id)
            if t.residual_accepted or t.state is not TicketState.WORKING:
                self.journal.note(ticket_id, "slices_stopped", {"after": k, "state": t.state.value})
                self._slices_left.pop(ticket_id, None)
                return
            snap = await self._snapshot()
            stale = data_age_guard(self.config, snap, [ticket.legs[i].leg.account for i in due], self.clock())
            if stale:
                self.journal.note(ticket_id, "slices_stopped", {"after": k, "reasons": stale})
                self._emit(Refused(ticket_id, tuple(stale)))
                return
            # each slice is a send: the pre-trade checks run again on today's margin and prices
            failed = self._recheck(snap, ticket, [
                OrderTerms(i, ticket.legs[i].leg.account, ticket.legs[i].leg.symbol, ticket.legs[i].leg.side,
                              slices[i][k], ticket.legs[i].limit_price, ticket.legs[i].leg.reduce_only)
                for i in due])
            if failed:
                self.journal.note(ticket_id, "slices_stopped", {"after": k, "reasons": failed})
                self._emit(Refused(ticket_id, tuple(failed)))
                return
            t = self.journal.ticket(ticket_id)  # again: a leave, unwind or kill while we waited for data
            if t.residual_accepted or t.state is not TicketState.WORKING:
                self.journal.note(ticket_id, "slices_stopped", {"after": k, "state": t.state.value})
                return
            # at the confirmed limit price: a slice does not chase (that is the trader's call)
            reqs = [self._leg_request(ticket_id, i, ticket.legs[i], k + 1, snap, amount=slices[i][k])
                    for i in due]
            self.journal.add_orders(ticket_id, [self._new_order(a, r, purpose="slice") for a, r in reqs])
            await self._send(ticket_id, reqs)
            self._t("slice", ticket_id)
        self._slices_left.pop(ticket_id, None)

    async def _wait_or_stop(self, seconds: float, stop: asyncio.Event) -> None:
        """Wait for the next slice's slot, or less when the kill switch stops the schedule."""
        if stop.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for f in (sleeper, stopper):
                f.cancel()

    def _leg_request(self, ticket_id: str, leg_no: int, tl: TicketLeg, attempt: int,
                     snap: Snapshot | None, *, amount: float | None = None, side: str | None = None,
                     price: float | None = None, reduce_only: bool | None = None,
                     market: bool = False) -> tuple[str, OrderRequest]:
        """The order for one leg. ``price``: a re-price (a chase) at this limit instead of the
        ticket's own, sent as a plain limit even for a post-only leg."""
        leg = tl.leg
        port = self._port(leg.account)
        side = side or leg.side
        amt = port.amount_to_precision(leg.symbol, amount if amount is not None else leg.contracts)
        reprice = price is not None
        # a re-price (a chase) is a marketable limit whatever the leg's own style: a market
        # leg's rest is not sent blind at market, a post-only leg's would not take
        otype = "market" if market else ("limit" if reprice else tl.order_type)
        if otype != "limit":
            price = None
        else:
            if price is None:
                price = tl.limit_price
            if price is None:
                price = self._touch_price(snap, leg.account, leg.symbol, side, tl)
            price = port.price_to_precision(leg.symbol, price)
        cid = client_order_id(ticket_id, leg_no, attempt, port.exchange_id)
        self._cid_meta[cid] = (leg_no, attempt)
        return leg.account, OrderRequest(
            client_id=cid, symbol=leg.symbol, side=side, type=otype, amount=amt, price=price,
            reduce_only=leg.reduce_only if reduce_only is None else reduce_only,
            post_only=tl.style.type is OrderType.POST_ONLY and not reprice)

    def _touch_price(self, snap: Snapshot | None, account: str, symbol: str, side: str, tl: TicketLeg,
                     touch: tuple[float | None, float | None] | None = None, *, take: bool = False) -> float:
        """The price at the touch: ``touch`` (the book's best bid and ask) when known, else
        the snapshot's ticker, else the mark. ``take``: the far touch (a chase takes
        liquidity), never the near one a post-only leg rests at."""
        st = snap.accounts.get(account) if snap else None
        t = (st.tickers.get(symbol) if st else None) or {}
        bid, ask = touch if touch and all(touch) else (t.get("bid"), t.get("ask"))
        mark = _mark(snap, account, symbol) if snap else None
        if bid and ask:
            if tl.style.type is OrderType.POST_ONLY and not take:
                return float(bid) if side == "buy" else float(ask)
            return float(ask) if side == "buy" else float(bid)  # chase: cross the spread
        if mark is None:
            raise ExecutionRefused([f"{symbol}: no price to set a limit on; refresh"])
        return mark

    def _collared(self, snap: Snapshot | None, tl: TicketLeg, side: str, price: float) -> float:
        """A chase's price, no further from the mark than the price collar: a thin or
        dislocated book does not make it pay any price (the unfilled rest stays working)."""
        mark = _mark(snap, tl.leg.account, tl.leg.symbol) if snap else None
        if mark is None:
            return price
        collar = self.config.limits.price_collar
        return min(price, mark * (1 + collar)) if side == "buy" else max(price, mark * (1 - collar))

    def _new_order(self, account: str, r: OrderRequest, *, purpose: str) -> NewOrder:
        o = _new_order(account, r, purpose=purpose)
        meta = self._cid_meta.pop(r.client_id, None)
        if o.leg is None and meta is not None:
            o = dataclasses.replace(o, leg=meta[0], attempt=meta[1])
        return o

    async def _send(self, ticket_id: str, reqs: Sequence[tuple[str, OrderRequest]], *,
                    on_wire: Callable[[], Any] | None = None) -> None:
        """``on_wire``: scheduled by each request's task just before it hands the request to
        the venue's client (``_after_this_step``), so it runs once the request is written (or
        waits on the venue's rate limit), after every request's first step."""
        by_account: dict[str, list[OrderRequest]] = {}
        for acct, r in reqs:
            by_account.setdefault(acct, []).append(r)
        # The rows (the "sending" commit) are in the journal already. When each request left
        # is written once its answer is in, before that answer is acted on (a lookup's grace
        # runs from it): a commit here would sit between the rows' commit and the first byte.
        # A crash before it leaves ``sent_ms`` empty, and the row's creation time, a moment
        # earlier, stands in for it.
        sent_ms = now_ms()

        async def one_account(acct: str, rs: list[OrderRequest]) -> None:
            port = self._port(acct)
            outcomes: list[VenueOrder | Exception]
            try:
                if self.policy.batch and port.can_batch(rs):
                    try:
                        _after_this_step(on_wire)
                        outcomes = await port.place_many(rs)
                    except Exception as exc:  # noqa: BLE001 - a surprise after the request left: ambiguous
                        outcomes = [Ambiguous(f"{type(exc).__name__}: {exc}") for _ in rs]
                else:
                    outcomes = list(await asyncio.gather(*(_place(port, r, on_wire) for r in rs)))
            finally:
                self.journal.mark_sent([r.client_id for r in rs], ts=sent_ms)
            await asyncio.gather(*(self._apply_send(ticket_id, acct, r, o)
                                   for r, o in zip(rs, outcomes, strict=True)))

        done = await asyncio.gather(*(one_account(a, rs) for a, rs in by_account.items()), return_exceptions=True)
        for (acct, rs), out in zip(by_account.items(), done, strict=True):
            if isinstance(out, Exception):
                # whatever went wrong, those requests may have reached the venue: their rows
                # become "unknown" and are looked up; the ticket goes on to "working"
                self.journal.note(ticket_id, "send_error", {"account": acct, "error": str(out)[:300]})
                for r in rs:
                    row = self.journal.order(r.client_id)
                    if row is not None and row.state is OrderState.NEW:
                        self.journal.update_order(r.client_id, OrderState.UNKNOWN, error=str(out)[:300])
            elif isinstance(out, BaseException):
                raise out

    async def _apply_send(self, ticket_id: str, acct: str, req: OrderRequest,
                          outcome: VenueOrder | Exception) -> None:
        if isinstance(outcome, VenueOrder):
            self._record(req.client_id, outcome)
            return
        if isinstance(outcome, Rejected):
            self.journal.update_order(req.client_id, OrderState.REJECTED, error=str(outcome)[:500])
            self._emit(OrderUpdate(ticket_id, req.client_id, OrderState.REJECTED, 0.0))
            return
        # Ambiguous (or anything else): never resend; find out.
        reason = str(outcome)[:500]
        self.journal.update_order(req.client_id, OrderState.UNKNOWN, error=reason)
        self._emit(AmbiguousOutcome(ticket_id, req.client_id, reason))
        self._t("ambiguous", ticket_id)
        await self.resolve(req.client_id)

    def _record(self, client_id: str, v: VenueOrder) -> OrderRow:
        state = order_state_from_ccxt(v.status, v.filled, v.amount)
        if state is OrderState.UNKNOWN:  # a status we cannot read: keep looking it up
            row = self.journal.order(client_id)
            assert row is not None
            if row.state is not OrderState.NEW:
                return row
        row = self.journal.update_order(client_id, state, venue_id=v.venue_id, filled=v.filled,
                                        average=v.average)
        self._emit(OrderUpdate(row.ticket_id, client_id, row.state, row.filled))
        return row

    async def resolve(self, client_id: str, *, timeout_s: float | None = None) -> OrderRow:
        """Look an order up by client id until the venue says what it is (or time runs out:
        the order then stays ``unknown``). Never sends anything."""
        row = self.journal.order(client_id)
        if row is None:
            raise JournalError(f"no order {client_id} in the journal")
        def failed(exc: LookupFailed) -> None:
            self.journal.note(row.ticket_id, "lookup_failed", {"error": str(exc)[:300]}, client_id=client_id)

        v = await look_up(self._port(row.account), row, self.policy, timeout_s=timeout_s,
                          clock=now_ms, sleep=self._sleep, on_failed=failed)
        if isinstance(v, VenueOrder):
            return self._record(client_id, v)
        if v is None:
            # The venue does not know the id, and a request that old can no longer
            # arrive. A late appearance is still caught by reconciliation.
            out = self.journal.update_order(client_id, OrderState.NEVER_SEEN,
                                            error="the venue does not know this client id")
            self._emit(OrderUpdate(out.ticket_id, client_id, out.state, out.filled))
            return out
        return self.journal.order(client_id) or row

    # -- watching and the legging rule ----------------------------------------------

    async def _watch(self, ticket_id: str, legging_s: float) -> SubmitResult:
        start = time.monotonic()
        while True:
            live = [o for o in self.journal.orders(ticket_id) if o.state in ORDER_LIVE]
            if not live:
                # every order is final, but a leg may be done while another was refused or
                # never reached its venue: that is legging too, and waiting cannot mend it
                res = self._finish(ticket_id)
                alert = self._legging_alert(ticket_id)
                return dataclasses.replace(res, alert=alert) if alert else res
            if time.monotonic() - start >= legging_s:
                break
            await asyncio.gather(*(self._poll(o) for o in live))
            if any(o.state in ORDER_LIVE for o in self.journal.orders(ticket_id)):
                await asyncio.sleep(self.policy.poll_s)
        return self._legging(ticket_id)

    async def _poll(self, o: OrderRow) -> None:
        if o.state in (OrderState.NEW, OrderState.UNKNOWN):
            await self.resolve(o.client_id, timeout_s=0)
            return
        try:
            v = await self._port(o.account).lookup(o.symbol, o.client_id)
        except LookupFailed:
            return
        if v is not None:
            self._record(o.client_id, v)

    def _keep_watching(self, ticket_id: str) -> None:
        """Go on watching a ticket's working orders in the background, after its legging
        time, until every one is final; then the ticket gets its outcome."""
        task = self._watchers.get(ticket_id)
        if task is None or task.done():
            self._polled[ticket_id] = time.monotonic()  # its orders were just read
            self._watchers[ticket_id] = asyncio.get_running_loop().create_task(self._watch_to_the_end(ticket_id))

    async def _watch_to_the_end(self, ticket_id: str) -> None:
        while True:
            await asyncio.sleep(self.policy.poll_s)
            if ticket_id in self._following or ticket_id in self._inflight:
                continue  # a chase, unwind or leave (or the send itself) watches its own orders
            try:
                live = [o for o in self.journal.orders(ticket_id) if o.state in ORDER_LIVE]
                if not live:
                    if self.journal.ticket(ticket_id).state in (TicketState.SENDING, TicketState.WORKING):
                        self._finish(ticket_id)
                    self._watchers.pop(ticket_id, None)
                    self._polled.pop(ticket_id, None)
                    return
                # orders on a streaming account are told to us as they change: read over REST
                # only every streamed_poll_s (the fallback); the others every poll_s
                now = time.monotonic()
                due = now - self._polled.get(ticket_id, 0.0) >= self.policy.streamed_poll_s
                polled = [o for o in live if due or not self._streaming(o.account)]
                if due:
                    self._polled[ticket_id] = now
                await asyncio.gather(*(self._poll(o) for o in polled))
            except Exception as exc:  # noqa: BLE001 - a bad answer or a busy journal: watch on
                with suppress(Exception):
                    self.journal.note(ticket_id, "watch_error", {"error": f"{type(exc).__name__}: {exc}"[:300]})

    # -- streamed order updates -------------------------------------------------------

    def attach_order_stream(self, account: str, up: Callable[[], bool]) -> None:
        """The venue of ``account`` streams order updates (its user data stream) and passes
        each to ``on_streamed_order``; ``up`` says whether that stream is up right now (when
        it is not, its orders are polled as any other's)."""
        self._streams[account] = up

    def _streaming(self, account: str) -> bool:
        up = self._streams.get(account)
        try:
            return bool(up and up())
        except Exception:  # noqa: BLE001 - unsure: poll
            return False

    def on_streamed_order(self, account: str, order: Mapping[str, Any]) -> None:
        """An order update from the venue's user data stream, as it happens: a working order
        of ours that filled, partly filled or ended is recorded now (journal, blotter), and a
        ticket whose last order ended gets its outcome. It never sends anything. An update
        that cannot be read, or says less than the journal knows, is ignored: REST lookups
        stay the fallback and reconciliation the record."""
        try:
            self._apply_streamed(account, order)
        except Exception as exc:  # noqa: BLE001 - a bad update or a busy journal: REST will tell
            with suppress(Exception):
                self.journal.note(None, "stream_update_error", {"account": account,
                                                                "error": f"{type(exc).__name__}: {exc}"[:300]})

    def _apply_streamed(self, account: str, order: Mapping[str, Any]) -> None:
        cid = order.get("clientOrderId")
        if not isinstance(cid, str) or not is_console_id(cid):
            return
        row = self.journal.order(cid)
        if row is None or row.account != account or row.state not in ORDER_LIVE:
            return
        # judge the figures as the venue sent them: the conversion below reads an unreadable
        # fill as 0, and "closed, 0 filled" would pass for a cancel
        if num(order.get("filled")) is None:
            return  # no fill we can read: ambiguous, REST lookups stay the fallback
        if any(order.get(k) is not None and num(order.get(k)) is None for k in ("amount", "average")):
            return
        v = venue_order_from_ccxt(dict(order))
        amount = v.amount or row.amount
        readable = (math.isfinite(v.filled) and 0 <= v.filled <= amount * (1 + 1e-9)
                    and (v.average is None or (math.isfinite(v.average) and v.average > 0)))
        if not readable or order_state_from_ccxt(v.status, v.filled, amount) is OrderState.UNKNOWN:
            return
        if v.filled < row.filled:
            return  # an older update than what the journal has
        out = self._record(cid, v)
        tid = out.ticket_id
        if tid is None or tid in self._inflight or tid in self._following:
            return  # the send, chase, unwind or leave watching it finishes the ticket itself
        if not any(o.state in ORDER_LIVE for o in self.journal.orders(tid)) \
                and self.journal.ticket(tid).state in (TicketState.SENDING, TicketState.WORKING):
            self._finish(tid)

    async def stop_watching(self) -> None:
        """Stop the background watchers (the console is closing); the reconciliation at the
        next start settles what they would have seen."""
        tasks = list(self._watchers.values())
        self._watchers.clear()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _legging(self, ticket_id: str) -> SubmitResult:
        if any(o.state in ORDER_LIVE for o in self.journal.orders(ticket_id)):
            self._keep_watching(ticket_id)
        return self._result(ticket_id, self._legging_alert(ticket_id))

    def _legging_alert(self, ticket_id: str) -> LeggingAlert | None:
        """The legging alert (journalled and emitted) when some of the ticket is done and a leg
        still waits (resting, ambiguous, refused or never seen), whatever venues the legs are on."""
        residual = tuple(self.journal.residual(ticket_id))
        done = tuple(r.leg for r in residual if r.settled)
        waiting = tuple(r.leg for r in residual if not r.settled)
        if not (len(residual) > 1 and waiting and any(r.done != 0 for r in residual)):
            return None
        alert = LeggingAlert(ticket_id, done, waiting, residual)
        self.journal.note(ticket_id, "legging_alert", {"done": list(done), "waiting": list(waiting),
                                                        "remaining": [r.remaining for r in residual]})
        self._emit(alert)
        return alert

    def _result(self, ticket_id: str, alert: LeggingAlert | None = None) -> SubmitResult:
        orders = tuple(self.journal.orders(ticket_id))
        return SubmitResult(ticket_id=ticket_id, state=self.journal.ticket(ticket_id).state, orders=orders,
                            residual=tuple(self.journal.residual(ticket_id)), alert=alert,
                            unresolved=tuple(o.client_id for o in orders
                                             if o.state in (OrderState.NEW, OrderState.UNKNOWN)))

    def _finish(self, ticket_id: str) -> SubmitResult:
        """Every order final: the ticket's outcome from its residual and orders."""
        dst = ticket_outcome(self.journal, ticket_id)
        t = self.journal.ticket(ticket_id)
        if t.state is not dst and t.state is not TicketState.RECONCILED:
            if t.state in (TicketState.FILLED, TicketState.PARTLY_FILLED, TicketState.CANCELLED,
                           TicketState.FAILED):
                self.journal.set_ticket_state(ticket_id, TicketState.WORKING)
            self.journal.set_ticket_state(ticket_id, dst)
        res = self._result(ticket_id)
        self._emit(TicketDone(ticket_id, res.state, res.residual))
        self._t("done", ticket_id)
        return res

    # -- the trader's answers to a legging alert ------------------------------------

    async def _cancel_live(self, orders: Sequence[OrderRow]) -> list[str]:
        """Cancel and wait for each order's final state; returns client ids still live."""
        async def one(o: OrderRow) -> str | None:
            row = await self.cancel(o.client_id)
            return row.client_id if row.state in ORDER_LIVE else None
        out = await asyncio.gather(*(one(o) for o in orders))
        return [c for c in out if c]

    async def _refresh(self, ticket_id: str) -> None:
        """Ask the venue once more about the ticket's working orders."""
        live = [o for o in self.journal.orders(ticket_id) if o.state in ORDER_LIVE]
        await asyncio.gather(*(self._poll(o) for o in live), return_exceptions=True)

    def _reopen(self, ticket_id: str) -> None:
        t = self.journal.ticket(ticket_id)
        if t.state is not TicketState.WORKING:
            self.journal.set_ticket_state(ticket_id, TicketState.WORKING)

    def _next_attempt(self, ticket_id: str, leg: int) -> int:
        return 1 + max((o.attempt or 0) for o in self.journal.orders(ticket_id) if o.leg == leg)

    def _open_legs(self, ticket_id: str, action: str) -> dict[int, LegResidual]:
        """The ticket's residual per leg, when some leg still waits; refused otherwise: a
        chase, unwind or leave only answers a ticket that is not done (a reversal of a
        filled ticket is a new ticket, built and confirmed as one)."""
        residual = {r.leg: r for r in self.journal.residual(ticket_id)}
        if not residual or all(r.settled for r in residual.values()):
            why = ("its residual was accepted" if any(r.accepted for r in residual.values())
                   else "every leg is done")
            extra = "; to reverse it, build a new ticket on the builder" if action == "unwind" else ""
            raise ExecutionRefused([f"ticket {ticket_id} has nothing left to {action}: {why}{extra}"])
        if action == "unwind" and not any(abs(r.done) > 1e-12 for r in residual.values()):
            raise ExecutionRefused([f"nothing of ticket {ticket_id} has filled, so there is nothing to unwind; "
                                    "x cancels its working orders"])
        return residual

    async def _touches(self, ticket: Ticket, residual: Mapping[int, LegResidual]
                       ) -> dict[int, tuple[float | None, float | None]]:
        """The book's best bid and ask for each waiting leg. A venue whose book cannot be
        read leaves the leg to the ticker (``_touch_price``)."""
        legs = [i for i, r in residual.items() if not r.settled]

        async def one(i: int) -> tuple[float | None, float | None]:
            tl = ticket.legs[i]
            try:
                return await self._port(tl.leg.account).touch(tl.leg.symbol)
            except Exception:  # noqa: BLE001 - the ticker, then the mark, stand in
                return None, None

        return dict(zip(legs, await asyncio.gather(*(one(i) for i in legs)), strict=True))

    def _chase_orders(self, ticket: Ticket, residual: Mapping[int, LegResidual], snap: Snapshot | None,
                      touches: Mapping[int, tuple[float | None, float | None]] | None = None) -> list[OrderTerms]:
        """What is left of each waiting leg as a marketable limit at the far touch (the ask to
        buy, the bid to sell), bounded by the price collar, whatever the leg's own style: a
        chase takes liquidity. As ``_leg_request`` will send it."""
        out = []
        for i, r in residual.items():
            rem = r.remaining
            if r.settled or abs(rem) <= 1e-12:
                continue
            tl = ticket.legs[i]
            side = "buy" if rem > 0 else "sell"
            port = self._port(tl.leg.account)
            amount = port.amount_to_precision(tl.leg.symbol, abs(rem))
            if amount <= 0:
                continue
            price = port.price_to_precision(tl.leg.symbol, self._collared(snap, tl, side, self._touch_price(
                snap, tl.leg.account, tl.leg.symbol, side, tl, (touches or {}).get(i), take=True)))
            out.append(OrderTerms(i, tl.leg.account, tl.leg.symbol, side, amount, price, tl.leg.reduce_only))
        return out

    def _unwind_orders(self, ticket: Ticket, residual: Mapping[int, LegResidual],
                       positions: Mapping[tuple[str, str], float]) -> list[OrderTerms]:
        """Market orders opposite to what each leg did, each sized exactly to what the leg
        filled. Reduce-only where the order only reduces the leg's current position
        (``positions``: (account, symbol) → signed contracts, read just before): a leg that
        had shrunk an opposite position is undone by an order that grows it again, which a
        reduce-only order cannot do, so that one goes plain."""
        out = []
        meets = dict(positions)  # two legs on one symbol: the second meets what the first leaves
        for i, r in residual.items():
            if abs(r.done) <= 1e-12:
                continue
            tl = ticket.legs[i]
            amount = self._port(tl.leg.account).amount_to_precision(tl.leg.symbol, abs(r.done))
            if amount > 0:
                side = "sell" if r.done > 0 else "buy"
                key = (tl.leg.account, tl.leg.symbol)
                held = meets.get(key)
                out.append(OrderTerms(i, tl.leg.account, tl.leg.symbol, side, amount, None,
                                      held is not None and reduces_position(side, amount, held)))
                if held is not None:
                    meets[key] = held + (amount if side == "buy" else -amount)
        return out

    async def _positions_now(self, action: str, ticket: Ticket,
                             legs: Sequence[int]) -> tuple[dict[tuple[str, str], float], list[str]]:
        """The current signed position (one-way mode) of each contract leg in ``legs``, read
        fresh from its venue: (account, symbol) → contracts, 0 when none is open; and why a
        position could not be read, which refuses the follow-up (nothing is sent on a
        guess). Spot legs hold no position and are left out."""
        wanted: dict[str, set[str]] = {}
        for i in legs:
            leg = ticket.legs[i].leg
            if self._port(leg.account).is_contract(leg.symbol):
                wanted.setdefault(leg.account, set()).add(leg.symbol)
        out: dict[tuple[str, str], float] = {}
        reasons: list[str] = []
        for acct, symbols in wanted.items():
            try:
                held = await self._port(acct).positions()
            except Exception as exc:  # noqa: BLE001 - a failed read is never "no position"
                reasons.append(f"account {acct}: its positions could not be read ({str(exc)[:120]}), so whether "
                               f"the {action} may be reduce-only is unknown: nothing was sent; try again, or L leaves it")
                continue
            if held is None:
                reasons.append(f"account {acct}: the venue reports no positions, so whether the {action} may be "
                               "reduce-only is unknown: nothing was sent; L leaves the ticket")
                continue
            for sym in sorted(symbols):
                mine = [p for p in held if p.get("symbol") == sym]
                if len(mine) > 1 or any(p.get("side") not in ("long", "short") for p in mine):
                    reasons.append(f"account {acct} {sym}: the position is not one net long or short (hedge "
                                   f"mode?), so the {action} cannot be judged reduce-only: nothing was sent; "
                                   "switch the account to one-way mode, or L leaves the ticket")
                    continue
                out[(acct, sym)] = signed_contracts(mine[0]) if mine else 0.0
        return out, reasons

    async def _unwind_positions(self, ticket_id: str, ticket: Ticket,
                                residual: Mapping[int, LegResidual]) -> dict[tuple[str, str], float]:
        """The positions an unwind about to be sent is judged on; one that cannot be read
        refuses it, journalled and posted to the console (the trader can leave the ticket or
        try again)."""
        held, reasons = await self._positions_now("unwind", ticket, list(residual))
        if reasons:
            self.journal.note(ticket_id, "refused", {"reasons": reasons, "action": "unwind"})
            self._emit(Refused(ticket_id, tuple(reasons)))
            raise ExecutionRefused(reasons)
        return held

    async def plan_follow_up(self, ticket_id: str, action: str) -> FollowUp:
        """The orders ``chase`` or ``unwind`` would send now, and the checks that would refuse
        them, for the trader to confirm. Sends nothing."""
        if action not in ("chase", "unwind"):
            raise ValueError(f"unknown follow-up {action!r}")
        await self._refresh(ticket_id)  # shown on the true remainder, not the last poll's
        t = self.journal.ticket(ticket_id)
        residual = self._open_legs(ticket_id, action)
        if action == "unwind":
            # refused here by raising only: the confirmation was never shown, and the caller
            # tells the trader (the send path also journals and posts its refusal)
            held, unread = await self._positions_now("unwind", t.ticket, list(residual))
            if unread:
                raise ExecutionRefused(unread)
            return FollowUp(ticket_id, action, tuple(self._unwind_orders(t.ticket, residual, held)))
        orders, reasons, _ = await self._chase_plan(t.ticket, residual, await self._snapshot(), None)
        return FollowUp(ticket_id, action, tuple(orders), tuple(reasons))

    async def _chase_plan(self, ticket: Ticket, residual: Mapping[int, LegResidual], snap: Snapshot | None,
                          expect: FollowUp | None
                          ) -> tuple[list[OrderTerms], list[str], dict[int, tuple[float | None, float | None]]]:
        """What a chase would send now (at the confirmed prices when ``expect`` is given), the
        reasons it would be refused, and the touches it was priced from. A re-price on stale
        prices would chase the wrong market, and a chase is a new price on today's margin: the
        data age and the pre-trade checks are judged before anything is cancelled."""
        waiting = [i for i, r in residual.items() if not r.settled]
        stale = data_age_guard(self.config, snap, [ticket.legs[i].leg.account for i in waiting], self.clock())
        if stale:
            return [], stale, {}
        touches = await self._touches(ticket, residual)
        orders = self._priced_as_shown(self._chase_orders(ticket, residual, snap, touches), expect)
        return orders, self._recheck(snap, ticket, orders) + await self._closes_still_close(ticket, orders), touches

    async def _closes_still_close(self, ticket: Ticket, orders: Sequence[OrderTerms]) -> list[str]:
        """A chase of a leg planned as a close stays reduce-only, so it must still reduce the
        current position (read fresh): one the venue would reject reduce-only is refused here,
        and never sent plain, which would open a position the trader did not confirm."""
        closes = [o for o in orders if o.reduce_only]
        if not closes:
            return []
        held, unread = await self._positions_now("chase", ticket, [o.leg for o in closes])
        gone = [(o, held[(o.account, o.symbol)]) for o in closes if (o.account, o.symbol) in held
                and not reduces_position(o.side, o.amount, held[(o.account, o.symbol)])]
        return unread + [f"leg {o.leg + 1} {o.symbol}: planned as a close, but its position is now {now:+g} "
                         f"contracts, which a reduce-only {o.side} of {o.amount:g} cannot reduce: nothing was "
                         "sent; re-plan it" for o, now in gone]

    @staticmethod
    def _priced_as_shown(orders: Sequence[OrderTerms], expect: FollowUp | None) -> list[OrderTerms]:
        """The limit prices the trader confirmed, not a touch read again at send time (the
        confirmation may have stayed open a while); the collar check then runs on them."""
        if expect is None:
            return list(orders)
        shown = {o.leg: o.price for o in expect.orders}
        return [dataclasses.replace(o, price=shown.get(o.leg, o.price)) if o.price is not None else o
                for o in orders]

    @staticmethod
    def _as_shown(ticket_id: str, action: str, expect: FollowUp | None, orders: Sequence[OrderTerms]) -> None:
        if expect is None:
            return
        now = FollowUp(ticket_id, action, tuple(orders)).terms()
        if expect.action != action or expect.ticket_id != ticket_id or expect.terms() != now:
            raise ExecutionRefused([f"what is left of ticket {ticket_id} changed since it was shown (a fill came "
                                    f"in, or the position moved): nothing was sent; look at the blotter and "
                                    f"{action} again"])

    async def chase(self, ticket_id: str, legs: Sequence[int] | None = None, *,
                    expect: FollowUp | None = None) -> SubmitResult:
        """Re-price what is left of the waiting legs: cancel their working orders, then send
        the remainder as a marketable limit at the far touch, within the collar. With
        ``expect`` (what the trader confirmed), anything else is refused."""
        if not self._trading_allowed:
            raise ExecutionRefused(["trading waits for the startup reconciliation"])
        if ticket_id in self._inflight:
            # its slices are still going out: a chase of the whole remainder now would be
            # followed by the next slice, sending the same quantity twice
            raise ExecutionRefused([f"ticket {ticket_id} is still being sent; chase it once it has finished"])
        with self._follow(ticket_id, "chase"):
            await self._refresh(ticket_id)  # on the true remainder
            return await self._chase(ticket_id, legs, expect)

    def _recheck(self, snap: Snapshot | None, ticket: Ticket, orders: Sequence[OrderTerms]) -> list[str]:
        """The planner's pre-trade checks on the orders about to go out, as a ticket of their
        own: a follow-up order is a send too."""
        legs = tuple(dataclasses.replace(
            ticket.legs[o.leg], leg=dataclasses.replace(ticket.legs[o.leg].leg, side=o.side, contracts=o.amount),
            limit_price=o.price, style=dataclasses.replace(ticket.legs[o.leg].style, slices=1, over_minutes=0.0))
            for o in orders)
        if not legs or snap is None:
            return []
        # the size was judged on the whole leg when it was confirmed: a slice or a remainder
        # under the "worth an order" minimum is still owed (the venue's own minimum rejects)
        return planner_checks(self.config, snap, dataclasses.replace(ticket, legs=legs), self.clock(),
                              skip=frozenset({"min_notional"}))

    @contextmanager
    def _follow(self, ticket_id: str, action: str) -> Iterator[None]:
        """One chase or unwind at a time per ticket: two at once would each see the same
        remainder and each send it."""
        if ticket_id in self._following:
            raise ExecutionRefused([f"ticket {ticket_id} is being chased or unwound already; not {action}ing twice"])
        self._following.add(ticket_id)
        try:
            yield
        finally:
            self._following.discard(ticket_id)

    async def _chase(self, ticket_id: str, legs: Sequence[int] | None, expect: FollowUp | None) -> SubmitResult:
        t = self.journal.ticket(ticket_id)
        residual = self._open_legs(ticket_id, "chase")
        if legs is not None:
            residual = {i: r for i, r in residual.items() if i in legs}
        waiting = [i for i, r in residual.items() if not r.settled]
        snap = await self._snapshot()
        orders, reasons, touches = await self._chase_plan(t.ticket, residual, snap, expect)
        if reasons:
            self.journal.note(ticket_id, "refused", {"reasons": reasons, "action": "chase"})
            self._emit(Refused(ticket_id, tuple(reasons)))
            raise ExecutionRefused(reasons)
        self._as_shown(ticket_id, "chase", expect, orders)
        live = [o for o in self.journal.orders(ticket_id) if o.state in ORDER_LIVE and o.leg in waiting]
        stuck = await self._cancel_live(live)
        if stuck:
            raise ExecutionRefused([f"order {c} could not be cancelled yet; not chasing over it" for c in stuck])
        residual = {r.leg: r for r in self.journal.residual(ticket_id) if r.leg in waiting}
        orders = self._priced_as_shown(self._chase_orders(t.ticket, residual, snap, touches), expect)
        self._as_shown(ticket_id, "chase", expect, orders)  # a fill while cancelling: not what was confirmed
        reqs = [self._leg_request(ticket_id, o.leg, t.ticket.legs[o.leg], self._next_attempt(ticket_id, o.leg), snap,
                                  amount=o.amount, side=o.side, price=o.price) for o in orders]
        return await self._follow_up(ticket_id, reqs, "chase", t.legging_s)

    async def unwind(self, ticket_id: str, *, expect: FollowUp | None = None) -> SubmitResult:
        """Undo what filled: cancel working orders, then market orders opposite to each leg's
        done quantity (reduce-only where they only reduce the current position, read fresh).
        The residual is accepted: the trader chose to give the ticket up. With ``expect`` (what the trader
        confirmed), anything else is refused."""
        with self._follow(ticket_id, "unwind"):
            await self._refresh(ticket_id)  # on the true remainder
            return await self._unwind(ticket_id, expect)

    async def _unwind(self, ticket_id: str, expect: FollowUp | None) -> SubmitResult:
        t = self.journal.ticket(ticket_id)
        residual = self._open_legs(ticket_id, "unwind")
        held = await self._unwind_positions(ticket_id, t.ticket, residual)
        self._as_shown(ticket_id, "unwind", expect, self._unwind_orders(t.ticket, residual, held))
        live = [o for o in self.journal.orders(ticket_id) if o.state in ORDER_LIVE]
        stuck = await self._cancel_live(live)
        if stuck:
            raise ExecutionRefused([f"order {c} could not be cancelled yet; not unwinding over it" for c in stuck])
        residual = {r.leg: r for r in self.journal.residual(ticket_id)}
        # read again after the cancels, just before the send: reduce-only is judged on the
        # position the orders will meet
        held = await self._unwind_positions(ticket_id, t.ticket, residual)
        orders = self._unwind_orders(t.ticket, residual, held)
        self._as_shown(ticket_id, "unwind", expect, orders)  # a fill while cancelling: not what was confirmed
        self.journal.accept_residual(ticket_id)
        reqs = [self._leg_request(ticket_id, o.leg, t.ticket.legs[o.leg], self._next_attempt(ticket_id, o.leg), None,
                                  amount=o.amount, side=o.side, reduce_only=o.reduce_only, market=True)
                for o in orders]
        return await self._follow_up(ticket_id, reqs, "unwind", t.legging_s)

    async def leave(self, ticket_id: str) -> SubmitResult:
        """Accept the residual as it is. The ticket's working orders are cancelled first: one
        left working could still fill the remainder the trader has just given up."""
        self._open_legs(ticket_id, "leave")
        with self._follow(ticket_id, "leave"):
            live = [o for o in self.journal.orders(ticket_id) if o.state in ORDER_LIVE]
            stuck = await self._cancel_live(live)
            if stuck:
                raise ExecutionRefused([f"order {c} could not be cancelled yet; not leaving it working" for c in stuck])
            self.journal.accept_residual(ticket_id)
            return self._finish(ticket_id)

    async def _follow_up(self, ticket_id: str, reqs: list[tuple[str, OrderRequest]], purpose: str,
                         legging_s: float) -> SubmitResult:
        if not reqs:
            return self._finish(ticket_id)
        self._reopen(ticket_id)
        # exclusive: refused (nothing sent) if a leg still has a working order, say one a
        # second console process sent meanwhile; checked in the same transaction as the rows
        self.journal.add_orders(ticket_id, [self._new_order(a, r, purpose=purpose) for a, r in reqs],
                                exclusive_legs=True)
        await self._send(ticket_id, reqs)
        return await self._watch(ticket_id, legging_s)

    # -- abandon ---------------------------------------------------------------------

    def abandon(self, ticket_id: str, reason: str = "abandoned on the blotter") -> None:
        """A planned or confirmed ticket that was never sent → cancelled. Refused when the
        journal holds any order for it or it is being sent right now: then something may have
        reached the venue, and its orders are cancelled instead. The state change is a
        compare-and-set, so a send racing this one either wins (this refuses) or loses."""
        t = self.journal.ticket(ticket_id)
        if ticket_id in self._inflight:
            raise ExecutionRefused([f"ticket {ticket_id} is being sent right now; cancel its orders instead"])
        if self.journal.orders(ticket_id):
            raise ExecutionRefused([f"ticket {ticket_id} has orders in the journal, so it was sent; "
                                    "cancel its working orders instead (c / x)"])
        if t.state not in (TicketState.PLANNED, TicketState.CONFIRMED):
            raise ExecutionRefused([f"ticket {ticket_id} is {t.state.value}: only a planned or confirmed "
                                    "ticket that was never sent can be abandoned"])
        self.journal.abandon(ticket_id, reason)

    # -- cancel ----------------------------------------------------------------------

    async def cancel(self, client_id: str) -> OrderRow:
        """Cancel one order by client id and return its state after (looked up if the
        cancel's answer is not definite). Finishes its ticket when nothing is left working."""
        row = self.journal.order(client_id)
        if row is None:
            raise JournalError(f"no order {client_id} in the journal")
        if row.state not in ORDER_LIVE:
            return row
        if row.state in (OrderState.NEW, OrderState.UNKNOWN):
            row = await self.resolve(client_id)
            if row.state not in (OrderState.OPEN, OrderState.PARTIAL):
                return row
        port = self._port(row.account)
        try:
            v = await port.cancel(row.symbol, client_id)
        except LookupFailed as exc:
            self.journal.note(row.ticket_id, "cancel_failed", {"error": str(exc)[:300]}, client_id=client_id)
            v = None
        if v is not None and order_state_from_ccxt(v.status, v.filled, v.amount) not in ORDER_LIVE:
            out = self._record(client_id, v)
        else:
            out = await self.resolve(client_id, timeout_s=self.policy.lookup_timeout_s / 4)
        if out.ticket_id and not any(o.state in ORDER_LIVE for o in self.journal.orders(out.ticket_id)):
            t = self.journal.ticket(out.ticket_id)
            if t.state in (TicketState.WORKING, TicketState.SENDING):
                self._finish(out.ticket_id)
        return out

    # -- kill switch -----------------------------------------------------------------

    async def kill(self, confirmed: bool = False) -> KillReport:
        """Cancel every working order of the console and flatten the futures overlay with
        reduce-only market orders; spot is never touched. Needs its own confirmation."""
        if not confirmed:
            raise ExecutionRefused(["the kill switch needs its own confirmation"])
        # A second press (or a press while one runs) waits for the first, then re-reads the
        # venues: nothing left to flatten, nothing sent twice.
        async with self._kill_lock:
            return await self._kill()

    def _stop_pending(self) -> None:
        """Nothing not yet sent may go out after a kill: confirmed tickets are abandoned (a
        submit in flight then loses the journal's compare-and-set and sends nothing), and
        tickets still working get their residual accepted (their slice schedules stop)."""
        for t in self.journal.tickets(states=[TicketState.CONFIRMED]):
            with suppress(JournalError):  # sent meanwhile: its orders are cancelled below
                self.journal.set_ticket_state(t.id, TicketState.CANCELLED, expect=TicketState.CONFIRMED,
                                              detail={"reason": "kill switch"})
        for t in self.journal.tickets(states=[TicketState.SENDING, TicketState.WORKING]):
            if not t.residual_accepted:
                self.journal.accept_residual(t.id)
        for stop in self._stops.values():  # a slice schedule waiting for its slot stops now
            stop.set()

    def _finish_stopped(self) -> None:
        """After the kill's cancels: a ticket the kill stopped whose orders are all final (a
        sliced ticket between slices, say) is finished now, not left "working" until its
        schedule would have woken."""
        for t in self.journal.tickets(states=[TicketState.SENDING, TicketState.WORKING]):
            if t.residual_accepted and not any(o.state in ORDER_LIVE for o in self.journal.orders(t.id)):
                self._finish(t.id)

    def stop_kill(self) -> None:
        """The trader stops a kill switch that keeps retrying; its report says what is left."""
        if self._kill_stop is not None:
            self._kill_stop.set()

    async def _kill(self) -> KillReport:
        now = self.clock()
        self.journal.note(None, "kill_switch", {"ts": now})
        self._stop_pending()
        accounts = [a.name for a in self.config.accounts if a.name in self.ports]
        stop = self._kill_stop = asyncio.Event()
        cancelled: list[str] = []
        flatten: SubmitResult | None = None
        refused: dict[str, str] = {}  # account → why its flatten was refused (a retry would be too)
        wait, rounds, flattened = self.policy.kill_backoff_s, 0, False
        # Round after round until every account's orders are cancelled and its overlay is flat:
        # a read or a cancel that fails is tried again with backoff, never taken as "nothing there".
        while True:
            rounds += 1
            left: dict[str, list[str]] = {}
            failed: list[str] = []
            for acct in accounts:
                left[acct] = await self._kill_cancel(acct, cancelled, failed)
            self._finish_stopped()
            positions, unread = await self._kill_positions(accounts)
            for acct in unread:
                left[acct].append("positions could not be read")
            legs = [g for g in flatten_legs(self.config, positions) if g.account not in refused]
            for g in legs:
                left[g.account].append(f"{g.symbol} not flat yet ({g.side} {g.contracts:g} to close)")
            if legs and not stop.is_set():
                ticket = flatten_ticket(legs, now)
                tid = self.journal.record_ticket(ticket, {"kill_switch": True},
                                                 {"positions": positions, "ts": now}, legging_s=10.0)
                self.journal.confirm(tid, "kill", now)
                try:
                    flatten = await self.submit(tid, _kill=True)
                except ExecutionRefused as exc:  # a guard (a lot under the minimum): retrying cannot help
                    for g in legs:
                        refused[g.account] = "; ".join(exc.reasons)
                except Exception as exc:  # noqa: BLE001 - its orders are resolved next round; positions re-read
                    self.journal.note(tid, "kill_flatten_error", {"error": str(exc)[:300]})
            for acct, why in refused.items():
                left.setdefault(acct, []).append(f"flatten refused: {why}")
            retry = any(v for a, v in left.items() if a not in refused)
            status = tuple(KillAccount(a, tuple(left.get(a, ()))) for a in accounts)
            if not retry or stop.is_set():
                break
            self.journal.note(None, "kill_retry", {"round": rounds, "left": {a: v for a, v in left.items() if v}})
            # a flatten just sent is checked at once; anything else (a failed read or cancel,
            # a position still there after a flatten) waits, longer each time
            pause = not (legs and not flattened and not failed and not unread)
            # the trader sees what is left after each round, and can stop it (K or esc)
            self._emit(KillProgress(KillReport(tuple(dict.fromkeys(cancelled)), tuple(failed), flatten,
                                               tuple(unread), accounts=status, rounds=rounds),
                                    next_in_s=wait if pause else 0.0))
            if pause:
                await self._wait_or_stop(wait, stop)
                wait = min(wait * 2, self.policy.kill_backoff_max_s)
            flattened = bool(legs)
        self._kill_stop = None
        report = KillReport(tuple(dict.fromkeys(cancelled)), tuple(failed), flatten, tuple(unread),
                            accounts=status, rounds=rounds, stopped=stop.is_set() and retry)
        self.journal.note(None, "kill_report", {"lines": report.lines()})
        return report

    async def _kill_cancel(self, acct: str, cancelled: list[str], failed: list[str]) -> list[str]:
        """Cancel every console order of one account still working: those the journal knows
        and any console order the venue shows that the journal does not (reconcile adopts it).
        Returns what is not done, in words."""
        left: list[str] = []
        port = self.ports[acct]
        try:
            await port.prepare()
            venue_open = await port.open_orders()
        except Exception as exc:  # noqa: BLE001 - unread is not "none open": tried again
            left.append(f"open orders could not be read ({str(exc)[:120]})")
            venue_open = []
        mine = self.journal.orders(account=acct, states=ORDER_LIVE, include_external=False)
        known = {o.client_id for o in mine}
        bad: list[str] = []
        for v in venue_open:
            if v.client_id and is_console_id(v.client_id) and v.client_id not in known:
                try:
                    after = await port.cancel(v.symbol, v.client_id)
                    ok = after is None or after.status != "open"
                except LookupFailed:
                    ok = False
                (cancelled if ok else bad).append(v.client_id)
        rows = await asyncio.gather(*(self.cancel(o.client_id) for o in mine), return_exceptions=True)
        for o, r in zip(mine, rows, strict=True):
            if isinstance(r, BaseException) or r.state in ORDER_LIVE:
                bad.append(o.client_id)
            else:
                cancelled.append(o.client_id)
        failed += bad
        return left + [f"order {c} not cancelled yet" for c in bad]

    async def _kill_positions(self, accounts: Sequence[str]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
        """Fresh positions, straight from the venues (the kill switch must work when the
        console's snapshot is stale), and the contract accounts that could not be read."""
        positions: dict[str, list[dict[str, Any]]] = {}
        unread: list[str] = []
        for acct in accounts:
            if not self.config.account(acct).holds_contracts:
                continue
            try:
                ps = await self.ports[acct].positions()
            except Exception:  # noqa: BLE001 - a failed read is never "no positions"
                unread.append(acct)
                continue
            positions[acct] = list(ps or [])
        return positions, unread


# ----------------------------------------------------------------------------- helpers


def _after_this_step(fn: Callable[[], Any] | None) -> None:
    """Run ``fn`` on the running loop once the current task's step has yielded and the tasks
    that step started have taken their first step: aiohttp writes a request (its headers
    with its body) from a task of its own, so one hop would run ``fn`` before the write."""
    if fn is not None:
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, fn)


async def _place(port: VenuePort, r: OrderRequest,
                 on_wire: Callable[[], Any] | None = None) -> VenueOrder | Exception:
    try:
        _after_this_step(on_wire)
        return await port.place(r)
    except (Rejected, Ambiguous) as exc:
        return exc
    except Exception as exc:  # a bug or surprise in the port: the order may exist
        return Ambiguous(f"{type(exc).__name__}: {exc}")


def _new_order(account: str, r: OrderRequest, *, purpose: str) -> NewOrder:
    from console.execution.clientid import parse_client_order_id

    parsed = parse_client_order_id(r.client_id)
    return NewOrder(client_id=r.client_id, leg=parsed[1] if parsed else None,
                    attempt=parsed[2] if parsed else None, purpose=purpose, account=account,
                    symbol=r.symbol, side=r.side, type=r.type, amount=r.amount, price=r.price,
                    reduce_only=r.reduce_only, post_only=r.post_only)


__all__ = ["AmbiguousOutcome", "ExecEvent", "ExecPolicy", "ExecutionRefused", "Executor", "KillProgress",
           "KillReport",
           "LeggingAlert", "OrderUpdate", "Refused", "SubmitResult", "TicketDone", "TicketKind",
           "data_age_guard", "send_guards", "ticket_outcome"]
