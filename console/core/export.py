"""CSV exports of what the console shows: the allocation, the tickets and the overlay P&L.

Pure: each function returns the CSV text; the app writes it (``console.app.export``).
Numbers are written as a person and a spreadsheet read them, in plain decimals (no exponent,
no thousands separators, never -0): money in full to 1e-8; weights, bands, drifts and other
fractions to 10 significant digits, a float's noise under 1e-12 read as 0 (0.05 + 0.12 reads
0.17); coin amounts and prices to 12 significant digits (0.1 + 0.2 contracts reads 0.3).
Times are ISO 8601 UTC, an unknown figure (None, NaN, ±∞) an empty cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from console.core.allocation import Allocation
from console.core.numbers import plain
from console.core.pnl import PnlReport
from console.core.ticket import Ticket

KINDS = ("allocation", "tickets", "pnl")


def iso(ms: int | None) -> str:
    return "" if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def _fraction(x: float) -> str:
    # 10 significant digits show any weight a trader sets; a difference of two weights
    # carries ~1e-17 of float noise, which 10 significant digits alone would keep
    return plain(round(x, 12), 10)


def _money(x: float) -> str:
    # in full, not to the cent: a fill's fee or a funding payment carries fractions of a cent
    # that a statement reconciles to (15.75875 USDT of fees); rounded to 1e-8, the float noise
    # of a sum goes (16999.999999999996 reads 17000)
    return plain(round(x, 8), 15)


def _amount(x: float) -> str:
    return plain(x, 12)  # coin amounts and prices: finer than any venue's lot or tick


Format = Callable[[float], str]
MONEY: Format = _money
FRACTION: Format = _fraction
AMOUNT: Format = _amount


def _cell(v: object, fmt: Format | None) -> object:
    if v is None:
        return ""
    if isinstance(v, float) and not math.isfinite(v):
        return ""  # never NaN or inf in a file a spreadsheet reads
    if fmt is not None and isinstance(v, int | float) and not isinstance(v, bool):
        return fmt(v)
    return v


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]],
             formats: Mapping[str, Format] | None = None) -> str:
    """``formats``: column name -> how its figures are written (other columns as they are)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    fmts = [(formats or {}).get(h) for h in header]
    for r in rows:
        w.writerow([_cell(v, f) for v, f in zip(r, fmts, strict=True)])
    return out.getvalue()


def allocation_csv(alloc: Allocation) -> str:
    """One row per sleeve: weights as fractions of NAV, money in the quote currency."""
    header = ("as_of", "sleeve", "quote", "spot_value", "futures_notional", "net", "weight", "target",
              "band_lo", "band_hi", "drift", "status", "to_target")
    rows = [(iso(alloc.timestamp), r.name, alloc.quote, r.spot_value, r.futures_notional, r.net, r.weight, r.target,
             r.band_lo, r.band_hi, r.drift, r.status.value, r.delta_target) for r in alloc.rows]
    rows.append((iso(alloc.timestamp), "NAV", alloc.quote, None, None, alloc.nav, 1.0, None, None, None, None, "",
                 None))
    return csv_text(header, rows, {**dict.fromkeys(("spot_value", "futures_notional", "net", "to_target"), MONEY),
                                   **dict.fromkeys(("weight", "target", "band_lo", "band_hi", "drift"), FRACTION)})


@dataclass(frozen=True)
class TicketLine:
    """A journal ticket as the export needs it (the journal's row, without its I/O types)."""

    id: str
    created_ms: int
    state: str
    ticket: Ticket


def tickets_csv(tickets: Iterable[TicketLine]) -> str:
    """One row per leg; ``leg`` is the journal's leg index (as `rebal-tui journal show`)."""
    header = ("ticket", "created", "state", "kind", "leg", "account", "symbol", "side", "contracts", "order_type",
              "limit_price", "mark", "notional", "reduce_only", "purpose")
    rows = []
    for t in tickets:
        for i, tl in enumerate(t.ticket.legs):
            leg = tl.leg
            rows.append((t.id, iso(t.created_ms), t.state, t.ticket.kind.value, i, leg.account, leg.symbol, leg.side,
                         leg.contracts, tl.order_type, tl.limit_price, leg.price, leg.notional,
                         str(leg.reduce_only).lower(), leg.purpose))
    return csv_text(header, rows, {**dict.fromkeys(("contracts", "limit_price", "mark"), AMOUNT), "notional": MONEY})


def pnl_csv(report: PnlReport) -> str:
    """Per position (``row = position``), then per sleeve (``row = sleeve``), then the totals."""
    header = ("row", "account", "symbol_or_sleeve", "contracts", "entry", "mark", "unrealised", "realised",
              "funding", "fees", "net", "spot_pnl", "offset", "since", "opened")
    rows: list[tuple[object, ...]] = []
    for p in report.positions:
        rows.append(("position", p.account, p.symbol, p.contracts, p.entry, p.mark, p.upnl, p.realised, p.funding,
                     p.fees, p.net, None, None, iso(p.since_ms), iso(p.opened_ms)))
    for h in report.sleeves:
        rows.append(("sleeve", "", h.sleeve, None, None, None, None, None, None, None, h.overlay, h.spot, h.offset,
                     iso(h.since_ms), ""))
    t = report.totals
    rows.append(("total", "", report.quote, None, None, None, t.upnl, t.realised, t.funding, t.fees, t.net, None,
                 None, iso(report.history_start_ms), ""))
    return csv_text(header, rows, {**dict.fromkeys(("contracts", "entry", "mark"), AMOUNT), "offset": FRACTION,
                                   **dict.fromkeys(("unrealised", "realised", "funding", "fees", "net", "spot_pnl"),
                                                   MONEY)})
