"""Alert rules and the risk readings they watch: pure functions over (previous, current) state.

An alert fires on a *transition* (a sleeve moving from ok to warn, a margin ratio crossing a
threshold, an account going stale, a funding rate spiking, the quarter-end window opening), so a
state that stays bad does not fire again on every refresh. Band alerts clear with hysteresis
(``band_level``): a drift wobbling at a band edge raises one alert, not one per tick. The console shows each alert in the
alerts panel and as a toast (band alerts raised together share one), and journals it.

The risk readings (``risk_view``) are read from the venue's own figures in the Snapshot: the
account margin ratio Binance reports (maintenance margin / margin balance; 1.0 liquidates),
each position's liquidation price, the funding rate and its next time. Funding and basis
figures come from :mod:`console.core.costs`; the only arithmetic here is a price's distance to another.

No Textual, no ccxt, no I/O here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from console.core.allocation import Allocation, Status, contract_mark
from console.core.config import Config
from console.core.costs import BasisInfo, FundingInfo, basis_info, funding_info
from console.core.memo import by_identity
from console.core.numbers import num
from console.core.snapshot import AccountState, Snapshot

FUNDING_SPIKE_APR = 0.50  # |annualised funding| past 50 %/yr is a spike
MARGIN_WARN_SHARE = 0.8  # warn at 80 % of limits.max_margin_ratio, critical past it


class Severity(StrEnum):
    INFO = "info"
    WARN = "warn"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True)
class Alert:
    key: str  # stable identity of the condition, e.g. "band:BTC:breach"
    kind: str  # band | margin | funding | stale | quarter_end | legging (raised by the app on an executor alert)
    severity: Severity
    subject: str  # the sleeve, account or symbol it is about
    message: str
    at_ms: int


# ------------------------------------------------------------------------------ risk readings




@by_identity(maxsize=16)  # each entry keeps an account state (and its tickers) alive
def account_margin_ratio(state: AccountState) -> float | None:
    """The venue's account margin ratio (maintenance margin / margin balance), if it reports one.

    Binance USDⓈ-M reports ``totalMaintMargin`` and ``totalMarginBalance`` in the balance's
    ``info``; ccxt's unified positions carry ``marginRatio`` (cross positions share the
    account's). None when the account holds no contracts or the venue says nothing.
    """
    info = state.balance.get("info") if isinstance(state.balance, Mapping) else None
    if isinstance(info, Mapping):
        mm, mb = num(info.get("totalMaintMargin")), num(info.get("totalMarginBalance"))
        if mm is not None and mb:
            return mm / mb
    ratios = [num(p.get("marginRatio")) for p in state.open_positions()]
    ratios = [r for r in ratios if r is not None]
    return max(ratios) if ratios else None


def _computed_margin_ratio(config: Config, snap: Snapshot, account: str) -> float | None:
    """When the venue reports no margin ratio: console.core.risk's, on the leverage tiers the
    account's snapshot carries (its fallback tiers where there are none)."""
    from console.core import risk

    positions = risk.account_positions(snap, account, config.limits.max_leverage)
    if not positions:
        return None
    # one figure per account: its worst pool's (linear, and one per COIN-M coin), see risk.worst
    pools = risk.account_pools(snap, account, (), quote=config.portfolio.quote,
                               default_leverage=config.limits.max_leverage)
    tiers = snap.account(account).leverage_tiers or None
    w = risk.worst(p.evaluate(tiers, after=False, liquidation=False) for p in pools)
    r = w.margin_ratio if w is not None else math.nan
    return r if r == r and r != float("inf") else None


def _margin_ratio(config: Config, snap: Snapshot, name: str) -> float | None:
    """The venue's account ratio; else console.core.risk's. An account whose snapshot carries
    the venue's leverage tiers (COIN-M) is worked out first: Binance reports its ratio per coin
    only, and ccxt's per-position ``marginRatio`` there is its own estimate, to 4 decimals."""
    st = snap.accounts[name]
    if st.leverage_tiers:
        mine = _computed_margin_ratio(config, snap, name)
        if mine is not None:
            return mine
    venue = account_margin_ratio(st) if st.balance.get("info") or not st.open_positions() else None
    return venue if venue is not None else _computed_margin_ratio(config, snap, name)


def _computed_liquidations(config: Config, snap: Snapshot, account: str) -> dict[str, tuple[float | None, str]]:
    """Each position's liquidation price and its state ("" a price, "none" no price move
    liquidates it, "now" under maintenance at every price), by console.core.risk: for a venue
    that reports none (Binance's "0" reads as none, which COIN-M's covered short rightly is)."""
    from console.core import risk

    out: dict[str, tuple[float | None, str]] = {}
    for pool in risk.account_risk(snap, account, quote=config.portfolio.quote,
                                  default_leverage=config.limits.max_leverage):
        for p in pool.positions:
            state = ("" if p.liquidation_price is not None else "none" if p.reason.startswith(risk.NO_LIQUIDATION)
                     else "now" if p.reason.startswith(risk.ALREADY_LIQUIDATABLE) else "")
            out[p.symbol] = (p.liquidation_price, state)
    return out


def distance(price: float | None, ref: float | None) -> float | None:
    """Signed relative distance of ``price`` from ``ref`` (0.25 = 25 % above)."""
    if price is None or not ref:
        return None
    return price / ref - 1.0


@dataclass(frozen=True)
class AccountRisk:
    account: str
    margin_ratio: float | None
    freshness_ms: int | None  # age of the oldest of balance/positions/tickers
    error: str | None


@dataclass(frozen=True)
class PositionRisk:
    account: str
    symbol: str
    side: str
    contracts: float
    notional: float
    mark: float
    liquidation_price: float | None
    liq_distance: float | None  # signed: +0.30 means the price must rise 30 % to liquidate
    # without a price: "none" = no price move liquidates it, "now" = under maintenance at any
    # price, "" = not known
    liq_state: str = ""


@dataclass(frozen=True)
class FundingLine:
    account: str
    symbol: str
    info: FundingInfo

    @property
    def rate(self) -> float:
        return self.info.rate

    @property
    def annualised(self) -> float:
        return self.info.annualised

    def countdown_s(self, now_ms: int) -> int | None:
        nxt = self.info.next_time_ms
        return None if nxt is None else max(0, (nxt - now_ms) // 1000)


@dataclass(frozen=True)
class BasisLine:
    account: str
    symbol: str
    info: BasisInfo


@dataclass(frozen=True)
class RiskView:
    accounts: tuple[AccountRisk, ...]
    positions: tuple[PositionRisk, ...]
    funding: tuple[FundingLine, ...]
    basis: tuple[BasisLine, ...]

    def margin_ratios(self) -> dict[str, float]:
        return {a.account: a.margin_ratio for a in self.accounts if a.margin_ratio is not None}


def risk_view(config: Config, snap: Snapshot, alloc: Allocation, now_ms: int) -> RiskView:
    # the venue's margin ratio where it reports one; else console.core.risk's (COIN-M reports
    # one per coin in its account answer, none for the account)
    accounts = tuple(
        AccountRisk(name, _margin_ratio(config, snap, name),
                    None if st.oldest_ms() is None else max(0, now_ms - (st.oldest_ms() or 0)), st.error)
        for name, st in snap.accounts.items()
    )
    positions = []
    computed: dict[str, dict[str, tuple[float | None, str]]] = {}
    for r in alloc.rows:
        for p in r.positions:
            lp, state = p.liquidation_price, ""
            # the venue gave none: work it out where the venue's tiers for it were read (a
            # fallback table would guess an alt's maintenance rate low, and its price far)
            if lp is None and p.account in snap.accounts and p.symbol in snap.accounts[p.account].leverage_tiers:
                if p.account not in computed:
                    computed[p.account] = _computed_liquidations(config, snap, p.account)
                lp, state = computed[p.account].get(p.symbol, (None, ""))
            positions.append(PositionRisk(p.account, p.symbol, p.side, p.contracts, p.notional, p.mark,
                                          lp, distance(lp, p.mark), state))
    positions.sort(key=lambda p: (p.account, p.symbol))
    funding = []
    basis = []
    hedged = {h.symbol for s in config.sleeves for h in s.hedges}
    for name, st in snap.accounts.items():
        for sym, fr in sorted(st.funding_rates.items()):
            info = funding_info(fr)
            if info is not None:
                funding.append(FundingLine(name, sym, info))
        for sym, m in sorted(st.markets.items()):
            if not m.get("expiry") or (sym not in hedged and not any(p["symbol"] == sym for p in st.open_positions())):
                continue
            b = basis_info(contract_mark(snap, name, sym), alloc.prices.get(str(m.get("base"))),
                           int(m["expiry"]), now_ms)
            if b is not None:
                basis.append(BasisLine(name, sym, b))
    return RiskView(accounts, tuple(positions), tuple(funding), tuple(basis))


# ------------------------------------------------------------------------------------ rules


BAND_CLEAR_MARGIN = 0.1  # a band alert clears once |drift| is this share of the half-width inside its edge
BAND_RANK = {Status.OK: 0, Status.WARN: 1, Status.BREACH: 2}
_BAND_BELOW = {Status.BREACH: Status.WARN, Status.WARN: Status.OK}


def band_level(was: Status, status: Status, drift: float, halfwidth: float, warn_fraction: float,
               margin: float = BAND_CLEAR_MARGIN) -> Status:
    """The level a sleeve's band alert stands at, with hysteresis.

    Up at once: a sleeve whose status rises (ok → warn → breach) is at that level. Down only by
    a margin: from breach once |drift| ≤ half-width × (1 − margin), from warn once |drift| ≤
    half-width × (warn_fraction − margin). A price that wobbles at an edge raises one alert,
    not one per tick."""
    if BAND_RANK[status] >= BAND_RANK[was]:
        return status
    d = abs(drift)
    level = was
    while BAND_RANK[level] > BAND_RANK[status]:
        edge = halfwidth if level is Status.BREACH else warn_fraction * halfwidth
        if d > edge - margin * halfwidth:
            break
        level = _BAND_BELOW[level]
    return level


def band_alerts(prev: Mapping[str, Status] | None, cur: Allocation, now_ms: int, warn_fraction: float,
                margin: float = BAND_CLEAR_MARGIN) -> tuple[list[Alert], dict[str, Status]]:
    """A sleeve's band alert rising to warn / breach, or clearing (``band_level``); and the level
    each sleeve's alert now stands at, for the next call. ``prev`` None: the first state, where
    nothing clears. The cash sleeve warns like any other; it is the residual, so its text says
    the overlay legs (the other sleeves' trades) move it."""
    out = []
    levels: dict[str, Status] = {}
    for r in cur.rows:
        if not r.configured or r.halfwidth is None:
            continue
        was = (prev or {}).get(r.name, Status.OK)
        level = levels[r.name] = band_level(was, r.status, r.drift or 0.0, r.halfwidth, warn_fraction, margin)
        if level is was:
            continue
        drift = f"{(r.drift or 0) * 100:+.2f} pp"
        band = f"band ±{r.halfwidth * 100:.2f} pp"
        how = "; cash is the residual: the overlay legs move it" if r.is_cash else ""
        if level is Status.BREACH:
            out.append(Alert(f"band:{r.name}:breach", "band", Severity.CRITICAL, r.name,
                             f"{r.name} breached its band: drift {drift} ({band}){how}", now_ms))
        elif level is Status.WARN:
            out.append(Alert(f"band:{r.name}:warn", "band", Severity.WARN, r.name,
                             f"{r.name} near its band edge: drift {drift} ({band}){how}", now_ms))
        elif prev is not None:
            out.append(Alert(f"band:{r.name}:ok", "band", Severity.INFO, r.name,
                             f"{r.name} back inside its band: drift {drift}", now_ms))
    return out, levels


def _margin_level(ratio: float | None, limit: float) -> Severity | None:
    if ratio is None:
        return None
    if ratio >= limit:
        return Severity.CRITICAL
    if ratio >= MARGIN_WARN_SHARE * limit:
        return Severity.WARN
    return None


def margin_alerts(prev: Mapping[str, float], cur: Mapping[str, float], limit: float, now_ms: int) -> list[Alert]:
    out = []
    for acct, ratio in cur.items():
        lvl, was = _margin_level(ratio, limit), _margin_level(prev.get(acct), limit)
        if lvl is None or (was is not None and SEVERITY_RANK[was] >= SEVERITY_RANK[lvl]):
            continue
        out.append(Alert(f"margin:{acct}:{lvl.value}", "margin", lvl, acct,
                         f"{acct} margin ratio {ratio * 100:.1f}% (limit {limit * 100:.0f}%)", now_ms))
    return out


def funding_alerts(prev: RiskView | None, cur: RiskView, now_ms: int, threshold: float = FUNDING_SPIKE_APR) -> list[Alert]:
    spiking_before = {(f.account, f.symbol) for f in (prev.funding if prev else ()) if abs(f.annualised) >= threshold}
    out = []
    for f in cur.funding:
        if abs(f.annualised) >= threshold and (f.account, f.symbol) not in spiking_before:
            out.append(Alert(f"funding:{f.account}:{f.symbol}", "funding", Severity.WARN, f.symbol,
                             f"{f.symbol} funding {f.rate * 100:+.4f}% per {f.info.interval_hours:g}h "
                             f"({f.annualised * 100:+.1f}%/yr) on {f.account}", now_ms))
    return out


def stale_alerts(prev: Mapping[str, tuple[str, ...]] | None, cur: Mapping[str, tuple[str, ...]],
                 max_age_s: float, now_ms: int) -> list[Alert]:
    out = []
    for acct, parts in cur.items():
        was = (prev or {}).get(acct, ())
        if parts and not was:
            out.append(Alert(f"stale:{acct}", "stale", Severity.WARN, acct,
                             f"{acct} data is stale ({', '.join(parts)} older than {max_age_s:g}s); plans are refused", now_ms))
        elif was and not parts and prev is not None:
            out.append(Alert(f"fresh:{acct}", "stale", Severity.INFO, acct, f"{acct} data is fresh again", now_ms))
    return out


def quarter_end_alerts(prev_ms: int | None, now_ms: int) -> list[Alert]:
    from console.core.nyse import quarter_end_alert

    day = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).date()
    before = None if prev_ms is None else dt.datetime.fromtimestamp(prev_ms / 1000, dt.UTC).date()
    msg = quarter_end_alert(before, day)
    if msg is None:
        return []
    return [Alert(f"quarter_end:{day.isoformat()}", "quarter_end", Severity.INFO, "flows", msg, now_ms)]


@dataclass(frozen=True)
class Watch:
    """What the rules compare against next time."""

    alloc: Allocation | None = None
    bands: Mapping[str, Status] | None = None  # the level each sleeve's band alert stands at
    risk: RiskView | None = None
    stale: Mapping[str, tuple[str, ...]] | None = None
    at_ms: int | None = None


def evaluate(config: Config, watch: Watch, alloc: Allocation, risk: RiskView,
             stale: Mapping[str, tuple[str, ...]], now_ms: int) -> tuple[tuple[Alert, ...], Watch]:
    """Every alert the step from ``watch`` to the current state fires, and the next Watch."""
    bands, levels = band_alerts(watch.bands, alloc, now_ms, config.portfolio.warn_fraction)
    alerts = [
        *bands,
        *margin_alerts(watch.risk.margin_ratios() if watch.risk else {}, risk.margin_ratios(),
                       config.limits.max_margin_ratio, now_ms),
        *funding_alerts(watch.risk, risk, now_ms),
        *stale_alerts(watch.stale, stale, config.limits.max_data_age_s, now_ms),
        *quarter_end_alerts(watch.at_ms, now_ms),
    ]
    return tuple(alerts), Watch(alloc, levels, risk, stale, now_ms)
