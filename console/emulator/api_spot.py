"""Signed spot endpoints (/api/v3): account, orders, trades."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.emulator import params
from console.emulator.accounts import Account, Order, Trade
from console.emulator.engine import Emulator
from console.emulator.errors import BinanceError

Params = dict[str, str]


def _q(x: float) -> str:
    return f"{x:.8f}"


def order_json(o: Order, *, query: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "symbol": o.symbol, "orderId": o.order_id, "orderListId": -1, "clientOrderId": o.client_id,
        "price": _q(o.price), "origQty": _q(o.orig_qty), "executedQty": _q(o.executed_qty),
        "cummulativeQuoteQty": _q(o.cum_quote), "status": o.status, "timeInForce": o.tif, "type": o.type,
        "side": o.side,
    }
    if query:
        out.update({"stopPrice": _q(0), "icebergQty": _q(0), "time": o.time_ms, "updateTime": o.update_ms,
                    "isWorking": o.open, "workingTime": o.time_ms, "origQuoteOrderQty": _q(o.quote_order_qty),
                    "selfTradePreventionMode": "EXPIRE_MAKER"})
    return out


def _new_order_json(o: Order, trades: list[Trade], resp_type: str) -> dict[str, Any]:
    ack = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1, "clientOrderId": o.client_id,
           "transactTime": o.time_ms}
    if resp_type == "ACK":
        return ack
    out = {**ack, **{k: v for k, v in order_json(o).items() if k not in ack}}
    out.update({"origQuoteOrderQty": _q(o.quote_order_qty), "workingTime": o.time_ms,
                "selfTradePreventionMode": "EXPIRE_MAKER"})
    if resp_type == "FULL":
        out["fills"] = [{"price": _q(t.price), "qty": _q(t.qty), "commission": _q(t.commission),
                         "commissionAsset": t.commission_asset, "tradeId": t.trade_id} for t in trades]
    return out


def _cancel_json(o: Order, emu: Emulator) -> dict[str, Any]:
    out = order_json(o)
    out["origClientOrderId"] = o.client_id
    # Binance names the cancel request itself in clientOrderId
    out["clientOrderId"] = f"cancel{o.order_id}"
    out["transactTime"] = emu.now_ms()
    out["selfTradePreventionMode"] = "EXPIRE_MAKER"
    return out


def account(emu: Emulator, acct: Account, p: Params) -> Any:
    balances = [{"asset": a, "free": _q(v[0]), "locked": _q(v[1])} for a, v in sorted(acct.spot.items())]
    return {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False, "updateTime": emu.now_ms(),
        "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354937868,
    }


def new_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o, trades = emu.place_spot(acct, p)
    return _new_order_json(o, trades, p.get("newOrderRespType", "FULL").upper())


def get_order(emu: Emulator, acct: Account, p: Params) -> Any:
    return order_json(emu.lookup(acct, "spot", p), query=True)


def cancel_order(emu: Emulator, acct: Account, p: Params) -> Any:
    return _cancel_json(emu.cancel(acct, "spot", p), emu)


def open_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    sym = p.get("symbol")
    if sym:
        emu.inst("spot", sym)
    return [order_json(o, query=True) for o in acct.orders.values()
            if o.venue == "spot" and o.open and (not sym or o.symbol == sym)]


def cancel_open_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    cancelled = emu.cancel_all(acct, "spot", p.get("symbol"))
    if not cancelled:
        raise BinanceError(-2011, "Unknown order sent.")
    return [_cancel_json(o, emu) for o in cancelled]


def all_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("spot", p.get("symbol"))
    rows = [order_json(o, query=True) for o in acct.orders.values() if o.venue == "spot" and o.symbol == inst.id]
    return rows[-params.limit(p, 500, 1000):]


def my_trades(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("spot", p.get("symbol"))
    start, end = params.integer(p, "startTime", 0) or 0, params.integer(p, "endTime", 2**62) or 0
    from_id = params.integer(p, "fromId", 0) or 0
    order_id = params.integer(p, "orderId")
    rows = [t for t in acct.trades if t.venue == "spot" and t.symbol == inst.id and start <= t.time_ms <= end
            and t.trade_id >= from_id and (order_id is None or t.order_id == order_id)]
    limit = params.limit(p, 500, 1000)
    rows = rows[:limit] if (p.get("startTime") or p.get("fromId")) else rows[-limit:]
    return [{"symbol": t.symbol, "id": t.trade_id, "orderId": t.order_id, "orderListId": -1,
             "price": _q(t.price), "qty": _q(t.qty), "quoteQty": _q(t.price * t.qty),
             "commission": _q(t.commission), "commissionAsset": t.commission_asset, "time": t.time_ms,
             "isBuyer": t.side == "BUY", "isMaker": t.maker, "isBestMatch": True} for t in rows]


ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/api/v3/account", account),
    ("POST", "/api/v3/order", new_order),
    ("GET", "/api/v3/order", get_order),
    ("DELETE", "/api/v3/order", cancel_order),
    ("GET", "/api/v3/openOrders", open_orders),
    ("DELETE", "/api/v3/openOrders", cancel_open_orders),
    ("GET", "/api/v3/allOrders", all_orders),
    ("GET", "/api/v3/myTrades", my_trades),
]
