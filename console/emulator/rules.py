"""Binance's order-parameter rules shared by the spot, USDⓈ-M and COIN-M order paths: sides,
numbers, steps, good-till dates, percent-price filters and an order's status."""

from __future__ import annotations

from console.emulator import params
from console.emulator.accounts import Order
from console.emulator.errors import BinanceError
from console.emulator.instruments import Instrument

EPS = 1e-12
SPOT_TIFS = ("GTC", "IOC", "FOK")
GTD_MIN_AHEAD_MS = 600_000
GTD_LATEST_MS = 253_402_300_799_000
FUT_TIFS = ("GTC", "IOC", "FOK", "GTX", "GTD")
SPOT_PERCENT_UP, SPOT_PERCENT_DOWN = 5.0, 0.2
FUT_PERCENT_UP, FUT_PERCENT_DOWN = 1.05, 0.95


def _side(p: dict[str, str]) -> str:
    return params.side(p)


def _num(p: dict[str, str], key: str, required: bool = False) -> float:
    return params.number(p, key, required=required)


def _decimals(raw: str) -> int:
    return len(raw.split(".", 1)[1].rstrip("0")) if "." in raw else 0


def _multiple(x: float, step: str) -> bool:
    st = float(step)
    return abs(x / st - round(x / st)) < 1e-6


def _check_steps(inst: Instrument, x: float, raw: str, filt: str) -> None:
    """Spot filters: more than 8 decimals is a precision error; off-step is a filter failure."""
    if _decimals(raw) > 8:
        raise BinanceError(-1111, "Parameter 'quantity' has too much precision." if filt == "LOT_SIZE"
                           else "Parameter 'price' has too much precision.")
    step = inst.step if filt == "LOT_SIZE" else inst.tick
    low = float(inst.min_qty) if filt == "LOT_SIZE" else float(inst.tick)
    if x < low - EPS or not _multiple(x, step):
        raise BinanceError(-1013, f"Filter failure: {filt}")


def _good_till(p: dict[str, str], now: int) -> int:
    """GTD's goodTillDate: Binance wants it at least 600 s ahead, in whole seconds' worth of ms."""
    gtd = params.integer(p, "goodTillDate")
    if gtd is None:
        raise params.missing("goodTillDate")
    if gtd < now + GTD_MIN_AHEAD_MS or gtd > GTD_LATEST_MS:
        raise BinanceError(-1130, "Data sent for parameter 'goodTillDate' is not valid: it must be at least "
                           "600 s after the current time.")
    return gtd


def _check_percent_price_by_side(price: float, ref: float) -> None:
    """Spot PERCENT_PRICE_BY_SIDE: a limit price within [down, up] × the average price."""
    lo, hi = ref * SPOT_PERCENT_DOWN, ref * SPOT_PERCENT_UP
    if not lo <= price <= hi:
        raise BinanceError(-1013, "Filter failure: PERCENT_PRICE_BY_SIDE")


def _check_percent_price(inst: Instrument, side: str, price: float, mark: float) -> None:
    """USDⓈ-M PERCENT_PRICE: a buy no higher than mark × up, a sell no lower than mark × down."""
    if side == "BUY" and price > mark * FUT_PERCENT_UP:
        raise BinanceError(-4016, f"Limit price can't be higher than {inst.fmt_price(mark * FUT_PERCENT_UP)}.")
    if side == "SELL" and price < mark * FUT_PERCENT_DOWN:
        raise BinanceError(-4024, f"Limit price can't be lower than {inst.fmt_price(mark * FUT_PERCENT_DOWN)}.")


def _status(o: Order, resting: bool) -> str:
    if o.remaining <= EPS:
        return "FILLED"
    if resting:
        return "PARTIALLY_FILLED" if o.executed_qty > EPS else "NEW"
    return "EXPIRED"
