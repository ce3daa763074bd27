"""The overlay's P&L: per futures position and per sleeve, from the venue's own records.

Pure functions over plain data: the venue layer fetches trades (``fetch_my_trades``) and
funding payments (``fetch_funding_history``), the P&L store keeps them, and this module turns
them into figures. The formulas (README, "Overlay P&L"):

- unrealised, linear: side × contracts × contractSize × (mark − entry), in the quote currency;
- unrealised, inverse: side × contracts × contractSize × (1/entry − 1/mark), in the coin,
  valued at the coin's price;
- realised: each fill that reduces the position realises the same formula with the fill's
  price as the mark and the average entry of the position it reduces (average cost: a fill
  that grows the position moves the entry to the quantity-weighted mean of prices, or for an
  inverse contract the harmonic mean, which keeps 1/entry linear);
- funding: the sum of the venue's funding payments (positive = received);
- fees: the sum of the fills' fee costs (positive = paid).

"Since it was opened": the last fill that took the position from flat (or through zero) to
its present side. A position older than the trades the store holds is measured from the
store's history start instead, with its average entry then recovered by undoing the fills
since (each fill's average-cost update is invertible).

Hedge effectiveness per sleeve: over the same period, the overlay's P&L beside the P&L of
the spot it offsets (quantity held now × price move since the period start). ``offset`` is
the share of the spot move the overlay took back: 100 % is a perfect hedge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from console.core.allocation import Allocation, PositionLine

EPS = 1e-12


@dataclass(frozen=True)
class Fill:
    """One of the account's trades on a contract, as ccxt's ``fetch_my_trades`` gives it."""

    id: str
    ts: int  # epoch ms
    side: str  # "buy" | "sell"
    contracts: float  # unsigned
    price: float
    fee: float  # cost of the fee (positive = paid)
    fee_currency: str

    @property
    def signed(self) -> float:
        return self.contracts if self.side == "buy" else -self.contracts


@dataclass(frozen=True)
class FundingPayment:
    """One funding payment, as ccxt's ``fetch_funding_history`` gives it (positive = received)."""

    id: str
    ts: int
    amount: float
    currency: str


@dataclass(frozen=True)
class PositionPnL:
    account: str
    symbol: str
    sleeve: str
    contracts: float  # signed: negative is short
    entry: float | None  # average entry (the venue's, else recovered from the fills)
    mark: float
    upnl: float | None  # in the quote currency
    realised: float | None  # since opened, in the quote currency (None: unknowable, see notes)
    funding: float  # since opened (positive = received)
    fees: float  # since opened (positive = paid)
    opened_ms: int | None  # the fill that opened it; None: before the history start
    since_ms: int  # the period these figures cover starts here
    upnl_at_start: float = 0.0  # a position older than the history: its uPnL at the history start

    @property
    def net(self) -> float | None:
        """What the position made since it was opened: uPnL + realised + funding − fees."""
        if self.upnl is None or self.realised is None:
            return None
        return self.upnl + self.realised + self.funding - self.fees

    @property
    def period_pnl(self) -> float | None:
        """What it made over its period (``since_ms`` on): as ``net`` for a position opened
        within the history; for an older one its uPnL is counted from the history start."""
        n = self.net
        return None if n is None else n - self.upnl_at_start


@dataclass(frozen=True)
class SleeveHedge:
    sleeve: str
    since_ms: int
    overlay: float | None  # the overlay's P&L over the period
    spot: float | None  # the spot P&L it offsets over the same period
    note: str = ""

    @property
    def offset(self) -> float | None:
        """The share of the spot move the overlay took back (1.0 = all of it)."""
        if self.overlay is None or self.spot is None or abs(self.spot) < 1e-9:
            return None
        return -self.overlay / self.spot


@dataclass(frozen=True)
class PnlTotals:
    upnl: float
    realised: float
    funding: float
    fees: float

    @property
    def net(self) -> float:
        return self.upnl + self.realised + self.funding - self.fees


@dataclass(frozen=True)
class PnlSample:
    """One point of the NAV and P&L history (sampled on each P&L refresh)."""

    ts: int
    nav: float
    upnl: float
    realised: float
    funding: float
    fees: float

    @property
    def overlay(self) -> float:
        return self.upnl + self.realised + self.funding - self.fees


@dataclass(frozen=True)
class PnlReport:
    at_ms: int
    history_start_ms: int
    quote: str
    positions: tuple[PositionPnL, ...]
    sleeves: tuple[SleeveHedge, ...]
    totals: PnlTotals
    notes: tuple[str, ...] = ()


# ------------------------------------------------------------------------------- formulas


def linear_upnl(contracts: float, contract_size: float, entry: float, mark: float) -> float:
    """side × |contracts| × contractSize × (mark − entry), in the quote currency."""
    return contracts * contract_size * (mark - entry)


def inverse_upnl_coin(contracts: float, contract_size: float, entry: float, mark: float) -> float:
    """side × |contracts| × contractSize × (1/entry − 1/mark), in the coin."""
    return contracts * contract_size * (1.0 / entry - 1.0 / mark)


def _pnl(contracts: float, cs: float, entry: float, price: float, linear: bool) -> float:
    """P&L of ``contracts`` (signed) from ``entry`` to ``price``: quote (linear) or coin (inverse)."""
    return linear_upnl(contracts, cs, entry, price) if linear else inverse_upnl_coin(contracts, cs, entry, price)


def _grown_entry(held: float, entry: float, added: float, price: float, linear: bool) -> float:
    """Average entry after adding ``added`` contracts at ``price`` to ``held`` at ``entry`` (unsigned)."""
    if linear:
        return (held * entry + added * price) / (held + added)
    return (held + added) / (held / entry + added / price)


def _shrunk_entry(after: float, entry_after: float, added: float, price: float, linear: bool) -> float | None:
    """Undo ``_grown_entry``: the entry before ``added`` at ``price`` made ``after`` at ``entry_after``."""
    before = after - added
    if before <= EPS:
        return None
    if linear:
        e = (after * entry_after - added * price) / before
    else:
        inv = after / entry_after - added / price
        e = before / inv if inv > 0 else math.nan
    return e if math.isfinite(e) and e > 0 else None


def _sign(x: float) -> int:
    return 1 if x > EPS else -1 if x < -EPS else 0


@dataclass(frozen=True)
class _Start:
    index: int  # first fill of the period
    contracts: float  # signed position just before ``index`` counts (the opening part excluded)
    entry: float | None
    opened_ms: int | None
    opening_share: float  # share of fill ``index`` that opened the position (1 = all of it)


def _period_start(fills: Sequence[Fill], contracts_now: float, entry_now: float | None, linear: bool) -> _Start:
    """Walk back from the position now to the fill that opened it (see the module doc)."""
    pos, entry = contracts_now, entry_now
    for i in range(len(fills) - 1, -1, -1):
        f = fills[i]
        before = pos - f.signed
        if _sign(before) != _sign(pos):  # flat before, or on the other side: opened here
            share = abs(pos) / f.contracts if f.contracts else 1.0
            return _Start(i, 0.0, None, f.ts, min(1.0, share))
        if abs(before) < abs(pos) and entry is not None:  # it grew the position: undo the average
            entry = _shrunk_entry(abs(pos), entry, f.contracts, f.price, linear)
        pos = before  # a fill that reduced it left the entry as it was
    return _Start(0, pos, entry, None, 1.0)


def _venue_entry(line: PositionLine) -> float | None:
    """The venue's average entry; a 0 (some venues' "none") is unknown, never divided by."""
    e = line.entry_price
    return e if e is not None and e > 0 else None


def position_pnl(line: PositionLine, fills: Sequence[Fill], funding: Iterable[FundingPayment],
                 history_start_ms: int, prices: Mapping[str, float], *, settle: str, quote: str,
                 mark_at_start: float | None = None) -> PositionPnL:
    """One open position's figures since it was opened. ``fills`` and ``funding``: the
    position's symbol on its account, from the history start on, any order (sorted here).
    ``prices``: asset -> quote price (a coin-settled figure is valued with it). ``mark_at_start``:
    the contract's mark at the history start, for a position older than the history."""
    fills = sorted(fills, key=lambda f: (f.ts, f.id))
    linear = line.linear
    cs = line.contract_size
    coin_px = 1.0 if settle == quote else prices.get(settle)

    def to_quote(x: float, ccy: str) -> float | None:
        if ccy == quote:
            return x
        px = prices.get(ccy)
        return None if px is None else x * px

    venue_entry = _venue_entry(line)
    start = _period_start(fills, line.contracts, venue_entry, linear)
    # forward from the period start: average cost, realised on every reduction
    pos, entry = start.contracts, start.entry
    realised_coin: float | None = 0.0
    fees = 0.0
    for i in range(start.index, len(fills)):
        f = fills[i]
        share = start.opening_share if i == start.index and start.opened_ms is not None else 1.0
        q = f.signed * share
        fee = to_quote(f.fee * share, f.fee_currency) if f.fee else 0.0
        fees += fee or 0.0  # a fee in a currency nobody prices: left out (``unpriced_fees`` names it)
        if _sign(pos) == 0 or _sign(pos) == _sign(q):  # opens or grows
            entry = f.price if _sign(pos) == 0 or entry is None else _grown_entry(abs(pos), entry, abs(q), f.price, linear)
        else:  # reduces (a flip would have been the opening fill)
            if entry is None:
                realised_coin = None
            elif realised_coin is not None:
                realised_coin += _pnl(-q, cs, entry, f.price, linear)
        pos += q
    entry_shown = venue_entry if venue_entry is not None else entry
    since = start.opened_ms if start.opened_ms is not None else history_start_ms
    paid = [p for p in funding if p.ts >= since]
    funding_q = 0.0
    for p in paid:
        v = to_quote(p.amount, p.currency)
        if v is not None:
            funding_q += v
    upnl: float | None = None
    upnl_start = 0.0
    if entry_shown is not None and line.mark and coin_px is not None:
        upnl = _pnl(line.contracts, cs, entry_shown, line.mark, linear) * (1.0 if linear else coin_px)
        if start.opened_ms is None and start.contracts and start.entry is not None and mark_at_start:
            upnl_start = _pnl(start.contracts, cs, start.entry, mark_at_start, linear) * (1.0 if linear else coin_px)
    realised = None if realised_coin is None or coin_px is None else realised_coin * (1.0 if linear else coin_px)
    return PositionPnL(line.account, line.symbol, line.sleeve, line.contracts, entry_shown, line.mark,
                       upnl, realised, funding_q, fees, start.opened_ms, since, upnl_start)


def unpriced_fees(fills: Iterable[Fill], prices: Mapping[str, float], quote: str) -> set[str]:
    """Fee currencies the figures leave out because nothing prices them (for the report's notes)."""
    return {f.fee_currency for f in fills if f.fee and f.fee_currency != quote and f.fee_currency not in prices}


def position_since(line: PositionLine, fills: Sequence[Fill], history_start_ms: int) -> int | None:
    """When the position was opened (its last opening fill), or None when it is older than
    the fills held: its period then starts at the history start, and its uPnL there needs
    the contract's mark at that time."""
    fills = sorted(fills, key=lambda f: (f.ts, f.id))
    return _period_start(fills, line.contracts, _venue_entry(line), line.linear).opened_ms


def sleeve_starts(lines: Iterable[PositionLine], fills: Mapping[tuple[str, str], Sequence[Fill]],
                  history_start_ms: int) -> dict[str, int]:
    """Each sleeve's period start (as ``sleeve_periods``), before any P&L is computed: the
    start prices to fetch."""
    out: dict[str, int] = {}
    for p in lines:
        opened = position_since(p, fills.get((p.account, p.symbol), ()), history_start_ms)
        since = history_start_ms if opened is None else opened
        out[p.sleeve] = min(out.get(p.sleeve, since), since)
    return out


def sleeve_periods(positions: Iterable[PositionPnL]) -> dict[str, int]:
    """Each sleeve's period: from the earliest start of its positions' periods."""
    out: dict[str, int] = {}
    for p in positions:
        out[p.sleeve] = min(out.get(p.sleeve, p.since_ms), p.since_ms)
    return out


def sleeve_hedges(alloc: Allocation, positions: Sequence[PositionPnL],
                  start_prices: Mapping[tuple[str, int], float]) -> tuple[SleeveHedge, ...]:
    """Per sleeve with an overlay: its P&L beside the spot P&L over the same period.
    ``start_prices``: (asset, period start ms) -> the asset's spot price then."""
    out: list[SleeveHedge] = []
    for sleeve, since in sleeve_periods(positions).items():
        mine = [p for p in positions if p.sleeve == sleeve]
        legs = [p.period_pnl for p in mine]
        overlay = None if any(v is None for v in legs) else sum(v for v in legs if v is not None)
        try:
            row = alloc.row(sleeve)
        except KeyError:
            out.append(SleeveHedge(sleeve, since, overlay, None, "no such sleeve in the allocation"))
            continue
        spot = 0.0
        missing: list[str] = []
        for a in row.assets:
            if not a.spot_qty:
                continue
            then, now = start_prices.get((a.asset, since)), alloc.prices.get(a.asset)
            if then is None or now is None:
                missing.append(a.asset)
                continue
            spot += a.spot_qty * (now - then)
        if missing:
            out.append(SleeveHedge(sleeve, since, overlay, None, f"no price at the period start for {', '.join(missing)}"))
        else:
            out.append(SleeveHedge(sleeve, since, overlay, spot))
    return tuple(sorted(out, key=lambda h: h.sleeve))


def totals(positions: Iterable[PositionPnL]) -> PnlTotals:
    ps = list(positions)
    return PnlTotals(upnl=sum(p.upnl or 0.0 for p in ps), realised=sum(p.realised or 0.0 for p in ps),
                     funding=sum(p.funding for p in ps), fees=sum(p.fees for p in ps))


# ------------------------------------------------------------------- reading ccxt's answers


class BadRecord(ValueError):
    """A trade or funding row the venue sent that cannot be read (named field, kept out)."""


def _num(row: Mapping[str, Any], key: str, what: str) -> float:
    try:
        v = float(row[key])
    except (KeyError, TypeError, ValueError):
        raise BadRecord(f"{what}: field {key!r} is missing or not a number ({row.get(key)!r})") from None
    if not math.isfinite(v):
        raise BadRecord(f"{what}: field {key!r} is not a finite number ({v!r})")
    return v


def fill_from_ccxt(t: Mapping[str, Any]) -> Fill:
    """A ccxt unified trade -> Fill; raises BadRecord naming the field it could not read."""
    what = f"trade {t.get('id')!r} on {t.get('symbol')!r}"
    if t.get("id") is None:
        raise BadRecord(f"{what}: field 'id' is missing")
    side = t.get("side")
    if side not in ("buy", "sell"):
        raise BadRecord(f"{what}: field 'side' is {side!r}, expected 'buy' or 'sell'")
    amount, price, ts = _num(t, "amount", what), _num(t, "price", what), _num(t, "timestamp", what)
    if amount <= 0 or price <= 0:
        raise BadRecord(f"{what}: amount and price must be positive ({amount}, {price})")
    fee = t.get("fee") or {}
    cost = 0.0 if fee.get("cost") is None else _num(fee, "cost", what + " fee")
    return Fill(str(t["id"]), int(ts), str(side), amount, price, cost, str(fee.get("currency") or ""))


def funding_from_ccxt(f: Mapping[str, Any]) -> FundingPayment:
    """A ccxt funding-history row -> FundingPayment; raises BadRecord naming the field."""
    what = f"funding payment {f.get('id')!r} on {f.get('symbol')!r}"
    ts = _num(f, "timestamp", what)
    amount = _num(f, "amount", what)
    ident = f.get("id")
    if ident is None:
        ident = f"{int(ts)}"
    return FundingPayment(str(ident), int(ts), amount, str(f.get("code") or ""))


Key = tuple[str, str]  # (account, symbol)


def open_lines(alloc: Allocation) -> list[PositionLine]:
    """Every futures position the allocation counts, in its rows' order."""
    return [p for r in alloc.rows for p in r.positions]


def build_report(alloc: Allocation, fills: Mapping[Key, Sequence[Fill]], funding: Mapping[Key, Sequence[FundingPayment]],
                 history_start_ms: int, start_marks: Mapping[Key, float],
                 start_prices: Mapping[tuple[str, int], float], now_ms: int,
                 notes: Iterable[str] = ()) -> PnlReport:
    """The whole report from what the store holds: every open position, each sleeve's
    hedge comparison, the totals. A linear contract settles in the quote, an inverse one in
    its base coin."""
    quote = alloc.quote
    rows: list[PositionPnL] = []
    out_notes = list(notes)
    unpriced: set[str] = set()
    for line in open_lines(alloc):
        key = (line.account, line.symbol)
        f = fills.get(key, ())
        unpriced |= unpriced_fees(f, alloc.prices, quote)
        rows.append(position_pnl(line, f, funding.get(key, ()), history_start_ms, alloc.prices,
                                 settle=quote if line.linear else line.asset, quote=quote,
                                 mark_at_start=start_marks.get(key)))
    if unpriced:
        out_notes.append(f"fees paid in {', '.join(sorted(unpriced))} are left out: nothing prices them in {quote}")
    if any(p.realised is None for p in rows):
        out_notes.append("realised P&L unknown where a position is older than the history and the venue "
                         "gives no entry price")
    return PnlReport(now_ms, history_start_ms, quote, tuple(rows), sleeve_hedges(alloc, rows, start_prices),
                     totals(rows), tuple(out_notes))
