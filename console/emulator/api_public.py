"""Public market-data endpoints, spot (/api/v3) and USDⓈ-M (/fapi/v1, /fapi/v2), in
Binance's JSON: numbers as strings where Binance sends strings, times as integers."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from console.emulator import params
from console.emulator.book import LEVELS, top_of_book
from console.emulator.engine import Emulator
from console.emulator.errors import BinanceError
from console.emulator.instruments import Instrument, brackets_info, futures_info, spot_info
from console.emulator.prices import FUNDING_INTERVAL_MS, INTEREST_RATE, MINUTE_MS, funding_times

Params = dict[str, str]
DAY_MS = 86_400_000
INTERVALS_MS = {
    "1m": MINUTE_MS, "3m": 3 * MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS, "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS, "2h": 120 * MINUTE_MS, "4h": 240 * MINUTE_MS, "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS, "12h": 720 * MINUTE_MS, "1d": DAY_MS, "3d": 3 * DAY_MS, "1w": 7 * DAY_MS,
}
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
]


def _int(p: Params, key: str, default: int | None = None) -> int | None:
    return params.integer(p, key, default)


def _symbols(emu: Emulator, venue: str, p: Params) -> list[Instrument]:
    """The instruments a request names: ``symbol``, a JSON ``symbols`` list, or all."""
    if p.get("symbol"):
        return [emu.inst(venue, p["symbol"])]
    if p.get("symbols"):
        try:
            ids = json.loads(p["symbols"])
        except ValueError:
            raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
        if not isinstance(ids, list) or not all(isinstance(s, str) for s in ids):
            raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
        return [emu.inst(venue, s) for s in ids]
    return list({"spot": emu.spot_ids, "futures": emu.fut_ids, "coinm": emu.coinm_ids}[venue].values())


def symbols_of(emu: Emulator, venue: str, p: Params) -> list[Instrument]:
    return _symbols(emu, venue, p)


def _one_or_all(emu: Emulator, market: str, p: Params,
                render: Callable[[Emulator, Instrument], dict[str, Any]]) -> Any:
    """Binance's ticker endpoints: one object for ?symbol=, else a list of every symbol."""
    insts = _symbols(emu, market, p)
    return render(emu, insts[0]) if p.get("symbol") else [render(emu, i) for i in insts]


def ping(emu: Emulator, acct: Any, p: Params) -> Any:
    return {}


def server_time(emu: Emulator, acct: Any, p: Params) -> Any:
    return {"serverTime": emu.now_ms()}


def spot_exchange_info(emu: Emulator, acct: Any, p: Params) -> Any:
    insts = _symbols(emu, "spot", p)
    return {"timezone": "UTC", "serverTime": emu.now_ms(), "rateLimits": RATE_LIMITS, "exchangeFilters": [],
            "symbols": [spot_info(i, ["SPOT"]) for i in insts]}


def fut_exchange_info(emu: Emulator, acct: Any, p: Params) -> Any:
    return {"timezone": "UTC", "serverTime": emu.now_ms(), "futuresType": "U_MARGINED", "rateLimits": RATE_LIMITS,
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [futures_info(i, emu.listed_ms, emu.futures_status(i)) for i in emu.fut_ids.values()]}


def _price_fn(emu: Emulator, inst: Instrument, kind: str = "last") -> Callable[[int], float]:
    if kind == "index":
        return lambda t: emu.index(inst.base, t)
    if kind == "premium":
        return lambda t: emu.mark(inst, t) / emu.index(inst.base, t) - 1.0
    return lambda t: emu.mark(inst, t)


def _fmt(inst: Instrument, x: float, kind: str = "last") -> str:
    if kind == "premium":
        return f"{x:.8f}"
    return inst.fmt_price(inst.round_price(x))


def _volume_usd(emu: Emulator, inst: Instrument, t0: int, t1: int) -> float:
    """Synthetic traded value: about 400 × the top-level depth per hour, jittered per hour."""
    total = 0.0
    hour = 3_600_000
    h = t0 - t0 % hour
    while h < t1:
        rng = random.Random(f"{emu.seed}:vol:{inst.id}:{h // hour}")
        overlap = min(t1, h + hour) - max(t0, h)
        total += inst.depth_usd * 400 * rng.uniform(0.5, 1.5) * overlap / hour
        h += hour
    return total


def _candle(emu: Emulator, inst: Instrument, t0: int, t1: int, kind: str = "last") -> tuple[float, float, float, float]:
    """Open, high, low, close over [t0, t1): sampled on the grid, at most ~120 points."""
    f = _price_fn(emu, inst, kind)
    t1 = min(t1, emu.now_ms())
    stride = max(MINUTE_MS, ((t1 - t0) // 120 // MINUTE_MS) * MINUTE_MS)
    pts = [f(t) for t in range(t0, t1, stride)] + [f(t1)]
    return pts[0], max(pts), min(pts), pts[-1]


def ticker24(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    now = emu.now_ms()
    start = now - DAY_MS
    o, h, lo, c = _candle(emu, inst, start, now)
    usd = _volume_usd(emu, inst, start, now)
    vol = usd / c
    out: dict[str, Any] = {
        "symbol": inst.id, "priceChange": _fmt(inst, c - o), "priceChangePercent": f"{(c / o - 1) * 100:.3f}",
        "weightedAvgPrice": _fmt(inst, (o + h + lo + c) / 4),
    }
    if not inst.contract:
        bid, ask = top_of_book(inst, c)
        out["prevClosePrice"] = _fmt(inst, o)
    out.update({"lastPrice": _fmt(inst, c), "lastQty": inst.fmt_qty(float(inst.step) * 10)})
    if not inst.contract:
        book = emu.book(inst, now)
        out.update({"bidPrice": _fmt(inst, bid), "bidQty": inst.fmt_qty(book.bids[0][1]),
                    "askPrice": _fmt(inst, ask), "askQty": inst.fmt_qty(book.asks[0][1])})
    count = int(usd / 2_000)
    out.update({
        "openPrice": _fmt(inst, o), "highPrice": _fmt(inst, h), "lowPrice": _fmt(inst, lo),
        "volume": inst.fmt_qty(vol), "quoteVolume": f"{usd:.2f}" if inst.contract else f"{usd:.8f}",
        "openTime": start, "closeTime": now, "firstId": 1, "lastId": count, "count": count,
    })
    return out


def spot_ticker24(emu: Emulator, acct: Any, p: Params) -> Any:
    return _one_or_all(emu, "spot", p, ticker24)


def fut_ticker24(emu: Emulator, acct: Any, p: Params) -> Any:
    return _one_or_all(emu, "futures", p, ticker24)


def book_ticker(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    book = emu.book(inst)
    out = {"symbol": inst.id, "bidPrice": _fmt(inst, book.best_bid), "bidQty": inst.fmt_qty(book.bids[0][1]),
           "askPrice": _fmt(inst, book.best_ask), "askQty": inst.fmt_qty(book.asks[0][1])}
    if inst.contract:
        out["time"] = emu.now_ms()
    return out


def spot_book_ticker(emu: Emulator, acct: Any, p: Params) -> Any:
    return _one_or_all(emu, "spot", p, book_ticker)


def fut_book_ticker(emu: Emulator, acct: Any, p: Params) -> Any:
    return _one_or_all(emu, "futures", p, book_ticker)


def _depth(emu: Emulator, venue: str, p: Params) -> dict[str, Any]:
    inst = emu.inst(venue, p.get("symbol"))
    limit = params.limit(p, 100, LEVELS)
    now = emu.now_ms()
    book = emu.book(inst, now)
    # the depth stream clears the levels of every snapshot a client may have loaded
    served = emu.depth_served.setdefault(inst.id, [])
    if not served or served[-1] != now:
        served.append(now)
        del served[:-20]
    out: dict[str, Any] = {"lastUpdateId": now // 100}
    if inst.contract:
        out.update({"E": now, "T": now})
    out["bids"] = [[inst.fmt_price(px), inst.fmt_qty(q)] for px, q in book.bids[:limit]]
    out["asks"] = [[inst.fmt_price(px), inst.fmt_qty(q)] for px, q in book.asks[:limit]]
    return out


def depth(emu: Emulator, venue: str, p: Params) -> dict[str, Any]:
    return _depth(emu, venue, p)


def spot_depth(emu: Emulator, acct: Any, p: Params) -> Any:
    return _depth(emu, "spot", p)


def fut_depth(emu: Emulator, acct: Any, p: Params) -> Any:
    return _depth(emu, "futures", p)


def _klines(emu: Emulator, inst: Instrument, p: Params, kind: str, max_limit: int) -> list[list[Any]]:
    step = INTERVALS_MS.get(p.get("interval", ""))
    if step is None:
        raise BinanceError(-1120, "Invalid interval.")
    limit = params.limit(p, 500, max_limit)
    now = emu.now_ms()
    start, end = _int(p, "startTime"), _int(p, "endTime")
    end = min(now, end if end is not None else now)
    if start is None:
        last_open = end - end % step
        start = last_open - (limit - 1) * step
    first = start if start % step == 0 else start - start % step + step
    first = max(first, emu.listed_ms - emu.listed_ms % step)
    out: list[list[Any]] = []
    t = first
    while t <= end and len(out) < limit:
        o, h, lo, c = _candle(emu, inst, t, t + step, kind)
        usd = _volume_usd(emu, inst, t, min(t + step, now)) if kind == "last" else 0.0
        vol = usd / c if c and kind == "last" else 0.0
        qfmt = (lambda x: f"{x:.8f}") if kind == "premium" else (lambda x: _fmt(inst, x))
        out.append([t, qfmt(o), qfmt(h), qfmt(lo), qfmt(c), inst.fmt_qty(vol), t + step - 1, f"{usd:.8f}",
                    int(usd / 2_000), inst.fmt_qty(vol / 2), f"{usd / 2:.8f}", "0"])
        t += step
    return out


def klines_of(emu: Emulator, inst: Instrument, p: Params, kind: str, max_limit: int) -> list[list[Any]]:
    return _klines(emu, inst, p, kind, max_limit)


def spot_klines(emu: Emulator, acct: Any, p: Params) -> Any:
    return _klines(emu, emu.inst("spot", p.get("symbol")), p, "last", 1000)


def fut_klines(emu: Emulator, acct: Any, p: Params) -> Any:
    return _klines(emu, emu.inst("futures", p.get("symbol")), p, "last", 1500)


def fut_mark_klines(emu: Emulator, acct: Any, p: Params) -> Any:
    return _klines(emu, emu.inst("futures", p.get("symbol")), p, "mark", 1500)


def fut_premium_klines(emu: Emulator, acct: Any, p: Params) -> Any:
    return _klines(emu, emu.inst("futures", p.get("symbol")), p, "premium", 1500)


def fut_index_klines(emu: Emulator, acct: Any, p: Params) -> Any:
    pair = p.get("pair") or p.get("symbol")
    return _klines(emu, emu.inst("futures", pair), p, "index", 1500)


def premium_index_row(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    now = emu.now_ms()
    index = emu.index(inst.base, now)
    perp = inst.kind == "perp"
    return {
        "symbol": inst.id, "markPrice": f"{emu.mark(inst, now):.8f}", "indexPrice": f"{index:.8f}",
        "estimatedSettlePrice": f"{index:.8f}",
        "lastFundingRate": f"{emu.paths.funding_rate(inst.base, now):.8f}" if perp else "",
        "interestRate": f"{INTEREST_RATE:.8f}" if perp else "",
        "nextFundingTime": emu.next_funding_ms() if perp else 0, "time": now,
    }


def premium_index(emu: Emulator, acct: Any, p: Params) -> Any:
    if p.get("symbol"):
        return premium_index_row(emu, emu.inst("futures", p["symbol"]))
    return [premium_index_row(emu, i) for i in emu.fut_ids.values()]


def funding_rate_history(emu: Emulator, acct: Any, p: Params) -> Any:
    insts = [emu.inst("futures", p["symbol"])] if p.get("symbol") else list(emu.fut_ids.values())
    limit = params.limit(p, 100, 1000)
    now = emu.now_ms()
    start, end = _int(p, "startTime"), _int(p, "endTime")
    end = min(now, end if end is not None else now)
    if start is None:
        start = max(emu.listed_ms, end - limit * FUNDING_INTERVAL_MS)
    start = max(start, emu.listed_ms)
    rows: list[dict[str, Any]] = []
    for inst in insts:
        if inst.kind != "perp":
            continue
        for t in funding_times(start - 1, end):
            rows.append({"symbol": inst.id, "fundingTime": t,
                         "fundingRate": f"{emu.paths.funding_rate(inst.base, t):.8f}",
                         "markPrice": f"{emu.paths.perp_mark(inst.base, t):.8f}"})
    rows.sort(key=lambda r: (r["fundingTime"], r["symbol"]))
    return rows[:limit]


def funding_info(emu: Emulator, acct: Any, p: Params) -> Any:
    return [{"symbol": i.id, "adjustedFundingRateCap": "0.00750000", "adjustedFundingRateFloor": "-0.00750000",
             "fundingIntervalHours": 8, "disclaimer": False} for i in emu.fut_ids.values() if i.kind == "perp"]


def _price_ticker(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    out: dict[str, Any] = {"symbol": inst.id, "price": _fmt(inst, emu.mark(inst))}
    if inst.contract:
        out["time"] = emu.now_ms()
    return out


def spot_price(emu: Emulator, acct: Any, p: Params) -> Any:
    return _one_or_all(emu, "spot", p, _price_ticker)


def fut_price(emu: Emulator, acct: Any, p: Params) -> Any:
    return _one_or_all(emu, "futures", p, _price_ticker)


def leverage_bracket(emu: Emulator, acct: Any, p: Params) -> Any:
    if p.get("symbol"):
        return [brackets_info(emu.inst("futures", p["symbol"]))]
    return [brackets_info(i) for i in emu.fut_ids.values()]


ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/api/v3/ping", ping),
    ("GET", "/api/v3/time", server_time),
    ("GET", "/api/v3/exchangeInfo", spot_exchange_info),
    ("GET", "/api/v3/ticker/24hr", spot_ticker24),
    ("GET", "/api/v3/ticker/bookTicker", spot_book_ticker),
    ("GET", "/api/v3/ticker/price", spot_price),
    ("GET", "/api/v3/depth", spot_depth),
    ("GET", "/api/v3/klines", spot_klines),
    ("GET", "/fapi/v1/ping", ping),
    ("GET", "/fapi/v1/time", server_time),
    ("GET", "/fapi/v1/exchangeInfo", fut_exchange_info),
    ("GET", "/fapi/v1/ticker/24hr", fut_ticker24),
    ("GET", "/fapi/v1/ticker/bookTicker", fut_book_ticker),
    ("GET", "/fapi/v1/ticker/price", fut_price),
    ("GET", "/fapi/v2/ticker/price", fut_price),
    ("GET", "/fapi/v1/depth", fut_depth),
    ("GET", "/fapi/v1/klines", fut_klines),
    ("GET", "/fapi/v1/markPriceKlines", fut_mark_klines),
    ("GET", "/fapi/v1/indexPriceKlines", fut_index_klines),
    ("GET", "/fapi/v1/premiumIndexKlines", fut_premium_klines),
    ("GET", "/fapi/v1/premiumIndex", premium_index),
    ("GET", "/fapi/v1/fundingRate", funding_rate_history),
    ("GET", "/fapi/v1/fundingInfo", funding_info),
]

# signed, but pure market data: the brackets are the same for every account
SIGNED_MARKET_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/fapi/v1/leverageBracket", leverage_bracket),
]

