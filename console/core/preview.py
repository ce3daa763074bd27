"""One ticket, fully explained: costs per leg and in total, the spot alternative, what-if
margin and liquidation, the stress table, the pre-trade checks, and a verdict.

``preview()`` is the single entry point; the spread builder and the confirmation modal
render exactly the ``Preview`` it returns (``to_dict()`` for JSON). Pure: venue data (books,
tiers, fees) is passed in, and a missing input is shown as such, never guessed silently.

Signs: every money figure of cost is paid (> 0) or received (< 0), in the quote currency.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from console.core.allocation import Allocation, compute_allocation
from console.core.checks import CheckFailure, pretrade_checks
from console.core.config import Config
from console.core.costs import (
    BasisInfo,
    CostItem,
    FundingInfo,
    basis_amount,
    basis_info,
    basis_item,
    book_slippage,
    carry_after_expiry,
    fee_amount,
    fee_cost,
    fee_rate,
    funding_amount,
    funding_item,
    roll_amount,
    roll_item,
    rolls_needed,
    slippage_cost,
    spot_alternative,
    unknown,
)
from console.core.errors import UserError
from console.core.memo import by_identity
from console.core.numbers import money
from console.core.overlay import Leg, leg_notional
from console.core.risk import (
    DEFAULT_INVERSE_TIERS_LABEL,
    DEFAULT_TIERS_LABEL,
    WhatIf,
    is_fallback,
    what_if,
    worst,
)
from console.core.snapshot import AccountState, Snapshot
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.core.venuedata import ByAccount, MarketFacts, funding_of, market_facts, of, of_account

COST_NAMES = ("fee", "slippage", "funding", "basis", "roll")
# the preview's own words for risk's fallback (whose label carries the CLI's --tiers hint)
TIERS_FALLBACK_NOTE = ("margin and liquidation on fallback tiers (Binance BTCUSDT default brackets): "
                       "the venue's own leverage tiers were not available")
INVERSE_TIERS_FALLBACK_NOTE = ("COIN-M margin and liquidation on fallback tiers (Binance COIN-M BTCUSD default "
                               "brackets, in coin): the venue's own leverage tiers were not available")
MARGIN_GAP = 0.0005  # 0.05 pp: a smaller gap between recomputed and reported margin ratio is not worth a word


@dataclass(frozen=True)
class LegCosts:
    index: int
    account: str
    symbol: str
    side: str
    contracts: float
    notional: float
    instrument: str  # "perp" | "dated"
    reduce_only: bool
    items: tuple[CostItem, ...]  # fee, slippage, funding (perp) or basis + roll (dated)
    funding: FundingInfo | None
    basis: BasisInfo | None
    limit_price: float | None

    @property
    def total(self) -> float:
        return sum(i.amount for i in self.items)

    def item(self, name: str) -> CostItem | None:
        return next((i for i in self.items if i.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "account": self.account, "symbol": self.symbol, "side": self.side,
            "contracts": self.contracts, "notional": self.notional, "instrument": self.instrument,
            "reduce_only": self.reduce_only, "limit_price": self.limit_price, "total": self.total,
            "items": [i.to_dict() for i in self.items],
            "funding": None if self.funding is None else {
                "rate": self.funding.rate, "interval_hours": self.funding.interval_hours,
                "annualised": self.funding.annualised, "next_time_ms": self.funding.next_time_ms},
            "basis": None if self.basis is None else {
                "basis": self.basis.basis, "annualised": self.basis.annualised,
                "days_to_expiry": self.basis.days_to_expiry, "future": self.basis.future, "spot": self.basis.spot},
        }


@dataclass(frozen=True)
class SpotAlternative:
    items: tuple[CostItem, ...]
    futures_cost: float  # the ticket's total over the horizon
    reason: str  # which is cheaper for the horizon, and by how much

    @property
    def total(self) -> float:
        return sum(i.amount for i in self.items)

    @property
    def cheaper(self) -> str:
        return "futures" if self.futures_cost <= self.total else "spot"

    def to_dict(self) -> dict[str, Any]:
        return {"items": [i.to_dict() for i in self.items], "total": self.total, "futures_cost": self.futures_cost,
                "cheaper": self.cheaper, "reason": self.reason}


@dataclass(frozen=True)
class Verdict:
    worth_it: bool
    cost: float  # the ticket's total over the horizon
    exposure_moved: float  # Σ |sleeve exposure| the legs change (the drift they remove, in money)
    cost_bps: float | None  # cost / exposure moved, in bps
    threshold_bps: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Preview:
    ticket: Ticket
    legs: tuple[LegCosts, ...]
    totals: Mapping[str, float]  # by cost name (fee, slippage, funding, basis, roll) and "total"
    unknown_costs: tuple[str, ...]  # "slippage (leg 1: n/a (no book))": what could not be priced
    spot_alternative: SpotAlternative | None  # None for a roll (it moves no exposure)
    what_if: WhatIf
    checks: tuple[CheckFailure, ...]
    verdict: Verdict
    horizon_days: float
    now_ms: int
    assumptions: tuple[str, ...]  # fallbacks used: tiers, fee rates, funding interval

    @property
    def total_cost(self) -> float:
        return self.totals.get("total", 0.0)

    @property
    def ok(self) -> bool:
        """No pre-trade check fails (the verdict is advice, not a block)."""
        return not self.checks

    def to_dict(self) -> dict[str, Any]:
        t = self.ticket
        return {
            "kind": t.kind.value, "note": t.note, "warnings": list(t.warnings), "snapshot_ts": t.snapshot_ts,
            "horizon_days": self.horizon_days, "now_ms": self.now_ms,
            "legs": [lc.to_dict() for lc in self.legs],
            "totals": dict(self.totals), "unknown_costs": list(self.unknown_costs),
            "spot_alternative": None if self.spot_alternative is None else self.spot_alternative.to_dict(),
            "what_if": self.what_if.to_dict(),
            "checks": [c.to_dict() for c in self.checks], "ok": self.ok,
            "verdict": self.verdict.to_dict(), "assumptions": list(self.assumptions),
        }


def leg_costs(config: Config, snap: Snapshot, index: int, tl: TicketLeg, *, book: Mapping[str, Any] | None,
              spot_price: float | None, horizon_days: float, now_ms: int,
              trading_fees: ByAccount | None = None, book_error: str | None = None) -> LegCosts:
    """Fee, slippage, and the horizon's carry (funding for a perp; basis and roll for a dated
    future) of one leg. A reduce-only leg's carry is what closing gives up or saves.
    ``book``: the leg's own venue's book; ``trading_fees``: by account, and the leg pays its own
    account's rate.
    ``book_error``: why the caller has no book for the leg ("no order book from futures: …"),
    shown as the slippage's reason instead of the bare "no order book"."""
    leg = tl.leg
    acct = snap.accounts[leg.account]
    facts = market_facts(acct.markets, leg.symbol)
    maker = tl.style.type is OrderType.POST_ONLY
    rate, src = fee_rate(facts.listed_fees, leg.symbol, maker=maker,
                         trading_fees=of_account(trading_fees, leg.account))
    notional = leg.notional
    fee = fee_cost(notional, rate, src, maker=maker)
    if tl.style.type is OrderType.MARKET:
        child = leg.contracts / tl.style.slices
        slip, _ = slippage_cost(book, leg.side, child, leg.contract_size, inverse=not leg.linear)
        if tl.style.slices > 1 and slip.known:
            child_slip, n = slip, tl.style.slices
            slip = CostItem("slippage", slip.amount * n,
                            lambda: child_slip.reason + f" per child, × {n} children (assumes the book "
                            "refills between slices)", slip.bps)
    else:
        adverse, px, ref, mid = _resting(leg.side, leg.price, tl.limit_price, book)
        slip = CostItem("slippage", adverse * notional,
                        lambda: f"limit {px:,.6g} vs {'mid' if mid else 'mark'} {ref:,.6g}: rests on the book, "
                                "no sweep (fill not guaranteed)", adverse * 1e4)
    dated, expiry = facts.dated, facts.expiry
    if book_error and not book and not slip.known:
        slip = unknown("slippage", f"n/a ({book_error})")
    items = [fee, slip]
    fi: FundingInfo | None = None
    bi: BasisInfo | None = None
    if dated:
        bi = basis_info(leg.price, spot_price, expiry, now_ms)
        items.append(basis_item(leg.side, notional, bi, horizon_days))
        if bi is not None and not leg.reduce_only:
            n = rolls_needed(horizon_days, bi.days_to_expiry)
            carry, days_after = carry_after_expiry(leg.side, notional, bi, horizon_days)
            items.append(roll_item(n, fee.amount + slip.amount, bi.days_to_expiry, carry_after=carry,
                                   days_after=days_after))
        elif bi is None:
            items.append(unknown("roll", "n/a: expiry unknown"))
    else:
        fi = funding_of(acct.funding_rates, leg.symbol)
        items.append(funding_item(leg.side, notional, fi, horizon_days, now_ms=now_ms))
    return LegCosts(index, leg.account, leg.symbol, leg.side, leg.contracts, notional,
                    "dated" if dated else "perp", leg.reduce_only, tuple(items), fi, bi, tl.limit_price)


def _resting(side: str, mark: float, limit_price: float | None,
             book: Mapping[str, Any] | None) -> tuple[float, float, float, float | None]:
    """A limit leg's adverse distance of its price from mid (``mark`` without a book), as a
    share: (adverse, limit price, reference, mid)."""
    mid = None
    if book and book.get("bids") and book.get("asks"):
        mid = (float(book["bids"][0][0]) + float(book["asks"][0][0])) / 2
    ref = mid or mark
    px = limit_price or ref
    return max(0.0, (px - ref) / ref if side == "buy" else (ref - px) / ref), px, ref, mid


CostLine = tuple[str, float, bool]  # a cost line's name, amount and whether it could be priced


def leg_lines(snap: Snapshot, leg: Leg, style: OrderStyle, limit_price: float | None, *,
              book: Mapping[str, Any] | None, spot_price: float | None, horizon_days: float, now_ms: int,
              trading_fees: ByAccount | None = None) -> tuple[str, tuple[CostLine, ...], float]:
    """``leg_costs``' instrument ("perp" | "dated"), each of its cost lines as (name, amount,
    known) and their total, without the lines' objects and words, for ``leg`` worked in
    ``style`` at ``limit_price`` (a ``TicketLeg``'s): the planner weighs rolls on these. The
    same floats: the same formulas (costs' ``*_amount``) on the same inputs, added in the same
    order as ``LegCosts.total`` adds its items."""
    return cost_lines(snap.accounts[leg.account], leg.symbol, leg.side, leg.contracts, leg.contract_size,
                      leg.linear, leg.price, leg.reduce_only, style, limit_price, book=book,
                      spot_price=spot_price, horizon_days=horizon_days, now_ms=now_ms,
                      fees=of_account(trading_fees, leg.account))


def cost_lines(acct: AccountState, symbol: str, side: str, contracts: float, contract_size: float, linear: bool,
               price: float, reduce_only: bool, style: OrderStyle, limit_price: float | None, *,
               book: Mapping[str, Any] | None, spot_price: float | None, horizon_days: float, now_ms: int,
               fees: Mapping[str, Any], facts: MarketFacts | None = None) -> tuple[str, tuple[CostLine, ...], float]:
    """``leg_lines`` of a leg given by its fields (a ``Leg``'s, in its order, then its
    ``TicketLeg``'s style and limit price) on its account, with that account's ``fees``: the
    planner prices candidate legs it never builds (it builds the pick's) on this, and
    ``leg_lines`` is this on a built leg, so the two cannot drift apart. ``facts``: the
    symbol's ``market_facts`` on the account, when the caller holds them."""
    maker = style.type is OrderType.POST_ONLY
    notional = leg_notional(contracts, contract_size, price, linear)
    facts = facts or market_facts(acct.markets, symbol)
    fee = fee_amount(notional, fee_rate(facts.listed_fees, symbol, maker=maker, trading_fees=fees)[0])
    slip: CostLine = ("slippage", 0.0, False)  # no book, or no side to walk
    if style.type is not OrderType.MARKET:
        slip = ("slippage", _resting(side, price, limit_price, book)[0] * notional, True)
    elif book:
        money = book_slippage(book, side, contracts / style.slices, contract_size, not linear)
        if money is not None:
            slip = ("slippage", money * style.slices if style.slices > 1 else money, True)
    head = (("fee", fee, True), slip)
    # each total adds the lines in their order, as LegCosts.total does (sum() from 0: the same float)
    if not facts.dated:
        fi = funding_of(acct.funding_rates, symbol)
        funding = funding_amount(side, notional, fi, horizon_days, now_ms=now_ms)[0] if fi else 0.0
        return "perp", (*head, ("funding", funding, fi is not None)), 0.0 + fee + slip[1] + funding
    bi = basis_info(price, spot_price, facts.expiry, now_ms)
    if bi is None:
        return "dated", (*head, ("basis", 0.0, False), ("roll", 0.0, False)), 0.0 + fee + slip[1] + 0.0 + 0.0
    basis = basis_amount(side, notional, bi, horizon_days)[0]
    if reduce_only:
        return "dated", (*head, ("basis", basis, True)), 0.0 + fee + slip[1] + basis
    carry, _ = carry_after_expiry(side, notional, bi, horizon_days)
    roll = roll_amount(rolls_needed(horizon_days, bi.days_to_expiry), fee + slip[1], carry)
    return "dated", (*head, ("basis", basis, True), ("roll", roll, True)), 0.0 + fee + slip[1] + basis + roll


@by_identity()
def _reported_margin_ratio(state: AccountState) -> float | None:
    """``alerts.account_margin_ratio``, once per (immutable) account state: it reads every
    position, and a plan previews hundreds of tickets on one snapshot."""
    from console.core.alerts import account_margin_ratio

    return account_margin_ratio(state)


def margin_before_notes(snapshot: Snapshot, wi: WhatIf) -> list[str]:
    """Where the preview's "margin before" (recomputed from the positions at mark on the
    tiers it was given) differs from the ratio the venue reports (the dashboard's), say by how
    much and why, so the two figures on screen never disagree silently."""
    out = []
    for name in dict.fromkeys(a.account for a in wi.before):
        # the venue's account figure is compared with the account's worst pool (risk.worst)
        a = worst(b for b in wi.before if b.account == name)
        if a is None:
            continue
        st = snapshot.accounts.get(a.account)
        reported = _reported_margin_ratio(st) if st is not None else None
        mine = a.margin_ratio
        if reported is None or not math.isfinite(mine) or abs(reported - mine) <= MARGIN_GAP:
            continue
        why = ("fallback tiers, not the venue's" if is_fallback(a.tiers_note) else
               "the venue's figure comes from its balance reply and the marks from its position reply, "
               "a moment apart")
        out.append(f"margin before on {a.account}: {mine * 100:.2f}% recomputed vs {reported * 100:.2f}% "
                   f"reported by the venue (the dashboard's figure): {why}")
    return out


def _spot_market(config: Config, snap: Snapshot, leg: Leg) -> tuple[str, str, str | None]:
    """(asset, spot symbol, the account that lists it or None): where the same exposure would
    trade in spot, the sleeve's first asset against the quote."""
    quote = config.portfolio.quote
    asset = leg.symbol.split("/")[0]
    with contextlib.suppress(UserError):  # else a leg on a sleeve the config lacks: the contract's base
        asset = config.sleeve(leg.sleeve).assets[0]
    sym = f"{asset}/{quote}"
    for name, a in snap.accounts.items():
        if sym in a.markets:
            return asset, sym, name
    return asset, sym, None


def spot_books(config: Config, snap: Snapshot, ticket: Ticket) -> list[tuple[str, str]]:
    """(account, symbol) of each spot book the spot alternative reads for its slippage: the
    builder fetches them with the legs' books, so the comparison is on like terms."""
    out = []
    for tl in ticket.legs:
        _, sym, account = _spot_market(config, snap, tl.leg)
        if account is not None:
            out.append((account, sym))
    return list(dict.fromkeys(out))


def preview(config: Config, snapshot: Snapshot, ticket: Ticket, *,
            books: ByAccount | None = None,
            tiers: ByAccount | None = None,
            horizon_days: float | None = None,
            now_ms: int | None = None,
            trading_fees: ByAccount | None = None,
            max_cost_bps: float | None = None,
            stress: bool = True,
            alloc: Allocation | None = None,
            book_errors: ByAccount | None = None,
            tier_errors: Sequence[str] = ()) -> Preview:
    """Everything the trader needs to decide on ``ticket`` (see the module docstring).

    ``books``: account → symbol → ccxt order book; ``tiers``: account → symbol → ccxt leverage
    tiers; ``trading_fees``: account → symbol → ccxt trading fee (fetch_trading_fees): each leg
    is priced on its own venue's data, never on another venue's listing the same symbol; ``horizon_days``
    defaults to the ticket's; ``now_ms`` to the snapshot's time; ``alloc`` is the snapshot's
    allocation when the caller already has it (it is computed otherwise). ``book_errors``:
    account → symbol → why its book could not be fetched ("no order book from <account>: <reason>");
    ``tier_errors``: why the venue's tiers could not be fetched, shown beside the fallback.
    """
    horizon = ticket.horizon_days if horizon_days is None else horizon_days
    if max_cost_bps is None:
        max_cost_bps = config.limits.max_cost_bps
    now = snapshot.timestamp if now_ms is None else now_ms
    books = books or {}
    pf = config.portfolio
    alloc = alloc or compute_allocation(config, snapshot)
    prices = alloc.prices
    legs: list[LegCosts] = []
    for i, tl in enumerate(ticket.legs):
        base = tl.leg.symbol.split("/")[0]
        legs.append(leg_costs(config, snapshot, i, tl, book=of(books, tl.leg.account, tl.leg.symbol),
                              spot_price=prices.get(base), horizon_days=horizon, now_ms=now, trading_fees=trading_fees,
                              book_error=of(book_errors, tl.leg.account, tl.leg.symbol)))
    amounts = [{i.name: i.amount for i in lc.items} for lc in legs]  # a leg's lines have distinct names
    totals = {n: sum(a.get(n, 0.0) for a in amounts) for n in COST_NAMES}
    totals["total"] = sum(lc.total for lc in legs)
    unknowns = tuple(f"{it.name} (leg {lc.index + 1}: {it.reason})" for lc in legs for it in lc.items if not it.known)

    moved = sum(abs(tl.leg.sleeve_exposure) for tl in ticket.legs)
    net_moved = {}
    for tl in ticket.legs:
        net_moved[tl.leg.sleeve] = net_moved.get(tl.leg.sleeve, 0.0) + tl.leg.sleeve_exposure
    exposure = sum(abs(v) for v in net_moved.values())

    spot_alt: SpotAlternative | None = None
    if ticket.kind is not TicketKind.ROLL and exposure > 1e-9:
        items: list[CostItem] = []
        for sleeve, dv in net_moved.items():
            if abs(dv) < 1e-9:
                continue
            leg0 = next(tl.leg for tl in ticket.legs if tl.leg.sleeve == sleeve)
            asset, sym, acct_name = _spot_market(config, snapshot, leg0)
            mkt = snapshot.accounts[acct_name].markets[sym] if acct_name is not None else None
            items += spot_alternative(abs(dv), "buy" if dv > 0 else "sell", spot_symbol=sym, spot_market=mkt,
                                      spot_book=of(books, acct_name, sym) if acct_name else None,
                                      spot_price=prices.get(asset))
        st = sum(i.amount for i in items)
        fut = totals["total"]
        cheaper = "futures" if fut <= st else "spot"
        diff = abs(st - fut)
        # tax only arises when the spot route sells: say so only then
        sells = any(dv < -1e-9 for dv in net_moved.values())
        unpriced = [i.reason.removeprefix("n/a (").removesuffix(")") for i in items if not i.known]
        spot_alt = SpotAlternative(tuple(items), fut,
                                   f"{cheaper} is cheaper over {horizon:g} d by {money(diff)} (futures {money(fut)} vs "
                                   f"spot {money(st)}, " + ("fee only" if unpriced else "fee and book slippage")
                                   + (", before tax on a spot sale, which you flag)" if sells else ")")
                                   + (f"; spot slippage not priced: {'; '.join(unpriced)}" if unpriced else ""))

    spot_values = alloc.spot_values()
    wi = what_if(snapshot, [tl.leg for tl in ticket.legs], tiers=tiers, quote=pf.quote,
                 default_leverage=config.limits.max_leverage, spot_values=spot_values,
                 stress_moves=(-0.30, -0.20, -0.10, 0.10, 0.20, 0.30) if stress else ())
    checks = tuple(pretrade_checks(config, snapshot, ticket, now, books, tiers=tiers))

    cost = totals["total"]
    if not ticket.legs:
        verdict = Verdict(False, 0.0, 0.0, None, max_cost_bps, "nothing to trade: the ticket has no legs")
    elif ticket.kind is TicketKind.ROLL:
        worth = cost < 0
        reason = (f"the roll saves {-cost:,.2f} over {horizon:g} d (carry saved minus fees and slippage)" if worth
                  else f"not worth it: the roll costs {cost:,.2f} more than keeping the position for {horizon:g} d")
        verdict = Verdict(worth, cost, 0.0, None, max_cost_bps, reason)
    else:
        bps = cost / exposure * 1e4 if exposure > 0 else math.inf
        worth = bps <= max_cost_bps
        if cost < 0:  # the carry received outweighs fees and slippage: say it earns, not "-28 bps"
            reason = (f"earns {-cost:,.2f} over {horizon:g} d ({-bps:.1f} bps) while removing {exposure:,.2f} "
                      "of drift (carry received exceeds fees and slippage)")
        else:
            reason = (f"{cost:,.2f} over {horizon:g} d is {bps:.1f} bps of the {exposure:,.2f} of drift it removes "
                      f"({'within' if worth else 'over'} your {max_cost_bps:g} bps threshold)")
        if not worth:
            reason = "not worth it: " + reason
        if unknowns:
            reason += f"; {len(unknowns)} cost(s) could not be priced"
        verdict = Verdict(worth, cost, exposure, bps if math.isfinite(bps) else None, max_cost_bps, reason)

    assumptions: list[str] = []
    pools = (*wi.before, *wi.after)
    if any(is_fallback(a.tiers_note) for a in pools):
        assumptions.extend(tier_errors)
    if any(DEFAULT_TIERS_LABEL in a.tiers_note for a in pools):
        assumptions.append(TIERS_FALLBACK_NOTE)
    if any(DEFAULT_INVERSE_TIERS_LABEL in a.tiers_note for a in pools):
        assumptions.append(INVERSE_TIERS_FALLBACK_NOTE)
    assumptions.extend(margin_before_notes(snapshot, wi))
    if not books and not book_errors:
        assumptions.append("no order books: slippage shown as n/a")
    assumptions.append("funding: the current rate is assumed to hold for the whole horizon")
    assumptions.append("basis: converges linearly to spot by expiry")
    if moved > exposure + 1e-6:
        assumptions.append(f"legs on the same sleeve offset: {moved:,.2f} traded moves {exposure:,.2f} net")
    return Preview(ticket, tuple(legs), totals, unknowns, spot_alt, wi, checks, verdict, horizon, now,
                   tuple(assumptions))


def follow_up_preview(pv: Preview, action: str, ticket_id: str) -> Preview:
    """The preview of a chase or an unwind: it finishes or undoes a ticket already judged, so
    it carries no drift verdict and no spot alternative, and blocks only on what the executor
    itself re-checks (a chase's remainder is owed even under the minimum trade size; an
    unwind closes at market, checked by nothing)."""
    verb = "finishes" if action == "chase" else "undoes what filled of"
    return replace(pv, checks=tuple(c for c in pv.checks if action == "chase" and str(c.code) != "min_notional"),
                   spot_alternative=None,
                   verdict=replace(pv.verdict, worth_it=True,
                                   reason=f"{action}: {verb} ticket {ticket_id}; costs "
                                          f"{pv.total_cost:+,.2f} over {pv.horizon_days:g} d"))
