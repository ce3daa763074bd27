"""What a leg costs: fees, slippage, funding, basis, roll, and the spot trade it replaces.

Sign convention, everywhere in this module: a ``CostItem.amount`` is money in the quote
currency that the trader *pays*; a negative amount is income (a short perp receiving a
positive funding rate, a short dated future earning its premium as it converges).

Venue data (order books, trading fees, funding rates) comes in as ccxt unified structures;
nothing here talks to a venue.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

MS_PER_DAY = 86_400_000
DAYS_PER_YEAR = 365.0
DEFAULT_FUNDING_HOURS = 8.0  # Binance's default interval; a funding-rate "interval" field wins
DEFAULT_SPOT_TAKER = 0.001  # Binance spot's base taker rate, used when the spot market is unknown
QUARTER_DAYS = 91.0  # cadence of the next dated contract, for counting rolls past the horizon


@dataclass(frozen=True)
class CostItem:
    """One line of cost. ``amount`` > 0 is paid, < 0 is received; ``known`` is False when the
    input was missing (then ``amount`` is 0 and ``reason`` says what was missing).

    ``explain`` is the reason, or a function that words it: the planner prices every candidate
    instrument of every sleeve and shows the words of few, so they are written when read."""

    name: str  # "fee", "slippage", "funding", "basis", "roll", "spot fee", "spot slippage"
    amount: float
    explain: str | Callable[[], str] = field(repr=False, compare=False)
    bps: float | None = None  # of the leg's notional, when that is a meaningful way to read it
    known: bool = True

    @property
    def reason(self) -> str:
        return self.explain if isinstance(self.explain, str) else self.explain()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "amount": self.amount, "bps": self.bps, "known": self.known,
                "reason": self.reason}


def unknown(name: str, reason: str) -> CostItem:
    return CostItem(name, 0.0, reason, None, False)


def side_sign(side: str) -> float:
    """+1 for an order that buys (adds long exposure), −1 for one that sells."""
    return 1.0 if side == "buy" else -1.0


# ---------------------------------------------------------------- fees


def fee_rate(market: Mapping[str, Any] | None, symbol: str, *, maker: bool,
             trading_fees: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[float, str]:
    """The rate the order pays and where it came from.

    ``trading_fees`` is ccxt's ``fetch_trading_fees`` result (the account's own tier) and wins
    over the market's listed rate.
    """
    key = "maker" if maker else "taker"
    if trading_fees and symbol in trading_fees and trading_fees[symbol].get(key) is not None:
        return float(trading_fees[symbol][key]), _FEE_SOURCES[key][0]
    if market and market.get(key) is not None:
        return float(market[key]), _FEE_SOURCES[key][1]
    return (0.0002 if maker else 0.0005), _FEE_SOURCES[key][2]


# fee_rate's words by side, written once: a plan asks for a rate per candidate leg
_FEE_SOURCES = {key: (f"account {key} rate (fetch_trading_fees)", f"market's listed {key} rate",
                      f"no {key} rate known: Binance USDⓈ-M default assumed") for key in ("maker", "taker")}


def fee_amount(notional: float, rate: float) -> float:
    """notional × rate; a maker rebate (negative rate) counts as 0 (see ``fee_cost``)."""
    return abs(notional) * max(rate, 0.0)


def fee_cost(notional: float, rate: float, source: str, *, maker: bool) -> CostItem:
    """Fee = notional × rate (maker for post-only, taker otherwise). Never negative: a maker
    rebate (negative rate) is shown in the reason but counted as 0, so costs stay conservative."""
    amount = fee_amount(notional, rate)
    kind = "maker" if maker else "taker"
    return CostItem("fee", amount, lambda: f"{abs(notional):,.2f} × {kind} {rate * 100:.4f}% ({source})",
                    rate * 1e4 if rate > 0 else 0.0)


# ---------------------------------------------------------------- slippage


class BookWalk(NamedTuple):
    """The result of walking one side of a book for ``wanted`` contracts (a named tuple,
    immutable: a plan walks a book per candidate leg, and a frozen dataclass costs thrice as
    much to build)."""

    wanted: float
    filled: float  # contracts the listed levels can take
    vwap: float | None
    mid: float | None
    worst: float | None  # the deepest price touched
    levels: int  # levels touched
    side: str = ""  # "buy" | "sell": which way is adverse ("" = either, as a distance)

    @property
    def thin(self) -> bool:
        return self.filled + 1e-12 < self.wanted

    @property
    def bps(self) -> float | None:
        """Adverse distance of the VWAP from mid, in basis points (≥ 0)."""
        return _adverse_bps(self.vwap, self.mid, self.side)


def _adverse_bps(vwap: float | None, mid: float | None, side: str) -> float | None:
    """``BookWalk.bps`` of these figures."""
    if vwap is None or not mid:
        return None
    gap = vwap - mid
    if side == "sell":
        gap = -gap
    elif side != "buy":
        gap = abs(gap)
    return max(0.0, gap / mid * 1e4)


def book_mid(book: Mapping[str, Any] | None) -> float | None:
    if not book:
        return None
    bids, asks = book.get("bids") or [], book.get("asks") or []
    if not bids or not asks:
        return None
    return (float(bids[0][0]) + float(asks[0][0])) / 2


def walk_book(book: Mapping[str, Any], side: str, contracts: float) -> BookWalk:
    """Fill ``contracts`` against a ccxt order book (``{"bids": [[price, amount], ...], ...}``,
    amounts in contracts, best first): a buy lifts the asks, a sell hits the bids.

    When the book runs out, the remainder is priced at the last level (a lower bound on the
    true cost) and ``thin`` is set so the trader is told.
    """
    filled, vwap, worst, touched = _walk(book.get("asks" if side == "buy" else "bids") or [], contracts)
    return BookWalk(abs(contracts), filled, vwap, book_mid(book), worst, touched, side)


def _walk(levels: Sequence[Sequence[Any]], contracts: float) -> tuple[float, float | None, float | None, int]:
    """``walk_book``'s fill of ``contracts`` against one side's ``levels``: (filled, VWAP,
    worst price touched, levels touched); the VWAP None when nothing fills."""
    left, cost, filled, worst, touched = abs(contracts), 0.0, 0.0, None, 0
    for lvl in levels:
        if left <= 1e-15:
            break
        px, qty = float(lvl[0]), float(lvl[1])
        take = min(left, qty)
        if take <= 0:
            continue
        cost += take * px
        filled += take
        left -= take
        worst = px
        touched += 1
    if filled <= 0:
        return 0.0, None, None, 0
    return filled, (cost + max(left, 0.0) * (worst or 0.0)) / (filled + max(left, 0.0)), worst, touched


def slippage_money(w: BookWalk, contract_size: float = 1.0, *, inverse: bool = False) -> float | None:
    """The walk's slippage money (see ``slippage_cost``); None when the book cannot price it."""
    return _slippage(w.wanted, w.vwap, w.mid, w.side, contract_size, inverse)


def book_slippage(book: Mapping[str, Any], side: str, contracts: float, contract_size: float,
                  inverse: bool) -> float | None:
    """``slippage_money(walk_book(...))`` without the walk's record: the planner prices a
    slippage per candidate leg and reads only the money."""
    vwap = _walk(book.get("asks" if side == "buy" else "bids") or [], contracts)[1]
    return _slippage(abs(contracts), vwap, book_mid(book), side, contract_size, inverse)


def _slippage(wanted: float, vwap: float | None, mid: float | None, side: str, contract_size: float,
              inverse: bool) -> float | None:
    bps = _adverse_bps(vwap, mid, side)
    if vwap is None or bps is None or mid is None:
        return None
    size = wanted * contract_size  # base units (linear) or USD (inverse)
    gap = bps / 1e4 * mid  # the adverse |VWAP − mid|, 0 when the book is crossed
    return size * gap / vwap if inverse else size * gap


def slippage_cost(book: Mapping[str, Any] | None, side: str, contracts: float, contract_size: float = 1.0, *,
                  inverse: bool = False) -> tuple[CostItem, BookWalk | None]:
    """Slippage money = contracts × contractSize × |VWAP − mid|, counted only when adverse (a
    sane book has every ask above mid and every bid below it; a crossed book is stale data and
    counts as 0). The bps are that gap over mid.

    Inverse: Q = contracts × contractSize is USD, and the fill buys or sells Q / VWAP coin
    instead of Q / mid; that coin valued at mid is Q × |VWAP − mid| / VWAP."""
    if not book:
        return unknown("slippage", "n/a (no order book)"), None
    w = walk_book(book, side, contracts)
    money = slippage_money(w, contract_size, inverse=inverse)
    if money is None:
        return unknown("slippage", f"n/a: the book has no {'asks' if side == 'buy' else 'bids'}"), w

    def why() -> str:
        text = (f"{abs(contracts):g} × {contract_size:g} × |VWAP {w.vwap:,.6g} − mid {w.mid:,.6g}|"
                + (" / VWAP (inverse)" if inverse else "") + f" over {w.levels} level(s) = {w.bps:.2f} bps")
        if w.thin:
            text += (f"; BOOK TOO THIN: only {w.filled:g} of {w.wanted:g} contracts listed, the rest "
                     f"priced at the last level {w.worst:,.6g} (true cost is higher)")
        return text

    return CostItem("slippage", money, why, w.bps), w


# ---------------------------------------------------------------- funding


@dataclass(frozen=True)
class FundingInfo:
    rate: float  # per interval, as a fraction (0.0001 = 0.01 %)
    interval_hours: float
    next_time_ms: int | None

    @property
    def per_year(self) -> float:
        return 24.0 / self.interval_hours * DAYS_PER_YEAR

    @property
    def annualised(self) -> float:
        """rate × intervals per year (3 × 365 for 8-hour funding); simple, not compounded."""
        return self.rate * self.per_year


def _interval_hours(fr: Mapping[str, Any]) -> float:
    """ccxt's ``interval`` ("8h"), else Binance's ``info.fundingIntervalHours``, else 8 h. A value
    that is not a positive finite number of hours is ignored: it would divide by zero."""
    iv = fr.get("interval")
    info = fr.get("info") or {}
    raw = [iv[:-1] if isinstance(iv, str) and iv.endswith("h") else None,
           info.get("fundingIntervalHours") if isinstance(info, dict) else None]
    for h in raw:
        try:
            v = float(h) if h is not None else math.nan
        except (TypeError, ValueError):
            continue
        if math.isfinite(v) and v > 0:
            return v
    return DEFAULT_FUNDING_HOURS


def funding_info(fr: Mapping[str, Any] | None) -> FundingInfo | None:
    """From ccxt's unified funding-rate structure (``fetch_funding_rates``)."""
    if not fr or fr.get("fundingRate") is None:
        return None
    nxt = fr.get("nextFundingTimestamp") or fr.get("fundingTimestamp")
    return FundingInfo(float(fr["fundingRate"]), _interval_hours(fr), int(nxt) if nxt else None)


def funding_events(horizon_days: float, interval_hours: float, *, next_ms: int | None, now_ms: int) -> int:
    """The funding payments whose times fall in (now, now + horizon]: the first at the next
    funding time (rolled forward by whole intervals when it is stale), then one every interval.
    A whole number: a 36 h horizon on 8-hourly funding holds 4 or 5 payments, never 4.5.

    Without a next time from the venue, payments are taken on the interval's grid from 00:00 UTC
    (Binance funds at 00:00, 08:00 and 16:00 UTC), so the count is still one of those whole numbers."""
    return _funding_events(horizon_days, interval_hours, next_ms, now_ms)


# a plan prices funding for every perp candidate on one horizon, clock and (usually) one
# funding time: the count is worked out once per such four numbers
@functools.lru_cache(maxsize=256)
def _funding_events(horizon_days: float, interval_hours: float, next_ms: int | None, now_ms: int) -> int:
    step = interval_hours * 3_600_000
    end = now_ms + max(horizon_days, 0.0) * MS_PER_DAY
    first = float(next_ms) if next_ms is not None else 0.0
    if first <= now_ms:  # stale or unknown: the next payment is the first one after now
        first += (math.floor((now_ms - first) / step) + 1) * step
    if first > end:
        return 0
    return int(math.floor((end - first) / step + 1e-9)) + 1


def funding_cost(side: str, rate: float, notional: float, payments: int) -> float:
    """cost = side_sign × rate × notional × payments.

    Longs pay a positive rate, shorts receive it (negative cost = income). It holds for legs
    that reduce a position too: buying back a short gives up the income it was earning.
    """
    return side_sign(side) * rate * abs(notional) * payments


def funding_amount(side: str, notional: float, info: FundingInfo, horizon_days: float, *,
                   now_ms: int) -> tuple[float, int]:
    """Funding over the horizon (see ``funding_item``) and the payments it counts."""
    n = _funding_events(horizon_days, info.interval_hours, info.next_time_ms, now_ms)
    return funding_cost(side, info.rate, notional, n), n


def funding_item(side: str, notional: float, info: FundingInfo | None, horizon_days: float, *,
                 now_ms: int) -> CostItem:
    """Funding over the horizon: side × rate × notional × the payments that fall inside it,
    counted from the next funding time (a 6 h horizon holds one 8-hourly payment or none)."""
    if info is None:
        return unknown("funding", "n/a: no funding rate in the snapshot for this perp")
    amount, n = funding_amount(side, notional, info, horizon_days, now_ms=now_ms)

    def why() -> str:
        if info.rate == 0:
            who = "no transfer"
        elif info.rate > 0:
            who = "long pays" if side == "buy" else "short receives"
        else:
            who = "long receives" if side == "buy" else "short pays"
        return (f"{info.rate * 100:+.4f}%/{info.interval_hours:g}h × {n} payment(s) × {abs(notional):,.2f} "
                f"({who}; {info.annualised * 100:+.2f}%/yr"
                + ("" if info.next_time_ms is not None else "; next funding time unknown: the "
                   f"{info.interval_hours:g} h grid from 00:00 UTC assumed") + ")")

    return CostItem("funding", amount, why, amount / abs(notional) * 1e4 if notional else None)


# ---------------------------------------------------------------- basis


class BasisInfo(NamedTuple):
    """A dated contract's price against spot (a named tuple, immutable: built per candidate
    leg, see ``BookWalk``)."""

    future: float
    spot: float
    days_to_expiry: float

    @property
    def basis(self) -> float:
        """(F − S) / S: positive is contango (futures above spot)."""
        return (self.future - self.spot) / self.spot

    @property
    def premium_share(self) -> float:
        """(F − S) / F: the premium as a share of the future's notional (what converges)."""
        return (self.future - self.spot) / self.future

    @property
    def annualised(self) -> float:
        """basis × 365 / days to expiry (simple)."""
        return self.basis * DAYS_PER_YEAR / self.days_to_expiry if self.days_to_expiry > 0 else 0.0


def basis_info(future: float | None, spot: float | None, expiry_ms: int | None, now_ms: int) -> BasisInfo | None:
    if not future or not spot or not expiry_ms:
        return None
    return BasisInfo(future, spot, max((expiry_ms - now_ms) / MS_PER_DAY, 0.0))


def basis_amount(side: str, notional: float, info: BasisInfo, horizon_days: float) -> tuple[float, float]:
    """A dated leg's carry over the horizon (see ``basis_item``) and the share of the premium
    that converges in it."""
    held = min(max(horizon_days, 0.0), info.days_to_expiry)
    share = held / info.days_to_expiry if info.days_to_expiry > 0 else 1.0
    return side_sign(side) * info.premium_share * abs(notional) * share, share


def basis_item(side: str, notional: float, info: BasisInfo | None, horizon_days: float) -> CostItem:
    """Carry of a dated leg over the horizon: the premium converges to spot by expiry.

    Assumes linear convergence: over min(horizon, days to expiry) the leg earns (short) or
    pays (long) that share of the premium. The premium in money is size × (F − S) =
    notional × (F − S) / F (notional at F; the same holds for an inverse contract's USD
    notional): cost = side_sign × (F − S) / F × notional × share.
    """
    if info is None:
        return unknown("basis", "n/a: no spot or futures price, or no expiry, for the basis")
    amount, share = basis_amount(side, notional, info, horizon_days)
    return CostItem("basis", amount,
                    lambda: f"basis {info.basis * 100:+.3f}% ({info.annualised * 100:+.2f}%/yr, "
                            f"{info.days_to_expiry:.1f} d to expiry), {share * 100:.0f}% of it converges in the "
                            f"horizon; {_basis_words(side, info.basis)}",
                    amount / abs(notional) * 1e4 if notional else None)


def _basis_words(side: str, basis: float) -> str:
    if basis == 0:
        return "no premium or discount"
    if basis > 0:  # contango: the future converges down to spot
        return "long pays the premium" if side == "buy" else "short earns the premium"
    return "long earns the discount" if side == "buy" else "short pays the discount"


def rolls_needed(horizon_days: float, days_to_expiry: float) -> int:
    """Rolls to stay hedged for the horizon: none before expiry, then one per quarter."""
    if horizon_days <= days_to_expiry:
        return 0
    return 1 + int(math.floor((horizon_days - days_to_expiry) / QUARTER_DAYS))


def roll_amount(rolls: int, one_way_cost: float, carry_after: float = 0.0) -> float:
    """Twice the one-way cost per roll, plus the next contract's carry (see ``roll_item``)."""
    return rolls * 2.0 * one_way_cost + (carry_after if rolls else 0.0)


def roll_item(rolls: int, one_way_cost: float, days_to_expiry: float, *, carry_after: float = 0.0,
              days_after: float = 0.0) -> CostItem:
    """A roll closes the expiring contract and reopens the next: twice the one-way cost, plus
    ``carry_after``, the next contract's carry over the ``days_after`` of the horizon left after
    expiry (so a dated leg's total covers the same horizon as a perp's funding)."""
    amount = roll_amount(rolls, one_way_cost, carry_after)
    if rolls == 0:
        return CostItem("roll", 0.0, lambda: f"no roll: the horizon ends before expiry ({days_to_expiry:.1f} d)")

    def why() -> str:
        text = (f"{rolls} roll(s) (expiry in {days_to_expiry:.1f} d is inside the horizon) × "
                f"2 × {one_way_cost:,.2f} (close + reopen: fee + slippage)")
        if days_after > 0:
            text += (f" {carry_after:+,.2f} carry of the next contract for the {days_after:.1f} d after expiry "
                     "(the same premium per day assumed)")
        return text

    return CostItem("roll", amount, why)


def carry_after_expiry(side: str, notional: float, info: BasisInfo, horizon_days: float) -> tuple[float, float]:
    """The carry past expiry at the current contract's premium per day: (money, days)."""
    days = max(horizon_days - info.days_to_expiry, 0.0)
    if days <= 0 or info.days_to_expiry <= 0:
        return 0.0, days
    return side_sign(side) * info.premium_share * abs(notional) * days / info.days_to_expiry, days


# ---------------------------------------------------------------- spot alternative


def spot_alternative(notional: float, side: str, *, spot_symbol: str, spot_market: Mapping[str, Any] | None,
                     spot_book: Mapping[str, Any] | None, spot_price: float | None) -> tuple[CostItem, ...]:
    """What trading the same exposure in spot would cost: taker fee + book slippage (+ tax,
    which only the trader knows and flags)."""
    rate, src = fee_rate(spot_market, spot_symbol, maker=False)
    if spot_market is None:
        rate, src = DEFAULT_SPOT_TAKER, "no spot market in the snapshot: Binance spot 0.1% taker assumed"
    elif spot_market.get("taker") is None:  # fee_rate's fallback is the futures default
        rate, src = DEFAULT_SPOT_TAKER, "no taker rate listed: Binance spot 0.1% taker assumed"
    fee = fee_cost(notional, rate, src, maker=False)
    fee = CostItem("spot fee", fee.amount, f"{spot_symbol}: {fee.reason}", fee.bps)
    if spot_book and spot_price:
        slip, _ = slippage_cost(spot_book, side, abs(notional) / spot_price)
        slip = CostItem("spot slippage", slip.amount, f"{spot_symbol}: {slip.reason}", slip.bps, slip.known)
    else:
        slip = unknown("spot slippage", f"n/a (no book for {spot_symbol})")
    return fee, slip


def total(items: Sequence[CostItem]) -> float:
    return sum(i.amount for i in items)
