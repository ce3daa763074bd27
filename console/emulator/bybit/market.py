"""Bybit v5 market data (``/v5/market/*``), public: server time, instruments, tickers, order
book, klines, funding history and risk limits, computed from the engine's price paths and
books, so a Bybit client sees the same market as a Binance one at the same instant."""

from __future__ import annotations

from typing import Any

from console.emulator import api_more, api_public
from console.emulator.bybit.errors import BybitError
from console.emulator.bybit.symbols import Listed, find, listed
from console.emulator.engine import Emulator
from console.emulator.errors import BinanceError
from console.emulator.prices import FUNDING_INTERVAL_MS, funding_times

Params = dict[str, str]
KLINE_INTERVALS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
                   "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w"}
BOOK_LIMITS = {"spot": (1, 200), "linear": (25, 500), "inverse": (25, 500)}  # (default, most)


def _int(p: Params, key: str, default: int | None = None) -> int | None:
    raw = p.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise BybitError(10001, f"params error: {key} must be a non-negative integer")
    return int(raw)


def _limit(p: Params, default: int, most: int) -> int:
    n = _int(p, "limit", default) or default
    if n < 1 or n > most:
        raise BybitError(10001, f"params error: limit must be between 1 and {most}")
    return n


def qty_out(item: Listed, qty: float) -> str:
    """An engine quantity in Bybit's unit (USD for inverse contracts)."""
    if item.category == "inverse":
        return f"{qty * item.lot_usd:.0f}"
    return item.inst.fmt_qty(qty)


def price_out(item: Listed, price: float) -> str:
    return item.inst.fmt_price(item.inst.round_price(price)) if price else "0"


def server_time(emu: Emulator, acct: Any, p: Params) -> Any:
    now = emu.now_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def _instrument(emu: Emulator, item: Listed) -> dict[str, Any]:
    i = item.inst
    if item.category == "spot":
        return {
            "symbol": item.symbol, "baseCoin": i.base, "quoteCoin": i.quote, "innovation": "0",
            "status": "Trading", "marginTrading": "none", "stTag": "0",
            "lotSizeFilter": {"basePrecision": i.step, "quotePrecision": "0.00000001", "minOrderQty": i.min_qty,
                              "maxOrderQty": i.max_qty, "minOrderAmt": i.min_notional, "maxOrderAmt": "9000000"},
            "priceFilter": {"tickSize": i.tick},
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
        }
    perp = i.kind == "perp"
    status = "Trading" if emu.futures_status(i) == "TRADING" else "Delivering"
    linear = item.category == "linear"
    top = i.brackets[0].initial_leverage if i.brackets else 1
    lot = {"maxOrderQty": i.max_qty, "maxMktOrderQty": i.max_qty, "minOrderQty": i.min_qty, "qtyStep": i.step,
           "postOnlyMaxOrderQty": i.max_qty, "minNotionalValue": i.min_notional}
    if not linear:
        # Bybit's inverse contract is 1 USD (ccxt reads the contract size from minOrderQty);
        # the engine's lots are contract_size USD, so that is the qty step
        usd_max = f"{float(i.max_qty) * item.lot_usd:.0f}"
        lot = {"maxOrderQty": usd_max, "maxMktOrderQty": usd_max, "minOrderQty": "1",
               "qtyStep": f"{item.lot_usd:.0f}", "postOnlyMaxOrderQty": usd_max}
    return {
        "symbol": item.symbol,
        "contractType": ("LinearPerpetual" if perp else "LinearFutures") if linear
        else ("InversePerpetual" if perp else "InverseFutures"),
        "status": status, "baseCoin": i.base, "quoteCoin": i.quote, "settleCoin": i.quote if linear else i.base,
        "launchTime": str(emu.listed_ms), "deliveryTime": "0" if perp else str(i.delivery_ms),
        "deliveryFeeRate": "" if perp else "0.0005", "priceScale": str(i.price_decimals),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": f"{top:.2f}", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": i.tick, "maxPrice": "1999999.80", "tickSize": i.tick},
        "lotSizeFilter": lot, "unifiedMarginTrade": True, "fundingInterval": FUNDING_INTERVAL_MS // 60_000,
        "copyTrading": "both", "upperFundingRate": "0.0075", "lowerFundingRate": "-0.0075",
        "isPreListing": False, "preListingInfo": None,
    }


def instruments_info(emu: Emulator, acct: Any, p: Params) -> Any:
    category = p.get("category", "")
    if category == "option":  # Bybit lists options; the emulator's market has none
        return {"category": "option", "list": [], "nextPageCursor": ""}
    if p.get("status") == "PreLaunch":
        items: list[Listed] = []  # nothing is pre-listed in the emulator
        listed(emu, category)  # still refuses an unknown category
    elif p.get("symbol"):
        items = [find(emu, category, p["symbol"])]
    else:
        items = listed(emu, category)
    out: dict[str, Any] = {"category": category, "list": [_instrument(emu, it) for it in items]}
    if category != "spot":
        out["nextPageCursor"] = ""
    return out


def _ticker(emu: Emulator, item: Listed) -> dict[str, Any]:
    i = item.inst
    now = emu.now_ms()
    t24 = api_public.ticker24(emu, i)
    book = emu.book(i, now)
    volume = float(t24["volume"])
    out: dict[str, Any] = {
        "symbol": item.symbol, "lastPrice": t24["lastPrice"], "prevPrice24h": t24["openPrice"],
        "price24hPcnt": f"{float(t24['lastPrice']) / float(t24['openPrice']) - 1:.4f}",
        "highPrice24h": t24["highPrice"], "lowPrice24h": t24["lowPrice"],
        "bid1Price": price_out(item, book.best_bid), "bid1Size": qty_out(item, book.bids[0][1]),
        "ask1Price": price_out(item, book.best_ask), "ask1Size": qty_out(item, book.asks[0][1]),
        "turnover24h": t24["quoteVolume"], "volume24h": t24["volume"] if item.category != "inverse"
        else f"{volume * i.contract_size:.0f}",
    }
    if item.category == "spot":
        out["usdIndexPrice"] = f"{emu.index(i.base, now):.8f}"
        return out
    perp = i.kind == "perp"
    index = emu.index(i.base, now)
    mark = emu.mark(i, now)
    oi = i.depth_usd * 40 / (i.contract_size or mark)  # a standing open interest, in contracts
    out.update({
        "indexPrice": f"{index:.8f}", "markPrice": price_out(item, mark), "prevPrice1h": t24["openPrice"],
        "openInterest": qty_out(item, oi), "openInterestValue": f"{oi * (i.contract_size or mark):.2f}",
        "fundingRate": f"{emu.paths.funding_rate(i.base, now):.8f}" if perp else "",
        "nextFundingTime": str(emu.next_funding_ms()) if perp else "0",
        "predictedDeliveryPrice": "" if perp else f"{index:.8f}",
        "basisRate": "" if perp else f"{mark / index - 1:.8f}", "basis": "" if perp else f"{mark - index:.8f}",
        "deliveryFeeRate": "" if perp else "0.0005", "deliveryTime": "0" if perp else str(i.delivery_ms),
    })
    return out


def tickers(emu: Emulator, acct: Any, p: Params) -> Any:
    category = p.get("category", "")
    items = [find(emu, category, p["symbol"])] if p.get("symbol") else listed(emu, category)
    return {"category": category, "list": [_ticker(emu, it) for it in items]}


def orderbook(emu: Emulator, acct: Any, p: Params) -> Any:
    item = find(emu, p.get("category"), p.get("symbol"))
    default, most = BOOK_LIMITS[item.category]
    limit = _limit(p, default, most)
    now = emu.now_ms()
    book = emu.book(item.inst, now)
    return {"s": item.symbol, "b": [[price_out(item, px), qty_out(item, q)] for px, q in book.bids[:limit]],
            "a": [[price_out(item, px), qty_out(item, q)] for px, q in book.asks[:limit]],
            "ts": now, "u": now // 100, "seq": now // 100, "cts": now}


def kline(emu: Emulator, acct: Any, p: Params, kind: str = "last") -> Any:
    """Candles of the last price (``/v5/market/kline``), or of the mark or index price
    (``mark-price-kline``, ``index-price-kline``: OHLC only, as Bybit sends them)."""
    item = find(emu, p.get("category"), p.get("symbol"))
    interval = KLINE_INTERVALS.get(p.get("interval", ""))
    if interval is None:
        raise BybitError(10001, f"params error: interval must be one of {', '.join(KLINE_INTERVALS)}")
    q = {"interval": interval, "limit": str(_limit(p, 200, 1000))}
    if p.get("start"):
        q["startTime"] = str(_int(p, "start"))
    if p.get("end"):
        q["endTime"] = str(_int(p, "end"))
    try:
        rows = api_public.klines_of(emu, item.inst, q, kind, 1000)
    except BinanceError as exc:
        raise BybitError(10001, f"params error: {exc.msg}") from None
    if kind != "last":
        return {"category": item.category, "symbol": item.symbol,
                "list": [[str(r[0]), r[1], r[2], r[3], r[4]] for r in reversed(rows)]}
    scale = item.inst.contract_size if item.category == "inverse" else 1.0
    return {"category": item.category, "symbol": item.symbol,
            "list": [[str(r[0]), r[1], r[2], r[3], r[4], f"{float(r[5]) * scale:.8f}", r[7]] for r in reversed(rows)]}


def mark_kline(emu: Emulator, acct: Any, p: Params) -> Any:
    return kline(emu, acct, p, "mark")


def index_kline(emu: Emulator, acct: Any, p: Params) -> Any:
    return kline(emu, acct, p, "index")


def funding_history(emu: Emulator, acct: Any, p: Params) -> Any:
    item = find(emu, p.get("category"), p.get("symbol"))
    if item.category == "spot":
        raise BybitError(10001, "params error: category must be linear or inverse")
    limit = _limit(p, 200, 200)
    now = emu.now_ms()
    end = min(now, _int(p, "endTime", now) or now)
    start = _int(p, "startTime")
    if start is None:
        start = end - limit * FUNDING_INTERVAL_MS
    start = max(start, emu.listed_ms)
    rows = []
    if item.inst.kind == "perp":
        rows = [{"symbol": item.symbol, "fundingRate": f"{emu.paths.funding_rate(item.inst.base, t):.8f}",
                 "fundingRateTimestamp": str(t)} for t in funding_times(start - 1, end)]
    return {"category": item.category, "list": list(reversed(rows))[:limit]}


def risk_limit(emu: Emulator, acct: Any, p: Params) -> Any:
    category = p.get("category", "")
    if category == "spot":
        raise BybitError(10001, "params error: category must be linear or inverse")
    items = [find(emu, category, p["symbol"])] if p.get("symbol") else listed(emu, category)
    rows = []
    for it in items:
        for b in it.inst.brackets:
            # linear caps in USDT, inverse in the coin, as the engine's brackets
            rows.append({"id": b.bracket, "symbol": it.symbol, "riskLimitValue": f"{b.cap:.0f}",
                         "maintenanceMargin": f"{b.mmr:.4f}", "initialMargin": f"{1 / b.initial_leverage:.4f}",
                         "isLowestRisk": 1 if b.bracket == 1 else 0, "maxLeverage": f"{b.initial_leverage:.2f}",
                         "mmDeduction": f"{b.cum:.2f}"})
    return {"category": category, "list": rows}


def system_status(emu: Emulator, acct: Any, p: Params) -> Any:
    return {"list": []}  # no maintenance window is ever scheduled


def recent_trade(emu: Emulator, acct: Any, p: Params) -> Any:
    """The engine's synthetic tape (the one Binance's aggTrades serve), newest first."""
    item = find(emu, p.get("category"), p.get("symbol"))
    most = 60 if item.category == "spot" else 1000
    limit = min(most, _int(p, "limit", most) or most)  # beyond the most: the most, as Bybit
    rows = api_more.agg_trades(emu, {"spot": "spot", "linear": "futures", "inverse": "coinm"}[item.category],
                               {"symbol": item.inst.id, "limit": str(limit)})
    scale = item.lot_usd if item.category == "inverse" else 1.0
    return {"category": item.category, "list": [
        {"execId": str(r["a"]), "symbol": item.symbol, "price": r["p"],
         "size": f"{float(r['q']) * scale:.8f}".rstrip("0").rstrip("."),
         "side": "Sell" if r["m"] else "Buy", "time": str(r["T"]), "isBlockTrade": False, "isRPITrade": False}
        for r in reversed(rows)]}


OI_INTERVALS = {"5min": "5m", "15min": "15m", "30min": "30m", "1h": "1h", "4h": "4h", "1d": "1d"}


def open_interest(emu: Emulator, acct: Any, p: Params) -> Any:
    item = find(emu, p.get("category"), p.get("symbol"))
    if item.category != "linear":
        raise BybitError(10001, "params error: the emulator serves open interest for linear contracts")
    period = OI_INTERVALS.get(p.get("intervalTime", ""))
    if period is None:
        raise BybitError(10001, f"params error: intervalTime must be one of {', '.join(OI_INTERVALS)}")
    q = {"symbol": item.inst.id, "period": period, "limit": str(_limit(p, 50, 200))}
    for ours, theirs in (("startTime", "startTime"), ("endTime", "endTime")):
        if p.get(ours):
            q[theirs] = str(_int(p, ours))
    try:
        rows = api_more.open_interest_hist(emu, None, q)
    except BinanceError as exc:
        raise BybitError(10001, f"params error: {exc.msg}") from None
    return {"category": item.category, "symbol": item.symbol, "nextPageCursor": "",
            "list": [{"openInterest": r["sumOpenInterest"], "timestamp": str(r["timestamp"])} for r in reversed(rows)]}


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v5/system/status", system_status),
    ("GET", "/v5/market/recent-trade", recent_trade),
    ("GET", "/v5/market/open-interest", open_interest),
    ("GET", "/v5/market/time", server_time),
    ("GET", "/v5/market/instruments-info", instruments_info),
    ("GET", "/v5/market/tickers", tickers),
    ("GET", "/v5/market/orderbook", orderbook),
    ("GET", "/v5/market/kline", kline),
    ("GET", "/v5/market/mark-price-kline", mark_kline),
    ("GET", "/v5/market/index-price-kline", index_kline),
    ("GET", "/v5/market/funding/history", funding_history),
    ("GET", "/v5/market/risk-limit", risk_limit),
]
