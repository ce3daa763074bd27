"""Margin, liquidation and stress for USDⓈ-M (linear) futures accounts, before and after a ticket.

Conventions:
- ``side`` is +1 for a long position, −1 for a short one; ``size`` is always ≥ 0 (in base
  units = contracts × contractSize).
- Maintenance margin of a position = notional × mmr − cum, from the leverage tier (bracket)
  whose notional range contains the position's notional (Binance).
- Margin balance = wallet balance + unrealised PnL; margin ratio = maintenance / margin balance
  (Binance's definition: 1.0 is liquidation, lower is safer; a non-positive balance is ∞).
- Liquidation price, one-way mode (Binance USDⓈ-M FAQ "How to Calculate Liquidation Price"):
  LP = (WB − TMM₁ + UPNL₁ + cumB − Side₁ × Position₁ × EP₁) / (Position₁ × MMR_B − Side₁ × Position₁)
  with WB the cross wallet (isolated: the position's isolated margin, TMM₁ = UPNL₁ = 0).
- Inverse (COIN-M) contracts have a different formula and coin margin; they are listed but
  not computed (``reason`` says so).

Everything is pure: the inputs are the snapshot's ccxt positions and balances, and leverage
tiers in ccxt's ``fetch_leverage_tiers`` shape passed in by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from console.allocation import contract_mark
from console.overlay import Leg
from console.snapshot import AccountState, Snapshot

STRESS_MOVES = (-0.30, -0.20, -0.10, 0.10, 0.20, 0.30)


@dataclass(frozen=True)
class Tier:
    min_notional: float
    max_notional: float
    mmr: float  # maintenance margin rate
    max_leverage: float
    cum: float  # maintenance amount ("cum" in Binance's bracket table)


def _derive_cum(rows: list[tuple[float, float, float, float, float | None]]) -> tuple[Tier, ...]:
    """Binance's published rule: cum_n = cum_(n−1) + floor_n × (mmr_n − mmr_(n−1))."""
    out: list[Tier] = []
    prev_mmr, prev_cum = 0.0, 0.0
    for lo, hi, mmr, lev, cum in sorted(rows):
        c = cum if cum is not None else round(prev_cum + lo * (mmr - prev_mmr), 8)
        out.append(Tier(lo, hi, mmr, lev, c))
        prev_mmr, prev_cum = mmr, c
    return tuple(out)


# Binance USDⓈ-M BTCUSDT perpetual brackets as published on the "Leverage & Margin" page
# (2021 table). Only a FALLBACK for when no tiers were fetched: every other symbol has its
# own table, usually with higher rates, so figures built on it are labelled as such.
DEFAULT_TIERS_LABEL = "fallback: Binance BTCUSDT default brackets (no leverage tiers from the venue)"
DEFAULT_TIERS: tuple[Tier, ...] = _derive_cum([
    (0, 50_000, 0.004, 125, None),
    (50_000, 250_000, 0.005, 100, None),
    (250_000, 1_000_000, 0.01, 50, None),
    (1_000_000, 10_000_000, 0.025, 20, None),
    (10_000_000, 20_000_000, 0.05, 10, None),
    (20_000_000, 50_000_000, 0.10, 5, None),
    (50_000_000, 100_000_000, 0.125, 4, None),
    (100_000_000, 200_000_000, 0.15, 3, None),
    (200_000_000, 300_000_000, 0.25, 2, None),
    (300_000_000, math.inf, 0.50, 1, None),
])


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v else None


def tiers_from_ccxt(raw: Sequence[Mapping[str, Any]]) -> tuple[Tier, ...]:
    """ccxt's unified leverage tiers (``minNotional, maxNotional, maintenanceMarginRate,
    maxLeverage``, Binance's ``cum`` in ``info``) or Binance's raw brackets
    (``notionalFloor, notionalCap, maintMarginRatio, initialLeverage, cum``)."""
    rows: list[tuple[float, float, float, float, float | None]] = []
    for t in raw:
        info = t.get("info") if isinstance(t.get("info"), dict) else {}
        lo = _num(t.get("minNotional", t.get("notionalFloor"))) or 0.0
        hi = _num(t.get("maxNotional", t.get("notionalCap")))
        mmr = _num(t.get("maintenanceMarginRate", t.get("maintMarginRatio")))
        lev = _num(t.get("maxLeverage", t.get("initialLeverage"))) or 1.0
        cum = _num(t.get("cum", t.get("maintenanceAmount", info.get("cum"))))
        if mmr is None:
            continue
        rows.append((lo, hi if hi is not None else math.inf, mmr, lev, cum))
    return _derive_cum(rows) if rows else DEFAULT_TIERS


def tiers_for(symbol: str, tiers: Mapping[str, Any] | None) -> tuple[tuple[Tier, ...], str]:
    """The symbol's tiers and where they came from (the fallback is labelled)."""
    if tiers and symbol in tiers:
        t = tiers[symbol]
        if isinstance(t, tuple) and t and isinstance(t[0], Tier):
            return t, "venue tiers"
        return tiers_from_ccxt(t), "venue tiers"
    return DEFAULT_TIERS, DEFAULT_TIERS_LABEL


def tier_for(tiers: Sequence[Tier], notional: float) -> Tier:
    n = abs(notional)
    for t in tiers:
        if t.min_notional <= n < t.max_notional:
            return t
    return tiers[-1] if n >= tiers[-1].min_notional else tiers[0]


def maintenance_margin(notional: float, tiers: Sequence[Tier]) -> float:
    """notional × mmr − cum, from the tier that contains the notional."""
    t = tier_for(tiers, notional)
    return max(abs(notional) * t.mmr - t.cum, 0.0)


def initial_margin(notional: float, leverage: float, tiers: Sequence[Tier]) -> float:
    """notional / leverage, where leverage is capped by the tier's maximum."""
    t = tier_for(tiers, notional)
    lev = max(min(leverage, t.max_leverage), 1.0)
    return abs(notional) / lev


@dataclass(frozen=True)
class Liquidation:
    price: float | None  # None: the position cannot be liquidated by price (LP ≤ 0) or unknown
    tier: Tier | None
    reason: str


def liquidation_price(side: int, size: float, entry: float, wallet: float, tiers: Sequence[Tier], *,
                      other_mm: float = 0.0, other_upnl: float = 0.0) -> Liquidation:
    """Binance USDⓈ-M one-way liquidation price (see the module docstring for the formula).

    The bracket must be the one that contains the notional *at the liquidation price*, so each
    tier is tried in turn and the first self-consistent answer wins (Binance's FAQ: "if the
    position at the liquidation price is in a different level, substitute that level").
    """
    if size <= 0:
        return Liquidation(None, None, "no position")
    s = float(side)
    fallback: Liquidation | None = None
    for t in tiers:
        denom = size * t.mmr - s * size
        if denom == 0:
            continue
        lp = (wallet - other_mm + other_upnl + t.cum - s * size * entry) / denom
        if lp <= 0:
            # long: the balance stays over maintenance down to a price of 0. Short: the balance
            # grows as the price falls, so a root at or below 0 means it is under maintenance at
            # every price, i.e. already liquidatable, not safe.
            why = ("no liquidation price: the margin covers a fall to zero" if side > 0
                   else "ALREADY LIQUIDATABLE: the margin balance is under maintenance at any price")
            res = Liquidation(None, t, why)
        else:
            res = Liquidation(lp, t, f"bracket {t.mmr * 100:g}% mmr, cum {t.cum:,.0f}")
        if fallback is None:
            fallback = res
        n = size * lp if lp > 0 else 0.0
        if t.min_notional <= n < t.max_notional:
            return res
    return fallback or Liquidation(None, None, "no bracket fits")


# ---------------------------------------------------------------- positions and accounts


@dataclass(frozen=True)
class RiskPosition:
    account: str
    symbol: str
    base: str
    side: int  # +1 long, −1 short
    contracts: float  # ≥ 0
    contract_size: float
    entry: float
    mark: float
    linear: bool
    margin_mode: str  # "cross" | "isolated"
    leverage: float
    isolated_wallet: float  # the isolated margin; 0 for cross

    @property
    def size(self) -> float:
        return self.contracts * self.contract_size

    @property
    def notional(self) -> float:
        return self.size * self.mark if self.linear else self.contracts * self.contract_size

    @property
    def upnl(self) -> float:
        return self.side * self.size * (self.mark - self.entry) if self.linear else 0.0


def _risk_position(acct: AccountState, snap: Snapshot, p: Mapping[str, Any], default_leverage: float) -> RiskPosition:
    sym = p["symbol"]
    m = acct.markets.get(sym) or {}
    cs = _num(m.get("contractSize")) or _num(p.get("contractSize")) or 1.0
    mark = contract_mark(snap, acct.name, sym) or _num(p.get("markPrice")) or 0.0
    entry = _num(p.get("entryPrice")) or mark
    mode = str(p.get("marginMode") or "cross")
    lev = _num(p.get("leverage")) or default_leverage
    size = abs(float(p.get("contracts") or 0)) * cs
    iso = 0.0
    if mode == "isolated":
        iso = (_num(p.get("collateral")) or _num((p.get("info") or {}).get("isolatedWallet"))
               or size * entry / lev)
    linear = not bool(m.get("inverse")) if m else sym.partition(":")[2].split("-")[0] != sym.split("/")[0]
    return RiskPosition(acct.name, sym, str(m.get("base") or sym.split("/")[0]),
                        -1 if p.get("side") == "short" else 1, abs(float(p.get("contracts") or 0)), cs,
                        entry, mark, linear, mode, lev, iso)


def wallet_balance(acct: AccountState, settle: str) -> float:
    """The account's wallet in the settle currency (the snapshot stores wallet, not margin
    balance, for contract accounts)."""
    return acct.total_balance().get(settle.upper(), 0.0)


@dataclass(frozen=True)
class PositionRisk:
    account: str
    symbol: str
    base: str
    side: str  # "long" | "short"
    contracts: float
    notional: float  # unsigned
    mark: float
    entry: float
    maintenance: float
    initial: float
    liquidation_price: float | None
    distance: float | None  # (LP − mark) / mark, signed: negative = price must fall
    margin_mode: str
    reason: str  # how LP was found, or why there is none

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class AccountRisk:
    account: str
    settle: str
    wallet: float
    upnl: float
    maintenance: float
    initial: float
    gross_notional: float
    positions: tuple[PositionRisk, ...]
    tiers_note: str  # "venue tiers" or the labelled fallback
    isolated_liquidated: tuple[str, ...] = ()  # isolated positions whose own margin is gone

    @property
    def margin_balance(self) -> float:
        return self.wallet + self.upnl

    @property
    def margin_ratio(self) -> float:
        """maintenance / margin balance (Binance). ∞ when the balance is gone."""
        if self.margin_balance <= 0:
            return math.inf if self.maintenance > 0 or self.gross_notional > 0 else 0.0
        return self.maintenance / self.margin_balance

    @property
    def leverage(self) -> float:
        """Effective leverage: gross notional / margin balance."""
        if self.margin_balance <= 0:
            return math.inf if self.gross_notional > 0 else 0.0
        return self.gross_notional / self.margin_balance

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "settle": self.settle, "wallet": self.wallet, "upnl": self.upnl,
                "margin_balance": self.margin_balance, "maintenance": self.maintenance,
                "initial": self.initial, "gross_notional": self.gross_notional,
                "margin_ratio": _finite(self.margin_ratio), "leverage": _finite(self.leverage),
                "tiers": self.tiers_note, "positions": [p.to_dict() for p in self.positions]}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _settle_of(acct: AccountState, symbol: str, quote: str) -> str:
    m = acct.markets.get(symbol) or {}
    return str(m.get("settle") or symbol.partition(":")[2].split("-")[0] or quote)


def evaluate(account: str, wallet: float, settle: str, positions: Sequence[RiskPosition],
             tiers: Mapping[str, Any] | None, *, liquidation: bool = True) -> AccountRisk:
    """Margin figures, and (with ``liquidation``) a liquidation price for every linear position
    of one account. Without it only the sums are computed: the stress table and the pre-trade
    checks need the margin ratio, not every price, and run many times."""
    lin = [p for p in positions if p.linear and p.contracts > 0]
    tables: dict[str, tuple[tuple[Tier, ...], str]] = {}
    mm: dict[str, float] = {}
    im: dict[str, float] = {}
    upnl: dict[str, float] = {}
    gross = 0.0
    for p in lin:  # one pass: this runs for every stress scenario of every ticket
        tables[p.symbol] = tab = tiers_for(p.symbol, tiers)
        n = p.notional
        t = tier_for(tab[0], n)
        mm[p.symbol] = max(n * t.mmr - t.cum, 0.0)
        im[p.symbol] = n / max(min(p.leverage, t.max_leverage), 1.0)
        upnl[p.symbol] = p.upnl
        gross += n
    isolated = [p for p in lin if p.margin_mode == "isolated"]
    # an isolated position is liquidated when its own margin (isolated wallet + uPnL) is gone
    gone = tuple(p.symbol for p in isolated if p.isolated_wallet + upnl[p.symbol] <= mm[p.symbol])
    out: list[PositionRisk] = []
    if liquidation:
        cross = [p for p in lin if p.margin_mode != "isolated"]
        cross_wallet = wallet - sum(p.isolated_wallet for p in isolated)
        cross_mm = sum(mm[p.symbol] for p in cross)
        cross_upnl = sum(upnl[p.symbol] for p in cross)
        for p in lin:
            t = tables[p.symbol][0]
            if p.margin_mode == "isolated":
                liq = liquidation_price(p.side, p.size, p.entry, p.isolated_wallet, t)
            else:
                liq = liquidation_price(p.side, p.size, p.entry, cross_wallet, t,
                                        other_mm=cross_mm - mm[p.symbol], other_upnl=cross_upnl - upnl[p.symbol])
            dist = (liq.price - p.mark) / p.mark if liq.price is not None and p.mark else None
            out.append(PositionRisk(p.account, p.symbol, p.base, "long" if p.side > 0 else "short", p.contracts,
                                    p.notional, p.mark, p.entry, mm[p.symbol], im[p.symbol], liq.price, dist,
                                    p.margin_mode, liq.reason))
        for p in positions:
            if not p.linear and p.contracts > 0:
                out.append(PositionRisk(p.account, p.symbol, p.base, "long" if p.side > 0 else "short",
                                        p.contracts, p.notional, p.mark, p.entry, 0.0, 0.0, None, None,
                                        p.margin_mode, "inverse (COIN-M) contract: margin is in coin; not computed here"))
    notes = sorted({src for _, src in tables.values()})
    return AccountRisk(account, settle, wallet, sum(upnl.values()), sum(mm.values()), sum(im.values()),
                       gross, tuple(out), "; ".join(notes) or "no positions", gone)


_POS_CACHE: dict[tuple[int, float], tuple[AccountState, Mapping[str, Any], tuple[RiskPosition, ...]]] = {}


def account_positions(snap: Snapshot, account: str, default_leverage: float) -> list[RiskPosition]:
    """The account's open positions as RiskPositions. Cached per (immutable) AccountState and
    funding-rate mapping: the planner asks for the same account once per ticket. The cache
    holds the objects themselves, so an id is never reused while its entry lives."""
    acct = snap.account(account)
    key = (id(acct), default_leverage)
    hit = _POS_CACHE.get(key)
    if hit is not None and hit[0] is acct and hit[1] is acct.tickers:
        return list(hit[2])
    out = tuple(_risk_position(acct, snap, p, default_leverage) for p in acct.open_positions())
    if len(_POS_CACHE) > 64:
        _POS_CACHE.clear()
    _POS_CACHE[key] = (acct, acct.tickers, out)
    return list(out)


def apply_to_positions(positions: Sequence[RiskPosition], legs: Iterable[Leg], account: str,
                       default_leverage: float) -> tuple[list[RiskPosition], float]:
    """Positions after the legs fill at their sizing price (one-way mode), and the PnL the
    reductions realise into the wallet. Growing keeps a size-weighted entry; reducing keeps the
    entry; flipping starts a new position at the leg's price."""
    by_sym = {p.symbol: p for p in positions}
    order = [p.symbol for p in positions]
    realised = 0.0
    for leg in legs:
        if leg.account != account:
            continue
        d = leg.signed_contracts
        old = by_sym.get(leg.symbol)
        if old is None:
            by_sym[leg.symbol] = RiskPosition(account, leg.symbol, leg.symbol.split("/")[0], 1 if d > 0 else -1,
                                              abs(d), leg.contract_size, leg.price, leg.price, leg.linear,
                                              "cross", default_leverage, 0.0)
            order.append(leg.symbol)
            continue
        signed_old = old.side * old.contracts
        new = round(signed_old + d, 12)
        if signed_old == 0 or (signed_old > 0) == (d > 0):  # growing
            tot = abs(new)
            entry = (abs(signed_old) * old.entry + abs(d) * leg.price) / tot if tot else leg.price
            by_sym[leg.symbol] = replace(old, side=1 if new > 0 else -1, contracts=tot, entry=entry)
            continue
        closed = min(abs(signed_old), abs(d))
        if old.linear:
            realised += old.side * closed * old.contract_size * (leg.price - old.entry)
        if new == 0:
            by_sym[leg.symbol] = replace(old, contracts=0.0)
        elif (new > 0) == (signed_old > 0):
            by_sym[leg.symbol] = replace(old, contracts=abs(new))
        else:
            by_sym[leg.symbol] = replace(old, side=1 if new > 0 else -1, contracts=abs(new), entry=leg.price)
    return [by_sym[s] for s in order if by_sym[s].contracts > 0], realised


# ---------------------------------------------------------------- what-if and stress


@dataclass(frozen=True)
class StressRow:
    asset: str
    move: float  # +0.10 = the asset's price up 10 %
    account: str
    margin_ratio_before: float | None  # None = ∞ (balance gone)
    margin_ratio_after: float | None
    liquidated_before: bool
    liquidated_after: bool
    futures_pnl_after: float  # the account's futures PnL from the move, after the ticket
    spot_pnl: float  # the whole portfolio's spot holding of the asset × move
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class WhatIf:
    before: tuple[AccountRisk, ...]
    after: tuple[AccountRisk, ...]
    stress: tuple[StressRow, ...]

    def account_after(self, name: str) -> AccountRisk | None:
        return next((a for a in self.after if a.account == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"before": [a.to_dict() for a in self.before], "after": [a.to_dict() for a in self.after],
                "stress": [s.to_dict() for s in self.stress]}


def _shock(positions: Sequence[RiskPosition], asset: str, move: float) -> list[RiskPosition]:
    return [replace(p, mark=p.mark * (1 + move)) if p.base == asset else p for p in positions]


def _combined(name: str, wallet: float, settle: str, rest: AccountRisk, moved: Sequence[RiskPosition],
              tiers: Mapping[str, Any] | None) -> AccountRisk:
    """``rest`` (evaluated once) plus the moved positions: the same sums ``evaluate`` makes."""
    m = evaluate(name, wallet, settle, moved, tiers, liquidation=False)
    return AccountRisk(name, settle, wallet, rest.upnl + m.upnl, rest.maintenance + m.maintenance,
                       rest.initial + m.initial, rest.gross_notional + m.gross_notional, (), m.tiers_note,
                       rest.isolated_liquidated + m.isolated_liquidated)


def _liquidated(r: AccountRisk) -> tuple[bool, str]:
    if r.maintenance > 0 and r.margin_ratio >= 1.0:
        return True, "margin ratio ≥ 100 %: the account is liquidated"
    if r.isolated_liquidated:
        return True, f"isolated {', '.join(r.isolated_liquidated)} past its liquidation price"
    return False, ""


def what_if(snap: Snapshot, legs: Sequence[Leg], *, tiers: Mapping[str, Any] | None, quote: str,
            default_leverage: float, spot_values: Mapping[str, float] | None = None,
            stress_moves: Sequence[float] = STRESS_MOVES, accounts: Sequence[str] | None = None,
            stress_assets: Sequence[str] | None = None) -> WhatIf:
    """Margin of every account the legs touch, before and after they fill, and a stress table:
    each asset the legs trade (or ``stress_assets``) moved alone by each of ``stress_moves``,
    on every touched account, after the ticket with before beside it."""
    names = list(accounts) if accounts is not None else list(dict.fromkeys(leg.account for leg in legs))
    before: list[AccountRisk] = []
    after: list[AccountRisk] = []
    pos_before: dict[str, list[RiskPosition]] = {}
    pos_after: dict[str, list[RiskPosition]] = {}
    wallets: dict[str, tuple[float, float, str]] = {}
    for name in names:
        if name not in snap.accounts:
            continue
        acct = snap.accounts[name]
        pb = account_positions(snap, name, default_leverage)
        settle = next((_settle_of(acct, p.symbol, quote) for p in pb), None) or next(
            (_settle_of(acct, leg.symbol, quote) for leg in legs if leg.account == name), quote)
        wallet = wallet_balance(acct, settle)
        pa, realised = apply_to_positions(pb, legs, name, default_leverage)
        pos_before[name], pos_after[name] = pb, pa
        wallets[name] = (wallet, wallet + realised, settle)
        before.append(evaluate(name, wallet, settle, pb, tiers))
        after.append(evaluate(name, wallet + realised, settle, pa, tiers))
    rows: list[StressRow] = []
    spot_values = spot_values or {}
    for name in pos_after:
        wb, wa, settle = wallets[name]
        assets = list(stress_assets) if stress_assets is not None else list(dict.fromkeys(
            leg.symbol.split("/")[0] for leg in legs))
        base_after = evaluate(name, wa, settle, pos_after[name], tiers, liquidation=False)
        inverse = {p.base for p in (*pos_before[name], *pos_after[name]) if not p.linear}
        for asset in assets:
            # only the asset's positions change under its move: the rest is evaluated once
            parts = {}
            for tag, pos, wallet in (("b", pos_before[name], wb), ("a", pos_after[name], wa)):
                moved = [p for p in pos if p.base == asset]
                rest = evaluate(name, wallet, settle, [p for p in pos if p.base != asset], tiers, liquidation=False)
                parts[tag] = (moved, rest)
            for mv in stress_moves:
                rb = _combined(name, wb, settle, parts["b"][1], _shock(parts["b"][0], asset, mv), tiers)
                ra = _combined(name, wa, settle, parts["a"][1], _shock(parts["a"][0], asset, mv), tiers)
                lb, _ = _liquidated(rb)
                la, why = _liquidated(ra)
                if asset in inverse:
                    why = (f"inverse (COIN-M) {asset} position(s) not computed: coin margin, their P&L and "
                           "liquidation are left out; figures cover linear positions only"
                           + (f"; {why}" if why else ""))
                rows.append(StressRow(asset, mv, name, _finite(rb.margin_ratio), _finite(ra.margin_ratio), lb, la,
                                      ra.upnl - base_after.upnl, spot_values.get(asset, 0.0) * mv,
                                      why or "survives"))
    return WhatIf(tuple(before), tuple(after), tuple(rows))
