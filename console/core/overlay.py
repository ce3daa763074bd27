"""Overlay legs: futures orders that move each sleeve's net exposure to its goal.

For a sleeve that must move by Δ (money of exposure): positions on the opposite side are
reduced first (reduce-only, in the order of the sleeve's hedge list), and only what is left
opens or grows a position in the sleeve's first hedge instrument. Sizes are truncated to the
snapshot's market lot as ccxt's ``amount_to_precision`` does (console.core.lots) and honour
min amount and min cost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from console.core.allocation import Allocation, PositionLine, SleeveRow, Status, contract_mark
from console.core.config import Config, Goal, HedgeInstrument, Sleeve
from console.core.frozen import quick_init
from console.core.lots import Lots
from console.core.snapshot import Snapshot


class Scope(StrEnum):
    BREACH = "breach"  # only sleeves past their band
    WARN = "warn"  # sleeves in warning or breach
    ALL = "all"  # every sleeve with a configured target


@quick_init
@dataclass(frozen=True)
class Leg:
    sleeve: str
    account: str
    symbol: str
    side: str  # "buy" | "sell"
    contracts: float  # positive, venue-rounded
    contract_size: float
    linear: bool
    price: float  # mark used for sizing
    reduce_only: bool
    purpose: str  # "reduce long", "reduce short", "open"
    ratio: float = 1.0

    @property
    def notional(self) -> float:
        """Unsigned notional in quote currency (an inverse contract's USD size Q). It is also
        the change of the asset's USD exposure when the leg fills, for an inverse reduction too:
        its exposure side × Q × mark / entry falls by the closed Q × mark / entry, and the coin
        P&L it realises into the wallet, Q × (mark / entry − 1), is coin held at mark."""
        return leg_notional(self.contracts, self.contract_size, self.price, self.linear)

    @property
    def signed_contracts(self) -> float:
        return self.contracts if self.side == "buy" else -self.contracts

    @property
    def sleeve_exposure(self) -> float:
        """Signed change of the sleeve's net exposure this leg makes."""
        sign = 1.0 if self.side == "buy" else -1.0
        return sign * self.notional / self.ratio


@dataclass(frozen=True)
class SkippedLeg:
    sleeve: str
    account: str | None
    symbol: str | None
    side: str
    notional: float
    reason: str


@dataclass(frozen=True)
class OverlayPlan:
    goal: Goal
    legs: tuple[Leg, ...]
    skipped: tuple[SkippedLeg, ...]


def wanted(row: SleeveRow, scope: Scope) -> bool:
    if not row.configured or row.is_cash:
        return False
    if scope is Scope.ALL:
        return True
    if scope is Scope.WARN:
        return row.status in (Status.WARN, Status.BREACH)
    return row.status is Status.BREACH


def resolve_account(config: Config, snap: Snapshot, inst: HedgeInstrument) -> str | None:
    """The account that trades ``inst``: the one it names, else the first that lists the market."""
    if inst.account is not None:
        return inst.account if inst.account in snap.accounts else None
    for a in config.accounts:
        st = snap.accounts.get(a.name)
        if st is not None and inst.symbol in st.markets:
            return a.name
    for name, st in snap.accounts.items():
        if inst.symbol in st.markets:
            return name
    return None


def _ratio_for(sleeve: Sleeve, symbol: str) -> float:
    for h in sleeve.hedges:
        if h.symbol == symbol:
            return h.ratio
    return 1.0


def _hedge_rank(sleeve: Sleeve, pos: PositionLine) -> int:
    for i, h in enumerate(sleeve.hedges):
        if h.symbol == pos.symbol:
            return i
    return len(sleeve.hedges)


def sleeve_legs(
    config: Config,
    snap: Snapshot,
    sleeve: Sleeve,
    row: SleeveRow,
    delta: float,
    lots: dict[str, Lots],
    instrument: HedgeInstrument | None = None,
    reduced: tuple[list[Leg], float, bool] | None = None,
    opened: Leg | None = None,
) -> tuple[list[Leg], list[SkippedLeg]]:
    """Legs that move ``sleeve`` by ``delta`` (money of sleeve exposure). ``reduced``: what
    ``reduce_legs`` gives for the same arguments, and ``opened``: the open leg in
    ``instrument`` sized on what is left after them, when the caller (the planner's
    instrument choice) has worked them out already on these very inputs."""
    side = "buy" if delta > 0 else "sell"
    legs: list[Leg] = []
    skipped: list[SkippedLeg] = []
    min_trade = config.limits.min_trade_notional
    if abs(delta) < max(min_trade, 1e-9):
        if abs(delta) > 1e-9:
            skipped.append(SkippedLeg(sleeve.name, None, None, side, abs(delta),
                                      f"drift of {abs(delta):,.2f} is under the minimum trade notional {min_trade:,.2f}"))
        return legs, skipped

    # 1. shrink positions on the other side first, never past zero
    reduce, need, whole = reduced or reduce_legs(snap, sleeve, row, delta, lots)
    legs += reduce
    if not whole:
        return legs, skipped

    # 2. what is left opens (or grows) a position in the chosen instrument
    if abs(need) < max(min_trade, 1e-9):
        return legs, skipped
    if opened is not None:
        legs.append(opened)
        return legs, skipped
    inst = instrument or (sleeve.hedges[0] if sleeve.hedges else None)
    if inst is None:
        skipped.append(SkippedLeg(sleeve.name, None, None, side, abs(need),
                                  f"sleeve {sleeve.name!r} has no hedge instrument; add one under hedges"))
        return legs, skipped
    acct = resolve_account(config, snap, inst)
    if acct is None:
        skipped.append(SkippedLeg(sleeve.name, inst.account, inst.symbol, side, abs(need),
                                  f"no account in the snapshot lists market {inst.symbol}"))
        return legs, skipped
    lot = lots[acct]
    m = lot.market(inst.symbol)
    if m.get("active") is False:
        skipped.append(SkippedLeg(sleeve.name, acct, inst.symbol, side, abs(need), f"{inst.symbol} is not active on {acct}"))
        return legs, skipped
    cs = float(m.get("contractSize") or 1)
    linear = not m.get("inverse", False)
    mark = contract_mark(snap, acct, inst.symbol)
    if not mark:
        skipped.append(SkippedLeg(sleeve.name, acct, inst.symbol, side, abs(need), f"no price for {inst.symbol} on {acct}"))
        return legs, skipped
    contract_notional = notional_per_contract(cs, mark, linear)
    raw = abs(need) * inst.ratio / contract_notional
    rounded = lot.amount(inst.symbol, raw)
    if rounded.amount <= 0:
        skipped.append(SkippedLeg(sleeve.name, acct, inst.symbol, side, abs(need) * inst.ratio, rounded.reason or "under one lot"))
        return legs, skipped
    leg = Leg(sleeve.name, acct, inst.symbol, side, rounded.amount, cs, linear, mark, False, "open", inst.ratio)
    min_cost = lot.min_cost(inst.symbol)
    if min_cost and leg.notional < min_cost:
        skipped.append(SkippedLeg(sleeve.name, acct, inst.symbol, side, leg.notional,
                                  f"notional {leg.notional:,.2f} is under {inst.symbol}'s minimum order cost {min_cost:,.2f}"))
        return legs, skipped
    legs.append(leg)
    return legs, skipped


def reduce_legs(snap: Snapshot, sleeve: Sleeve, row: SleeveRow, delta: float,
                lots: dict[str, Lots]) -> tuple[list[Leg], float, bool]:
    """The reduce-only legs ``sleeve_legs`` starts with (positions on the other side shrunk,
    never past zero, in the order of the sleeve's hedge list), the exposure still to move after
    them, and whether that may open a position (False after a partial reduction)."""
    if not row.positions:  # most sleeves of a large book: nothing to shrink
        return [], delta, True
    side = "buy" if delta > 0 else "sell"
    legs: list[Leg] = []
    need = delta
    opposite = [p for p in row.positions if (p.sleeve_exposure > 0) != (delta > 0) and p.contracts != 0]
    opposite.sort(key=lambda p: _hedge_rank(sleeve, p))
    for p in opposite:
        if abs(need) <= 1e-9:
            break
        exposure = p.face / p.ratio  # what closing it moves (see Leg.notional)
        take = min(abs(need), exposure)
        lot = lots.get(p.account)
        if take >= exposure - 1e-9:
            contracts = abs(p.contracts)  # close it whole: already on the venue's lot grid
        elif lot is not None and p.symbol in snap.accounts[p.account].markets:
            contracts = lot.amount(p.symbol, abs(p.contracts) * take / exposure).amount
        else:
            contracts = 0.0
        if contracts <= 0:
            continue
        leg = Leg(sleeve.name, p.account, p.symbol, side, contracts, p.contract_size, p.linear, p.mark,
                  True, f"reduce {p.side}", p.ratio)
        legs.append(leg)
        need -= leg.sleeve_exposure
        if take < exposure - 1e-9:
            # a partial reduction rounded down to the lot: what is left is under one lot of a
            # position still open on the other side; opening it elsewhere would hold both sides
            return legs, need, False
    return legs, need, True


def leg_notional(contracts: float, contract_size: float, price: float, linear: bool) -> float:
    """``Leg.notional`` of a leg given by its fields (the planner prices legs it never builds)."""
    return contracts * contract_size * (price if linear else 1.0)


def notional_per_contract(contract_size: float, mark: float, linear: bool) -> float:
    return contract_size * mark if linear else contract_size


def account_lots(snap: Snapshot) -> dict[str, Lots]:
    return {name: Lots(a) for name, a in snap.accounts.items() if a.markets}


def plan_overlay(config: Config, snap: Snapshot, alloc: Allocation, goal: Goal = Goal.TARGET,
                 scope: Scope = Scope.BREACH) -> OverlayPlan:
    lots = account_lots(snap)
    legs: list[Leg] = []
    skipped: list[SkippedLeg] = []
    for sleeve in config.sleeves:
        if config.is_cash(sleeve):
            continue
        row = alloc.row(sleeve.name)
        if not wanted(row, scope):
            continue
        got, skip = sleeve_legs(config, snap, sleeve, row, row.delta(goal), lots)
        legs += got
        skipped += skip
    return OverlayPlan(goal, tuple(legs), tuple(skipped))


def apply_legs(snap: Snapshot, legs: tuple[Leg, ...] | list[Leg]) -> Snapshot:
    """The snapshot as it would be if every leg filled at its sizing price (one-way mode).

    The share of unrealised PnL that a reduction closes moves into the wallet's settle
    currency, so NAV is unchanged (fees aside).
    """
    out = snap
    for leg in legs:
        acct = out.account(leg.account)
        positions: list[dict[str, Any]] = [dict(p) for p in acct.positions]
        balance = {k: (dict(v) if isinstance(v, dict) else v) for k, v in acct.balance.items()}
        for p in positions:
            if p.get("symbol") != leg.symbol:
                continue
            old = abs(float(p.get("contracts") or 0)) * (-1 if p.get("side") == "short" else 1)
            new = round(old + leg.signed_contracts, 12)
            p["entryPrice"] = entry_after(float(p.get("entryPrice") or 0), old, leg.signed_contracts, leg.price,
                                          leg.linear)
            if old and (new == 0 or (new > 0) != (old > 0) or abs(new) < abs(old)):
                closed = min(abs(old), abs(leg.signed_contracts)) / abs(old)
                upnl = float(p.get("unrealizedPnl") or 0)
                settle = _settle(acct.markets.get(leg.symbol), leg.symbol)
                total = balance.setdefault("total", {})
                total[settle] = float(total.get(settle) or 0) + upnl * closed
                p["unrealizedPnl"] = upnl * (1 - closed)
            p["contracts"] = abs(new)
            p["side"] = "short" if new < 0 else "long"
            break
        else:
            positions.append({
                "symbol": leg.symbol, "contracts": leg.contracts, "contractSize": leg.contract_size,
                "side": "long" if leg.side == "buy" else "short", "markPrice": leg.price,
                "entryPrice": leg.price, "unrealizedPnl": 0.0, "marginMode": "cross",
            })
        out = out.with_account(replace(acct, positions=tuple(positions), balance=balance))
    return out


def entry_after(entry: float, old: float, added: float, price: float, linear: bool) -> float:
    """The entry price after ``added`` signed contracts fill at ``price`` on a position of
    ``old`` signed contracts (one-way mode): a reduction keeps it, a flip or a new position starts
    at ``price``, growing averages it, by size for linear and harmonically for inverse,
    Q_total / (Q₁/EP₁ + Q₂/EP₂), which keeps the coin P&L and so side × Q × mark / entry right
    (Binance COIN-M)."""
    new = old + added
    if old and new and (new > 0) == (old > 0) and abs(new) <= abs(old):
        return entry
    if not old or not new or (new > 0) != (old > 0) or entry <= 0:
        return price
    if linear:
        return (abs(old) * entry + abs(added) * price) / abs(new)
    return abs(new) / (abs(old) / entry + abs(added) / price)


def _settle(market: dict[str, Any] | None, symbol: str) -> str:
    if market and market.get("settle"):
        return str(market["settle"])
    return symbol.partition(":")[2].split("-")[0]
