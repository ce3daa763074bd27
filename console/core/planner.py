"""The overlay planner: tickets a trader can confirm, each leg sized and its instrument chosen
with a reason.

Builders (all pure, over a Config and a Snapshot; venue data passed in):
- ``build_hedge``: one sleeve to its goal (target or band edge), single direction.
- ``build_spread``: sell an overweight sleeve and buy an underweight one, each leg sized to its
  own goal, sent as one ticket.
- ``build_roll``: close a perp hedge and open the same notional in a dated future, or back.
- ``build_proxy_hedge``: hedge a sleeve through a correlated instrument sized by a beta fitted
  on OHLCV returns (shown with its R²).
- ``build_beta_neutral``: core/satellite (seed 002, strategy 2): size the core's futures so
  that core exposure + β × satellite exposure = 0.
- ``propose``: what the allocation calls for, as a list of tickets with reasons.

Reduce before open: every builder goes through ``console.core.overlay.sleeve_legs``, which shrinks
positions on the other side (reduce-only) before it opens anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from console.core.allocation import (
    Allocation,
    PositionLine,
    SleeveRow,
    compute_allocation,
    contract_mark,
)
from console.core.beta import BetaFit, basket, closes, fit_beta
from console.core.config import Config, Goal, HedgeInstrument, Sleeve
from console.core.costs import book_mid
from console.core.errors import UserError
from console.core.gcpause import gc_paused
from console.core.lots import Lots
from console.core.memo import by_identity
from console.core.orderstyle import limit_price, style_ticket
from console.core.overlay import (
    Leg,
    Scope,
    account_lots,
    leg_notional,
    notional_per_contract,
    reduce_legs,
    sleeve_legs,
    wanted,
)
from console.core.preview import CostLine, cost_lines, leg_lines
from console.core.risk import account_pools, linear_room
from console.core.snapshot import Snapshot
from console.core.ticket import (
    Later,
    OrderStyle,
    OrderType,
    Ticket,
    TicketKind,
    TicketLeg,
    worded,
    worded_each,
)
from console.core.venuedata import ByAccount, MarketFacts, market_facts, of, of_account

DEFAULT_HORIZON_DAYS = 7.0
# money: far above the rounding of a sum of a few cost lines, far below a cent
ROLL_BOUND_MARGIN = 1e-6
UNSTYLED = OrderStyle()  # a plain market order: how a leg is worked unless a style is asked for
# relative: far above the rounding of a pool's margin sums (the exact margin rule adds and takes
# away one position's share), far below any margin that matters
MARGIN_SLACK = 1e-9


@dataclass(frozen=True)
class Candidate:
    account: str
    symbol: str
    cost: float  # expected total over the horizon for the notional: fee + slippage + carry (+ roll)
    instrument: str  # "perp" | "dated"
    lines: tuple[CostLine, ...]  # (name, amount, known) of each cost line, as the preview shows them

    @property
    def why(self) -> str:
        """Its cost lines in a sentence; built when read (a plan weighs every candidate on its
        total and words only the pick)."""
        return _why(self.instrument, self.symbol, self.account, self.lines, self.cost)


def _why(instrument: str, symbol: str, account: str, lines: Sequence[CostLine], cost: float) -> str:
    """A candidate's cost lines in a sentence (``Candidate.why``)."""
    parts = ", ".join(f"{name} {amount:+,.2f}" if known else f"{name} n/a" for name, amount, known in lines)
    return f"{instrument} {symbol} on {account}: {parts} = {cost:+,.2f}"


class _Priced(NamedTuple):
    """One candidate as ``choose_instrument`` weighs it: its figures, not yet a ``Leg`` nor a
    ``Candidate`` (a plan weighs a thousand and builds those for the few it reads). Ordered as
    a tuple by (rounded cost, the config's preference, the order weighed): no two are equal."""

    key: float  # the cost rounded to 1e-6, so float noise never reorders equal costs
    rank: int  # the instrument's place in the sleeve's hedges
    seq: int  # the order weighed (accounts in the config's order): ties keep it
    cost: float
    account: str
    inst: HedgeInstrument
    facts: MarketFacts
    contracts: float
    mark: float
    instrument: str  # "perp" | "dated"
    lines: tuple[CostLine, ...]

    def candidate(self) -> Candidate:
        return Candidate(self.account, self.inst.symbol, self.cost, self.instrument, self.lines)

    def leg(self, sleeve: str, side: str) -> Leg:
        """The open leg this candidate prices (the one ``overlay.sleeve_legs`` would build)."""
        return Leg(sleeve, self.account, self.inst.symbol, side, self.contracts, self.facts.contract_size,
                   self.facts.linear, self.mark, False, "open", self.inst.ratio)


class InstrumentChoice(NamedTuple):
    """What ``choose_instrument`` picked, and what it weighed (a named tuple, immutable: one per
    sleeve a plan moves, and a frozen dataclass costs thrice as much to build)."""

    instrument: HedgeInstrument  # with its account filled in
    cost: float
    weighed: tuple[_Priced, ...]  # every (account, instrument) weighed, cheapest first
    leg: Leg | None = None  # the pick's open leg, as priced
    pick: int = 0  # the pick's place in ``weighed``
    passed_over: tuple[str, ...] = ()  # why each cheaper one could not carry the leg
    left_out: tuple[str, ...] = ()  # listed, but the rounded leg could not be sent
    horizon_days: float = DEFAULT_HORIZON_DAYS

    @property
    def reason(self) -> str:
        """Why the pick: its cost lines, and what it beat or why it is alone (worded when read,
        once per ticket: a plan chooses hundreds and a trader reads a few)."""
        best = self.weighed[self.pick]
        why = f"{_why(best.instrument, best.inst.symbol, best.account, best.lines, best.cost)} over {self.horizon_days:g} d"
        short = list(self.passed_over)
        if self.pick + 1 < len(self.weighed):
            nxt = self.weighed[self.pick + 1]
            why += f"; cheaper than {nxt.inst.symbol} on {nxt.account} ({nxt.cost:+,.2f}) by {nxt.cost - best.cost:,.2f}"
            if short:
                why += f"; passed over {'; '.join(short)}"
        elif self.left_out or short:
            why += f"; the only instrument that can be sent ({'; '.join(short + list(self.left_out))})"
        else:
            why += "; the only instrument listed"
        return why

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every (account, instrument) weighed, cheapest first (built when read: a plan reads
        only the pick)."""
        return tuple(p.candidate() for p in self.weighed)


class _Ctx:
    """What the builders share for one planning pass (built once: allocation, lots)."""

    def __init__(self, config: Config, snap: Snapshot, alloc: Allocation | None, books: ByAccount | None,
                 horizon_days: float, now_ms: int | None, trading_fees: ByAccount | None,
                 style: OrderStyle | None = None) -> None:
        self.config = config
        self.snap = snap
        self.alloc = alloc or compute_allocation(config, snap)
        self.books = books or {}
        self.horizon = horizon_days
        self.now = snap.timestamp if now_ms is None else now_ms
        self.fees = trading_fees
        self.lots: dict[str, Lots] = account_lots(snap)
        # what pricing a candidate on each account reads: its state, lots, books and fees
        self.venues = {n: (snap.accounts[n], lot, of_account(self.books, n), of_account(trading_fees, n))
                       for n, lot in self.lots.items()}
        # how the legs will be worked: the instrument choice prices each candidate as it would
        # be sent (maker fee and no book walk for a limit), so its reason agrees with the costs
        self.style = style or OrderStyle()
        self._order = _account_order(config, snap)
        # which accounts list an instrument depends on their names and markets alone, which a
        # stream of snapshots hands on unchanged: kept while those markets mappings live
        self._order_key = tuple(self._order)
        self._listing = _listing_table(*(snap.accounts[n].markets for n in self._order))
        # risk.linear_room's figures for this pass: each account's positions, and each
        # (account, linear pool)'s free margin before any leg and its initial margin held
        self.free_margin: dict[Any, Any] = {}

    def listing(self, inst: HedgeInstrument) -> list[str]:
        """``_accounts_listing`` of ``inst``, worked out once while the markets live (shared: do not
        mutate it)."""
        key = (self._order_key, inst.account, inst.symbol)
        hit = self._listing.get(key)
        if hit is None:
            hit = self._listing[key] = _accounts_listing(self.config, self.snap, inst, self._order)
        return hit


@by_identity(maxsize=8)
def _listing_table(*markets: Mapping[str, Any]) -> dict[tuple[tuple[str, ...], str | None, str], list[str]]:
    """``_Ctx.listing``'s answers for the accounts whose markets these are, keyed by (the
    accounts' names in order, the instrument's account, its symbol); filled as asked."""
    return {}


def _account_order(config: Config, snap: Snapshot) -> list[str]:
    """The snapshot's accounts, the config's first in its order."""
    named = [a.name for a in config.accounts]
    known = set(named)
    return [n for n in named if n in snap.accounts] + [n for n in snap.accounts if n not in known]


def _accounts_listing(config: Config, snap: Snapshot, inst: HedgeInstrument,
                      order: Sequence[str] | None = None) -> list[str]:
    """The accounts that list ``inst`` (its own account only, when it names one), in
    ``_account_order`` (``order``, when the caller has it)."""
    if inst.account is not None:
        return [inst.account] if inst.account in snap.accounts and inst.symbol in snap.accounts[inst.account].markets else []
    return [n for n in (order if order is not None else _account_order(config, snap))
            if inst.symbol in snap.accounts[n].markets]


def choose_instrument(ctx: _Ctx, sleeve: Sleeve, side: str, exposure: float) -> InstrumentChoice | None:
    """The cheapest of the sleeve's hedge instruments on every account that lists it, for
    moving ``exposure`` (money of sleeve exposure) over the horizon: fee + slippage + funding
    (perp) or basis + roll (dated). Ties keep the config's order of preference. Proxies are
    only weighed when the sleeve has no hedge on its own assets.

    Each candidate is priced on the contracts the leg would carry (``exposure`` rounded to
    that venue's lot) on its own venue's book and fees; one that rounds to nothing or under the
    minimum order is left out. A candidate whose account lacks the free margin for the leg
    (``margin_short``) is passed over when another can carry it; when none can, the cheapest
    stays the pick and the pre-trade check refuses it with its own message.
    None when no candidate can be sent."""
    own = [h for h in sleeve.hedges if not h.proxy]
    pool = own or list(sleeve.hedges)
    prices = ctx.alloc.prices
    style = ctx.style
    market = style.type is OrderType.MARKET  # no limit price to work out
    size = abs(exposure)
    snap, venues, horizon, now = ctx.snap, ctx.venues, ctx.horizon, ctx.now
    cands: list[_Priced] = []
    left_out: list[str] = []  # listed, but the rounded leg could not be sent
    for rank, h in enumerate(pool):
        symbol = h.symbol
        spot = prices.get(h.base)
        for acct in ctx.listing(h):
            st, lot, books, fees = venues[acct]
            mf = market_facts(st.markets, symbol)
            if not mf.active:
                continue
            mark = contract_mark(snap, acct, symbol)
            if not mark:
                continue
            cs, linear = mf.contract_size, mf.linear
            # price the contracts that would be sent: rounded to the venue's lot exactly as
            # overlay.sleeve_legs rounds the open leg, so this candidate's figures are the leg's
            # own costs (the reason and the cost table agree to the cent)
            contracts, why_not = lot.amount(symbol, size * h.ratio / notional_per_contract(cs, mark, linear))
            if contracts <= 0:  # sleeve_legs would skip it: it cannot be the pick
                left_out.append(f"{symbol} on {acct}: {why_not or 'under one lot'}")
                continue
            min_cost = lot.min_cost(symbol)
            if min_cost and (notional := leg_notional(contracts, cs, mark, linear)) < min_cost:
                # likewise skipped by sleeve_legs
                left_out.append(f"{symbol} on {acct}: {notional:,.2f} is under its minimum order {min_cost:,.2f}")
                continue
            book = books.get(symbol)  # each candidate on its own venue's book and fees
            px = None if market else limit_price(side, book_mid(book) or mark, style, lot, symbol, book)
            # the open leg's own cost lines (preview.leg_lines of the Leg sleeve_legs would build)
            kind, lines, cost = cost_lines(st, symbol, side, contracts, cs, linear, mark, False, style, px,
                                           book=book, spot_price=spot, horizon_days=horizon, now_ms=now,
                                           fees=fees, facts=mf)
            cands.append(_Priced(round(cost, 6), rank, len(cands), cost, acct, h, mf, contracts, mark, kind, lines))
    if not cands:
        return None
    cands.sort()
    # the cheapest venue that can carry the leg; the cheaper ones that cannot are passed over.
    # Judged in cost order, so a plan reads one venue's margin in the usual case. When none
    # can, the cheapest stays the pick and the pre-trade check refuses it with its own message.
    short: list[str] = []
    pick = 0
    legs: list[Leg] = []
    for i, c in enumerate(cands):
        legs.append(c.leg(sleeve.name, side))
        lacks = margin_short(ctx, legs[-1])
        if lacks is None:
            pick = i
            break
        short.append(lacks)
    else:
        short = []
    best = cands[pick]
    return InstrumentChoice(_on_account(best.inst, best.account), best.cost, tuple(cands), legs[pick], pick,
                            tuple(short), tuple(left_out), ctx.horizon)


@by_identity(maxsize=4096)
def _placements(h: HedgeInstrument) -> dict[str, HedgeInstrument]:
    return {}  # filled by _on_account


def _on_account(h: HedgeInstrument, account: str) -> HedgeInstrument:
    """The config's hedge ``h`` with its account filled in, copied once per (hedge, account)
    while the config lives (a plan picks one per sleeve, and a pydantic copy costs about as
    much as pricing a candidate; the model is frozen, so the copy can be shared)."""
    placed = _placements(h)
    hit = placed.get(account)
    if hit is None:
        hit = placed[account] = h.model_copy(update={"account": account})
    return hit


def margin_short(ctx: _Ctx, leg: Leg) -> str | None:
    """Why ``leg``'s account cannot carry it: the initial margin the leg adds to its pool (on the
    leverage the pre-trade checks assume) is more than the pool's free margin (margin balance
    less the initial margin already held). None when it can."""
    if leg.linear and _carries(ctx, leg):
        return None
    return _margin_short_exact(ctx, leg)


def _carries(ctx: _Ctx, leg: Leg) -> bool:
    """True when the linear ``leg``'s pool surely carries it, without evaluating the pool after
    it: the leg adds at most ``room.most`` of initial margin (and touches no COIN-M pool), so a
    free margin covering that, with room for the sums' rounding, is what the exact rule would
    find enough. False says nothing: the exact rule decides."""
    room = linear_room(ctx.snap, leg, quote=ctx.config.portfolio.quote,
                       default_leverage=ctx.config.limits.max_leverage, free=ctx.free_margin)
    return room.has >= room.most + MARGIN_SLACK * (1.0 + room.most + room.held_initial + abs(room.has))


def _margin_short_exact(ctx: _Ctx, leg: Leg) -> str | None:
    """``margin_short`` by evaluating every pool the leg touches before and after it."""
    quote, lev = ctx.config.portfolio.quote, ctx.config.limits.max_leverage
    for p in account_pools(ctx.snap, leg.account, [leg], quote=quote, default_leverage=lev):
        before = p.evaluate(None, after=False, liquidation=False)
        after = p.evaluate(None, after=True, liquidation=False)
        needs, has = after.initial - before.initial, before.margin_balance - before.initial
        if needs > 1e-9 and needs > has:
            has = max(has, 0.0)
            if p.inverse:  # a COIN-M pool's figures are coin
                return f"{leg.account}: not enough margin (needs {needs:,.6g} {p.settle}, has {has:,.6g} {p.settle})"
            return f"{leg.account}: not enough margin (needs {needs:,.2f}, has {has:,.2f})"
    return None


def _legs_for(ctx: _Ctx, sleeve: Sleeve, row: SleeveRow, delta: float,
              instrument: HedgeInstrument | None = None) -> tuple[list[Leg], Later, list[str]]:
    """Legs moving ``sleeve`` by ``delta``, reduce-before-open, with their reasons (one per leg,
    worded when read) and warnings."""
    side = "buy" if delta > 0 else "sell"
    choice = None
    reduced = None
    if instrument is None:
        # what the open leg must move is what is left after the reduce-only legs, as
        # sleeve_legs computes it (its reduce legs do not depend on the instrument, so it is
        # handed them): the choice is priced on the very exposure the open leg carries
        reduced = reduce_legs(ctx.snap, sleeve, row, delta, ctx.lots)
        to_open = abs(reduced[1])
        # under the minimum trade, sleeve_legs opens nothing: no instrument to weigh
        if to_open > 1e-9 and abs(delta) >= max(ctx.config.limits.min_trade_notional, 1e-9):
            choice = choose_instrument(ctx, sleeve, side, to_open)
            instrument = choice.instrument if choice else None
    legs, skipped = sleeve_legs(ctx.config, ctx.snap, sleeve, row, delta, ctx.lots, instrument, reduced,
                                choice.leg if choice else None)
    warnings = [f"{s.sleeve}: skipped {s.side} {s.notional:,.2f} ({s.reason})" for s in skipped]
    return legs, Later(_legs_why, sleeve.name, side, legs, delta, choice), warnings


def _legs_why(sleeve: str, side: str, legs: Sequence[Leg], delta: float,
              choice: InstrumentChoice | None) -> tuple[str, ...]:
    """``_legs_for``'s reason for each of its legs, in their order."""
    out = []
    for leg in legs:
        if leg.reduce_only:
            out.append(f"{sleeve}: {leg.purpose} {leg.symbol} on {leg.account} first ({leg.notional:,.2f}), "
                       "reduce-only: shrink the opposite overlay before opening anything")
        else:
            pick = choice.reason if choice else f"{leg.symbol} as asked"
            out.append(f"{sleeve}: {side} {leg.notional:,.2f} toward the goal ({delta:+,.2f} of exposure); {pick}")
    return tuple(out)


def _ticket(ctx: _Ctx, kind: TicketKind, legs: Sequence[Leg], note: str | Later, reasons: Sequence[str] | Later,
            warnings: Sequence[str]) -> Ticket:
    """``reasons``: one per leg in the order of ``legs`` (or a ``Later`` of them); they follow
    their legs into the ticket's order."""
    # every reduce-only leg goes first, across sleeves, so margin is freed before any opens
    # (each kind in its own order); most tickets have them so already
    if any(b.reduce_only and not a.reduce_only for a, b in zip(legs, legs[1:], strict=False)):
        order = [i for i, leg in enumerate(legs) if leg.reduce_only] + [i for i, leg in enumerate(legs)
                                                                       if not leg.reduce_only]
        legs = [legs[i] for i in order]
        worded_reasons: tuple[str, ...] | Later = Later(_in_order, reasons, order)
    else:
        worded_reasons = reasons if type(reasons) is Later else tuple(reasons)
    return Ticket(kind, tuple([TicketLeg(leg) for leg in legs]), ctx.snap.timestamp, ctx.horizon, note,
                  tuple(warnings), worded_reasons)


def _in_order(reasons: Sequence[str] | Later, order: Sequence[int]) -> tuple[str, ...]:
    """One reason per leg, put in the legs' ``order`` (as they are, when they are not one per leg)."""
    texts = worded(reasons)
    return tuple(texts[i] for i in order) if len(texts) == len(order) else tuple(texts)


def _titled(title: str, row: SleeveRow, goal: Goal) -> str:
    return title + _drift_words(row, goal)


def _drift_words(row: SleeveRow, goal: Goal) -> str:
    d = row.drift or 0.0
    return (f"{row.name} at {row.weight * 100:.2f}% vs target {(row.target or 0) * 100:.2f}% "
            f"({d * 100:+.2f} pp, {row.status.value}); to {goal.value}: {row.delta(goal):+,.2f}")


def _row(ctx: _Ctx, name: str) -> tuple[Sleeve, SleeveRow]:
    sleeve = ctx.config.sleeve(name)
    if ctx.config.is_cash(sleeve):
        raise UserError(f"{name!r} is the cash sleeve; it is moved by the other sleeves' legs, not hedged")
    return sleeve, ctx.alloc.row(name)


# ---------------------------------------------------------------- builders


def build_hedge(config: Config, snapshot: Snapshot, sleeve: str, *, goal: Goal = Goal.TARGET,
                horizon_days: float = DEFAULT_HORIZON_DAYS, books: ByAccount | None = None,
                alloc: Allocation | None = None, instrument: HedgeInstrument | None = None,
                now_ms: int | None = None, trading_fees: ByAccount | None = None,
                style: OrderStyle | None = None, _ctx: _Ctx | None = None) -> Ticket:
    """A single-leg overlay (plus any reduce-only legs first) moving one sleeve to its goal."""
    ctx = _ctx or _Ctx(config, snapshot, alloc, books, horizon_days, now_ms, trading_fees, style)
    s, row = _row(ctx, sleeve)
    delta = row.delta(goal)
    legs, reasons, warnings = _legs_for(ctx, s, row, delta, instrument)
    note = Later(_titled, "hedge: ", row, goal)
    if not legs and not warnings:
        warnings = [f"{sleeve}: already at its {goal.value}; nothing to do"]
    return _ticket(ctx, TicketKind.HEDGE, legs, note, reasons, warnings)


def build_spread(config: Config, snapshot: Snapshot, sell: str, buy: str, *, goal: Goal = Goal.TARGET,
                 horizon_days: float = DEFAULT_HORIZON_DAYS, books: ByAccount | None = None,
                 alloc: Allocation | None = None, now_ms: int | None = None,
                 trading_fees: ByAccount | None = None,
                 sell_instrument: HedgeInstrument | str | None = None,
                 buy_instrument: HedgeInstrument | str | None = None,
                 style: OrderStyle | None = None, _ctx: _Ctx | None = None) -> Ticket:
    """Sell the overweight sleeve ``sell`` and buy the underweight ``buy``, each leg sized to
    its own goal (so the legs' notionals differ when the drifts do; the cash sleeve takes the
    difference). Raises UserError when ``sell`` is not overweight or ``buy`` not underweight.

    ``sell_instrument`` / ``buy_instrument``: the contract each side opens in (one of its
    sleeve's hedges, as a HedgeInstrument or its symbol); None picks the cheapest for the
    horizon. Reduce-only legs on existing positions come first either way."""
    ctx = _ctx or _Ctx(config, snapshot, alloc, books, horizon_days, now_ms, trading_fees, style)
    if sell == buy:
        raise UserError(f"a spread needs two different sleeves; got {sell!r} twice")
    s_sell, r_sell = _row(ctx, sell)
    s_buy, r_buy = _row(ctx, buy)
    d_sell, d_buy = r_sell.delta(goal), r_buy.delta(goal)
    if d_sell >= 0:
        raise UserError(f"{sell} is not overweight against its {goal.value} ({_drift_words(r_sell, goal)}); "
                        "a spread sells an overweight sleeve: swap the pair or pick another")
    if d_buy <= 0:
        raise UserError(f"{buy} is not underweight against its {goal.value} ({_drift_words(r_buy, goal)}); "
                        "a spread buys an underweight sleeve: swap the pair or pick another")
    l1, why1, w1 = _legs_for(ctx, s_sell, r_sell, d_sell, _hedge_of(s_sell, sell_instrument))
    l2, why2, w2 = _legs_for(ctx, s_buy, r_buy, d_buy, _hedge_of(s_buy, buy_instrument))
    note = Later(_spread_note, r_sell, r_buy, goal)
    return _ticket(ctx, TicketKind.SPREAD, l1 + l2, note, Later(_joined_reasons, why1, why2), w1 + w2)


def _joined_reasons(*parts: Later) -> tuple[str, ...]:
    return tuple(r for p in parts for r in p())


def _spread_note(sell: SleeveRow, buy: SleeveRow, goal: Goal) -> str:
    return f"spread: sell {sell.name} / buy {buy.name}. {_drift_words(sell, goal)}. {_drift_words(buy, goal)}"


def _hedge_of(sleeve: Sleeve, instrument: HedgeInstrument | str | None) -> HedgeInstrument | None:
    """``instrument`` as one of ``sleeve``'s hedges (a symbol is looked up among them)."""
    if instrument is None or isinstance(instrument, HedgeInstrument):
        return instrument
    found = next((h for h in sleeve.hedges if h.symbol == instrument), None)
    if found is None:
        listed = ", ".join(h.symbol for h in sleeve.hedges) or "none"
        raise UserError(f"{instrument} is not one of {sleeve.name}'s hedges ({listed}); add it to the sleeve's "
                        "hedges or pick one of them")
    return found


def _is_dated(snap: Snapshot, account: str, symbol: str) -> bool:
    return market_facts(snap.accounts[account].markets, symbol).dated


def build_roll(config: Config, snapshot: Snapshot, sleeve: str, *, from_symbol: str | None = None,
               to_symbol: str | None = None, account: str | None = None,
               horizon_days: float = DEFAULT_HORIZON_DAYS, books: ByAccount | None = None,
               alloc: Allocation | None = None, now_ms: int | None = None,
               trading_fees: ByAccount | None = None, style: OrderStyle | None = None,
               _ctx: _Ctx | None = None) -> Ticket:
    """Close the sleeve's hedge in one contract (reduce-only, whole) and open the same notional
    on the same side in another (seed 004 §5): perp → dated by default, dated → perp when the
    position is dated. The target is the sleeve's first hedge of the other kind, preferring the
    position's own account."""
    ctx = _ctx or _Ctx(config, snapshot, alloc, books, horizon_days, now_ms, trading_fees, style)
    return _roll_ticket(ctx, *_roll_legs(ctx, sleeve, from_symbol, to_symbol, account))


def _roll_legs(ctx: _Ctx, sleeve: str, from_symbol: str | None, to_symbol: str | None,
               account: str | None) -> tuple[str, PositionLine, Leg, Leg]:
    """What ``build_roll`` trades: (sleeve, the position, its close, the open), before any words
    (the planner weighs every hedge's roll and words the few it proposes)."""
    s, row = _row(ctx, sleeve)
    pos: list[PositionLine] = [p for p in row.positions if (from_symbol is None or p.symbol == from_symbol)
                               and (account is None or p.account == account)]
    if not pos:
        raise UserError(f"{sleeve} has no open overlay position{' in ' + from_symbol if from_symbol else ''} to roll")
    return _roll_legs_of(ctx, s, max(pos, key=lambda q: abs(q.notional)), to_symbol)


def _roll_legs_of(ctx: _Ctx, s: Sleeve, p: PositionLine, to_symbol: str | None) -> tuple[str, PositionLine, Leg, Leg]:
    """``_roll_legs`` of the position ``p`` of the sleeve ``s`` (the roll scan holds both)."""
    sleeve = s.name
    dated_now = p.dated
    targets = [h for h in s.hedges if h.symbol != p.symbol and (to_symbol is None or h.symbol == to_symbol)]
    if to_symbol is not None and not targets:
        inst = HedgeInstrument(symbol=to_symbol, ratio=p.ratio)  # a malformed symbol is named first
        base = p.symbol.split("/")[0]
        if to_symbol.split("/")[0] != base:
            # a roll moves the same exposure to another contract on the same underlying; closing
            # a BTC hedge to open an ETH short is a spread, priced and labelled as one
            listed = ", ".join(h.symbol for h in s.hedges if h.symbol != p.symbol) or "none"
            raise UserError(f"cannot roll {p.symbol} into {to_symbol}: a roll stays on {base} (one of {sleeve}'s "
                            f"hedges: {listed}, or another {base} contract); to move the hedge to another asset, "
                            "build a spread")
        targets = [inst]
    chosen: tuple[str, HedgeInstrument] | None = None
    for h in targets:
        listing = ctx.listing(h)
        # the position's own account first, the others in their order
        accts = [p.account, *(a for a in listing if a != p.account)] if p.account in listing else listing
        for a in accts:
            if to_symbol is not None or _is_dated(ctx.snap, a, h.symbol) != dated_now:
                chosen = (a, h)
                break
        if chosen:
            break
    if chosen is None:
        kind = "perp" if dated_now else "dated future"
        raise UserError(f"{sleeve} has no {kind} among its hedges on an account that lists it; add one to roll "
                        f"{p.symbol} into")
    acct, h = chosen
    close_side = "buy" if p.contracts < 0 else "sell"
    open_side = "sell" if p.contracts < 0 else "buy"
    close = Leg(sleeve, p.account, p.symbol, close_side, abs(p.contracts), p.contract_size, p.linear, p.mark,
                True, f"roll: close {p.side}", p.ratio)
    mf = market_facts(ctx.snap.accounts[acct].markets, h.symbol)
    mark = contract_mark(ctx.snap, acct, h.symbol)
    if not mark:
        raise UserError(f"no price for {h.symbol} on {acct}; refresh tickers before rolling")
    cs, linear = mf.contract_size, mf.linear
    # the same sleeve exposure: what the close moves (its face) / old ratio × new ratio
    target_notional = p.face / p.ratio * h.ratio
    rounded = ctx.lots[acct].amount(h.symbol, target_notional / notional_per_contract(cs, mark, linear))
    if rounded.amount <= 0:
        raise UserError(f"cannot open {target_notional:,.2f} in {h.symbol}: {rounded.reason}")
    opened = Leg(sleeve, acct, h.symbol, open_side, rounded.amount, cs, linear, mark, False, "roll: open", h.ratio)
    return sleeve, p, close, opened


def _roll_ticket(ctx: _Ctx, sleeve: str, p: PositionLine, close: Leg, opened: Leg, why: str | Later = "") -> Ticket:
    """The roll's ticket; ``why``: the end of its note, why the scan proposes it."""
    to_dated = _is_dated(ctx.snap, opened.account, opened.symbol)
    return _ticket(ctx, TicketKind.ROLL, [close, opened], Later(_roll_note, p, opened, to_dated, why),
                   Later(_roll_why, sleeve, p, opened), [])


def _roll_note(p: PositionLine, opened: Leg, to_dated: bool, why: str | Later) -> str:
    direction = f"{'dated' if p.dated else 'perp'} → {'dated' if to_dated else 'perp'}"
    return (f"roll ({direction}): close {p.side} {abs(p.contracts):g} {p.symbol} on {p.account} "
            f"({abs(p.notional):,.2f}) and reopen {opened.notional:,.2f} in {opened.symbol} on {opened.account}"
            f"{worded(why)}")


def _roll_why(sleeve: str, p: PositionLine, opened: Leg) -> tuple[str, str]:
    """A roll's reasons: the close's, then the reopen's."""
    return (f"{sleeve}: close the whole {p.symbol} {p.side} (reduce-only)",
            f"{sleeve}: reopen the same exposure in {opened.symbol} ({opened.contracts:g} contracts at "
            f"{opened.price:,.6g})")


def _series(ohlcv: Mapping[str, Any], asset: str, quote: str) -> dict[int, float] | None:
    for key in (f"{asset}/{quote}", f"{asset}/{quote}:{quote}", asset):
        if key in ohlcv and ohlcv[key]:
            return closes(ohlcv[key])
    return None


def sleeve_series(ctx: _Ctx, sleeve: Sleeve, ohlcv: Mapping[str, Any]) -> dict[int, float]:
    """The sleeve's price history: one asset's closes, or a basket weighted by spot value."""
    quote = ctx.config.portfolio.quote
    row = ctx.alloc.row(sleeve.name)
    weights = {a.asset: a.spot_value for a in row.assets}
    parts = []
    for a in sleeve.assets:
        s = _series(ohlcv, a, quote)
        if s:
            parts.append((weights.get(a, 0.0) or 1.0, s))
    if not parts:
        raise UserError(f"no OHLCV for any asset of {sleeve.name} ({', '.join(sleeve.assets)}); pass closes for "
                        f"{sleeve.assets[0]}/{quote}")
    return parts[0][1] if len(parts) == 1 else basket(parts)


def build_proxy_hedge(config: Config, snapshot: Snapshot, sleeve: str, proxy: str, *,
                      ohlcv: Mapping[str, Any], lookback: int | None = 30, goal: Goal = Goal.TARGET,
                      horizon_days: float = DEFAULT_HORIZON_DAYS, books: ByAccount | None = None,
                      alloc: Allocation | None = None, now_ms: int | None = None,
                      trading_fees: ByAccount | None = None, style: OrderStyle | None = None,
               _ctx: _Ctx | None = None) -> Ticket:
    """Hedge ``sleeve`` through ``proxy`` (an index future, a correlated coin): the proxy's
    notional = sleeve exposure to move × beta of the sleeve on the proxy over ``lookback``
    returns of ``ohlcv`` (symbol → OHLCV rows). The note shows beta and R²."""
    ctx = _ctx or _Ctx(config, snapshot, alloc, books, horizon_days, now_ms, trading_fees, style)
    s, row = _row(ctx, sleeve)
    if proxy not in ohlcv:
        raise UserError(f"no OHLCV for the proxy {proxy}; fetch its closes first")
    fit = fit_beta(sleeve_series(ctx, s, ohlcv), ohlcv[proxy], lookback, sleeve, proxy)
    if not fit.usable or fit.beta <= 0:
        raise UserError(f"cannot size a hedge in {proxy}: {fit.reason}")
    counted = next((h for h in s.hedges if h.symbol == proxy and h.proxy), None)
    if counted is None:
        # a position on an instrument the sleeve does not list as its proxy counts elsewhere
        # (its own asset's sleeve, or OTHER): the hedge would never show on this sleeve
        raise UserError(f"{proxy} is not a proxy hedge of {sleeve}, so a position there would not count toward "
                        f"it; add {{ symbol = \"{proxy}\", proxy = true, ratio = {fit.beta:.3f} }} to {sleeve}'s "
                        "hedges")
    inst = counted.model_copy(update={"ratio": fit.beta})
    legs, reasons, warnings = _legs_for(ctx, s, row, row.delta(goal), inst)
    # sized by beta, but counted the way the allocation counts it (notional / the config's
    # ratio): the move the verdict claims is the one the dashboard will show after the fill
    legs = [replace(leg, ratio=counted.ratio) if leg.symbol == proxy and not leg.reduce_only else leg
            for leg in legs]
    if abs(fit.beta - counted.ratio) > 1e-3 * counted.ratio:
        moved = sum(abs(leg.sleeve_exposure) for leg in legs if leg.symbol == proxy and not leg.reduce_only)
        warnings = [*warnings, f"{sleeve}: {proxy} is sized by beta {fit.beta:.3f} but the config counts it at "
                               f"ratio {counted.ratio:g}, so after the fill {sleeve} shows {moved:,.2f} moved, not "
                               f"{abs(row.delta(goal)):,.2f}; set ratio = {fit.beta:.3f} on that hedge to count it "
                               "as it is sized"]
    reasons = [r.replace(f"{proxy} as asked", f"{proxy} sized by beta {fit.beta:.3f} (R² {fit.r2:.2f})")
               for r in worded(reasons)]
    note = f"proxy hedge: {_drift_words(row, goal)}; {fit.reason}; basis risk: {(1 - fit.r2) * 100:.0f}% of variance unhedged"
    return _ticket(ctx, TicketKind.PROXY, legs, note, reasons, warnings)


def build_beta_neutral(config: Config, snapshot: Snapshot, core: str, satellite: str, *,
                       ohlcv: Mapping[str, Any], lookback: int | None = 30, tolerance: float = 0.10,
                       horizon_days: float = DEFAULT_HORIZON_DAYS, books: ByAccount | None = None,
                       alloc: Allocation | None = None, now_ms: int | None = None,
                       trading_fees: ByAccount | None = None, style: OrderStyle | None = None,
               _ctx: _Ctx | None = None) -> Ticket:
    """Seed 002, strategy 2: keep the satellite's return relative to the core and none of the
    market's. With β the satellite's beta on the core, the portfolio's core-equivalent exposure
    is E_core + β × E_sat; the ticket moves the core's futures by −(E_core + β × E_sat) so it is 0.
    Within ``tolerance`` (a share of β × E_sat, the seed's 10 %) the ticket says so in a warning."""
    ctx = _ctx or _Ctx(config, snapshot, alloc, books, horizon_days, now_ms, trading_fees, style)
    s_core, r_core = _row(ctx, core)
    s_sat, r_sat = _row(ctx, satellite)
    fit: BetaFit = fit_beta(sleeve_series(ctx, s_sat, ohlcv), sleeve_series(ctx, s_core, ohlcv), lookback,
                            satellite, core)
    if not fit.usable:
        raise UserError(f"cannot make {satellite} beta-neutral to {core}: {fit.reason}")
    beta_exp = fit.beta * r_sat.net
    net = r_core.net + beta_exp
    delta = -net
    warnings: list[str] = []
    if abs(net) <= tolerance * abs(beta_exp):
        warnings.append(f"within tolerance: net beta exposure {net:+,.2f} is under {tolerance * 100:g}% of "
                        f"β × {satellite} = {beta_exp:,.2f}")
    legs, reasons, w = _legs_for(ctx, s_core, r_core, delta)
    note = (f"beta-neutral: {core} exposure {r_core.net:,.2f} + β {fit.beta:.3f} × {satellite} {r_sat.net:,.2f} "
            f"= {net:+,.2f}; move {core} futures by {delta:+,.2f} to 0. {fit.reason}")
    return _ticket(ctx, TicketKind.BETA, legs, note, reasons, warnings + w)


# ---------------------------------------------------------------- propose


def roll_candidates(ctx: _Ctx, rows: Sequence[SleeveRow] | None = None) -> list[Ticket]:
    """Perp hedges a dated future would carry more cheaply over the horizon, and dated hedges
    that expire inside it. ``rows``: ``hedgeable_rows``, when the caller has them."""
    out: list[Ticket] = []
    unstyled = ctx.style == UNSTYLED
    for row in hedgeable_rows(ctx.config, ctx.alloc) if rows is None else rows:
        if not row.positions:
            continue
        s = ctx.config.sleeve(row.name)
        for p in row.positions:
            expiring = p.dated and p.expiry is not None and (p.expiry - ctx.now) / 86_400_000 < ctx.horizon
            if p.dated and not expiring:
                continue  # a dated hedge that outlives the horizon already carries no funding
            try:
                roll = _roll_legs_of(ctx, s, p, None)
            except UserError:
                continue  # no instrument of the other kind: nothing to propose
            if expiring:
                out.append(_roll_ticket(ctx, *roll, why=Later(_expiry_why, p.symbol, ctx.horizon)))
                continue
            # the roll's verdict needs only its costs (preview() would add margin and checks),
            # priced as its legs would be worked; it is worded only when proposed
            t = None
            # close first, as _ticket orders; as they would be worked (a plain market order
            # unless the pass has a style)
            worked: Sequence[tuple[Leg, OrderStyle, float | None]] = ((roll[2], UNSTYLED, None),
                                                                       (roll[3], UNSTYLED, None))
            if not unstyled:
                t = style_ticket(_roll_ticket(ctx, *roll), ctx.style, ctx.snap, ctx.lots, ctx.books)
                worked = [(tl.leg, tl.style, tl.limit_price) for tl in t.legs]

            def priced(leg: Leg, style: OrderStyle, limit: float | None, book: Any) -> float:
                return leg_lines(ctx.snap, leg, style, limit, book=book,
                                 spot_price=ctx.alloc.prices.get(leg.symbol.split("/")[0]),
                                 horizon_days=ctx.horizon, now_ms=ctx.now, trading_fees=ctx.fees)[2]

            # Many rolls cannot save: weigh them without walking the books first. A market
            # leg's slippage is never negative, and without a book its slippage line is 0 and
            # its roll line counts the fee alone (2 × rolls × (fee + slippage)): the total
            # without books is the total less every slippage term, a lower bound. A roll whose
            # bound is above zero (by more than float rounding) cannot save. (A limit leg's
            # slippage is measured from the book's mid, which no bound without the book gives.)
            # A leg without a book is priced the same either way: once.
            bare = [priced(*w, None) for w in worked] if unstyled else None
            if bare is not None and sum(bare) > ROLL_BOUND_MARGIN:
                continue
            books = [of(ctx.books, leg.account, leg.symbol) for leg, _, _ in worked]
            cost = sum(bare[i] if bare is not None and book is None else priced(*w, book)
                       for i, (w, book) in enumerate(zip(worked, books, strict=True)))
            if cost < 0:
                why = Later(_saving_why, cost, ctx.horizon)
                out.append(replace(t, note=Later(_joined, t.note, why)) if t else _roll_ticket(ctx, *roll, why=why))
    return out


def _expiry_why(symbol: str, horizon: float) -> str:
    return f"; {symbol} expires inside the {horizon:g} d horizon"


def _saving_why(cost: float, horizon: float) -> str:
    return f"; the roll saves {-cost:,.2f} over {horizon:g} d (carry saved minus fees and slippage)"


def _joined(*parts: str | Later) -> str:
    return "".join(worded_each(parts))


def hedgeable_rows(config: Config, alloc: Allocation) -> list[SleeveRow]:
    """Sleeves the overlay can move: not the cash sleeve, with at least one hedge instrument."""
    return [alloc.row(name) for name in _hedgeable(config)]


@by_identity()
def _hedgeable(config: Config) -> tuple[str, ...]:
    """``hedgeable_rows``' sleeves by name: the config's, so worked out once while it lives (a
    plan runs on a new snapshot every tick, with the same config)."""
    return tuple(s.name for s in config.sleeves if s.hedges and not config.is_cash(s))


def over_under(rows: Sequence[SleeveRow], goal: Goal) -> tuple[list[SleeveRow], list[SleeveRow]]:
    """The one pairing rule, for ``propose`` and the builder's ``s`` alike: overweight sleeves
    (money to sell toward ``goal``) by the most to move first, underweight ones likewise; the
    i-th of one is paired with the i-th of the other."""
    over = sorted((r for r in rows if r.delta(goal) < 0), key=lambda r: r.delta(goal))
    under = sorted((r for r in rows if r.delta(goal) > 0), key=lambda r: -r.delta(goal))
    return over, under


def spread_pair(config: Config, alloc: Allocation, goal: Goal) -> tuple[str, str] | str:
    """The spread a trader asks for with one key: the first pair of ``over_under`` among the
    hedgeable sleeves, with at least one of the two in warn or breach. The pair, or why there
    is none."""
    from console.core.allocation import Status

    over, under = over_under(hedgeable_rows(config, alloc), goal)
    if not over or not under:
        side = "overweight" if not over else "underweight"
        return f"no sleeve with hedges is {side} against its {goal.value}"
    sell, buy = over[0], under[0]
    if not {sell.status, buy.status} & {Status.WARN, Status.BREACH}:
        return (f"neither {sell.name} ({_pp(sell.drift)}) nor {buy.name} ({_pp(buy.drift)}) "
                "is in warn or breach")
    return sell.name, buy.name


def _pp(drift: float | None) -> str:
    return "n/a" if drift is None else f"{drift * 100:+.2f} pp"


def propose(config: Config, snapshot: Snapshot, *, goal: Goal = Goal.TARGET, scope: Scope = Scope.BREACH,
            horizon_days: float = DEFAULT_HORIZON_DAYS, books: ByAccount | None = None,
            now_ms: int | None = None, trading_fees: ByAccount | None = None,
            alloc: Allocation | None = None, rolls: bool = True,
            ohlcv: Mapping[str, Any] | None = None,
            beta_pairs: Sequence[tuple[str, str]] = (), style: OrderStyle | None = None) -> list[Ticket]:
    """Tickets the allocation calls for, in the order a trader would read them:
    1. spreads pairing the most overweight sleeve with the most underweight, and so on;
    2. single hedges for the sleeves left over;
    3. rolls that save carry over the horizon, or that the horizon forces (expiry inside it);
    4. beta-neutral tickets for each (core, satellite) in ``beta_pairs`` (needs ``ohlcv``).
    Every ticket's ``note`` says why it is proposed and ``reasons`` why each leg is what it is.
    """
    # a pure pass that frees what it allocates by reference counting: see gcpause
    with gc_paused():
        ctx = _Ctx(config, snapshot, alloc, books, horizon_days, now_ms, trading_fees, style)
        hedgeable = hedgeable_rows(config, ctx.alloc)
        rows = [r for r in hedgeable
                if wanted(r, scope) and abs(r.delta(goal)) >= max(config.limits.min_trade_notional, 1e-9)]
        over, under = over_under(rows, goal)
        out: list[Ticket] = []
        for a, b in zip(over, under, strict=False):
            out.append(build_spread(config, snapshot, a.name, b.name, goal=goal, _ctx=ctx))
        n = min(len(over), len(under))
        for r in over[n:] + under[n:]:
            out.append(build_hedge(config, snapshot, r.name, goal=goal, _ctx=ctx))
        if rolls:
            out += roll_candidates(ctx, hedgeable)
        for core, sat in beta_pairs:
            if ohlcv is None:
                raise UserError("beta-neutral tickets need OHLCV closes for the core and the satellite")
            out.append(build_beta_neutral(config, snapshot, core, sat, ohlcv=ohlcv, _ctx=ctx))
        return out


# ------------------------------------------------------------------ the builder's request

AUTO = "auto"  # let the planner choose the instrument


@dataclass(frozen=True)
class TicketRequest:
    """What a trader asks the builder for: the kind, the sleeves, instruments (or auto), goal,
    horizon and order style. ``plan_request`` turns it into a ticket."""

    kind: str = "spread"  # spread | hedge | roll
    sell: str | None = None
    sell_inst: str = AUTO
    buy: str | None = None
    buy_inst: str = AUTO
    goal: Goal = Goal.TARGET
    horizon_days: float = 7.0
    style: OrderType = OrderType.MARKET
    offset_bps: float = 0.0
    slices: int = 1
    over_minutes: float = 0.0
    position: tuple[str, str] | None = None  # (account, symbol) for a roll

    def order_style(self) -> OrderStyle:
        return OrderStyle(self.style, self.offset_bps, self.slices, self.over_minutes)


def _instrument(config: Config, sleeve: str | None, symbol: str) -> HedgeInstrument | None:
    if sleeve is None or symbol == AUTO:
        return None
    return next((h for h in config.sleeve(sleeve).hedges if h.symbol == symbol), None)


def plan_request(config: Config, snap: Snapshot, inp: TicketRequest, books: ByAccount | None,
                 now_ms: int) -> Ticket:
    """The ticket the request describes (pure; the builder runs it in a worker thread)."""
    common = {"horizon_days": inp.horizon_days, "books": books, "now_ms": now_ms, "style": inp.order_style()}
    if inp.kind == "roll":
        if inp.position is None and inp.sell is None:
            raise UserError("pick the position to roll: put the dashboard cursor on it and press r")
        account, symbol = inp.position or (None, None)
        sleeve = inp.sell or sleeve_of_position(config, snap, account, symbol)
        to = None if inp.buy_inst == AUTO else inp.buy_inst
        t = build_roll(config, snap, sleeve, from_symbol=symbol, to_symbol=to, account=account, **common)
    elif inp.kind == "hedge":
        if inp.sell is None:
            raise UserError("pick the sleeve to hedge")
        t = build_hedge(config, snap, inp.sell, goal=inp.goal,
                                instrument=_instrument(config, inp.sell, inp.sell_inst), **common)
    else:
        if inp.sell is None or inp.buy is None:
            raise UserError("pick the sleeve to sell and the sleeve to buy")
        t = build_spread(config, snap, inp.sell, inp.buy, goal=inp.goal,
                                 sell_instrument=_instrument(config, inp.sell, inp.sell_inst),
                                 buy_instrument=_instrument(config, inp.buy, inp.buy_inst), **common)
    t = replace(t, horizon_days=inp.horizon_days)
    if inp.style is not OrderType.MARKET or inp.slices > 1:
        t = style_ticket(t, inp.order_style(), snap, account_lots(snap), books)
    else:
        t = replace(t, legs=tuple(replace(tl, style=inp.order_style()) for tl in t.legs))
    return t


def sleeve_of_position(config: Config, snap: Snapshot, account: str | None, symbol: str | None) -> str:
    for r in compute_allocation(config, snap).rows:
        if any(p.account == account and p.symbol == symbol for p in r.positions):
            return r.name
    raise UserError(f"no sleeve holds {symbol} on {account}")


def candidate_books(config: Config, snap: Snapshot, inp: TicketRequest, ticket: Ticket) -> list[tuple[str, str]]:
    """(account, symbol) of every book the plan may need: the ticket's legs, and each hedge the
    planner weighs for a sleeve left on "auto", so it compares instruments on like terms (a
    candidate without a book would look free of slippage and win); and the spot books the spot
    alternative prices its slippage on."""
    from console.core.preview import spot_books

    pairs = [(tl.leg.account, tl.leg.symbol) for tl in ticket.legs] + spot_books(config, snap, ticket)
    if inp.kind in ("spread", "hedge"):
        sides = [(inp.sell, inp.sell_inst)] + ([(inp.buy, inp.buy_inst)] if inp.kind == "spread" else [])
        for sleeve, inst in sides:
            if sleeve is None or inst != AUTO or sleeve not in {s.name for s in config.sleeves}:
                continue
            for h in config.sleeve(sleeve).hedges:
                for name, acct in snap.accounts.items():
                    if (h.account is None or h.account == name) and h.symbol in acct.markets:
                        pairs.append((name, h.symbol))
    return list(dict.fromkeys(pairs))
