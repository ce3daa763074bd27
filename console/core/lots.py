"""Venue lot rules as ccxt applies them, offline, from a snapshot's markets.

Amounts are truncated to the lot with the decimal arithmetic of ccxt's ``amount_to_precision``
(same result, tested against it) but without its per-call overhead: a plan rounds thousands of
candidate legs. Prices, and any precision mode not covered, go through ccxt itself.

ccxt is imported here lazily: it costs most of a second, and the console must draw its
first frame without waiting for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from console.core.memo import by_identity
from console.core.snapshot import AccountState


def _clean(x: float) -> float:
    # 0.25 can arrive as 0.24999999999999997 after float arithmetic; ccxt truncates, so
    # without this it would lose a whole lot. Twelve significant digits is far finer
    # than any venue's step.
    return float(f"{x:.12g}")


class RoundedAmount(NamedTuple):
    """An amount on the venue's lot (a named tuple, immutable: a plan rounds a thousand
    candidate legs, and a frozen dataclass costs thrice as much to build)."""

    amount: float  # 0 when below the venue's minimum
    reason: str | None  # why it is 0 (or None)


class Lots:
    """Rounds amounts and prices the way the account's venue would accept them."""

    def __init__(self, acct: AccountState) -> None:
        self._acct = acct
        self._ex = _exchange(acct)
        self._mode: int = self._ex.precisionMode
        # ccxt's own rounding (the counting modes truncate_to_lot does not cover) is costly: an
        # amount rounded twice (a candidate priced, then its leg sized) goes through it once
        self._by_ccxt: dict[tuple[str, float], float | str] = {}
        self._specs = _lot_table(acct.markets)  # lot_spec's table for these markets

    def market(self, symbol: str) -> Mapping[str, Any]:
        m = self._acct.markets.get(symbol)
        if m is None:
            raise KeyError(symbol)
        return m

    def step(self, symbol: str) -> float:
        p = (self.market(symbol).get("precision") or {}).get("amount")
        return float(p) if p else 0.0

    def amount(self, symbol: str, amount: float) -> RoundedAmount:
        if not math.isfinite(amount):
            # a figure of the snapshot out of range (a size of 1e308 overflowing, say): named, not printed
            return RoundedAmount(0.0, f"{symbol}: the size is not a finite number (a figure of the snapshot is "
                                      "out of range); take a fresh snapshot")
        step, lo, _ = self._specs.get(symbol) or lot_spec(self._acct.markets, symbol)
        if step is None:
            return RoundedAmount(0.0, f"{symbol} has no lot step (precision.amount) in the snapshot; take a "
                                      "fresh snapshot")
        try:
            out = truncate_to_lot(abs(amount), step, self._mode)
            if out is None:  # a counting mode only ccxt's own code rounds
                out = self._ccxt_amount(symbol, amount)
                if isinstance(out, str):
                    return RoundedAmount(0.0, out)
        except (ArithmeticError, ValueError, TypeError):  # decimal.InvalidOperation: a step that cannot round it
            return RoundedAmount(0.0, f"{symbol}'s lot step {self.step(symbol)!r} cannot round {amount:g}; take "
                                      "a fresh snapshot")
        if out <= 0:
            return RoundedAmount(0.0, f"under one lot of {_step_text(step)}")
        if lo and out < float(lo) - 1e-15:
            return RoundedAmount(0.0, f"{out} is under the minimum amount {lo}")
        return RoundedAmount(out, None)

    def _ccxt_amount(self, symbol: str, amount: float) -> float | str:
        """ccxt's own truncation, or why it refuses (under one lot)."""
        import ccxt

        hit = self._by_ccxt.get((symbol, amount))
        if hit is None:
            try:
                hit = ccxt_truncate(self._ex, symbol, _clean(abs(amount)))
            except ccxt.BaseError as exc:  # below one step: ccxt refuses with InvalidOrder
                hit = f"under one lot ({_short(exc)})"
            self._by_ccxt[(symbol, amount)] = hit
        return hit

    def price(self, symbol: str, price: float) -> float:
        from console.core.errors import UserError

        if not math.isfinite(price) or not _is_step(self.market(symbol).get("precision"), "price"):
            raise UserError(f"{symbol}: no tick (precision.price) in the snapshot to round the price {price:g} "
                            "to; take a fresh snapshot")
        try:
            return float(self._ex.price_to_precision(symbol, _clean(price)))
        except (ArithmeticError, ValueError, TypeError):
            raise UserError(f"{symbol}: its tick {self.market(symbol)['precision']['price']!r} cannot round the "
                            f"price {price:g}; take a fresh snapshot") from None

    def min_cost(self, symbol: str) -> float | None:
        v = (self._specs.get(symbol) or lot_spec(self._acct.markets, symbol)).min_cost
        return float(v) if v else None


class LotSpec(NamedTuple):
    """A market's lot fields as the venue lists them, read once per markets mapping."""

    step: Any  # precision.amount when ccxt can round with it (a finite positive number), else None
    min_amount: Any  # limits.amount.min
    min_cost: Any  # limits.cost.min


@by_identity()
def _lot_table(markets: Mapping[str, Any]) -> dict[str, LotSpec]:
    return {}  # filled by lot_spec


def lot_spec(markets: Mapping[str, Any], symbol: str) -> LotSpec:
    """``symbol``'s lot fields in an account's ``markets`` (KeyError when it is not listed). A
    plan sizes each candidate leg once on a snapshot that lives one pass, but a stream of
    snapshots hands on the same markets mapping while it is unchanged: kept per mapping (by its
    identity, see memo), as ``venuedata.market_facts`` keeps the rest of a market's facts."""
    table = _lot_table(markets)
    hit = table.get(symbol)
    if hit is None:
        m = markets.get(symbol)
        if m is None:
            raise KeyError(symbol)
        precision = m.get("precision")
        limits = m.get("limits") or {}
        hit = table[symbol] = LotSpec(precision["amount"] if _is_step(precision, "amount") else None,
                                      (limits.get("amount") or {}).get("min"),
                                      (limits.get("cost") or {}).get("min"))
    return hit


def _is_step(precision: Any, key: str) -> bool:
    """Whether ccxt can round with the market's ``precision[key]``: a finite positive number."""
    v = precision.get(key) if isinstance(precision, dict) else None
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


# ccxt's digit-counting modes (ccxt.base.decimal_to_precision), named here so that rounding
# an amount needs no ccxt call: its decimal_to_precision is the costly part of a plan
DECIMAL_PLACES = 2
TICK_SIZE = 4
_GRIDS: dict[tuple[type, float, int], _Grid | None] = {}


@dataclass(frozen=True)
class _Grid:
    """A lot grid: the exact decimal step, the same step as mantissa / scale (integers, scale a
    power of ten), and the nearest float."""

    step: Decimal
    mantissa: int
    scale: int  # 10^exponent
    near: float


def _grid(step: float, mode: int) -> _Grid | None:
    """The exact decimal an amount is truncated to a multiple of: the tick (TICK_SIZE) or
    10^-digits (DECIMAL_PLACES, whole digits only); None for what only ccxt rounds."""
    key = (type(step), step, mode)
    if key not in _GRIDS:
        if mode == TICK_SIZE:
            dec: Decimal | None = Decimal(str(step))  # ccxt's own reading of the tick
        elif mode == DECIMAL_PLACES and type(step) is int and 0 <= step <= 20:
            dec = Decimal(1).scaleb(-step)
        else:
            dec = None
        grid = None
        if dec is not None:
            t = dec.as_tuple()
            mantissa = int("".join(map(str, t.digits)))
            exp = int(t.exponent)
            grid = _Grid(dec, mantissa * 10 ** max(exp, 0), 10 ** max(-exp, 0), float(dec))
        if len(_GRIDS) > 4096:
            _GRIDS.clear()
        _GRIDS[key] = grid
    return _GRIDS[key]


# |amount / step in floats − the decimal ratio ccxt divides| is under ratio × 6e-12 (twelve
# significant digits of _clean, plus two float roundings): a float ratio this far from a whole
# number has the same whole part as the decimal one
_FLOOR_SLACK = 1e-10


def truncate_to_lot(amount: float, step: float, mode: int) -> float | None:
    """``amount`` (≥ 0) truncated to the venue's lot the way ccxt's ``amount_to_precision``
    truncates ``_clean(amount)`` (the same decimal arithmetic on the same decimal readings of
    the amount and the step, so the same result), 0.0 where ccxt would refuse an amount under
    one lot; None when the market counts precision in a way this does not cover (ccxt then
    rounds)."""
    grid = _grid(step, mode)
    if grid is None:
        return None
    # the result is k whole steps, k = floor(decimal amount / decimal step). A plan rounds a
    # thousand candidate legs, so k is read from the float ratio when that ratio is clear of a
    # whole number by more than its error, and the decimals are left for the rare rest. Then
    # k × mantissa / scale, divided as integers, is the float nearest the exact decimal k × step:
    # the one float() of ccxt's decimal gives.
    q = amount / grid.near
    if q < 1e12:
        k = int(q)
        slack = q * _FLOOR_SLACK + 1e-12
        if q - k > slack and k + 1 - q > slack:
            return k * grid.mantissa / grid.scale if k else 0.0
    # _clean's twelve significant digits, read as a decimal: the very value ccxt reads from
    # str(_clean(amount)), since no two such decimals share a float
    d = Decimal(f"{amount:.12g}")
    return float(d - d % grid.step)


def ccxt_truncate(ex: Any, symbol: str, amount: float) -> float:
    """ccxt's own ``amount_to_precision`` (raises its InvalidOrder under one lot): the reference
    the fast rounding is tested against, and the path for counting modes it does not cover."""
    return float(ex.amount_to_precision(symbol, amount))


def _step_text(step: float) -> str:
    text = format(Decimal(str(step)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _short(exc: Exception) -> str:
    s = str(exc)
    return s.split(" ", 1)[1] if s.startswith(("binance", "binanceusdm")) else s


_CACHE: dict[tuple[str, int], tuple[Any, Any]] = {}


def _exchange(acct: AccountState) -> Any:
    """One offline ccxt exchange object per (venue, markets) pair, kept while in use.

    The cache holds the markets mapping itself, so its id cannot be reused by another object.
    """
    key = (acct.exchange, id(acct.markets))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is acct.markets:
        return hit[1]
    import ccxt

    cls = getattr(ccxt, acct.exchange, None)
    if cls is None:
        from console.core.errors import UserError

        raise UserError(f"account {acct.name!r}: {acct.exchange!r} is not a ccxt exchange id; "
                        "use one of ccxt.exchanges, e.g. binance or binanceusdm")
    ex = cls({"enableRateLimit": False})
    ex.set_markets(list(acct.markets.values()))
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = (acct.markets, ex)
    return ex


def split(total: float, n: int, round_down: Callable[[float], float]) -> tuple[float, ...]:
    """The one slicing rule (builder, pre-trade checks and executor alike): ``n - 1``
    children of ``total / n`` rounded down to the lot by ``round_down``, and the last one
    taking what is left, so that the children add up to ``total`` exactly. ``()`` when a
    child would be under one lot."""
    if n <= 1:
        return (total,)
    each = round_down(total / n)
    last = float(f"{total - each * (n - 1):.12g}")  # float noise off: 0.3 - 0.1 * 2 is not 0.1
    if each <= 0 or last <= 0:
        return ()
    return (each,) * (n - 1) + (last,)
