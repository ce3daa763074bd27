"""What the venue lists: spot pairs, perpetuals and quarterly futures, with Binance's filters
(tick size, step size, min qty, min notional) and USDⓈ-M leverage brackets.

Specs are plain data; ``exchange_info`` renders them in Binance's exchangeInfo dialect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

PERP_DELIVERY_MS = 4133404800000  # Binance's "never" delivery date for perpetuals
SPOT_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]
FUT_ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]


@cache  # a handful of distinct steps, asked for on every price a book or a ticker rounds
def decimals(step: str) -> int:
    """Number of decimals in a step such as "0.001" (3) or "1" (0)."""
    exp = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exp))


@dataclass(frozen=True)
class Bracket:
    bracket: int
    initial_leverage: int
    floor: float
    cap: float
    mmr: float
    cum: float  # maintenance amount: MM = notional × mmr − cum


def make_brackets(rows: list[tuple[int, float, float, float]]) -> tuple[Bracket, ...]:
    """Rows of (max leverage, floor, cap, mmr); cum follows so MM is continuous at each floor."""
    out: list[Bracket] = []
    cum, prev_mmr = 0.0, 0.0
    for i, (lev, floor, cap, mmr) in enumerate(rows, start=1):
        cum += floor * (mmr - prev_mmr)
        prev_mmr = mmr
        out.append(Bracket(i, lev, floor, cap, mmr, round(cum, 2)))
    return tuple(out)


BTC_BRACKETS = make_brackets([
    (125, 0, 50_000, 0.004), (100, 50_000, 600_000, 0.005), (75, 600_000, 3_000_000, 0.0065),
    (50, 3_000_000, 12_000_000, 0.01), (25, 12_000_000, 70_000_000, 0.02), (20, 70_000_000, 100_000_000, 0.025),
    (10, 100_000_000, 230_000_000, 0.05), (5, 230_000_000, 480_000_000, 0.1), (4, 480_000_000, 600_000_000, 0.125),
    (3, 600_000_000, 800_000_000, 0.15), (2, 800_000_000, 1_200_000_000, 0.25), (1, 1_200_000_000, 1_800_000_000, 0.5),
])
ETH_BRACKETS = make_brackets([
    (125, 0, 50_000, 0.004), (100, 50_000, 600_000, 0.005), (75, 600_000, 3_000_000, 0.0065),
    (50, 3_000_000, 12_000_000, 0.01), (25, 12_000_000, 50_000_000, 0.02), (20, 50_000_000, 65_000_000, 0.025),
    (10, 65_000_000, 150_000_000, 0.05), (5, 150_000_000, 320_000_000, 0.1), (4, 320_000_000, 400_000_000, 0.125),
    (3, 400_000_000, 530_000_000, 0.15), (2, 530_000_000, 800_000_000, 0.25), (1, 800_000_000, 1_200_000_000, 0.5),
])
ALT_BRACKETS = make_brackets([
    (75, 0, 5_000, 0.01), (50, 5_000, 25_000, 0.02), (25, 25_000, 100_000, 0.025), (20, 100_000, 250_000, 0.05),
    (10, 250_000, 1_000_000, 0.1), (5, 1_000_000, 2_500_000, 0.125), (4, 2_500_000, 5_000_000, 0.15),
    (2, 5_000_000, 10_000_000, 0.25), (1, 10_000_000, 20_000_000, 0.5),
])
DATED_BRACKETS = make_brackets([
    (25, 0, 250_000, 0.02), (20, 250_000, 1_000_000, 0.025), (10, 1_000_000, 5_000_000, 0.05),
    (5, 5_000_000, 10_000_000, 0.1), (2, 10_000_000, 20_000_000, 0.25), (1, 20_000_000, 50_000_000, 0.5),
])


@dataclass(frozen=True)
class Instrument:
    id: str  # venue id, e.g. BTCUSDT or BTCUSDT_261225
    venue: str  # "spot" | "futures"
    base: str
    quote: str
    tick: str
    step: str
    min_qty: str
    min_notional: str
    max_qty: str = "9000000"
    kind: str = "spot"  # "spot" | "perp" | "dated"
    delivery_ms: int | None = None
    brackets: tuple[Bracket, ...] = field(default_factory=tuple)
    depth_usd: float = 50_000.0  # notional per book level near the top
    contract_size: float = 0.0  # COIN-M: USD per contract (0 for linear and spot)

    @property
    def price_decimals(self) -> int:
        return decimals(self.tick)

    @property
    def qty_decimals(self) -> int:
        return decimals(self.step)

    @property
    def contract(self) -> bool:
        return self.venue != "spot"

    @property
    def inverse(self) -> bool:
        return self.contract_size > 0

    def bracket_for(self, notional: float) -> Bracket:
        for b in self.brackets:
            if notional < b.cap:
                return b
        return self.brackets[-1]

    def max_notional_at(self, leverage: int) -> float:
        """The largest position Binance allows at this leverage (its ``maxNotionalValue``):
        the cap of the last bracket whose initial leverage still covers it."""
        return max(b.cap for b in self.brackets if b.initial_leverage >= leverage)

    def fmt_price(self, p: float) -> str:
        return f"{p:.{self.price_decimals}f}" if self.contract else f"{p:.8f}"

    def fmt_qty(self, q: float) -> str:
        return f"{q:.{self.qty_decimals}f}" if self.contract else f"{q:.8f}"

    def round_price(self, p: float) -> float:
        t = float(self.tick)
        return round(round(p / t) * t, self.price_decimals)


def spot_info(i: Instrument, permissions: list[str]) -> dict[str, object]:
    return {
        "symbol": i.id, "status": "TRADING", "baseAsset": i.base, "baseAssetPrecision": 8,
        "quoteAsset": i.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8, "orderTypes": SPOT_ORDER_TYPES,
        "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True, "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": i.tick, "maxPrice": "1000000.00000000", "tickSize": i.tick},
            {"filterType": "LOT_SIZE", "minQty": i.min_qty, "maxQty": i.max_qty, "stepSize": i.step},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": i.max_qty, "stepSize": "0.00000000"},
            {"filterType": "NOTIONAL", "minNotional": i.min_notional, "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2",
             "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [], "permissionSets": [permissions], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def futures_info(i: Instrument, onboard_ms: int, status: str = "TRADING") -> dict[str, object]:
    perp = i.kind == "perp"
    return {
        "symbol": i.id, "pair": i.base + i.quote,
        "contractType": "PERPETUAL" if perp else "CURRENT_QUARTER",
        "deliveryDate": PERP_DELIVERY_MS if perp else i.delivery_ms, "onboardDate": onboard_ms,
        "status": status, "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": i.base, "quoteAsset": i.quote, "marginAsset": i.quote,
        "pricePrecision": i.price_decimals, "quantityPrecision": i.qty_decimals,
        "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
        "underlyingSubType": ["PoW"] if i.base == "BTC" else ["Layer-1"], "settlePlan": 0,
        "triggerProtect": "0.0500", "liquidationFee": "0.012500", "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": i.tick, "maxPrice": "4529764", "tickSize": i.tick},
            {"filterType": "LOT_SIZE", "minQty": i.min_qty, "maxQty": i.max_qty, "stepSize": i.step},
            {"filterType": "MARKET_LOT_SIZE", "minQty": i.min_qty, "maxQty": i.max_qty, "stepSize": i.step},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": i.min_notional},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"},
        ],
        "orderTypes": FUT_ORDER_TYPES, "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }


def brackets_info(i: Instrument) -> dict[str, object]:
    return {
        "symbol": i.id,
        "brackets": [
            {"bracket": b.bracket, "initialLeverage": b.initial_leverage, "notionalCap": b.cap,
             "notionalFloor": b.floor, "maintMarginRatio": b.mmr, "cum": b.cum}
            for b in i.brackets
        ],
    }
