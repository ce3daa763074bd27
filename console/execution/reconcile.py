"""Reconciliation: make the journal say exactly what each venue says, and show the difference.

Run at startup (trading stays disabled until the report has been shown) and on demand.
Per account:

1. every journal order whose fate is open (new, unknown, open, partial) or that was marked
   never seen recently is looked up by client id, and its row updated (fills included);
2. venue open orders the journal lacks are adopted, labelled external (or "console orphan"
   when the id is ours: it cannot happen while rows commit before sends, so it is flagged);
3. recent trades whose order the journal lacks are adopted as external filled orders, but
   not in a symbol where an order of ours is still unresolved (Binance trades carry no client
   id: they may be that order's; they are attributed by venue order id once it is resolved);
4. positions are compared with the last reconciled baseline plus the journal's fills since;
   a difference is a mismatch the trader must see; the venue's positions become the new
   baseline, unless an order's fate is still open (its fill may be in the venue's position
   and not yet in the journal: it would then count twice);
5. tickets whose orders are all final get their outcome and become ``reconciled``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from console.core.clock import wall_ms
from console.core.config import Config
from console.execution.clientid import is_console_id
from console.execution.journal import Journal, OrderRow, now_ms
from console.execution.lifecycle import (
    ORDER_LIVE,
    TICKET_DONE,
    OrderState,
    TicketState,
    order_state_from_ccxt,
    ticket_outcome,
)
from console.execution.lookup import ExecPolicy, look_up
from console.execution.ports import LookupFailed, VenueOrder, VenuePort, as_port, signed_contracts

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Adopted:
    account: str
    client_id: str
    symbol: str
    side: str
    amount: float
    filled: float
    venue_id: str | None
    console_orphan: bool = False  # our id prefix, but no journal row


@dataclass(frozen=True)
class NeverSeen:
    account: str
    client_id: str
    ticket_id: str | None
    symbol: str
    side: str
    amount: float


@dataclass(frozen=True)
class Corrected:
    account: str
    client_id: str
    src: str
    dst: str
    filled: float


@dataclass(frozen=True)
class PositionMismatch:
    account: str
    symbol: str
    expected: float
    venue: float


@dataclass(frozen=True)
class ReconcileReport:
    ts: int
    adopted: tuple[Adopted, ...] = ()
    never_seen: tuple[NeverSeen, ...] = ()
    corrected: tuple[Corrected, ...] = ()
    position_mismatches: tuple[PositionMismatch, ...] = ()
    unresolved: tuple[str, ...] = ()  # client ids whose fate the venue did not tell yet
    errors: tuple[str, ...] = ()  # per-account failures (the account could not be checked)
    tickets_reconciled: tuple[str, ...] = ()
    confirmed_not_sent: tuple[str, ...] = ()  # confirmed before a restart, never sent
    positions: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every account checked and every order's fate known: trading may start."""
        return not self.errors and not self.unresolved

    @property
    def clean(self) -> bool:
        """Nothing for the trader to read: a clean startup opens trading by itself. A ticket
        confirmed and never sent waits for the trader's X, so it is not clean."""
        return self.complete and not (self.adopted or self.never_seen or self.position_mismatches
                                      or self.confirmed_not_sent)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The report as sentences, for the startup screen and the CLI."""
        out: list[str] = []
        if self.clean:
            out.append("Reconciled: the journal matches every venue.")
        for a in self.adopted:
            label = "console order without a journal row" if a.console_orphan else "external"
            out.append(f"Adopted ({label}): {a.account} {a.side} {a.amount:g} {a.symbol} "
                       f"filled {a.filled:g} (client id {a.client_id})")
        for n in self.never_seen:
            out.append(f"Never seen by the venue: {n.account} {n.side} {n.amount:g} {n.symbol} "
                       f"(ticket {n.ticket_id}, client id {n.client_id})")
        for c in self.corrected:
            out.append(f"Updated from the venue: {c.client_id} {c.src} → {c.dst} (filled {c.filled:g})")
        for m in self.position_mismatches:
            out.append(f"Position mismatch: {m.account} {m.symbol} journal expects {m.expected:g}, "
                       f"venue has {m.venue:g}")
        for u in self.unresolved:
            out.append(f"Unresolved: the venue has not yet told the fate of {u}; trading waits")
        for e in self.errors:
            out.append(f"Not checked: {e}")
        for t in self.confirmed_not_sent:
            out.append(f"Ticket {t} was confirmed but never sent; abandon it on the blotter (3, then X) and plan again")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


async def reconcile(journal: Journal, exchanges: Mapping[str, Any], config: Config, *,
                    policy: ExecPolicy | None = None, clock: Any = wall_ms,
                    lookback_ms: int = DAY_MS) -> ReconcileReport:
    """Journal vs each venue's open orders, recent trades and positions."""
    policy = policy or ExecPolicy()
    ports = {name: as_port(name, ex) for name, ex in exchanges.items()}
    acc = _Acc()
    contracts = {a.name: a.holds_contracts for a in config.accounts}
    # the venue's trades are asked for on the console's clock (the emulator's in demo mode):
    # a wall-clock "since" would skip every demo trade once the wall clock is a day ahead
    venue_since = clock() - lookback_ms
    await asyncio.gather(*(_account(journal, name, port, policy, lookback_ms, acc, contracts.get(name, True),
                                    venue_since)
                           for name, port in ports.items()))
    tickets = _settle_tickets(journal, acc)
    confirmed = tuple(t.id for t in journal.tickets(states=[TicketState.CONFIRMED]))
    return ReconcileReport(ts=clock(), adopted=tuple(acc.adopted), never_seen=tuple(acc.never_seen),
                           corrected=tuple(acc.corrected), position_mismatches=tuple(acc.mismatches),
                           unresolved=tuple(acc.unresolved), errors=tuple(acc.errors),
                           tickets_reconciled=tickets, confirmed_not_sent=confirmed,
                           positions=acc.positions)


@dataclass
class _Acc:
    adopted: list[Adopted] = field(default_factory=list)
    never_seen: list[NeverSeen] = field(default_factory=list)
    corrected: list[Corrected] = field(default_factory=list)
    mismatches: list[PositionMismatch] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    positions: dict[str, dict[str, float]] = field(default_factory=dict)


def _apply(journal: Journal, row: OrderRow, v: VenueOrder, acc: _Acc) -> None:
    state = order_state_from_ccxt(v.status, v.filled, v.amount)
    if state is OrderState.UNKNOWN:
        acc.unresolved.append(row.client_id)
        return
    out = journal.update_order(row.client_id, state, venue_id=v.venue_id, filled=v.filled,
                               average=v.average, detail={"by": "reconcile"})
    if out.state is not row.state or out.filled != row.filled:
        acc.corrected.append(Corrected(row.account, row.client_id, row.state.value, out.state.value, out.filled))


async def _account(journal: Journal, name: str, port: VenuePort, policy: ExecPolicy,
                   lookback_ms: int, acc: _Acc, holds_contracts: bool, venue_since: int | None = None) -> None:
    try:
        await port.prepare()
        venue_open = await port.open_orders()
    except (LookupFailed, Exception) as exc:  # an account we cannot read is reported, not guessed
        acc.errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
        return
    since = now_ms() - lookback_ms
    # 1. the journal's orders whose fate is open, and recent "never seen" ones (late arrivals)
    rows = [o for o in journal.orders(account=name, include_external=False)
            if o.state in ORDER_LIVE or (o.state is OrderState.NEVER_SEEN and o.created_ms >= since)]
    open_by_cid = {v.client_id: v for v in venue_open if v.client_id}
    for row in rows:
        v = open_by_cid.get(row.client_id)
        if v is None:
            v = await _lookup_settled(port, row, policy)
            if v == "failed":
                acc.unresolved.append(row.client_id)
                continue
        if isinstance(v, VenueOrder):
            _apply(journal, row, v, acc)
        elif row.state is not OrderState.NEVER_SEEN:
            journal.update_order(row.client_id, OrderState.NEVER_SEEN, error="not at the venue (reconcile)",
                                 detail={"by": "reconcile"})
            acc.never_seen.append(NeverSeen(name, row.client_id, row.ticket_id, row.symbol, row.side, row.amount))
    # our orders whose fate the venue did not tell: their trades (Binance's carry no client
    # id) and their part of the positions cannot be attributed yet
    pending = set(acc.unresolved)
    open_fate = {row.symbol for row in rows if row.client_id in pending}
    # 2. venue open orders the journal lacks
    for v in venue_open:
        cid = v.client_id or f"ext:{name}:{v.venue_id}"
        if journal.order(cid) is None:
            _adopt(journal, name, cid, v, acc)
    # 3. recent trades of orders the journal lacks
    symbols = sorted({o.symbol for o in journal.orders(account=name)} | {v.symbol for v in venue_open})
    try:
        positions = await port.positions() if holds_contracts else None
    except LookupFailed as exc:
        acc.errors.append(f"{name}: positions: {exc}")
        positions = None
    if positions:
        symbols = sorted(set(symbols) | {str(p["symbol"]) for p in positions})
    by_venue_id = {o.venue_id: o for o in journal.orders(account=name) if o.venue_id}
    for sym in symbols:
        if sym in open_fate:
            # a trade of an order of ours still being looked up would be adopted as someone
            # else's: attributed by venue order id at the next reconciliation, once resolved
            continue
        try:
            trades = await port.trades(sym, since if venue_since is None else venue_since)
        except LookupFailed as exc:
            acc.errors.append(f"{name}: trades {sym}: {exc}")
            continue
        unknown: dict[str, list[Any]] = {}
        for tr in trades:
            if tr.order_venue_id and tr.order_venue_id in by_venue_id:
                continue
            if tr.client_id and journal.order(tr.client_id) is not None:
                continue
            unknown.setdefault(tr.order_venue_id or tr.trade_id, []).append(tr)
        for vid, trs in unknown.items():
            cid = trs[0].client_id or f"ext:{name}:{vid}"
            if journal.order(cid) is not None:
                continue
            qty = sum(t.amount for t in trs)
            avg = sum(t.amount * t.price for t in trs) / qty if qty else None
            v = VenueOrder(client_id=cid, venue_id=vid, symbol=sym, side=trs[0].side, type="unknown",
                           amount=qty, filled=qty, average=avg, price=None, status="closed")
            _adopt(journal, name, cid, v, acc)
    # 4. positions vs baseline + fills since
    if positions is not None:
        venue_pos = {str(p["symbol"]): signed_contracts(p) for p in positions}
        base, base_ts = journal.position_baseline(name)
        if base_ts is not None:
            expected = dict(base)
            for f in journal.fills(since_ms=base_ts + 1):  # a fill of the baseline's own ms is in it
                if f.account == name:
                    expected[f.symbol] = expected.get(f.symbol, 0.0) + (f.amount if f.side == "buy" else -f.amount)
            for sym in sorted((set(expected) | set(venue_pos)) - open_fate):
                e, v2 = expected.get(sym, 0.0), venue_pos.get(sym, 0.0)
                if abs(e - v2) > 1e-9 * max(1.0, abs(e), abs(v2)):
                    acc.mismatches.append(PositionMismatch(name, sym, e, v2))
        if not open_fate:
            # never while an order's fill may be in the venue's position but not yet in the
            # journal: learned later, that fill would count on top of a baseline holding it
            journal.set_position_baseline(name, venue_pos, now_ms())
        acc.positions[name] = venue_pos


async def _lookup_settled(port: VenuePort, row: OrderRow, policy: ExecPolicy) -> VenueOrder | None | str:
    """Look an order up (the executor's rule: "not found" counts only once its request is
    older than the grace, since a request sent just before a crash may still be on its way).
    "failed": no answer in time."""
    return await look_up(port, row, policy, clock=now_ms)


def _adopt(journal: Journal, account: str, cid: str, v: VenueOrder, acc: _Acc) -> None:
    state = order_state_from_ccxt(v.status, v.filled, v.amount)
    if state is OrderState.UNKNOWN:
        state = OrderState.OPEN
    orphan = is_console_id(cid)
    if journal.adopt_external(client_id=cid, account=account, symbol=v.symbol, side=v.side, type=v.type,
                              amount=v.amount, price=v.price, state=state, venue_id=v.venue_id,
                              filled=v.filled, average=v.average, reduce_only=v.reduce_only,
                              purpose="console_orphan" if orphan else "external"):
        acc.adopted.append(Adopted(account, cid, v.symbol, v.side, v.amount, v.filled, v.venue_id, orphan))


def _settle_tickets(journal: Journal, acc: _Acc) -> tuple[str, ...]:
    """Tickets whose orders are all final: outcome, then reconciled."""
    unresolved = set(acc.unresolved)
    out = []
    # a reconciled ticket whose order turned up late (never seen → filled) is settled again
    late = {o.ticket_id for c in acc.corrected if (o := journal.order(c.client_id)) and o.ticket_id}
    to_settle = journal.tickets(states=[TicketState.SENDING, TicketState.WORKING, *TICKET_DONE])
    to_settle += [t for t in journal.tickets(states=[TicketState.RECONCILED]) if t.id in late]
    for t in to_settle:
        orders = journal.orders(t.id)
        if any(o.state in ORDER_LIVE or o.client_id in unresolved for o in orders):
            if t.state is TicketState.SENDING:
                journal.set_ticket_state(t.id, TicketState.WORKING, detail={"by": "reconcile"})
            continue
        dst = ticket_outcome(journal, t.id)
        if t.state is TicketState.RECONCILED:
            journal.set_ticket_state(t.id, TicketState.WORKING, detail={"by": "reconcile", "late_order": True})
            journal.set_ticket_state(t.id, dst, detail={"by": "reconcile"})
        elif t.state in (TicketState.SENDING, TicketState.WORKING):
            journal.set_ticket_state(t.id, dst, detail={"by": "reconcile"})
        elif t.state is not dst:
            journal.set_ticket_state(t.id, TicketState.WORKING, detail={"by": "reconcile", "was": t.state.value})
            journal.set_ticket_state(t.id, dst, detail={"by": "reconcile"})
        journal.set_ticket_state(t.id, TicketState.RECONCILED)
        out.append(t.id)
    return tuple(out)
