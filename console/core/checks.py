"""Pre-trade checks: a ticket against the trader's limits, on the data it will be sent on.

``pretrade_checks`` is pure and cheap (no stress table, no network): the planner runs it when
it builds a preview, and the executor runs it again at send time on a fresh snapshot. An empty
list means every check passed; each failure says what is wrong and what to do, in words a
trader reads.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from console.core.allocation import contract_mark
from console.core.config import Config
from console.core.costs import walk_book
from console.core.lots import split
from console.core.risk import account_pools, pool_label
from console.core.snapshot import Snapshot
from console.core.ticket import OrderType, Ticket
from console.core.venuedata import ByAccount, of, of_account


class CheckCode(StrEnum):
    MAX_NOTIONAL = "max_notional"  # one order larger than limits.max_order_notional
    MIN_NOTIONAL = "min_notional"  # an opening order (or any slice) under limits.min_trade_notional or the venue's min cost
    MIN_AMOUNT = "min_amount"  # a slice of a sliced leg under the venue's minimum amount (its lot)
    LEVERAGE = "leverage"  # the account's effective leverage after the ticket > limits.max_leverage
    PRICE_COLLAR = "price_collar"  # a limit price (or a market order's expected fill) too far from mark
    MARGIN_RATIO = "margin_ratio"  # the account's margin ratio after the ticket > limits.max_margin_ratio
    DATA_AGE = "data_age"  # prices, positions or balances (or a book) older than limits.max_data_age_s
    NO_MARKET = "no_market"  # the account does not list the symbol
    NO_PRICE = "no_price"  # no mark price to check against
    THIN_BOOK = "thin_book"  # a market order larger than every level the book lists
    EMPTY = "empty"  # a ticket without legs


@dataclass(frozen=True)
class CheckFailure:
    code: str  # a CheckCode value
    message: str  # one sentence: what is wrong, and what to do
    leg: int | None = None  # index into ticket.legs, or None for a ticket/account-level failure
    account: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "leg": self.leg, "account": self.account}


AGE_PARTS = ("tickers", "positions", "balance")


def pretrade_checks(config: Config, snapshot: Snapshot, ticket: Ticket, now_ms: int,
                    books: ByAccount | None = None, *,
                    tiers: ByAccount | None = None) -> list[CheckFailure]:
    """Every limit of ``config.limits`` against ``ticket`` on ``snapshot`` at ``now_ms``.

    ``books`` maps account → symbol → ccxt order book (optional: with one, a market order's
    expected fill is collared too, and an old book fails the data-age check); ``tiers`` maps
    account → symbol → ccxt leverage tiers (absent: the labelled Binance fallback). Each leg
    and pool reads its own account's.
    """
    lim = config.limits
    out: list[CheckFailure] = []
    if not ticket.legs:
        return [CheckFailure(CheckCode.EMPTY, "the ticket has no legs; nothing to send")]
    max_age_ms = lim.max_data_age_s * 1000

    for acct_name in ticket.accounts:
        acct = snapshot.accounts.get(acct_name)
        if acct is None:
            out.append(CheckFailure(CheckCode.NO_MARKET, f"account {acct_name!r} is not in the snapshot; "
                                    "take a fresh snapshot", None, acct_name))
            continue
        for part in AGE_PARTS:
            age = acct.age_ms(part, now_ms)
            if age is None:
                out.append(CheckFailure(CheckCode.DATA_AGE, f"{acct_name}: {part} were never fetched; refresh "
                                        "before sending", None, acct_name))
            elif age > max_age_ms:
                out.append(CheckFailure(CheckCode.DATA_AGE, f"{acct_name}: {part} are {age / 1000:.0f} s old, "
                                        f"over the {lim.max_data_age_s:g} s limit; refresh before sending",
                                        None, acct_name))

    for i, tl in enumerate(ticket.legs):
        leg = tl.leg
        acct = snapshot.accounts.get(leg.account)
        if acct is None:
            continue
        m = acct.markets.get(leg.symbol)
        if m is None:
            out.append(CheckFailure(CheckCode.NO_MARKET, f"{leg.account} does not list {leg.symbol}; pick "
                                    "another instrument or account", i, leg.account))
            continue
        notional = leg.notional
        n_orders = max(tl.style.slices, 1)
        # the limit is per order: a sliced leg goes out as n child orders, each rounded down to
        # the lot and the last taking the remainder (as the executor cuts them)
        largest = notional
        if n_orders > 1 and leg.contracts > 0:
            step = _lot(m)
            parts = split(leg.contracts, n_orders, functools.partial(_floor_to_lot, step=step))
            largest = max(parts or (leg.contracts,)) / leg.contracts * notional
        if largest > lim.max_order_notional:
            what = (f"is {notional:,.2f}" if n_orders == 1 else
                    f"sends orders of up to {largest:,.2f} ({n_orders} slices of {notional:,.2f})")
            out.append(CheckFailure(CheckCode.MAX_NOTIONAL, f"leg {i + 1} ({leg.side} {leg.symbol}) {what}, "
                                    f"over the {lim.max_order_notional:,.2f} per-order limit; "
                                    "slice it (more) or raise limits.max_order_notional", i, leg.account))
        if not leg.reduce_only and notional < lim.min_trade_notional:
            out.append(CheckFailure(CheckCode.MIN_NOTIONAL, f"leg {i + 1} ({leg.side} {leg.symbol}) is "
                                    f"{notional:,.2f}, under the {lim.min_trade_notional:,.2f} minimum trade; "
                                    "not worth an order", i, leg.account))
        # The venue's minimums per child order. A whole reduce-only close may be small (it
        # only closes what is open), but a sliced leg, reduce-only or not, is cut by the
        # trader's choice into orders the venue would refuse: say how many slices fit.
        sliced = n_orders > 1
        min_cost = ((m.get("limits") or {}).get("cost") or {}).get("min")
        per_slice = notional / n_orders
        if (not leg.reduce_only or sliced) and min_cost and per_slice < float(min_cost):
            fix = ("use fewer slices" if not sliced else
                   f"use at most {max(1, math.floor(notional / float(min_cost)))} slices" if notional >= float(min_cost)
                   else "the whole leg is under it: trade more or drop the leg")
            out.append(CheckFailure(CheckCode.MIN_NOTIONAL, f"leg {i + 1}: each order is {per_slice:,.2f}, "
                                    f"under {leg.symbol}'s venue minimum {float(min_cost):,.2f}; the venue "
                                    f"would reject it ({fix})", i, leg.account))
        min_amount = _min_amount(m)
        if sliced and min_amount > 0 and leg.contracts / n_orders < min_amount * (1 - 1e-9):
            most = math.floor(leg.contracts / min_amount + 1e-9)
            fix = (f"use at most {most} slices" if most >= 1 else "the whole leg is under it: trade more or drop the leg")
            out.append(CheckFailure(CheckCode.MIN_AMOUNT, f"leg {i + 1}: {n_orders} slices of {leg.contracts:g} are "
                                    f"{_small(leg.contracts / n_orders)} each, under the minimum amount "
                                    f"{min_amount:g}: {fix}", i, leg.account))
        mark = contract_mark(snapshot, leg.account, leg.symbol)
        if not mark:
            out.append(CheckFailure(CheckCode.NO_PRICE, f"no mark price for {leg.symbol} on {leg.account}; "
                                    "refresh tickers", i, leg.account))
            continue
        if tl.style.type is not OrderType.MARKET and tl.limit_price is not None:
            off = (tl.limit_price - mark) / mark
            if abs(off) > lim.price_collar:
                out.append(CheckFailure(CheckCode.PRICE_COLLAR, f"leg {i + 1}: limit {tl.limit_price:,.6g} is "
                                        f"{off * 100:+.2f}% from mark {mark:,.6g}, outside the "
                                        f"±{lim.price_collar * 100:g}% collar", i, leg.account))
        book = of(books, leg.account, leg.symbol)
        if book:
            ts = book.get("timestamp")
            if ts and now_ms - int(ts) > max_age_ms:
                out.append(CheckFailure(CheckCode.DATA_AGE, f"the {leg.symbol} book is {(now_ms - int(ts)) / 1000:.0f} s "
                                        f"old, over the {lim.max_data_age_s:g} s limit; refresh it", i, leg.account))
            if tl.style.type is OrderType.MARKET:
                w = walk_book(book, leg.side, leg.contracts)
                if w.vwap is not None:
                    off = (w.vwap - mark) / mark
                    if abs(off) > lim.price_collar:
                        out.append(CheckFailure(CheckCode.PRICE_COLLAR, f"leg {i + 1}: a market order would fill "
                                                f"near {w.vwap:,.6g}, {off * 100:+.2f}% from mark, outside the "
                                                f"±{lim.price_collar * 100:g}% collar; use a limit or slice it",
                                                i, leg.account))
                if w.thin:
                    out.append(CheckFailure(CheckCode.THIN_BOOK, f"leg {i + 1}: the {leg.symbol} book lists only "
                                            f"{w.filled:g} of {w.wanted:g} contracts; a market order would sweep "
                                            "past the levels shown", i, leg.account))

    legs = [tl.leg for tl in ticket.legs]
    for acct_name in ticket.accounts:
        if acct_name not in snapshot.accounts:
            continue
        # every margin pool the ticket touches (linear, and one per COIN-M coin) is checked on
        # its own: a coin pool's figures are coin and its margin cannot cover the other's
        pools = account_pools(snapshot, acct_name, legs, quote=config.portfolio.quote,
                              default_leverage=lim.max_leverage)
        for pool in pools:
            own = of_account(tiers, acct_name)
            r = pool.evaluate(own, after=True, liquidation=False)
            before = pool.evaluate(own, after=False, liquidation=False)
            who = pool_label(acct_name, pool.settle, len(pools) > 1)
            unit = pool.settle if pool.inverse else None
            grows = r.gross_notional > before.gross_notional + 1e-9
            if grows and r.leverage > lim.max_leverage:
                out.append(CheckFailure(CheckCode.LEVERAGE, f"{who}: effective leverage after the ticket is "
                                        f"{_x(r.leverage)} ({_amt(r.gross_notional, 0, unit)} of contracts on "
                                        f"{_amt(r.margin_balance, 0, unit)} margin), over the {lim.max_leverage:g}x limit; "
                                        "add margin or trade less", None, acct_name))
            if grows and r.margin_ratio > lim.max_margin_ratio:
                out.append(CheckFailure(CheckCode.MARGIN_RATIO, f"{who}: margin ratio after the ticket would be "
                                        f"{_pct(r.margin_ratio)} (maintenance {_amt(r.maintenance, 2, unit)} / balance "
                                        f"{_amt(r.margin_balance, 2, unit)}), over the {lim.max_margin_ratio * 100:g}% limit",
                                        None, acct_name))
    return out


def _lot(market: Mapping[str, Any]) -> float:
    """The amount step (contracts) of a market with a decimal precision, 0 when unknown."""
    step = (market.get("precision") or {}).get("amount")
    try:
        v = float(step)
    except (TypeError, ValueError):
        return 0.0
    return v if 0 < v <= 1 else 0.0  # a step (ccxt TICK_SIZE mode), not a count of decimals


def _min_amount(market: Mapping[str, Any]) -> float:
    """The smallest order the venue takes, in contracts: its amount minimum or its lot,
    whichever is larger (ccxt refuses an amount that rounds to nothing)."""
    try:
        lo = float(((market.get("limits") or {}).get("amount") or {}).get("min") or 0.0)
    except (TypeError, ValueError):
        lo = 0.0
    return max(lo, _lot(market))


def _small(x: float) -> str:
    """A possibly tiny amount in plain decimals with two significant digits (5.6e-09 reads
    as 0.0000000056): a trader compares it with the minimum by eye."""
    if x <= 0 or x >= 1:
        return f"{x:g}"
    return f"{x:.{max(0, -math.floor(math.log10(x)) + 1)}f}"


def _amt(x: float, places: int, coin: str | None) -> str:
    """A pool amount: quote money to ``places`` decimals, or coin (a COIN-M pool) with its unit,
    where 0 decimals would round 0.83 BTC to 1."""
    return f"{x:,.6g} {coin}" if coin else f"{x:,.{places}f}"


def _x(v: float) -> str:
    return "∞" if v == float("inf") else f"{v:.2f}x"


def _pct(v: float) -> str:
    return "∞ (no margin left)" if v == float("inf") else f"{v * 100:.2f}%"


def _floor_to_lot(x: float, step: float) -> float:
    """``x`` rounded down to the lot ``step`` (ccxt's TRUNCATE in TICK_SIZE mode), as the
    executor will cut a slice; ``x`` itself where the market gives no step."""
    return math.floor(x / step + 1e-9) * step if step > 0 else x
