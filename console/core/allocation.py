"""Where the portfolio stands against its targets: pure functions over a Snapshot.

NAV = spot value everywhere (every wallet, manual holdings) + futures unrealised PnL.
Net exposure of an asset = spot value + signed notional of every futures position on it:
contracts × contractSize × mark for a linear contract; side × Q × mark / entry for an inverse
one (Q = contracts × contractSize, USD).
The cash sleeve is NAV minus all risky net exposure, so weights always add up to 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from console.core.config import Config, Goal, HedgeInstrument, Sleeve, symbol_base
from console.core.memo import by_identity, by_name
from console.core.numbers import num
from console.core.snapshot import Snapshot

EPS = 1e-9  # weights within this of a band edge count as on it, not past it
OTHER = "OTHER"
CASH = "CASH"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    BREACH = "breach"
    NONE = "n/a"  # a row with no configured target (unassigned assets, implicit cash)




def ticker_price(t: Mapping[str, Any] | None) -> float | None:
    """A ticker's best single price: mark, then last, then mid."""
    if not t:
        return None
    for key in ("markPrice", "last", "close"):
        v = num(t.get(key))
        if v:
            return v
    bid, ask = num(t.get("bid")), num(t.get("ask"))
    if bid and ask:
        return (bid + ask) / 2
    info = t.get("info") or {}
    return num(info.get("markPrice")) if isinstance(info, dict) else None


def contract_mark(snap: Snapshot, account: str, symbol: str) -> float | None:
    """Mark price of a contract on an account: ticker mark, funding-rate mark, position mark."""
    a = snap.accounts.get(account)
    if a is None:
        return None
    t = a.tickers.get(symbol)
    v = num(t.get("markPrice")) if t else None
    if v:
        return v
    fr = a.funding_rates.get(symbol)
    v = num(fr.get("markPrice")) if fr else None
    if v:
        return v
    for p in a.positions:
        if p.get("symbol") == symbol and num(p.get("markPrice")):
            return num(p["markPrice"])
    return ticker_price(t)


def asset_prices(snap: Snapshot, quote: str, stablecoins: tuple[str, ...]) -> dict[str, float]:
    """Price of every asset in the quote currency.

    Spot tickers ASSET/QUOTE win; a perp's mark (ASSET/QUOTE:QUOTE) fills the gaps;
    stablecoins without a ticker count at 1.
    """
    spot: dict[str, float] = {}
    perp: dict[str, float] = {}
    for acct in snap.accounts.values():
        for sym, t in acct.tickers.items():
            base, _, rest = sym.partition("/")
            q, _, settle = rest.partition(":")
            if q != quote and not (q in stablecoins and quote in stablecoins):
                continue
            px = ticker_price(t)
            if not px:
                continue
            if settle:
                if "-" not in settle:  # perps only: a dated future's price carries basis
                    perp.setdefault(base, px)
            else:
                spot.setdefault(base, px)
    prices = {**perp, **spot}
    for s in stablecoins:
        prices.setdefault(s, 1.0)
    prices[quote] = 1.0
    return prices


@dataclass(frozen=True)
class AssetLine:
    asset: str
    spot_qty: float
    spot_value: float
    futures_notional: float

    @property
    def net(self) -> float:
        return self.spot_value + self.futures_notional


@dataclass(frozen=True)
class PositionLine:
    account: str
    symbol: str
    asset: str  # base asset of the contract
    sleeve: str
    contracts: float  # signed: negative is short
    contract_size: float
    linear: bool
    dated: bool
    mark: float
    notional: float  # signed exposure in quote currency
    ratio: float  # hedge ratio this position counts with toward its sleeve
    upnl: float  # in quote currency
    entry_price: float | None
    liquidation_price: float | None
    leverage: float | None
    margin_mode: str | None
    expiry: int | None

    @property
    def sleeve_exposure(self) -> float:
        return self.notional / self.ratio

    @property
    def face(self) -> float:
        """Unsigned contracts × contractSize × mark (linear) or Q (inverse): the exposure that
        closing the position moves. An inverse position's exposure Q × mark / entry differs by
        its coin P&L, which closing realises into the wallet, where it is coin held at mark."""
        return abs(self.contracts) * self.contract_size * (self.mark if self.linear else 1.0)

    @property
    def side(self) -> str:
        return "long" if self.contracts > 0 else "short"


@dataclass(frozen=True)
class SleeveRow:
    name: str
    assets: tuple[AssetLine, ...]
    positions: tuple[PositionLine, ...]
    spot_value: float
    futures_notional: float  # sleeve-equivalent (proxies divided by their ratio)
    net: float
    weight: float
    target: float | None
    halfwidth: float | None
    drift: float | None
    status: Status
    delta_target: float  # money to add (+) or remove (-) to reach the target
    delta_band: float  # money to add or remove to reach the nearest band edge (0 inside)
    is_cash: bool
    configured: bool

    @property
    def band_lo(self) -> float | None:
        return None if self.target is None or self.halfwidth is None else max(0.0, self.target - self.halfwidth)

    @property
    def band_hi(self) -> float | None:
        return None if self.target is None or self.halfwidth is None else self.target + self.halfwidth

    def delta(self, goal: Goal) -> float:
        return self.delta_target if goal is Goal.TARGET else self.delta_band


@dataclass(frozen=True)
class Allocation:
    nav: float
    quote: str
    timestamp: int
    rows: tuple[SleeveRow, ...]
    prices: Mapping[str, float]
    upnl: float
    missing_prices: tuple[str, ...]  # held assets nobody quotes: valued at 0, flagged

    def row(self, name: str) -> SleeveRow:
        r = by_name(self.rows).get(name)
        if r is None:
            raise KeyError(name)
        return r

    def spot_values(self) -> Mapping[str, float]:
        """Asset → the whole portfolio's spot holding of it, in quote money (read only)."""
        return _spot_values(self.rows)


@by_identity()
def _spot_values(rows: tuple[SleeveRow, ...]) -> dict[str, float]:
    return {a.asset: a.spot_value for r in rows for a in r.assets}


def _market(snap: Snapshot, account: str, symbol: str, pos: Mapping[str, Any]) -> dict[str, Any]:
    m = snap.accounts[account].markets.get(symbol)
    if m:
        return dict(m)
    # A position on a market the snapshot lacks: infer from the symbol and the position
    base, _, rest = symbol.partition("/")
    _, _, settle = rest.partition(":")
    settle_ccy = settle.split("-")[0]
    return {
        "symbol": symbol,
        "base": base,
        "settle": settle_ccy,
        "linear": settle_ccy != base,
        "inverse": settle_ccy == base,
        "contractSize": pos.get("contractSize") or 1,
        "expiry": None,
        "type": "future" if "-" in settle else "swap",
    }


def contract_exposure(contracts: float, contract_size: float, mark: float, linear: bool,
                      entry: float | None) -> float:
    """Signed USD exposure of a position (``contracts`` negative for a short): linear,
    contracts × contractSize × mark; inverse, side × Q × mark / entry with Q = contracts ×
    contractSize USD, because the position's coin P&L moves with the coin (a short of
    Q = 1 BTC × entry hedges 1 BTC at every price). Without an entry or a mark the inverse
    position is taken as opened at the mark: Q."""
    if linear:
        return contracts * contract_size * mark
    q = contracts * contract_size
    if entry and entry > 0 and mark and mark > 0:
        return q * mark / entry
    return q


def hedge_owner(config: Config) -> dict[str, tuple[str, HedgeInstrument]]:
    """Proxy symbol -> (sleeve name, instrument): positions there count toward that sleeve."""
    return {h.symbol: (s.name, h) for s in config.sleeves for h in s.hedges if h.proxy}


def position_lines(config: Config, snap: Snapshot, prices: Mapping[str, float]) -> list[PositionLine]:
    owners = {a: s.name for s in config.sleeves for a in s.assets}
    proxies = hedge_owner(config)
    out: list[PositionLine] = []
    for acct in snap.accounts.values():
        for p in acct.open_positions():
            sym = p["symbol"]
            m = _market(snap, acct.name, sym, p)
            contracts = abs(float(p.get("contracts") or 0))
            if p.get("side") == "short":
                contracts = -contracts
            cs = float(m.get("contractSize") or p.get("contractSize") or 1)
            mark = contract_mark(snap, acct.name, sym) or num(p.get("markPrice")) or prices.get(m["base"], 0.0)
            linear = not m.get("inverse", False)
            entry = num(p.get("entryPrice"))
            notional = contract_exposure(contracts, cs, mark, linear, entry)
            base = m.get("base") or symbol_base(sym)
            if sym in proxies:
                sleeve, inst = proxies[sym]
                ratio = inst.ratio
            else:
                sleeve, ratio = owners.get(base, OTHER), 1.0
            settle = m.get("settle") or config.portfolio.quote
            upnl = (num(p.get("unrealizedPnl")) or 0.0) * prices.get(settle, 0.0 if settle != config.portfolio.quote else 1.0)
            out.append(
                PositionLine(
                    account=acct.name, symbol=sym, asset=base, sleeve=sleeve, contracts=contracts,
                    contract_size=cs, linear=linear, dated=bool(m.get("expiry")) or m.get("type") == "future",
                    mark=mark, notional=notional, ratio=ratio, upnl=upnl,
                    entry_price=entry, liquidation_price=num(p.get("liquidationPrice")),
                    leverage=num(p.get("leverage")), margin_mode=p.get("marginMode"),
                    expiry=int(m["expiry"]) if m.get("expiry") else None,
                )
            )
    return out


def spot_quantities(config: Config, snap: Snapshot) -> dict[str, float]:
    qty: dict[str, float] = {}
    for acct in snap.accounts.values():
        for asset, q in acct.total_balance().items():
            qty[asset] = qty.get(asset, 0.0) + q
    for h in config.manual:
        qty[h.asset] = qty.get(h.asset, 0.0) + h.quantity
    return qty


def band_status(drift: float, halfwidth: float, warn_fraction: float) -> Status:
    d = abs(drift)
    if d > halfwidth + EPS:
        return Status.BREACH
    if d > warn_fraction * halfwidth + EPS:
        return Status.WARN
    return Status.OK


def compute_allocation(config: Config, snap: Snapshot) -> Allocation:
    pf = config.portfolio
    prices = asset_prices(snap, pf.quote, pf.stablecoins)
    qty = spot_quantities(config, snap)
    positions = position_lines(config, snap, prices)
    missing = tuple(sorted(a for a, q in qty.items() if q and a not in prices))

    upnl = sum(p.upnl for p in positions)
    spot_value = {a: q * prices.get(a, 0.0) for a, q in qty.items()}
    nav = sum(spot_value.values()) + upnl

    fut_by_asset: dict[str, float] = {}
    for p in positions:
        fut_by_asset[p.asset] = fut_by_asset.get(p.asset, 0.0) + p.notional

    cash_sleeve = next((s for s in config.sleeves if config.is_cash(s)), None)
    stable = set(pf.stablecoins) | {pf.quote}
    assigned = {a for s in config.sleeves for a in s.assets}
    proxy_syms = hedge_owner(config)

    def asset_lines(assets: list[str]) -> tuple[AssetLine, ...]:
        return tuple(
            AssetLine(a, qty.get(a, 0.0), spot_value.get(a, 0.0),
                      0.0 if a in stable else fut_by_asset.get(a, 0.0))
            for a in assets
        )

    def make_row(name: str, sleeve: Sleeve | None, assets: list[str], pos: list[PositionLine],
                 net: float, is_cash: bool) -> SleeveRow:
        lines = asset_lines(assets)
        sv = sum(line.spot_value for line in lines)
        weight = net / nav if nav else 0.0
        if sleeve is None:
            return SleeveRow(name, lines, tuple(pos), sv, net - sv, net, weight, None, None, None,
                             Status.NONE, -net if name == OTHER else 0.0, 0.0, is_cash, False)
        target = sleeve.target
        hw = config.band_halfwidth(sleeve)
        drift = weight - target
        lo, hi = max(0.0, target - hw), target + hw
        edge = min(max(weight, lo), hi)
        return SleeveRow(
            name=name, assets=lines, positions=tuple(pos), spot_value=sv, futures_notional=net - sv,
            net=net, weight=weight, target=target, halfwidth=hw, drift=drift,
            status=band_status(drift, hw, pf.warn_fraction),
            delta_target=target * nav - net,
            delta_band=0.0 if abs(edge - weight) <= EPS else edge * nav - net,
            is_cash=is_cash, configured=True,
        )

    # each sleeve's positions, grouped in one pass (a scan per sleeve grows with sleeves × positions)
    by_sleeve: dict[str, list[PositionLine]] = {}
    for p in positions:
        by_sleeve.setdefault(p.sleeve, []).append(p)

    rows: list[SleeveRow] = []
    risky_total = 0.0
    for s in config.sleeves:
        if s is cash_sleeve:
            continue
        pos = by_sleeve.get(s.name, [])
        # proxies count through their ratio; own-asset contracts at face value
        net = sum(spot_value.get(a, 0.0) for a in s.assets) + sum(p.sleeve_exposure for p in pos)
        risky_total += net
        rows.append(make_row(s.name, s, list(s.assets), pos, net, False))

    other_assets = sorted(a for a in set(qty) | set(fut_by_asset) if a not in assigned and a not in stable)
    other_pos = [p for p in positions if p.sleeve == OTHER and p.symbol not in proxy_syms]
    if other_assets:
        net = sum(spot_value.get(a, 0.0) for a in other_assets) + sum(p.notional for p in other_pos)
        risky_total += net
        rows.append(make_row(OTHER, None, other_assets, other_pos, net, False))

    cash_net = nav - risky_total
    cash_assets = sorted({*(cash_sleeve.assets if cash_sleeve else ()), *(a for a in qty if a in stable and qty[a])})
    rows.append(make_row(cash_sleeve.name if cash_sleeve else CASH, cash_sleeve, cash_assets, [], cash_net, True))

    return Allocation(nav=nav, quote=pf.quote, timestamp=snap.timestamp, rows=tuple(rows),
                      prices=prices, upnl=upnl, missing_prices=missing)
