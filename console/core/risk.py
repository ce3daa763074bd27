"""Margin, liquidation and stress for futures accounts, before and after a ticket: USDⓈ-M
(linear) and COIN-M (inverse) contracts.

Margin pools: an account's linear contracts share one pool in their settle currency (USDT);
each coin that inverse contracts settle in is a pool of its own (BTC-settled contracts
margin against the BTC wallet, ETH-settled against the ETH wallet), with every figure in
that coin. One ``AccountRisk`` is one (account, settle) pool; an account's margin ratio,
where one figure is wanted, is its worst (highest) pool's.

Conventions:
- ``side`` is +1 for a long position, −1 for a short one; ``size`` is always ≥ 0 (in base
  units = contracts × contractSize for linear; in USD = contracts × contractSize for inverse,
  whose contractSize is in USD: 100 for BTCUSD, 10 for ETHUSD).
- Maintenance margin of a position = notional × mmr − cum, from the leverage tier (bracket)
  whose notional range contains the position's notional (Binance). Linear notional is in the
  settle currency; inverse notional, for the brackets, is in coin (Binance COIN-M brackets are).
- Margin balance = wallet balance + unrealised PnL; margin ratio = maintenance / margin balance
  (Binance's definition: 1.0 is liquidation, lower is safer; a non-positive balance is ∞).
- Liquidation price, one-way mode (Binance USDⓈ-M FAQ "How to Calculate Liquidation Price"):
  LP = (WB − TMM₁ + UPNL₁ + cumB − Side₁ × Position₁ × EP₁) / (Position₁ × MMR_B − Side₁ × Position₁)
  with WB the cross wallet = wallet − Σ isolated wallets (isolated: the position's isolated
  wallet, the margin put in without its unrealised PnL, TMM₁ = UPNL₁ = 0; the −Side·Q·EP term
  already carries the position's PnL).

Inverse (COIN-M) contracts, the convention of "Binance COIN-M liquidation price" (cross, one-way),
with Q = contracts × contractSize (USD), EP the entry price and P the mark:
- notional = Q / P coin (Q USD, which is what the rest of the console calls the notional);
- unrealised PnL = Side × Q × (1/EP − 1/P) coin;
- maintenance = (Q/P) × mmr − cum coin, initial = (Q/P) / leverage coin;
- liquidation at P where WB + cum + UPNL₁ − TMM₁ + Side × Q/EP − Side × Q/P = Q × mmr / P, i.e.
  LP = Q × (mmr + Side) / (WB + cum − TMM₁ + UPNL₁ + Side × Q / EP)
  (TMM₁, UPNL₁: the pool's other positions, held at their current maintenance and PnL; isolated:
  WB = the position's isolated margin and no others). A short's balance only falls toward its
  wallet − Q/EP as P rises, so when that denominator is ≥ 0 (e.g. a 1x short against its own coin,
  the classic COIN-M hedge) no rally liquidates it; a long's coin PnL is unbounded below as P → 0,
  so a long always has one unless it is under maintenance at every price already.

Everything is pure: the inputs are the snapshot's ccxt positions and balances, and leverage
tiers in ccxt's ``fetch_leverage_tiers`` shape passed in by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

from console.core.allocation import contract_mark
from console.core.memo import by_identity
from console.core.numbers import num
from console.core.overlay import Leg, entry_after
from console.core.snapshot import AccountState, Snapshot
from console.core.venuedata import ByAccount, of_account

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


# Binance COIN-M BTCUSD perpetual brackets as published on the "Leverage & Margin" page, in coin
# (BTC) notional. The inverse FALLBACK, labelled like the linear one.
DEFAULT_INVERSE_TIERS_LABEL = ("fallback: Binance COIN-M BTCUSD default brackets, in coin "
                               "(no leverage tiers from the venue)")
DEFAULT_INVERSE_TIERS: tuple[Tier, ...] = _derive_cum([
    (0, 5, 0.004, 125, None),
    (5, 10, 0.005, 100, None),
    (10, 20, 0.01, 50, None),
    (20, 50, 0.025, 20, None),
    (50, 100, 0.05, 10, None),
    (100, 200, 0.10, 5, None),
    (200, 400, 0.125, 4, None),
    (400, 1_000, 0.15, 3, None),
    (1_000, 1_500, 0.25, 2, None),
    (1_500, math.inf, 0.50, 1, None),
])


def is_fallback(tiers_note: str) -> bool:
    """Whether an AccountRisk's figures rest on one of the fallback tables."""
    return DEFAULT_TIERS_LABEL in tiers_note or DEFAULT_INVERSE_TIERS_LABEL in tiers_note




def tiers_from_ccxt(raw: Sequence[Mapping[str, Any]]) -> tuple[Tier, ...]:
    """ccxt's unified leverage tiers (``minNotional, maxNotional, maintenanceMarginRate,
    maxLeverage``, Binance's ``cum`` in ``info``) or Binance's raw brackets
    (``notionalFloor, notionalCap, maintMarginRatio, initialLeverage, cum``)."""
    rows: list[tuple[float, float, float, float, float | None]] = []
    for t in raw:
        info = t.get("info") if isinstance(t.get("info"), dict) else {}
        lo = num(t.get("minNotional", t.get("notionalFloor"))) or 0.0
        hi = num(t.get("maxNotional", t.get("notionalCap")))
        mmr = num(t.get("maintenanceMarginRate", t.get("maintMarginRatio")))
        lev = num(t.get("maxLeverage", t.get("initialLeverage"))) or 1.0
        cum = num(t.get("cum", t.get("maintenanceAmount", info.get("cum"))))
        if mmr is None:
            continue
        rows.append((lo, hi if hi is not None else math.inf, mmr, lev, cum))
    return _derive_cum(rows) if rows else DEFAULT_TIERS


def tiers_for(symbol: str, tiers: Mapping[str, Any] | None, *,
              inverse: bool = False) -> tuple[tuple[Tier, ...], str]:
    """The symbol's tiers and where they came from (the fallback is labelled). An inverse
    contract falls back on the COIN-M table, whose notionals are in coin."""
    default = (DEFAULT_INVERSE_TIERS, DEFAULT_INVERSE_TIERS_LABEL) if inverse else (DEFAULT_TIERS, DEFAULT_TIERS_LABEL)
    if tiers and symbol in tiers:
        t = tiers[symbol]
        if isinstance(t, tuple) and t and isinstance(t[0], Tier):
            return t, "venue tiers"
        parsed = tiers_from_ccxt(t)
        # nothing parseable: an inverse contract must not get the linear (USD) table
        return default if inverse and parsed is DEFAULT_TIERS else (parsed, "venue tiers")
    return default


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


NO_LIQUIDATION = "no liquidation price"  # how a reason begins when no price move liquidates
ALREADY_LIQUIDATABLE = "ALREADY LIQUIDATABLE"  # ... and when the position is under maintenance at every price


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
            why = (f"{NO_LIQUIDATION}: the margin covers a fall to zero" if side > 0
                   else f"{ALREADY_LIQUIDATABLE}: the margin balance is under maintenance at any price")
            res = Liquidation(None, t, why)
        else:
            res = Liquidation(lp, t, f"bracket {t.mmr * 100:g}% mmr, cum {t.cum:,.0f}")
        if fallback is None:
            fallback = res
        n = size * lp if lp > 0 else 0.0
        if t.min_notional <= n < t.max_notional:
            return res
    return fallback or Liquidation(None, None, "no bracket fits")


def inverse_liquidation_price(side: int, usd_size: float, entry: float, wallet: float, tiers: Sequence[Tier], *,
                              other_mm: float = 0.0, other_upnl: float = 0.0) -> Liquidation:
    """Binance COIN-M one-way liquidation price of an inverse position of ``usd_size`` = Q USD
    (contracts × contractSize), all margin figures in coin (see the module docstring):
    LP = Q × (mmr + Side) / (WB + cum − other_mm + other_upnl + Side × Q / EP).

    The bracket is the one containing the coin notional Q / LP at the liquidation price, found
    the way ``liquidation_price`` does: each tier in turn, the first self-consistent one wins.
    In 1/P the balance minus maintenance is monotonic (maintenance is continuous and convex in
    the notional), so exactly one bracket holds the root when there is one.
    """
    if usd_size <= 0 or entry <= 0:
        return Liquidation(None, None, "no position")
    s = float(side)
    q = usd_size
    fallback: Liquidation | None = None
    for t in tiers:
        denom = wallet + t.cum - other_mm + other_upnl + s * q / entry
        lp = q * (t.mmr + s) / denom if denom != 0 else 0.0
        if lp <= 0:
            # Short: the coin balance falls only toward wallet − Q/EP as the price rises, so a
            # non-negative denominator means no rally reaches maintenance (a short covered by
            # its own coin). Long: its coin PnL tends to +Q/EP as the price rises; a
            # non-positive denominator means it is under maintenance even at an infinite price.
            why = (f"{NO_LIQUIDATION}: the coin margin covers any rally (the short is backed by "
                   "its own coin)" if side < 0
                   else f"{ALREADY_LIQUIDATABLE}: the coin margin balance is under maintenance at any price")
            res = Liquidation(None, t, why)
        else:
            res = Liquidation(lp, t, f"bracket {t.mmr * 100:g}% mmr, cum {t.cum:,.4g} (coin)")
        if fallback is None:
            fallback = res
        n = q / lp if lp > 0 else 0.0  # at an infinite price the coin notional is 0
        # a root on a bracket boundary is shared by both brackets; allow its rounding either way
        eps = 1e-9 * max(n, 1e-12)
        if t.min_notional - eps <= n < t.max_notional + eps:
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
    contract_size: float  # base units (linear) or USD (inverse) per contract
    entry: float
    mark: float
    linear: bool
    margin_mode: str  # "cross" | "isolated"
    leverage: float
    isolated_wallet: float  # the isolated margin (in the pool's currency); 0 for cross
    settle: str = ""  # settle currency: an inverse position's margin pool is this coin

    @property
    def size(self) -> float:
        """contracts × contractSize: base units (linear) or USD (inverse)."""
        return self.contracts * self.contract_size

    @property
    def notional(self) -> float:
        """In quote money: the console's notional (an inverse contract's is its USD size)."""
        return self.size * self.mark if self.linear else self.contracts * self.contract_size

    @property
    def margin_notional(self) -> float:
        return self.margin_notional_at(self.mark)

    @property
    def upnl(self) -> float:
        return self.upnl_at(self.mark)

    def margin_notional_at(self, mark: float) -> float:
        """In the pool's currency, what the brackets see: quote (linear) or coin, Q / P (inverse).
        At ``mark`` (a stress move prices the position without copying it)."""
        if self.linear:
            return self.size * mark
        return self.size / mark if mark > 0 else 0.0

    def upnl_at(self, mark: float) -> float:
        """In the pool's currency: quote (linear) or coin, Side × Q × (1/EP − 1/P) (inverse)."""
        if self.linear:
            return self.side * self.size * (mark - self.entry)
        if mark <= 0 or self.entry <= 0:
            return 0.0
        return self.side * self.size * (1 / self.entry - 1 / mark)


def _symbol_settle(symbol: str) -> str:
    return symbol.partition(":")[2].split("-")[0]


def _risk_position(acct: AccountState, snap: Snapshot, p: Mapping[str, Any], default_leverage: float) -> RiskPosition:
    sym = p["symbol"]
    m = acct.markets.get(sym) or {}
    cs = num(m.get("contractSize")) or num(p.get("contractSize")) or 1.0
    mark = contract_mark(snap, acct.name, sym) or num(p.get("markPrice")) or 0.0
    entry = num(p.get("entryPrice")) or mark
    mode = str(p.get("marginMode") or "cross")
    lev = num(p.get("leverage")) or default_leverage
    size = abs(float(p.get("contracts") or 0)) * cs
    linear = not bool(m.get("inverse")) if m else _symbol_settle(sym) != sym.split("/")[0]
    iso = 0.0
    if mode == "isolated":
        iso = isolated_wallet(p, size=size, entry=entry, leverage=lev, linear=linear)
    return RiskPosition(acct.name, sym, str(m.get("base") or sym.split("/")[0]),
                        -1 if p.get("side") == "short" else 1, abs(float(p.get("contracts") or 0)), cs,
                        entry, mark, linear, mode, lev, iso, str(m.get("settle") or _symbol_settle(sym)).upper())


def isolated_wallet(p: Mapping[str, Any], *, size: float, entry: float, leverage: float, linear: bool) -> float:
    """The margin put into an isolated position, without its unrealised PnL: Binance's
    ``isolatedWallet``, else ccxt's ``collateral`` less ``unrealizedPnl`` (ccxt's collateral is
    Binance's ``isolatedMargin`` = wallet + uPnL, and the liquidation formula's −Side·Q·EP term
    already carries the PnL: counting it in the wallet too moves LP by uPnL / (Q·(1 ∓ mmr))).
    Else the initial margin at entry (size × entry / leverage; coin for an inverse contract,
    as ccxt reports its collateral)."""
    info = p.get("info") if isinstance(p.get("info"), Mapping) else {}
    wallet = num(info.get("isolatedWallet"))
    if wallet is not None and wallet > 0:
        return wallet
    collateral, upnl = num(p.get("collateral")), num(p.get("unrealizedPnl"))
    if collateral is not None and collateral > 0:
        return collateral - (upnl or 0.0)
    if linear:
        return size * entry / leverage
    return size / entry / leverage if entry > 0 else 0.0


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
    notional: float  # unsigned, quote money (an inverse contract's USD size)
    mark: float
    entry: float
    maintenance: float  # in the pool's currency (coin for inverse)
    initial: float  # in the pool's currency (coin for inverse)
    liquidation_price: float | None
    distance: float | None  # (LP − mark) / mark, signed: negative = price must fall
    margin_mode: str
    reason: str  # how LP was found, or why there is none
    settle: str = ""  # the pool's currency, the unit of maintenance and initial

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class AccountRisk:
    """One margin pool of an account: its linear contracts, or the inverse ones of one coin.
    Every amount is in ``settle`` (coin for an inverse pool)."""
    account: str
    settle: str
    wallet: float
    upnl: float
    maintenance: float
    initial: float
    gross_notional: float  # in ``settle``: coin notional for an inverse pool
    # every position's liquidation price, or how to compute them: a preview shows one
    # ticket's, while a plan previews hundreds and reads none, so they are worked out when
    # first read (``positions``)
    liquidations: tuple[PositionRisk, ...] | Callable[[], tuple[PositionRisk, ...]] = field(compare=False, repr=False)
    tiers_note: str = "no positions"  # "venue tiers" or the labelled fallback
    isolated_liquidated: tuple[str, ...] = ()  # isolated positions whose own margin is gone
    inverse: bool = False  # a COIN-M pool: figures in coin

    @cached_property
    def positions(self) -> tuple[PositionRisk, ...]:
        lq = self.liquidations
        return lq() if callable(lq) else lq

    @property
    def margin_balance(self) -> float:
        return self.wallet + self.upnl

    @property
    def margin_ratio(self) -> float:
        return margin_ratio_of(self.wallet, self.upnl, self.maintenance, self.gross_notional)

    @property
    def leverage(self) -> float:
        """Effective leverage: gross notional / margin balance."""
        if self.margin_balance <= 0:
            return math.inf if self.gross_notional > 0 else 0.0
        return self.gross_notional / self.margin_balance

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "settle": self.settle, "inverse": self.inverse, "wallet": self.wallet,
                "upnl": self.upnl, "margin_balance": self.margin_balance, "maintenance": self.maintenance,
                "initial": self.initial, "gross_notional": self.gross_notional,
                "margin_ratio": _finite(self.margin_ratio), "leverage": _finite(self.leverage),
                "tiers": self.tiers_note, "positions": [p.to_dict() for p in self.positions]}


def account_risk(snap: Snapshot, account: str, *, quote: str, default_leverage: float) -> tuple[AccountRisk, ...]:
    """The account's margin pools now (no ticket), on the leverage tiers its snapshot carries
    (the venue's, read with its positions; the labelled fallback where there are none): the
    risk panel's figures for a venue that reports no margin ratio or liquidation price (COIN-M),
    by the same rule as a ticket's what-if."""
    tiers = snap.account(account).leverage_tiers or None
    return tuple(p.evaluate(tiers, after=False)
                 for p in account_pools(snap, account, (), quote=quote, default_leverage=default_leverage))


def margin_ratio_of(wallet: float, upnl: float, maintenance: float, gross: float) -> float:
    """maintenance / margin balance (wallet + uPnL, Binance). ∞ when the balance is gone."""
    balance = wallet + upnl
    if balance <= 0:
        return math.inf if maintenance > 0 or gross > 0 else 0.0
    return maintenance / balance


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def worst(pools: Iterable[AccountRisk]) -> AccountRisk | None:
    """The pool with the highest margin ratio: an account with several pools (USDⓈ-M and one
    per COIN-M coin) is as close to a liquidation as its worst pool, so a single figure for
    the account is that one's, never a sum across currencies."""
    return max(pools, key=lambda a: a.margin_ratio, default=None)


def pool_label(account: str, settle: str, several: bool) -> str:
    """How a pool is named next to others of the same account: "coin · BTC"."""
    return f"{account} · {settle}" if several else account


def _settle_of(acct: AccountState, symbol: str, quote: str) -> str:
    m = acct.markets.get(symbol) or {}
    return str(m.get("settle") or _symbol_settle(symbol) or quote)


def evaluate(account: str, wallet: float, settle: str, positions: Sequence[RiskPosition],
             tiers: Mapping[str, Any] | None, *, liquidation: bool = True, inverse: bool = False) -> AccountRisk:
    """Margin figures, and (with ``liquidation``) a liquidation price for every position of one
    margin pool. Without it only the sums are computed: the stress table and the pre-trade
    checks need the margin ratio, not every price, and run many times.

    The pool is the account's linear positions in ``settle`` (``inverse`` False, as always), or
    (``inverse`` True) its inverse positions settled in coin ``settle``, with ``wallet`` and every
    figure in that coin. Positions of the other kind are left out: they belong to another pool."""
    if inverse:
        pool = [p for p in positions if not p.linear and p.contracts > 0 and p.settle.upper() == settle.upper()]
    else:
        pool = [p for p in positions if p.linear and p.contracts > 0]
    tables: dict[str, tuple[tuple[Tier, ...], str]] = {}
    mm: dict[str, float] = {}
    im: dict[str, float] = {}
    upnl: dict[str, float] = {}
    gross = 0.0
    for p in pool:  # one pass: this runs for every stress scenario of every ticket
        tables[p.symbol] = tab = tiers_for(p.symbol, tiers, inverse=inverse)
        n = p.margin_notional  # quote (linear) or coin (inverse): the brackets' unit
        t = tier_for(tab[0], n)
        mm[p.symbol] = max(n * t.mmr - t.cum, 0.0)
        im[p.symbol] = n / max(min(p.leverage, t.max_leverage), 1.0)
        upnl[p.symbol] = p.upnl
        gross += n
    isolated = [p for p in pool if p.margin_mode == "isolated"]
    # an isolated position is liquidated when its own margin (isolated wallet + uPnL) is gone
    gone = tuple(p.symbol for p in isolated if p.isolated_wallet + upnl[p.symbol] <= mm[p.symbol])

    def liquidations() -> tuple[PositionRisk, ...]:
        out: list[PositionRisk] = []
        cross = [p for p in pool if p.margin_mode != "isolated"]
        cross_wallet = wallet - sum(p.isolated_wallet for p in isolated)
        cross_mm = sum(mm[p.symbol] for p in cross)
        cross_upnl = sum(upnl[p.symbol] for p in cross)
        lp_of = inverse_liquidation_price if inverse else liquidation_price
        for p in pool:
            t = tables[p.symbol][0]
            if p.margin_mode == "isolated":
                liq = lp_of(p.side, p.size, p.entry, p.isolated_wallet, t)
            else:
                liq = lp_of(p.side, p.size, p.entry, cross_wallet, t,
                            other_mm=cross_mm - mm[p.symbol], other_upnl=cross_upnl - upnl[p.symbol])
            dist = (liq.price - p.mark) / p.mark if liq.price is not None and p.mark else None
            out.append(PositionRisk(p.account, p.symbol, p.base, "long" if p.side > 0 else "short", p.contracts,
                                    p.notional, p.mark, p.entry, mm[p.symbol], im[p.symbol], liq.price, dist,
                                    p.margin_mode, liq.reason, settle))
        return tuple(out)

    notes = sorted({src for _, src in tables.values()})
    return AccountRisk(account, settle, wallet, sum(upnl.values()), sum(mm.values()), sum(im.values()),
                       gross, liquidations if liquidation else (), "; ".join(notes) or "no positions", gone,
                       inverse)


@dataclass(frozen=True)
class _Held:
    """An account's open positions as RiskPositions, indexed the ways the what-if reads them."""
    positions: tuple[RiskPosition, ...]
    by_symbol: Mapping[str, RiskPosition]
    # (settle coin, True) for each COIN-M pool, ("", False) for the linear one: its positions in order
    pools: Mapping[tuple[str, bool], tuple[RiskPosition, ...]]


def _held(snap: Snapshot, account: str, default_leverage: float) -> _Held:
    acct = snap.account(account)
    return _held_of(acct, acct.tickers, default_leverage, snap)


@by_identity(key=3)
def _held_of(acct: AccountState, tickers: Mapping[str, Any], default_leverage: float, snap: Snapshot) -> _Held:
    """Once per (immutable) account state: the planner asks for the same account once per ticket."""
    out = tuple(_risk_position(acct, snap, p, default_leverage) for p in acct.open_positions())
    pools: dict[tuple[str, bool], list[RiskPosition]] = {}
    for p in out:
        pools.setdefault(("", False) if p.linear else (p.settle, True), []).append(p)
    return _Held(out, {p.symbol: p for p in out}, {k: tuple(v) for k, v in pools.items()})


def account_positions(snap: Snapshot, account: str, default_leverage: float) -> list[RiskPosition]:
    """The account's open positions as RiskPositions (once per account state, see ``_held_of``)."""
    return list(_held(snap, account, default_leverage).positions)


LINEAR_POOL = ""  # the key of the linear pool in ``apply_by_pool``'s realised PnL


def apply_by_pool(positions: Sequence[RiskPosition], legs: Iterable[Leg], account: str,
                  default_leverage: float) -> tuple[list[RiskPosition], dict[str, float]]:
    """Positions after the legs fill at their sizing price (one-way mode), and the PnL the
    reductions realise into each pool's wallet: ``LINEAR_POOL`` for linear contracts (quote),
    the settle coin for inverse ones (coin). Growing keeps a size-weighted entry; reducing keeps
    the entry; flipping starts a new position at the leg's price.

    Inverse: the entry that keeps the coin PnL right is the harmonic mean (Binance COIN-M),
    Q_total / (Q₁/EP₁ + Q₂/EP₂); a reduction realises Side × closed × contractSize × (1/EP − 1/price)."""
    by_sym = {p.symbol: p for p in positions}
    order = [p.symbol for p in positions]
    realised: dict[str, float] = {}
    for leg in legs:
        if leg.account != account:
            continue
        d = leg.signed_contracts
        old = by_sym.get(leg.symbol)
        if old is None:
            by_sym[leg.symbol] = RiskPosition(account, leg.symbol, leg.symbol.split("/")[0], 1 if d > 0 else -1,
                                              abs(d), leg.contract_size, leg.price, leg.price, leg.linear,
                                              "cross", default_leverage, 0.0, _symbol_settle(leg.symbol).upper())
            order.append(leg.symbol)
            continue
        signed_old = old.side * old.contracts
        new = round(signed_old + d, 12)
        if signed_old == 0 or (signed_old > 0) == (d > 0):  # growing
            entry = entry_after(old.entry, signed_old, d, leg.price, old.linear)
            by_sym[leg.symbol] = replace(old, side=1 if new > 0 else -1, contracts=abs(new), entry=entry)
            continue
        closed = min(abs(signed_old), abs(d))
        if old.linear:
            realised[LINEAR_POOL] = (realised.get(LINEAR_POOL, 0.0)
                                     + old.side * closed * old.contract_size * (leg.price - old.entry))
        elif old.entry > 0 and leg.price > 0:
            realised[old.settle] = (realised.get(old.settle, 0.0)
                                    + old.side * closed * old.contract_size * (1 / old.entry - 1 / leg.price))
        if new == 0:
            by_sym[leg.symbol] = replace(old, contracts=0.0)
        elif (new > 0) == (signed_old > 0):
            by_sym[leg.symbol] = replace(old, contracts=abs(new))
        else:
            by_sym[leg.symbol] = replace(old, side=1 if new > 0 else -1, contracts=abs(new), entry=leg.price)
    return [by_sym[s] for s in order if by_sym[s].contracts > 0], realised


def apply_to_positions(positions: Sequence[RiskPosition], legs: Iterable[Leg], account: str,
                       default_leverage: float) -> tuple[list[RiskPosition], float]:
    """``apply_by_pool`` with only the linear pool's realised PnL (quote money); inverse PnL is
    coin and belongs to its own pool's wallet."""
    after, realised = apply_by_pool(positions, legs, account, default_leverage)
    return after, realised.get(LINEAR_POOL, 0.0)


class _Sums(NamedTuple):
    upnl: float
    maintenance: float
    initial: float
    gross: float


class _Share(NamedTuple):
    """One position's part of its pool's sums: what ``evaluate`` adds up for it."""
    upnl: float
    maintenance: float
    initial: float
    gross: float
    note: str  # where its tiers came from
    gone: bool  # isolated, and its own margin is gone


def _share(p: RiskPosition, tiers: Mapping[str, Any] | None, inverse: bool, move: float | None = None) -> _Share:
    """``move``: the share with the position's mark moved by that fraction (a stress row)."""
    mark = p.mark if move is None else p.mark * (1 + move)
    tab, note = tiers_for(p.symbol, tiers, inverse=inverse)
    if p.linear:  # margin_notional_at and upnl_at, inlined (the same products): a plan's stress rows make thousands
        size = p.contracts * p.contract_size
        n = size * mark
        up = p.side * size * (mark - p.entry)
    else:
        n = p.margin_notional_at(mark)
        up = p.upnl_at(mark)
    t = tier_for(tab, n)
    mm = max(n * t.mmr - t.cum, 0.0)
    return _Share(up, mm, n / max(min(p.leverage, t.max_leverage), 1.0), n, note,
                  p.margin_mode == "isolated" and p.isolated_wallet + up <= mm)


def _add(shares: Iterable[_Share]) -> _Sums:
    u = m = i = g = 0.0
    for sh in shares:
        u += sh.upnl
        m += sh.maintenance
        i += sh.initial
        g += sh.gross
    return _Sums(u, m, i, g)


def _minus(a: _Sums, b: _Sums) -> _Sums:
    return _Sums(a.upnl - b.upnl, a.maintenance - b.maintenance, a.initial - b.initial, a.gross - b.gross)


@dataclass(frozen=True)
class _PoolBase:
    """A pool's positions before any ticket, each one's share of the sums worked out once: a
    ticket changes only the positions its legs touch, so its what-if, its checks and its
    stress rows adjust these sums instead of adding up the whole pool again (a plan of
    hundreds of tickets on a pool of hundreds of positions stays linear)."""
    by_symbol: Mapping[str, RiskPosition]
    shares: Mapping[str, _Share]
    sums: _Sums
    by_asset: Mapping[str, tuple[RiskPosition, ...]]
    asset_sums: Mapping[str, _Sums]
    notes: Mapping[str, int]  # tiers note → how many positions rest on it
    gone: tuple[str, ...]
    isolated: tuple[str, ...]  # isolated positions' symbols, in the pool's order
    # the before side of stress rows, by (asset, wallet, moves): tickets on the same asset
    # read the same rows (``Pool.stress_before``)
    stressed: dict[tuple[str, float, tuple[float, ...]], tuple[_Stressed, ...]] = field(
        default_factory=dict, compare=False, repr=False)


def _base_of(before: Sequence[RiskPosition], tiers: Mapping[str, Any] | None, inverse: bool) -> _PoolBase:
    pool = [p for p in before if p.contracts > 0]
    shares = {p.symbol: _share(p, tiers, inverse) for p in pool}
    by_asset: dict[str, list[RiskPosition]] = {}
    for p in pool:
        by_asset.setdefault(p.base, []).append(p)
    notes: dict[str, int] = {}
    for sh in shares.values():
        notes[sh.note] = notes.get(sh.note, 0) + 1
    isolated = tuple(p.symbol for p in pool if p.margin_mode == "isolated")
    return _PoolBase({p.symbol: p for p in pool}, shares, _add(shares[p.symbol] for p in pool),
                     {a: tuple(ps) for a, ps in by_asset.items()},
                     {a: _add(shares[p.symbol] for p in ps) for a, ps in by_asset.items()},
                     notes, tuple(s for s in isolated if shares[s].gone), isolated)


@by_identity()
def _pool_base(before: tuple[RiskPosition, ...], tiers: Mapping[str, Any] | None, inverse: bool) -> _PoolBase:
    """``_base_of`` once per (immutable) before-positions tuple and tiers mapping: every ticket
    previewed on the same snapshot shares it."""
    return _base_of(before, tiers, inverse)


def _note(notes: Mapping[str, int]) -> str:
    return "; ".join(sorted(n for n, k in notes.items() if k > 0)) or "no positions"


@dataclass(frozen=True)
class Pool:
    """One margin pool of an account, before and after legs fill."""
    account: str
    settle: str
    inverse: bool
    wallet_before: float
    wallet_after: float  # + the PnL the legs' reductions realise into this pool
    before: tuple[RiskPosition, ...]
    # the pool's positions the legs touch, after they fill (None: closed), in the order
    # ``apply_by_pool`` leaves them; every other position is as before
    changes: Mapping[str, RiskPosition | None] = field(default_factory=dict)
    # figures by (tiers identity, after): the what-if, its stress rows and the checks ask again
    _figures: dict[tuple[int, bool], tuple[Any, tuple[_Sums, str, tuple[str, ...]]]] = field(
        default_factory=dict, compare=False, repr=False)

    @cached_property
    def after(self) -> tuple[RiskPosition, ...]:
        held = {p.symbol for p in self.before}
        kept = (self.changes.get(p.symbol, p) for p in self.before)
        new = (q for s, q in self.changes.items() if s not in held)
        return tuple(p for p in (*kept, *new) if p is not None and p.contracts > 0)

    def _after_shares(self, tiers: Mapping[str, Any] | None) -> dict[str, _Share | None]:
        return {s: None if q is None else _share(q, tiers, self.inverse) for s, q in self.changes.items()}

    def figures(self, tiers: Mapping[str, Any] | None, *, after: bool) -> tuple[_Sums, str, tuple[str, ...]]:
        """The pool's sums, tiers note and isolated positions gone: the before pool's, with
        only the changed positions' shares swapped for the after pool."""
        hit = self._figures.get((id(tiers), after))
        if hit is not None and hit[0] is tiers:
            return hit[1]
        base = _pool_base(self.before, tiers, self.inverse)
        if not after:
            out = base.sums, _note(base.notes), base.gone
            self._figures[(id(tiers), after)] = (tiers, out)
            return out
        u, m, i, g = base.sums
        notes = dict(base.notes)
        changed = self._after_shares(tiers)
        for s, sh in changed.items():
            old = base.shares.get(s)
            if old is not None:
                u, m, i, g = u - old.upnl, m - old.maintenance, i - old.initial, g - old.gross
                notes[old.note] -= 1
            if sh is not None:
                u, m, i, g = u + sh.upnl, m + sh.maintenance, i + sh.initial, g + sh.gross
                notes[sh.note] = notes.get(sh.note, 0) + 1
        gone = []
        for s in base.isolated:  # a position the legs open is cross: only these can be gone
            sh = changed[s] if s in changed else base.shares[s]
            if sh is not None and sh.gone:
                gone.append(s)
        out = _Sums(u, m, i, g), _note(notes), tuple(gone)
        self._figures[(id(tiers), after)] = (tiers, out)
        return out

    def evaluate(self, tiers: Mapping[str, Any] | None, *, after: bool, liquidation: bool = True) -> AccountRisk:
        """What ``evaluate`` gives for the pool's positions before or after, from the sums
        above; liquidation prices (the whole pool's) only when they are read."""
        sums, note, gone = self.figures(tiers, after=after)
        wallet = self.wallet_after if after else self.wallet_before

        def liquidations() -> tuple[PositionRisk, ...]:
            return evaluate(self.account, wallet, self.settle, self.after if after else self.before, tiers,
                            inverse=self.inverse).positions

        return AccountRisk(self.account, self.settle, wallet, sums.upnl, sums.maintenance, sums.initial, sums.gross,
                           liquidations if liquidation else (), note, gone, self.inverse)

    def asset_part(self, tiers: Mapping[str, Any] | None, asset: str, *,
                   after: bool) -> tuple[list[RiskPosition], _Sums, tuple[str, ...], _Sums]:
        """The positions on ``asset`` (which a stress move of it changes), the sums and gone
        isolated positions of the rest of the pool, which it leaves alone, and the sums of
        those positions (at their marks)."""
        base = _pool_base(self.before, tiers, self.inverse)
        total, _, gone = self.figures(tiers, after=after)
        if not after:
            moved = list(base.by_asset.get(asset, ()))
            part = base.asset_sums.get(asset, _Sums(0.0, 0.0, 0.0, 0.0))
        else:
            moved = [self.changes.get(p.symbol, p) for p in base.by_asset.get(asset, ())]
            moved += [q for s, q in self.changes.items() if s not in base.by_symbol and q is not None and q.base == asset]
            moved = [p for p in moved if p is not None and p.contracts > 0]
            part = _add(_share(p, tiers, self.inverse) for p in moved)
        on_asset = {p.symbol for p in moved}
        return moved, _minus(total, part), tuple(s for s in gone if s not in on_asset), part

    def stress_before(self, tiers: Mapping[str, Any] | None, asset: str,
                      moves: Sequence[float]) -> tuple[_Stressed, ...]:
        """The before side of the stress rows of ``asset``, one per move: it depends on the
        snapshot alone, so it is worked out once per pool base for every ticket on the asset."""
        base = _pool_base(self.before, tiers, self.inverse)
        key = (asset, self.wallet_before, tuple(moves))
        hit = base.stressed.get(key)
        if hit is None:
            moved, rest, gone, _ = self.asset_part(tiers, asset, after=False)
            hit = base.stressed[key] = tuple(_stressed(self.wallet_before, rest, gone, moved, mv, tiers, self.inverse)
                                             for mv in moves)
        return hit


def account_pools(snap: Snapshot, account: str, legs: Sequence[Leg], *, quote: str,
                  default_leverage: float) -> list[Pool]:
    """Every margin pool of ``account`` that its positions or the legs touch: the linear pool
    first (settled in the first linear position's or leg's settle currency, else ``quote``), then
    one per inverse settle coin. An account that none touch gets its ``quote`` pool.

    The same ticket's what-if and checks ask for the same pools: they are shared (with the
    figures each pool keeps), once per snapshot, account and legs."""
    return list(_pools(snap.account(account), quote, default_leverage, snap, *legs))


class LinearRoom(NamedTuple):
    """What a linear leg can need of its account's linear pool, and that pool before any leg."""
    settle: str  # the pool's settle currency: ``account_pools``' linear pool for this leg
    most: float  # an upper bound of the initial margin the leg adds: its symbol's notional after it
    has: float  # the pool's free margin before any leg: margin balance − initial margin held
    held_initial: float  # the initial margin held (the scale of the sums' rounding)


def linear_room(snap: Snapshot, leg: Leg, *, quote: str, default_leverage: float,
                free: dict[Any, Any] | None = None) -> LinearRoom:
    """For a linear ``leg``: the pool ``account_pools`` puts it in, its free margin before any
    leg (the same floats ``Pool.evaluate`` gives), and a bound on the initial margin the leg
    adds. A position's initial margin is its notional / leverage with every leverage ≥ 1, so
    what the leg adds is at most its symbol's notional after it, which is at most (contracts
    held + the leg's) × contract size × mark. No tiers: as the planner's margin rule reads them.

    ``free``: a planning pass's own dict, in which the account's positions and each pool's free
    margin are kept (the same for every leg of the pass), by account and by (account, settle)."""
    got = free.get(leg.account) if free is not None else None
    if got is None:
        acct = snap.account(leg.account)
        held = _held(snap, leg.account, default_leverage)
        linear = held.pools.get(("", False), ())
        got = (acct, held, linear, (_settle_of(acct, linear[0].symbol, quote) or quote) if linear else None)
        if free is not None:
            free[leg.account] = got
    acct, held, linear, settle = got
    if settle is None:  # no linear position: the pool is the leg's own settle currency's
        settle = _settle_of(acct, leg.symbol, quote) or quote
    key = (leg.account, settle)
    hit = free.get(key) if free is not None else None
    if hit is None:
        sums = _pool_base(linear, None, False).sums
        hit = ((wallet_balance(acct, settle) + sums.upnl) - sums.initial, sums.initial)
        if free is not None:
            free[key] = hit
    old = held.by_symbol.get(leg.symbol)
    if old is not None:
        most = (old.contracts + leg.contracts) * old.contract_size * old.mark
    else:
        most = leg.contracts * leg.contract_size * leg.price
    return LinearRoom(settle, abs(most), hit[0], hit[1])


# a few entries: the what-if and the checks of one ticket ask one after the other, and
# each entry keeps its snapshot alive
@by_identity(maxsize=8)
def _pools(acct: AccountState, quote: str, default_leverage: float, snap: Snapshot, *legs: Leg) -> tuple[Pool, ...]:
    account = acct.name
    held = _held(snap, account, default_leverage)
    mine = [leg for leg in legs if leg.account == account]
    touched = list(dict.fromkeys(leg.symbol for leg in mine))
    # each leg changes only its own symbol's position: apply them to those alone
    moved, realised = apply_by_pool([held.by_symbol[s] for s in touched if s in held.by_symbol], mine, account,
                                    default_leverage)
    changes: dict[str, RiskPosition | None] = dict.fromkeys(touched)
    changes.update((p.symbol, p) for p in moved)
    first_linear = held.pools.get(("", False), ())
    lin = (_settle_of(acct, first_linear[0].symbol, quote) if first_linear else None) or next(
        (_settle_of(acct, leg.symbol, quote) for leg in mine if leg.linear), None)
    coins = list(dict.fromkeys([*(c for c, inv in held.pools if inv), *(p.settle for p in moved if not p.linear),
                                *(_settle_of(acct, leg.symbol, quote).upper() for leg in mine if not leg.linear)]))
    keys: list[tuple[str, bool]] = ([(lin, False)] if lin is not None or not coins else [])
    keys += [(c, True) for c in coins]
    out = []
    for settle, inverse in keys:
        settle = settle or quote
        w = wallet_balance(acct, settle)
        r = realised.get(settle.upper() if inverse else LINEAR_POOL, 0.0)
        key = (settle.upper(), True) if inverse else ("", False)

        def in_pool(p: RiskPosition, inverse: bool = inverse, coin: str = settle.upper()) -> bool:
            return (not p.linear and p.settle == coin) if inverse else p.linear

        before = held.pools.get(key, ())
        mine_here = {s: q for s, q in changes.items()
                     if (s in held.by_symbol and in_pool(held.by_symbol[s])) or (q is not None and in_pool(q))}
        out.append(Pool(account, settle, inverse, w, w + r, before, mine_here))
    return tuple(out)


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
    futures_pnl_after: float  # the pool's futures PnL from the move, after the ticket, in quote money
    spot_pnl: float  # the whole portfolio's spot holding of the asset × move
    reason: str
    settle: str = ""  # the margin pool (settle currency) the row is about

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class WhatIf:
    before: tuple[AccountRisk, ...]  # one per (account, settle) pool, paired with ``after``
    after: tuple[AccountRisk, ...]
    stress: tuple[StressRow, ...]

    def account_after(self, name: str) -> AccountRisk | None:
        """The account's worst pool after the ticket (see ``worst``)."""
        return worst(a for a in self.after if a.account == name)

    def several_pools(self, name: str) -> bool:
        """Whether the account has more than one pool here (then rows name their settle)."""
        return sum(1 for a in self.after if a.account == name) > 1

    def label(self, account: str, settle: str) -> str:
        return pool_label(account, settle, self.several_pools(account))

    def to_dict(self) -> dict[str, Any]:
        return {"before": [a.to_dict() for a in self.before], "after": [a.to_dict() for a in self.after],
                "stress": [s.to_dict() for s in self.stress]}


class _Stressed(NamedTuple):
    """What a stress row reads of one side (before or after) of a pool under a move."""
    ratio: float  # margin ratio (∞ when the balance is gone)
    liquidated: bool
    why: str  # why it is liquidated ("" when it is not)
    upnl: float  # the pool's uPnL at the moved marks


def _stressed(wallet: float, rest: _Sums, rest_gone: tuple[str, ...], moved: Sequence[RiskPosition], move: float,
              tiers: Mapping[str, Any] | None, inverse: bool) -> _Stressed:
    """The rest of the pool (summed once) plus the ``moved`` positions at their marks moved by
    ``move``: the sums ``evaluate`` makes, read straight into the row's figures (a plan makes
    thousands of rows, so no AccountRisk is built for each). For an inverse pool the move
    changes the marks only: the wallet is coin, and so is every figure of the ratio."""
    # ``_add`` of the moved shares, in one pass (the same sums in the same order: the same
    # floats); thousands of rows a plan make its list and generators count
    u = m = g = 0.0
    gone_here: list[str] = []
    for p in moved:
        sh = _share(p, tiers, inverse, move)
        u += sh.upnl
        m += sh.maintenance
        g += sh.gross
        if sh.gone:
            gone_here.append(p.symbol)
    upnl, maintenance = rest.upnl + u, rest.maintenance + m
    ratio = margin_ratio_of(wallet, upnl, maintenance, rest.gross + g)
    liquidated, why = _liquidated(maintenance, ratio, rest_gone + tuple(gone_here) if gone_here else rest_gone)
    return _Stressed(ratio, liquidated, why, upnl)


def _quote_upnl(positions: Sequence[RiskPosition], move: float = 0.0) -> float:
    """Unrealised PnL in quote money, with every mark moved by ``move``: linear as is; an
    inverse position's coin PnL valued at its own mark, Side × Q × (1/EP − 1/P) × P =
    Side × Q × (P/EP − 1), which is what that PnL is worth in USD at that price (so a stress
    move's change is Side × Q × ΔP / EP)."""
    out = 0.0
    for p in positions:
        mark = p.mark * (1 + move) if move else p.mark
        out += p.upnl_at(mark) if p.linear else p.upnl_at(mark) * mark
    return out


def _liquidated(maintenance: float, ratio: float, isolated_gone: tuple[str, ...]) -> tuple[bool, str]:
    if maintenance > 0 and ratio >= 1.0:
        return True, "margin ratio ≥ 100 %: the account is liquidated"
    if isolated_gone:
        return True, f"isolated {', '.join(isolated_gone)} past its liquidation price"
    return False, ""


def what_if(snap: Snapshot, legs: Sequence[Leg], *, tiers: ByAccount | None, quote: str,
            default_leverage: float, spot_values: Mapping[str, float] | None = None,
            stress_moves: Sequence[float] = STRESS_MOVES, accounts: Sequence[str] | None = None,
            stress_assets: Sequence[str] | None = None) -> WhatIf:
    """Margin of every pool of every account the legs touch, before and after they fill, and a
    stress table: each asset the legs trade (or ``stress_assets``) moved alone by each of
    ``stress_moves``, on every touched pool, after the ticket with before beside it.
    ``tiers``: account → symbol → ccxt leverage tiers; each pool reads its own account's."""
    names = list(accounts) if accounts is not None else list(dict.fromkeys(leg.account for leg in legs))
    before: list[AccountRisk] = []
    after: list[AccountRisk] = []
    pools: list[Pool] = []
    for name in names:
        if name not in snap.accounts:
            continue
        for pool in account_pools(snap, name, legs, quote=quote, default_leverage=default_leverage):
            pools.append(pool)
            before.append(pool.evaluate(of_account(tiers, name), after=False))
            after.append(pool.evaluate(of_account(tiers, name), after=True))
    rows: list[StressRow] = []
    spot_values = spot_values or {}
    assets = list(stress_assets) if stress_assets is not None else list(dict.fromkeys(
        leg.symbol.split("/")[0] for leg in legs))
    for pool in pools if stress_moves else ():
        name, settle, inv = pool.account, pool.settle, pool.inverse
        wa = pool.wallet_after
        own = of_account(tiers, name)
        for asset in assets:
            # only the asset's positions change under its move: the rest is summed once
            moved_a, rest_a, gone_a, part_a = pool.asset_part(own, asset, after=True)
            upnl_a = part_a.upnl
            for mv, rb in zip(stress_moves, pool.stress_before(own, asset, stress_moves), strict=True):
                ra = _stressed(wa, rest_a, gone_a, moved_a, mv, own, inv)
                # linear: the pool's PnL change (only the moved positions' changes); inverse:
                # its coin PnL in USD at the moved marks
                pnl = (_quote_upnl(moved_a, mv) - _quote_upnl(moved_a) if inv
                       else ra.upnl - rest_a.upnl - upnl_a)
                rows.append(StressRow(asset, mv, name, _finite(rb.ratio), _finite(ra.ratio), rb.liquidated,
                                      ra.liquidated, pnl, spot_values.get(asset, 0.0) * mv, ra.why or "survives",
                                      settle))
    return WhatIf(tuple(before), tuple(after), tuple(rows))
