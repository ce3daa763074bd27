"""One API key's money: the spot wallet, the USDⓈ-M wallet and its positions, orders, trades
and income; and the futures margin arithmetic (initial and maintenance margin from the
leverage brackets, cross and isolated, liquidation price by Binance's one-way formula).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.emulator.instruments import Instrument

DEFAULT_LEVERAGE = 20


@dataclass
class Order:
    venue: str  # "spot" | "futures"
    symbol: str
    order_id: int
    client_id: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT | LIMIT_MAKER
    tif: str  # GTC | IOC | FOK | GTX
    price: float
    orig_qty: float
    time_ms: int
    reduce_only: bool = False
    quote_order_qty: float = 0.0
    executed_qty: float = 0.0
    cum_quote: float = 0.0
    status: str = "NEW"
    update_ms: int = 0
    checked_ms: int = 0  # resting orders: grid scanned up to here
    good_till_ms: int = 0  # GTD: the venue expires the order at this instant

    @property
    def open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def remaining(self) -> float:
        return max(0.0, self.orig_qty - self.executed_qty)

    @property
    def avg_price(self) -> float:
        return self.cum_quote / self.executed_qty if self.executed_qty else 0.0


@dataclass
class Trade:
    venue: str
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: float
    qty: float
    commission: float
    commission_asset: str
    maker: bool
    time_ms: int
    realized_pnl: float = 0.0


@dataclass
class Position:
    symbol: str
    amt: float = 0.0  # signed: negative is short
    entry: float = 0.0
    isolated_wallet: float = 0.0  # margin held by an isolated position
    update_ms: int = 0


@dataclass
class SymbolConfig:
    leverage: int = DEFAULT_LEVERAGE
    margin_type: str = "cross"  # "cross" | "isolated"


@dataclass
class Income:
    tran_id: int
    symbol: str
    income_type: str  # FUNDING_FEE | REALIZED_PNL | COMMISSION | INSURANCE_CLEAR
    amount: float
    asset: str
    time_ms: int
    trade_id: str = ""


@dataclass
class Account:
    name: str
    spot: dict[str, list[float]] = field(default_factory=dict)  # asset -> [free, locked]
    futures_wallet: dict[str, float] = field(default_factory=dict)  # asset -> wallet balance
    positions: dict[str, Position] = field(default_factory=dict)
    configs: dict[str, SymbolConfig] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    trades: list[Trade] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    created_ms: int = 0
    coinm_wallet: dict[str, float] = field(default_factory=dict)  # COIN-M: coin -> wallet balance
    coinm_positions: dict[str, Position] = field(default_factory=dict)  # COIN-M: contracts, signed
    coinm_income: list[Income] = field(default_factory=list)
    hedge_mode: bool = False  # dualSidePosition: switchable only while the account is empty
    countdowns: dict[str, int] = field(default_factory=dict)  # symbol -> when countdownCancelAll fires
    margin_mode: str = "REGULAR_MARGIN"  # a Bybit unified account's mode (REGULAR_MARGIN = cross)

    # -- spot wallet ---------------------------------------------------------------------
    def free(self, asset: str) -> float:
        return self.spot.get(asset, [0.0, 0.0])[0]

    def credit(self, asset: str, amount: float, locked: float = 0.0) -> None:
        row = self.spot.setdefault(asset, [0.0, 0.0])
        row[0] = round(row[0] + amount, 10)
        row[1] = round(row[1] + locked, 10)

    # -- futures -------------------------------------------------------------------------
    def config(self, symbol: str) -> SymbolConfig:
        return self.configs.setdefault(symbol, SymbolConfig())

    def position(self, symbol: str) -> Position:
        return self.positions.setdefault(symbol, Position(symbol))

    def find_order(self, venue: str, order_id: int | None, client_id: str | None, symbol: str) -> Order | None:
        if order_id is not None:
            o = self.orders.get(order_id)
            return o if o and o.venue == venue and o.symbol == symbol else None
        for o in reversed(list(self.orders.values())):
            if o.venue == venue and o.client_id == client_id and o.symbol == symbol:
                return o
        return None


@dataclass(frozen=True)
class PositionRisk:
    symbol: str
    amt: float
    entry: float
    mark: float
    notional: float  # signed
    upnl: float
    initial_margin: float
    maint_margin: float
    leverage: int
    margin_type: str
    isolated_wallet: float
    liquidation_price: float  # 0 when there is none
    max_notional: float


class Margin:
    """Futures margin of one account at given marks (symbol -> mark)."""

    def __init__(self, acct: Account, instruments: dict[str, Instrument], marks: dict[str, float]) -> None:
        self.acct = acct
        self.inst = instruments
        self.marks = marks

    def _risk_basic(self, p: Position) -> tuple[float, float, float, float, Any]:
        inst = self.inst[p.symbol]
        mark = self.marks[p.symbol]
        notional = p.amt * mark
        upnl = p.amt * (mark - p.entry)
        b = inst.bracket_for(abs(notional))
        mm = max(0.0, abs(notional) * b.mmr - b.cum)
        return notional, upnl, mm, b.mmr, b

    def open_positions(self) -> list[Position]:
        return [p for p in self.acct.positions.values() if p.amt != 0]

    def wallet(self, asset: str = "USDT") -> float:
        return self.acct.futures_wallet.get(asset, 0.0)

    def cross_wallet(self) -> float:
        iso = sum(p.isolated_wallet for p in self.open_positions())
        return self.wallet() - iso

    def risk(self, p: Position) -> PositionRisk:
        cfg = self.acct.config(p.symbol)
        notional, upnl, mm, mmr, b = self._risk_basic(p)
        im = abs(notional) / cfg.leverage
        q, s = abs(p.amt), (1.0 if p.amt > 0 else -1.0)
        if cfg.margin_type == "isolated":
            wb, tmm, upnl_other = p.isolated_wallet, 0.0, 0.0
        else:
            wb = self.cross_wallet()
            others = [self._risk_basic(o) for o in self.open_positions()
                      if o.symbol != p.symbol and self.acct.config(o.symbol).margin_type == "cross"]
            tmm = sum(o[2] for o in others)
            upnl_other = sum(o[1] for o in others)
        liq = 0.0
        if q > 0:
            # the bracket that holds the notional at the liquidation price, not at the mark
            # (Binance's FAQ: substitute the level the position is in at that price)
            found: float | None = None
            for br in self.inst[p.symbol].brackets:
                denom = q * br.mmr - s * q
                if denom == 0:
                    continue
                lp = (wb - tmm + upnl_other + br.cum - s * q * p.entry) / denom
                found = lp if found is None else found
                if br.floor <= q * max(lp, 0.0) < br.cap:
                    found = lp
                    break
            liq = max(0.0, found or 0.0)
        max_notional = b.cap
        for br in self.inst[p.symbol].brackets:
            if br.initial_leverage >= cfg.leverage:
                max_notional = br.cap
        return PositionRisk(p.symbol, p.amt, p.entry, self.marks[p.symbol], notional, upnl, im, mm,
                            cfg.leverage, cfg.margin_type, p.isolated_wallet, liq, max_notional)

    def open_order_margin(self) -> float:
        total = 0.0
        for o in self.acct.orders.values():
            if o.venue == "futures" and o.open and not o.reduce_only:
                total += o.remaining * o.price / self.acct.config(o.symbol).leverage
        return total

    def summary(self) -> dict[str, float]:
        risks = [self.risk(p) for p in self.open_positions()]
        cross = [r for r in risks if r.margin_type == "cross"]
        upnl = sum(r.upnl for r in risks)
        cross_upnl = sum(r.upnl for r in cross)
        pos_im = sum(r.initial_margin for r in risks)
        cross_im = sum(r.initial_margin for r in cross)
        ord_im = self.open_order_margin()
        mm = sum(r.maint_margin for r in risks)
        wallet = self.wallet()
        cross_wallet = self.cross_wallet()
        available = cross_wallet + cross_upnl - cross_im - ord_im
        return {
            "wallet": wallet, "upnl": upnl, "margin_balance": wallet + upnl, "position_im": pos_im,
            "order_im": ord_im, "initial_margin": pos_im + ord_im, "maint_margin": mm,
            "cross_wallet": cross_wallet, "cross_upnl": cross_upnl, "available": available, "cross_im": cross_im,
        }
