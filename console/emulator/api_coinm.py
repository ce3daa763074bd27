"""COIN-M's REST face (``/dapi/v1``), in Binance's dialect; the model is ``coinm``."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from console.emulator import api_futures, api_more, api_public, params
from console.emulator.accounts import Account, Order, Position
from console.emulator.coinm import (
    FEE_MAKER,
    FEE_TAKER,
    coin_notional,
    exact,
    liquidation_price,
    place,
    summary,
)
from console.emulator.engine import Emulator
from console.emulator.errors import BinanceError
from console.emulator.instruments import Instrument
from console.emulator.prices import FUNDING_INTERVAL_MS, funding_times

Params = dict[str, str]


# -- the /dapi endpoints -----------------------------------------------------------------------
def _info(emu: Emulator, i: Instrument) -> dict[str, Any]:
    from console.emulator.instruments import PERP_DELIVERY_MS

    perp = i.kind == "perp"
    return {"symbol": i.id, "pair": i.base + "USD", "contractType": "PERPETUAL" if perp else "CURRENT_QUARTER",
            "deliveryDate": PERP_DELIVERY_MS if perp else i.delivery_ms, "onboardDate": emu.listed_ms,
            "contractStatus": emu.futures_status(i), "contractSize": int(i.contract_size), "marginAsset": i.base,
            "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000", "baseAsset": i.base,
            "quoteAsset": "USD", "pricePrecision": i.price_decimals, "quantityPrecision": 0,
            "baseAssetPrecision": 8, "quotePrecision": 8, "equalQtyPrecision": 4, "triggerProtect": "0.0500",
            "underlyingType": "COIN", "underlyingSubType": [], "liquidationFee": "0.010000",
            "marketTakeBound": "0.05",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": i.tick, "maxPrice": "4520958", "tickSize": i.tick},
                {"filterType": "LOT_SIZE", "minQty": "1", "maxQty": i.max_qty, "stepSize": "1"},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "1", "maxQty": i.max_qty, "stepSize": "1"},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
                 "multiplierDecimal": "4"}],
            "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"]}


def exchange_info(emu: Emulator, acct: Any, p: Params) -> Any:
    return {"timezone": "UTC", "serverTime": emu.now_ms(), "rateLimits": api_public.RATE_LIMITS,
            "exchangeFilters": [], "symbols": [_info(emu, i) for i in emu.coinm_ids.values()]}


def _order_json(o: Order, inst: Instrument, query: bool = False) -> dict[str, Any]:
    avg = o.executed_qty * inst.contract_size / o.cum_quote if o.cum_quote else 0.0
    out = {"orderId": o.order_id, "symbol": o.symbol, "pair": inst.base + "USD", "status": o.status,
           "clientOrderId": o.client_id, "price": inst.fmt_price(o.price),
           "avgPrice": f"{avg:.{max(inst.price_decimals, 2)}f}", "origQty": inst.fmt_qty(o.orig_qty),
           "executedQty": inst.fmt_qty(o.executed_qty), "cumQty": inst.fmt_qty(o.executed_qty),
           "cumBase": f"{o.cum_quote:.8f}", "timeInForce": o.tif, "type": o.type, "reduceOnly": o.reduce_only,
           "closePosition": False, "side": o.side, "positionSide": "BOTH", "stopPrice": "0",
           "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": o.type, "updateTime": o.update_ms}
    if query:
        out["time"] = o.time_ms
    return out


def _balance_row(emu: Emulator, acct: Account, asset: str) -> dict[str, Any]:
    s = summary(emu, acct, asset)
    return {"accountAlias": "SgsR", "asset": asset, "balance": f"{s['wallet']:.8f}",
            "withdrawAvailable": f"{max(Decimal(0), s['available']):.8f}", "crossWalletBalance": f"{s['wallet']:.8f}",
            "crossUnPnl": f"{s['upnl']:.8f}", "availableBalance": f"{s['available']:.8f}", "updateTime": emu.now_ms()}


def _assets(emu: Emulator) -> list[str]:
    return sorted({i.base for i in emu.coinm_ids.values()})


def balance(emu: Emulator, acct: Account, p: Params) -> Any:
    return [_balance_row(emu, acct, a) for a in _assets(emu)]


def _position_row(emu: Emulator, acct: Account, inst: Instrument) -> dict[str, Any]:
    pos = acct.coinm_positions.get(inst.id) or Position(inst.id)
    mark = emu.mark(inst)
    cfg = acct.config(inst.id)
    upnl = pos.amt * inst.contract_size * (1 / pos.entry - 1 / mark) if pos.amt else 0.0
    return {"symbol": inst.id, "positionAmt": inst.fmt_qty(pos.amt), "entryPrice": f"{pos.entry:.8f}",
            "breakEvenPrice": f"{pos.entry:.8f}", "markPrice": f"{mark:.8f}", "unRealizedProfit": f"{exact(upnl):.8f}",
            "liquidationPrice": f"{liquidation_price(emu, acct, inst):.8f}", "leverage": str(cfg.leverage),
            "maxQty": "1000000",
            "marginType": "cross", "isolatedMargin": "0.00000000", "isAutoAddMargin": "false",
            "positionSide": "BOTH", "notionalValue": f"{exact(coin_notional(inst, pos.amt, mark)):.8f}",
            "isolatedWallet": "0", "updateTime": pos.update_ms}


def account(emu: Emulator, acct: Account, p: Params) -> Any:
    assets = []
    for a in _assets(emu):
        s = summary(emu, acct, a)
        assets.append({"asset": a, "walletBalance": f"{s['wallet']:.8f}", "unrealizedProfit": f"{s['upnl']:.8f}",
                       "marginBalance": f"{s['margin_balance']:.8f}", "maintMargin": f"{s['maint_margin']:.8f}",
                       "initialMargin": f"{s['initial_margin']:.8f}",
                       "positionInitialMargin": f"{s['position_im']:.8f}",
                       "openOrderInitialMargin": f"{s['order_im']:.8f}", "maxWithdrawAmount": f"{s['available']:.8f}",
                       "crossWalletBalance": f"{s['wallet']:.8f}", "crossUnPnl": f"{s['upnl']:.8f}",
                       "availableBalance": f"{s['available']:.8f}", "updateTime": emu.now_ms()})
    rows = [_position_row(emu, acct, i) for i in emu.coinm_ids.values()]
    return {"assets": assets, "positions": [{k: r[k] for k in ("symbol", "positionAmt", "entryPrice",
                                                                 "unRealizedProfit", "leverage", "positionSide",
                                                                 "isolatedWallet", "updateTime")}
                                            | {"initialMargin": "0", "maintMargin": "0", "isolated": False,
                                               "positionInitialMargin": "0", "openOrderInitialMargin": "0",
                                               "maxQty": "1000000"} for r in rows],
            "canDeposit": True, "canTrade": True, "canWithdraw": True, "feeTier": 0, "updateTime": emu.now_ms()}


def position_risk(emu: Emulator, acct: Account, p: Params) -> Any:
    insts = [emu.inst("coinm", p["symbol"])] if p.get("symbol") else list(emu.coinm_ids.values())
    return [_position_row(emu, acct, i) for i in insts]


def new_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o = place(emu, acct, p)
    return _order_json(o, emu.coinm_ids[o.symbol])


def get_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o = emu.lookup(acct, "coinm", p)
    return _order_json(o, emu.coinm_ids[o.symbol], query=True)


def cancel_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o = emu.cancel(acct, "coinm", p)
    return _order_json(o, emu.coinm_ids[o.symbol])


def open_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    return api_futures.open_orders_of(emu, acct, p, "coinm", lambda o: _order_json(o, emu.coinm_ids[o.symbol], query=True))


def user_trades(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("coinm", p.get("symbol"))
    rows = [t for t in acct.trades if t.venue == "coinm" and t.symbol == inst.id][-params.limit(p, 50, 1000):]
    return [{"symbol": t.symbol, "id": t.trade_id, "orderId": t.order_id, "pair": inst.base + "USD", "side": t.side,
             "price": inst.fmt_price(t.price), "qty": inst.fmt_qty(t.qty), "realizedPnl": f"{t.realized_pnl:.8f}",
             "marginAsset": inst.base, "baseQty": f"{coin_notional(inst, t.qty, t.price):.8f}",
             "commission": f"{t.commission:.8f}", "commissionAsset": t.commission_asset, "time": t.time_ms,
             "positionSide": "BOTH", "buyer": t.side == "BUY", "maker": t.maker} for t in rows]


def set_leverage(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("coinm", p.get("symbol"))
    lev = params.integer(p, "leverage")
    if lev is None:
        raise params.missing("leverage")
    if lev < 1 or lev > inst.brackets[0].initial_leverage:
        raise BinanceError(-4028, f"Leverage {lev} is not valid")
    acct.config(inst.id).leverage = lev
    return {"leverage": lev, "maxQty": "1000000", "symbol": inst.id}


def position_mode(emu: Emulator, acct: Account, p: Params) -> Any:
    return {"dualSidePosition": False}


def depth(emu: Emulator, acct: Any, p: Params) -> Any:
    return api_public.depth(emu, "coinm", p)


def ticker24(emu: Emulator, acct: Any, p: Params) -> Any:
    insts = api_public.symbols_of(emu, "coinm", p)
    return [api_public.ticker24(emu, i) | {"pair": i.base + "USD"} for i in insts]


def book_ticker(emu: Emulator, acct: Any, p: Params) -> Any:
    return [api_public.book_ticker(emu, i) | {"pair": i.base + "USD"} for i in api_public.symbols_of(emu, "coinm", p)]


def premium_index(emu: Emulator, acct: Any, p: Params) -> Any:
    return [api_public.premium_index_row(emu, i) | {"pair": i.base + "USD"}
            for i in api_public.symbols_of(emu, "coinm", p)]


def all_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("coinm", p.get("symbol"))
    rows = [_order_json(o, inst, query=True) for o in acct.orders.values() if o.venue == "coinm" and o.symbol == inst.id]
    return rows[-params.limit(p, 500, 1000):]


def commission_rate(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("coinm", p.get("symbol"))
    return {"symbol": inst.id, "makerCommissionRate": f"{FEE_MAKER:.6f}", "takerCommissionRate": f"{FEE_TAKER:.6f}"}


def agg_trades(emu: Emulator, acct: Any, p: Params) -> Any:
    return api_more.agg_trades(emu, "coinm", p)


def funding_rate(emu: Emulator, acct: Any, p: Params) -> Any:
    inst = emu.inst("coinm", p.get("symbol"))
    limit = params.limit(p, 100, 1000)
    now = emu.now_ms()
    end = min(now, params.integer(p, "endTime", now) or now)
    start = max(emu.listed_ms, params.integer(p, "startTime", end - limit * FUNDING_INTERVAL_MS) or 0)
    rows = [{"symbol": inst.id, "fundingTime": t, "fundingRate": f"{emu.paths.funding_rate(inst.base, t):.8f}",
             "markPrice": f"{emu.paths.perp_mark(inst.base, t):.8f}"} for t in funding_times(start - 1, end)]
    return rows[:limit] if p.get("startTime") else rows[-limit:]


def price(emu: Emulator, acct: Any, p: Params) -> Any:
    return [{"symbol": i.id, "ps": i.base + "USD", "price": i.fmt_price(emu.mark(i)), "time": emu.now_ms()}
            for i in api_public.symbols_of(emu, "coinm", p)]


def klines(emu: Emulator, acct: Any, p: Params) -> Any:
    return api_public.klines_of(emu, emu.inst("coinm", p.get("symbol")), p, "last", 1500)


def mark_klines(emu: Emulator, acct: Any, p: Params) -> Any:
    """/dapi/v1/markPriceKlines: the mark price's candles (the P&L's start prices)."""
    return api_public.klines_of(emu, emu.inst("coinm", p.get("symbol")), p, "mark", 1500)


def leverage_bracket(emu: Emulator, acct: Any, p: Params) -> Any:
    """/dapi/v2/leverageBracket: the brackets in coin (qtyFloor/qtyCap), per symbol."""
    insts = [emu.inst("coinm", p["symbol"])] if p.get("symbol") else list(emu.coinm_ids.values())
    return [{"symbol": i.id, "brackets": [
        {"bracket": b.bracket, "initialLeverage": b.initial_leverage, "qtyCap": b.cap, "qtyFloor": b.floor,
         "maintMarginRatio": b.mmr, "cum": b.cum} for b in i.brackets]} for i in insts]


PUBLIC_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/dapi/v1/ping", api_public.ping),
    ("GET", "/dapi/v1/time", api_public.server_time),
    ("GET", "/dapi/v1/exchangeInfo", exchange_info),
    ("GET", "/dapi/v1/depth", depth),
    ("GET", "/dapi/v1/ticker/24hr", ticker24),
    ("GET", "/dapi/v1/ticker/bookTicker", book_ticker),
    ("GET", "/dapi/v1/premiumIndex", premium_index),
    ("GET", "/dapi/v1/klines", klines),
    ("GET", "/dapi/v1/markPriceKlines", mark_klines),
    ("GET", "/dapi/v1/ticker/price", price),
    ("GET", "/dapi/v1/aggTrades", agg_trades),
    ("GET", "/dapi/v1/fundingRate", funding_rate),
]
def income(emu: Emulator, acct: Account, p: Params) -> Any:
    """/dapi/v1/income: the account's COIN-M funding, commissions and realised PnL, in coin
    (what ccxt's binancecoinm fetch_funding_history reads)."""
    start, end = api_futures._window(emu, p)  # noqa: SLF001 - the same time window rule as USDⓈ-M
    kind, sym = p.get("incomeType"), p.get("symbol")
    if sym:
        emu.inst("coinm", sym)
    rows = [i for i in acct.coinm_income if start <= i.time_ms <= end and (not kind or i.income_type == kind)
            and (not sym or i.symbol == sym)]
    limit = params.limit(p, 100, 1000)
    rows = rows[:limit] if p.get("startTime") else rows[-limit:]
    return [{"symbol": i.symbol, "incomeType": i.income_type, "income": api_futures.money(i.amount), "asset": i.asset,
             "info": i.income_type, "time": i.time_ms, "tranId": i.tran_id, "tradeId": i.trade_id} for i in rows]


SIGNED_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/dapi/v2/leverageBracket", leverage_bracket),
    ("GET", "/dapi/v1/leverageBracket", leverage_bracket),
    ("GET", "/dapi/v1/account", account),
    ("GET", "/dapi/v1/balance", balance),
    ("GET", "/dapi/v1/positionRisk", position_risk),
    ("POST", "/dapi/v1/order", new_order),
    ("GET", "/dapi/v1/order", get_order),
    ("DELETE", "/dapi/v1/order", cancel_order),
    ("GET", "/dapi/v1/openOrders", open_orders),
    ("GET", "/dapi/v1/userTrades", user_trades),
    ("GET", "/dapi/v1/income", income),
    ("GET", "/dapi/v1/allOrders", all_orders),
    ("GET", "/dapi/v1/commissionRate", commission_rate),
    ("POST", "/dapi/v1/leverage", set_leverage),
    ("GET", "/dapi/v1/positionSide/dual", position_mode),
]
