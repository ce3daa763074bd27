"""Quarter-end rebalancing flows of multi-asset funds that hold some crypto (pure core).

A fund holding, say, 58 % equities, 40 % bonds and 2 % BTC trades back to those targets at
each calendar quarter end (``rule = "calendar"``) or whenever a sleeve drifts past a threshold
(``rule = "threshold"``). Between rebalances its weights drift with each sleeve's return r_i
since the last rebalance (DOMAIN worked example 4)::

    growth      g    = Σ_j w_j (1 + r_j)               (the fund's return is g − 1)
    weight now  w_i' = w_i (1 + r_i) / g
    AUM now     A    = aum_at_rebalance × g
    flow        F_i  = (w_i' − w_i) × A                (money; positive = the fund must SELL)
    coins            = F_i / price_i now               (crypto sleeves)

**AUM basis.** ``aum_at_rebalance`` is the fund's net assets on ``last_rebalance``, just after
it traded to its targets; the AUM used for flows is that value grown by the portfolio return
(A above). Creations and redemptions since then are ignored (assumed invested pro rata, so
they do not move weights). With this basis F_i is simply "what the sleeve holds now minus
what the target says it should hold": w_i (1 + r_i) × aum_at_rebalance − w_i × A.

Threshold-rule funds trade only when some sleeve's drift passes their threshold (absolute
in weight units and/or relative to the target); otherwise their flow is 0 and the flow they
*would* trade is reported separately as held back.

No Textual, no ccxt, no I/O here: :mod:`console.core.flows_data` loads the inputs.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from console.core.config import ConfigModel
from console.core.errors import UserError
from console.core.nyse import QuarterWindow, quarter_end_window

CASH = "CASH"  # a sleeve that earns 0 (money-market, T-bills at this horizon)
SERIES_NAMES = {
    "SPX": "S&P 500 (equities)",
    "AGG": "US aggregate bond index (bonds)",
    CASH: "cash (earns 0)",
    "BTC": "Bitcoin",
    "ETH": "Ether",
}
MAX_STALE_DAYS = 7  # a level more than this before the date asked for is too old to use
NO_FLOW = 0.005  # |flow| below half a cent prints as "no flow"

SLEEVE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class Rule(StrEnum):
    CALENDAR = "calendar"  # rebalances at each calendar quarter end
    THRESHOLD = "threshold"  # rebalances when a sleeve's drift passes the threshold


class Fund(ConfigModel):
    """One tracked fund. ``targets`` maps sleeve -> target weight (fractions adding up to 1).

    A sleeve is a crypto asset listed in ``[basket] crypto`` (priced from the venue), ``CASH``
    (earns 0), or an index series named like a column of the index-level CSV (``SPX`` for
    equities, ``AGG`` for bonds).
    """

    name: Annotated[str, Field(min_length=1)]
    aum_at_rebalance: Annotated[float, Field(gt=0)]  # net assets ON last_rebalance; see module doc
    last_rebalance: dt.date
    rule: Rule = Rule.CALENDAR
    threshold_abs: Annotated[float, Field(gt=0, le=1)] | None = None  # ±pp as a fraction (0.05 = 5 pp)
    threshold_rel: Annotated[float, Field(gt=0, le=10)] | None = None  # fraction of the target
    targets: dict[str, Annotated[float, Field(ge=0, le=1)]]

    @model_validator(mode="before")
    @classmethod
    def _aum_is_explicit(cls, data: object) -> object:
        # "aum" alone is ambiguous (today's? at the rebalance?); make the basis explicit
        if isinstance(data, Mapping) and ("aum" in data or "aum_now" in data):
            raise ValueError(
                "write aum_at_rebalance (the fund's net assets ON last_rebalance), not aum/aum_now; "
                "the AUM now is derived from it (see the AUM basis note in funds.sample.toml)"
            )
        return data

    @field_validator("targets", mode="before")
    @classmethod
    def _upper_keys(cls, v: object) -> object:
        if isinstance(v, Mapping):
            out: dict[str, object] = {}
            for k, w in v.items():
                key = str(k).upper()
                if not SLEEVE_RE.match(key):
                    raise ValueError(f"sleeve name {k!r} must be letters/digits/_ starting with a letter, e.g. SPX")
                out[key] = w
            return out
        return v

    @model_validator(mode="after")
    def _check(self) -> Fund:
        if not self.targets:
            raise ValueError(f"fund {self.name!r} has no targets; add e.g. targets = {{ SPX = 0.58, AGG = 0.40, BTC = 0.02 }}")
        total = sum(self.targets.values())
        if abs(total - 1.0) > 0.001:
            raise ValueError(
                f"fund {self.name!r}: targets add up to {total:.4f}, not 1; adjust them "
                "(a CASH sleeve can take the remainder)"
            )
        if self.rule is Rule.THRESHOLD and self.threshold_abs is None and self.threshold_rel is None:
            raise ValueError(
                f"fund {self.name!r} has rule = \"threshold\" but no threshold; add threshold_abs "
                "(e.g. 0.05 for ±5 pp) and/or threshold_rel (e.g. 0.25 for ±25 % of the target)"
            )
        if self.rule is Rule.CALENDAR and (self.threshold_abs is not None or self.threshold_rel is not None):
            raise ValueError(
                f"fund {self.name!r} has rule = \"calendar\" with a threshold; remove threshold_abs/"
                "threshold_rel or set rule = \"threshold\""
            )
        return self


class Basket(ConfigModel):
    """The tracked funds. ``currency`` is the AUM currency; crypto prices in ``crypto_quote``
    (a USD stablecoin by default) are taken as that currency one for one."""

    name: str = "Tracked funds"
    illustrative: bool = False  # true for the shipped sample: fictional funds and figures
    currency: str = "USD"
    crypto: tuple[str, ...] = ("BTC", "ETH")
    crypto_quote: str = "USDT"
    funds: tuple[Fund, ...]

    @field_validator("crypto", mode="before")
    @classmethod
    def _crypto(cls, v: object) -> object:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list | tuple):
            return tuple(str(a).upper() for a in v)
        return v

    @field_validator("currency", "crypto_quote")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @model_validator(mode="after")
    def _check(self) -> Basket:
        if not self.funds:
            raise ValueError("the basket has no funds; add at least one [[funds]] table")
        if CASH in self.crypto:
            raise ValueError(f"{CASH} is the zero-return cash sleeve, not a crypto asset; remove it from crypto")
        names = [f.name for f in self.funds]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"fund names must be unique; {dupes[0]!r} appears twice")
        for f in self.funds:
            if not any(s in self.crypto for s in f.targets):
                raise ValueError(
                    f"fund {f.name!r} holds none of the crypto assets {list(self.crypto)}; give it a "
                    "crypto sleeve (e.g. BTC = 0.02) or add its coin to [basket] crypto"
                )
        return self

    def is_crypto(self, sleeve: str) -> bool:
        return sleeve in self.crypto


# --------------------------------------------------------------------------- the formula


def portfolio_growth(targets: Mapping[str, float], returns: Mapping[str, float]) -> float:
    """g = Σ_j w_j (1 + r_j): the fund's value now per unit of value at the last rebalance."""
    return sum(w * (1.0 + returns[s]) for s, w in targets.items())


def current_weights(targets: Mapping[str, float], returns: Mapping[str, float]) -> dict[str, float]:
    """w_i' = w_i (1 + r_i) / Σ_j w_j (1 + r_j)."""
    g = portfolio_growth(targets, returns)
    if g <= 0:
        raise UserError("the returns wipe the fund out (portfolio growth ≤ 0); check the levels/returns given")
    return {s: w * (1.0 + returns[s]) / g for s, w in targets.items()}


def flow_money(current: float, target: float, aum_now: float) -> float:
    """(current − target) × AUM now; positive = the fund must sell the sleeve."""
    return (current - target) * aum_now


def action(flow: float) -> str:
    if flow > NO_FLOW:
        return "must sell"
    if flow < -NO_FLOW:
        return "must buy"
    return "no flow"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class LevelTable:
    """Daily levels by series (index levels, crypto closes), each sorted by date."""

    source: str = ""
    series: Mapping[str, tuple[tuple[dt.date, float], ...]] = field(default_factory=dict)

    def as_of(self, name: str, d: dt.date) -> tuple[dt.date, float] | None:
        """The latest (date, level) on or before ``d``; None if there is none."""
        rows = self.series.get(name)
        if not rows:
            return None
        i = bisect.bisect_right(rows, (d, float("inf")))
        return rows[i - 1] if i else None

    def last_date(self) -> dt.date | None:
        ends = [rows[-1][0] for rows in self.series.values() if rows]
        return max(ends) if ends else None


@dataclass(frozen=True)
class MarketData:
    """Everything the returns need, already loaded.

    Precedence for a sleeve's return since a fund's last rebalance: ``typed_returns`` (the
    user typed it) > levels. Start level: for crypto the venue's close on the rebalance date
    (``base_closes``) if it has one, else the table's level on or before the rebalance date.
    End level: for crypto ``now_prices`` if given, else the table's level on or before
    ``date``; for indices the table's. "On or before" tolerates weekends and holidays, up to
    ``MAX_STALE_DAYS``.
    """

    date: dt.date
    levels: LevelTable = field(default_factory=LevelTable)
    now_prices: Mapping[str, float] = field(default_factory=dict)  # crypto, in crypto_quote
    now_source: str = ""
    base_closes: Mapping[str, Mapping[dt.date, float]] = field(default_factory=dict)  # crypto daily closes
    base_source: str = ""
    typed_returns: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SleeveReturn:
    series: str
    value: float
    source: str
    start: float | None = None
    start_date: dt.date | None = None
    end: float | None = None
    end_date: dt.date | None = None


def _stale(found: dt.date, wanted: dt.date) -> bool:
    return (wanted - found).days > MAX_STALE_DAYS


def sleeve_return(basket: Basket, fund: Fund, series: str, data: MarketData) -> SleeveReturn:
    """Return of one series from ``fund.last_rebalance`` to ``data.date``, with its provenance."""
    since = fund.last_rebalance
    if series == CASH:
        return SleeveReturn(series, 0.0, "cash earns 0")
    if series in data.typed_returns:
        return SleeveReturn(series, data.typed_returns[series], "typed in")
    where = f"fund {fund.name!r}, sleeve {series}"
    crypto = basket.is_crypto(series)
    flag = f"--{series.lower()}-return" if series in ("SPX", "AGG") else None

    start: tuple[dt.date, float] | None = None
    start_src = data.base_source
    if crypto and since in data.base_closes.get(series, {}):
        start = (since, data.base_closes[series][since])
    else:
        start = data.levels.as_of(series, since)
        start_src = data.levels.source
        if start is not None and _stale(start[0], since):
            raise UserError(
                f"{where}: the latest {series} level on or before the last rebalance {since} is from "
                f"{start[0]} ({data.levels.source}); add the {since} level to the CSV"
            )
    if start is None:
        if crypto:
            fix = (f"add a {series} column to the --levels CSV with the {since} close, or run with "
                   "--exchange ID / --demo so the daily close is fetched from a venue")
        else:
            fix = f"pass --levels CSV with a {series} column covering {since}" + (f", or type it with {flag}" if flag else "")
        raise UserError(f"{where}: no {series} level on the last rebalance date {since}; {fix}")

    if crypto and series in data.now_prices:
        end = (data.date, data.now_prices[series])
        end_src = data.now_source
    else:
        end = data.levels.as_of(series, data.date)
        end_src = data.levels.source
        if end is None or end[0] < since:
            fix = "pass --prices BTC=…,ETH=… or --state/--demo" if crypto else f"extend the --levels CSV to {data.date}"
            raise UserError(f"{where}: no {series} level on or before {data.date} after the rebalance; {fix}")
        if _stale(end[0], data.date):
            raise UserError(
                f"{where}: the latest {series} level is from {end[0]}, more than {MAX_STALE_DAYS} days "
                f"before {data.date}; extend the --levels CSV"
                + (f" or type the return with {flag}" if flag else "")
                + (" or pass --prices" if crypto else "")
            )
    value = end[1] / start[1] - 1.0
    src = start_src if start_src == end_src else f"{start_src} → {end_src}"
    return SleeveReturn(series, value, src, start[1], start[0], end[1], end[0])


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SleeveFlow:
    sleeve: str
    crypto: bool
    ret: SleeveReturn
    target: float
    current: float
    drift: float  # current − target, weight units (0.004 = +0.40 pp)
    would_flow: float  # money the drift represents, whether or not the fund trades
    flow: float  # money the fund trades: would_flow, or 0 when a threshold fund holds
    price: float | None  # crypto price now (crypto_quote)
    coins: float | None  # flow / price for crypto sleeves
    past_threshold: bool  # this sleeve's drift passes the fund's threshold (threshold rule)

    @property
    def action(self) -> str:
        return action(self.flow)


@dataclass(frozen=True)
class FundFlow:
    fund: Fund
    growth: float
    aum_now: float
    trades: bool  # False only for a threshold fund whose drifts are all within its threshold
    note: str  # why it trades / holds, for the table and JSON
    sleeves: tuple[SleeveFlow, ...]

    @property
    def portfolio_return(self) -> float:
        return self.growth - 1.0

    def crypto_sleeves(self) -> tuple[SleeveFlow, ...]:
        return tuple(s for s in self.sleeves if s.crypto)

    def sleeve(self, name: str) -> SleeveFlow:
        for s in self.sleeves:
            if s.sleeve == name:
                return s
        raise KeyError(name)

    @property
    def crypto_target(self) -> float:
        return sum(s.target for s in self.crypto_sleeves())

    @property
    def crypto_current(self) -> float:
        return sum(s.current for s in self.crypto_sleeves())

    @property
    def crypto_flow(self) -> float:
        return sum(s.flow for s in self.crypto_sleeves())

    def crypto_vs_rest(self) -> tuple[float, float]:
        """(return of the crypto sleeves together, return of the other sleeves together)."""
        def combined(rows: Iterable[SleeveFlow]) -> float:
            rows = list(rows)
            w = sum(r.target for r in rows)
            return sum(r.target * r.ret.value for r in rows) / w if w else 0.0
        return combined(self.crypto_sleeves()), combined(s for s in self.sleeves if not s.crypto)


@dataclass(frozen=True)
class AssetFlow:
    """Net flow of one crypto asset across the funds: what the bar chart shows."""

    asset: str
    flow: float  # money traded by the funds that trade; positive = net selling
    coins: float | None
    price: float | None
    funds_trading: int  # funds with a non-zero flow in this asset
    held_back: float  # would-be flow of threshold funds within their threshold (not in `flow`)

    @property
    def action(self) -> str:
        return action(self.flow)


@dataclass(frozen=True)
class Divergence:
    """Returns since one rebalance date, and crypto minus each other series (the gap)."""

    since: dt.date
    funds: tuple[str, ...]
    returns: Mapping[str, float]
    gaps: tuple[tuple[str, str, float], ...]  # (crypto, other, r_crypto − r_other)


@dataclass(frozen=True)
class FlowsReport:
    basket: Basket
    date: dt.date
    window: QuarterWindow
    funds: tuple[FundFlow, ...]
    assets: tuple[AssetFlow, ...]
    divergence: tuple[Divergence, ...]
    notes: tuple[str, ...] = ()

    @property
    def total_crypto_flow(self) -> float:
        return sum(a.flow for a in self.assets)


def _threshold_note(fund: Fund, rows: list[tuple[str, float, float]]) -> tuple[bool, str, set[str]]:
    """(trades, note, sleeves past the threshold) for a threshold-rule fund.

    ``rows`` are (sleeve, target, drift). A sleeve passes when |drift| > threshold_abs or
    |drift| > threshold_rel × target (either limit that is set).
    """
    limits = []
    if fund.threshold_abs is not None:
        limits.append(f"±{fund.threshold_abs * 100:.2f} pp")
    if fund.threshold_rel is not None:
        limits.append(f"±{fund.threshold_rel:.0%} of target")
    past: set[str] = set()
    for s, target, drift in rows:
        over_abs = fund.threshold_abs is not None and abs(drift) > fund.threshold_abs
        over_rel = fund.threshold_rel is not None and abs(drift) > fund.threshold_rel * target
        if over_abs or over_rel:
            past.add(s)
    limit = " or ".join(limits)
    if past:
        named = ", ".join(f"{s} {d * 100:+.2f} pp" + (f" ({d / t:+.0%} of target)" if t else "")
                          for s, t, d in rows if s in past)
        return True, f"threshold rule: {named} past {limit} → trades back to target (any day, not only quarter end)", past
    worst = max(rows, key=lambda r: abs(r[2]) / r[1] if fund.threshold_abs is None and r[1] else abs(r[2]))
    rel = f" ({worst[2] / worst[1]:+.0%} of target)" if worst[1] else ""
    return False, (f"threshold rule: largest drift {worst[0]} {worst[2] * 100:+.2f} pp{rel} is within "
                   f"{limit} → no trade; its would-be flow is shown as held back"), past


def fund_flow(basket: Basket, fund: Fund, returns: Mapping[str, SleeveReturn],
              prices: Mapping[str, float], window: QuarterWindow) -> FundFlow:
    """Weights, drift and flows of one fund from its sleeves' returns since its last rebalance."""
    r = {s: returns[s].value for s in fund.targets}
    g = portfolio_growth(fund.targets, r)
    weights = current_weights(fund.targets, r)
    aum_now = fund.aum_at_rebalance * g
    drifts = [(s, w, weights[s] - w) for s, w in fund.targets.items()]
    if fund.rule is Rule.THRESHOLD:
        trades, note, past = _threshold_note(fund, drifts)
    else:
        trades, past = True, set()
        note = (f"calendar rule: trades back to target in the {window.label} window "
                f"{window.start.isoformat()} → {window.end.isoformat()} (flow at today's prices)")
        if fund.last_rebalance < window.start - dt.timedelta(days=100):
            note += f"; last rebalance {fund.last_rebalance} is over a quarter ago, check it"
    rows = []
    for s, target, drift in drifts:
        would = flow_money(weights[s], target, aum_now)
        flow = would if trades else 0.0
        crypto = basket.is_crypto(s)
        price = prices.get(s) if crypto else None
        if price is None and crypto:
            price = returns[s].end  # the level the return ended on is the price now
        coins = flow / price if crypto and price else None
        rows.append(SleeveFlow(s, crypto, returns[s], target, weights[s], drift, would, flow, price, coins, s in past))
    return FundFlow(fund, g, aum_now, trades, note, tuple(rows))


def aggregate_by_asset(basket: Basket, funds: Iterable[FundFlow]) -> tuple[AssetFlow, ...]:
    """Σ over funds of each crypto asset's flow (money and coins), in ``basket.crypto`` order."""
    funds = list(funds)
    out = []
    for asset in basket.crypto:
        rows = [s for f in funds for s in f.sleeves if s.sleeve == asset]
        if not rows:
            continue
        flow = sum(s.flow for s in rows)
        price = next((s.price for s in rows if s.price), None)
        coins = sum(s.coins or 0.0 for s in rows) if price else None
        held = sum(s.would_flow - s.flow for s in rows)
        trading = sum(1 for s in rows if abs(s.flow) > NO_FLOW)
        out.append(AssetFlow(asset, flow, coins, price, trading, held))
    return tuple(out)


def divergences(basket: Basket, funds: Iterable[FundFlow]) -> tuple[Divergence, ...]:
    """Per distinct last-rebalance date: each series' return and crypto − other gaps."""
    by_date: dict[dt.date, list[FundFlow]] = {}
    for f in funds:
        by_date.setdefault(f.fund.last_rebalance, []).append(f)
    out = []
    for since in sorted(by_date):
        rets: dict[str, float] = {}
        for f in by_date[since]:
            for s in f.sleeves:
                rets.setdefault(s.sleeve, s.ret.value)
        cryptos = [s for s in basket.crypto if s in rets]
        others = [s for s in rets if s not in basket.crypto and s != CASH]
        gaps = tuple((c, o, rets[c] - rets[o]) for c in cryptos for o in others)
        out.append(Divergence(since, tuple(f.fund.name for f in by_date[since]), rets, gaps))
    return tuple(out)


def compute_flows(basket: Basket, data: MarketData) -> FlowsReport:
    """The whole picture on ``data.date``: per fund flows, per asset totals, divergence."""
    window = quarter_end_window(data.date)
    funds = []
    notes = []
    for fund in basket.funds:
        if fund.last_rebalance > data.date:
            raise UserError(
                f"fund {fund.name!r}: last_rebalance {fund.last_rebalance} is after the date "
                f"{data.date}; fix the basket or pass a later --date"
            )
        returns = {s: sleeve_return(basket, fund, s, data) for s in fund.targets}
        funds.append(fund_flow(basket, fund, returns, data.now_prices, window))
    if data.typed_returns:
        dates = sorted({f.last_rebalance for f in basket.funds})
        if len(dates) > 1:
            notes.append(
                f"typed returns ({', '.join(sorted(data.typed_returns))}) are applied as the return since "
                f"every fund's last rebalance, though the funds rebalanced on {len(dates)} different dates"
            )
    held = [f.fund.name for f in funds if not f.trades]
    if held:
        notes.append(f"threshold funds within their threshold (no trade, held back): {', '.join(held)}")
    return FlowsReport(basket, data.date, window, tuple(funds), aggregate_by_asset(basket, funds),
                       divergences(basket, funds), tuple(notes))


# --------------------------------------------------------------------------- plain data


@dataclass(frozen=True)
class FlowRow:
    """One table row: a fund's crypto sleeve (the console's flows table renders these)."""

    key: str  # "fund name/ASSET", stable across refreshes for update-by-key
    fund: str
    rule: str
    aum_now: float
    asset: str
    target: float
    current: float
    drift: float
    flow: float
    would_flow: float
    coins: float | None
    action: str
    trades: bool
    note: str


def flow_rows(report: FlowsReport) -> tuple[FlowRow, ...]:
    return tuple(
        FlowRow(f"{f.fund.name}/{s.sleeve}", f.fund.name, f.fund.rule.value, f.aum_now, s.sleeve,
                s.target, s.current, s.drift, s.flow, s.would_flow, s.coins,
                s.action if f.trades else "held (threshold)", f.trades, f.note)
        for f in report.funds for s in f.crypto_sleeves()
    )


def _r(x: float | None, nd: int = 10) -> float | None:
    return None if x is None else round(x, nd)


def report_dict(report: FlowsReport) -> dict[str, Any]:
    """JSON-able form of the report (`rebal-tui flows --json`)."""
    w = report.window
    return {
        "date": report.date.isoformat(),
        "basket": report.basket.name,
        "illustrative": report.basket.illustrative,
        "currency": report.basket.currency,
        "aum_basis": "aum_at_rebalance × portfolio growth since the last rebalance",
        "sign": "positive flow = funds must sell; negative = must buy",
        "quarter": {
            "label": w.label, "window_start": w.start.isoformat(), "last_trading_day": w.end.isoformat(),
            "inside_window": w.inside, "trading_days_left": w.trading_days_left, "text": w.sentence(),
        },
        "funds": [
            {
                "name": f.fund.name,
                "rule": f.fund.rule.value,
                "threshold_abs": f.fund.threshold_abs,
                "threshold_rel": f.fund.threshold_rel,
                "last_rebalance": f.fund.last_rebalance.isoformat(),
                "aum_at_rebalance": f.fund.aum_at_rebalance,
                "aum_now": _r(f.aum_now, 2),
                "portfolio_return": _r(f.portfolio_return),
                "trades": f.trades,
                "note": f.note,
                "crypto_target": _r(f.crypto_target),
                "crypto_current": _r(f.crypto_current),
                "crypto_flow": _r(f.crypto_flow, 2),
                "crypto_return": _r(f.crypto_vs_rest()[0]),
                "rest_return": _r(f.crypto_vs_rest()[1]),
                "sleeves": [
                    {
                        "sleeve": s.sleeve, "crypto": s.crypto, "return": _r(s.ret.value),
                        "return_source": s.ret.source,
                        "start": s.ret.start, "start_date": s.ret.start_date.isoformat() if s.ret.start_date else None,
                        "end": s.ret.end, "end_date": s.ret.end_date.isoformat() if s.ret.end_date else None,
                        "target": s.target, "current": _r(s.current), "drift": _r(s.drift),
                        "flow": _r(s.flow, 2), "would_flow": _r(s.would_flow, 2),
                        "price": s.price, "coins": _r(s.coins, 8),
                        "action": s.action if f.trades else "held (threshold)",
                        "past_threshold": s.past_threshold,
                    }
                    for s in f.sleeves
                ],
            }
            for f in report.funds
        ],
        "assets": [
            {"asset": a.asset, "flow": _r(a.flow, 2), "coins": _r(a.coins, 8), "price": a.price,
             "action": a.action, "funds_trading": a.funds_trading, "held_back": _r(a.held_back, 2)}
            for a in report.assets
        ],
        "divergence": [
            {"since": d.since.isoformat(), "funds": list(d.funds),
             "returns": {k: _r(v) for k, v in d.returns.items()},
             "gaps": [{"crypto": c, "other": o, "gap": _r(g)} for c, o, g in d.gaps]}
            for d in report.divergence
        ],
        "notes": list(report.notes),
    }
