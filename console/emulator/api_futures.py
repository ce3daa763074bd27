"""Signed USDⓈ-M endpoints (/fapi/v1, v2, v3): account, positions, leverage, orders, trades,
income. One-way position mode only (positionSide BOTH), as most accounts run."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from console.emulator import params
from console.emulator.accounts import Account, Margin, Order, PositionRisk
from console.emulator.engine import Emulator
from console.emulator.errors import BinanceError
from console.emulator.instruments import Instrument

Params = dict[str, str]
WEEK_MS = 7 * 86_400_000
# Binance lists these margin assets on every USDⓈ-M account, empty unless deposited
OTHER_ASSETS = ("BTC", "ETH", "BNB", "USDC", "FDUSD")
MAX_BATCH = 5


def money(x: float | Decimal) -> str:
    return f"{x:.8f}"


CENT = Decimal("1e-8")


def exact_summary(m: Margin) -> dict[str, Decimal]:
    """The account's figures as exact 8-decimal amounts, totals composed from rounded parts,
    so that what a client adds up matches to the last digit: with every position cross,
    availableBalance + initialMargin = marginBalance exactly (ccxt's free + used = total).
    Isolated margin is neither available nor initial margin, as on Binance."""
    s = m.summary()
    q = {k: Decimal(v).quantize(CENT, ROUND_HALF_EVEN) for k, v in s.items()}
    return {**q, "margin_balance": q["wallet"] + q["upnl"], "initial_margin": q["position_im"] + q["order_im"],
            "available": q["cross_wallet"] + q["cross_upnl"] - q["cross_im"] - q["order_im"]}


def order_json(o: Order, inst: Instrument, *, query: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "orderId": o.order_id, "symbol": o.symbol, "status": o.status, "clientOrderId": o.client_id,
        "price": inst.fmt_price(o.price), "avgPrice": f"{o.avg_price:.{max(inst.price_decimals, 2)}f}",
        "origQty": inst.fmt_qty(o.orig_qty), "executedQty": inst.fmt_qty(o.executed_qty),
        "cumQty": inst.fmt_qty(o.executed_qty), "cumQuote": money(o.cum_quote), "timeInForce": o.tif,
        "type": o.type, "reduceOnly": o.reduce_only, "closePosition": False, "side": o.side,
        "positionSide": "BOTH", "stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": False,
        "origType": o.type, "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": o.good_till_ms,
        "updateTime": o.update_ms,
    }
    if query:
        out["time"] = o.time_ms
    return out


def _risks(emu: Emulator, acct: Account) -> tuple[Margin, list[PositionRisk]]:
    m = emu.margin(acct)
    return m, [m.risk(p) for p in m.open_positions()]


def _account(emu: Emulator, acct: Account, v2: bool) -> dict[str, Any]:
    m, risks = _risks(emu, acct)
    s = exact_summary(m)
    now = emu.now_ms()
    asset = {
        "asset": "USDT", "walletBalance": money(s["wallet"]), "unrealizedProfit": money(s["upnl"]),
        "marginBalance": money(s["margin_balance"]), "maintMargin": money(s["maint_margin"]),
        "initialMargin": money(s["initial_margin"]), "positionInitialMargin": money(s["position_im"]),
        "openOrderInitialMargin": money(s["order_im"]), "crossWalletBalance": money(s["cross_wallet"]),
        "crossUnPnl": money(s["cross_upnl"]), "availableBalance": money(s["available"]),
        "maxWithdrawAmount": money(max(0.0, s["available"])), "updateTime": now,
    }
    if v2:
        asset["marginAvailable"] = True
    by_symbol = {r.symbol: r for r in risks}
    positions = []
    symbols = emu.fut_ids.values() if v2 else [emu.fut_ids[r.symbol] for r in risks]
    for inst in symbols:
        r = by_symbol.get(inst.id)
        cfg = acct.config(inst.id)
        row: dict[str, Any] = {
            "symbol": inst.id, "positionSide": "BOTH", "positionAmt": inst.fmt_qty(r.amt if r else 0.0),
            "unrealizedProfit": money(r.upnl if r else 0.0),
            "isolatedMargin": money(r.isolated_wallet + r.upnl if r and r.margin_type == "isolated" else 0.0),
            "notional": money(r.notional if r else 0.0), "isolatedWallet": money(r.isolated_wallet if r else 0.0),
            "initialMargin": money(r.initial_margin if r else 0.0), "maintMargin": money(r.maint_margin if r else 0.0),
            "updateTime": acct.positions[inst.id].update_ms if r else 0,
        }
        if v2:
            row.update({"positionInitialMargin": row["initialMargin"], "openOrderInitialMargin": "0",
                        "leverage": str(cfg.leverage), "isolated": cfg.margin_type == "isolated",
                        "entryPrice": f"{r.entry if r else 0.0:.8f}", "breakEvenPrice": f"{r.entry if r else 0.0:.8f}",
                        "maxNotional": f"{(r.max_notional if r else 0.0):.0f}", "bidNotional": "0", "askNotional": "0"})
        positions.append(row)
    out: dict[str, Any] = {
        "totalInitialMargin": money(s["initial_margin"]), "totalMaintMargin": money(s["maint_margin"]),
        "totalWalletBalance": money(s["wallet"]), "totalUnrealizedProfit": money(s["upnl"]),
        "totalMarginBalance": money(s["margin_balance"]), "totalPositionInitialMargin": money(s["position_im"]),
        "totalOpenOrderInitialMargin": money(s["order_im"]), "totalCrossWalletBalance": money(s["cross_wallet"]),
        "totalCrossUnPnl": money(s["cross_upnl"]), "availableBalance": money(s["available"]),
        "maxWithdrawAmount": money(max(0.0, s["available"])), "assets": [asset, *[{k: (a if k == "asset" else now if k == "updateTime" else v if isinstance(v, bool)
                                       else money(0.0)) for k, v in asset.items()} for a in OTHER_ASSETS]],
        "positions": positions,
    }
    if v2:
        out.update({"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "feeBurn": True,
                    "tradeGroupId": -1, "updateTime": 0, "multiAssetsMargin": False})
    return out


def account_v3(emu: Emulator, acct: Account, p: Params) -> Any:
    return _account(emu, acct, v2=False)


def account_v2(emu: Emulator, acct: Account, p: Params) -> Any:
    return _account(emu, acct, v2=True)


def balance_v2(emu: Emulator, acct: Account, p: Params) -> Any:
    s = exact_summary(emu.margin(acct))
    usdt = {"accountAlias": "SgsR", "asset": "USDT", "balance": money(s["wallet"]),
            "crossWalletBalance": money(s["cross_wallet"]), "crossUnPnl": money(s["cross_upnl"]),
            "availableBalance": money(s["available"]), "maxWithdrawAmount": money(max(0.0, s["available"])),
            "marginAvailable": True, "updateTime": emu.now_ms()}
    zero = {k: money(0.0) for k in ("balance", "crossWalletBalance", "crossUnPnl", "availableBalance",
                                    "maxWithdrawAmount")}
    return [usdt, *[{**usdt, **zero, "asset": a} for a in OTHER_ASSETS]]


def _position_rows(emu: Emulator, acct: Account, p: Params, v2: bool) -> list[dict[str, Any]]:
    m, risks = _risks(emu, acct)
    by_symbol = {r.symbol: r for r in risks}
    if p.get("symbol"):
        insts = [emu.inst("futures", p["symbol"])]
    elif v2:
        insts = list(emu.fut_ids.values())
    else:  # v3 lists symbols with a position or an open order
        busy = set(by_symbol) | {o.symbol for o in acct.orders.values() if o.venue == "futures" and o.open}
        insts = [i for i in emu.fut_ids.values() if i.id in busy]
    rows = []
    marks = m.marks
    for inst in insts:
        r = by_symbol.get(inst.id)
        cfg = acct.config(inst.id)
        amt = r.amt if r else 0.0
        mark = marks[inst.id]
        iso_margin = r.isolated_wallet + r.upnl if r and r.margin_type == "isolated" else 0.0
        row: dict[str, Any] = {
            "symbol": inst.id, "positionSide": "BOTH", "positionAmt": inst.fmt_qty(amt),
            "entryPrice": f"{r.entry if r else 0.0:.8f}", "breakEvenPrice": f"{r.entry if r else 0.0:.8f}",
            "markPrice": f"{mark:.8f}", "unRealizedProfit": money(r.upnl if r else 0.0),
            "liquidationPrice": f"{r.liquidation_price if r else 0.0:.8f}", "isolatedMargin": money(iso_margin),
            "notional": money(r.notional if r else 0.0),
        }
        if v2:
            row.update({"marginType": cfg.margin_type, "isAutoAddMargin": "false", "leverage": str(cfg.leverage),
                        "maxNotionalValue": f"{(r.max_notional if r else inst.brackets[0].cap):.0f}",
                        "isolatedWallet": money(r.isolated_wallet if r else 0.0),
                        "updateTime": acct.positions[inst.id].update_ms if r else 0})
        else:
            row.update({"marginAsset": "USDT", "isolatedWallet": money(r.isolated_wallet if r else 0.0),
                        "initialMargin": money(r.initial_margin if r else 0.0),
                        "maintMargin": money(r.maint_margin if r else 0.0),
                        "positionInitialMargin": money(r.initial_margin if r else 0.0), "openOrderInitialMargin": "0",
                        "adl": 1 if r else 0, "bidNotional": "0", "askNotional": "0",
                        "updateTime": acct.positions[inst.id].update_ms if r else 0})
        rows.append(row)
    return rows


def position_risk_v3(emu: Emulator, acct: Account, p: Params) -> Any:
    return _position_rows(emu, acct, p, v2=False)


def position_risk_v2(emu: Emulator, acct: Account, p: Params) -> Any:
    return _position_rows(emu, acct, p, v2=True)


def set_leverage(emu: Emulator, acct: Account, p: Params) -> Any:
    return emu.set_leverage(acct, p)


def set_margin_type(emu: Emulator, acct: Account, p: Params) -> Any:
    return emu.set_margin_type(acct, p)


def symbol_config(emu: Emulator, acct: Account, p: Params) -> Any:
    """GET /fapi/v1/symbolConfig: each symbol's margin type and leverage setting, the same
    state that POST leverage / marginType change (ccxt's fetchLeverages and fetchMarginMode(s)
    read it). Binance's shape: a list, one row per symbol (all of them without ``symbol``),
    marginType "CROSSED" | "ISOLATED" (unlike positionRisk's "cross" | "isolated"), leverage a
    number, isAutoAddMargin and maxNotionalValue strings."""
    insts = [emu.inst("futures", p["symbol"])] if p.get("symbol") else list(emu.fut_ids.values())
    rows = []
    for inst in insts:
        cfg = acct.config(inst.id)
        rows.append({"symbol": inst.id, "marginType": "ISOLATED" if cfg.margin_type == "isolated" else "CROSSED",
                     "isAutoAddMargin": "false", "leverage": cfg.leverage,
                     "maxNotionalValue": f"{inst.max_notional_at(cfg.leverage):.0f}"})
    return rows


def new_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o, _ = emu.place_futures(acct, p)
    return order_json(o, emu.fut_ids[o.symbol])


def batch_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    raw = p.get("batchOrders")
    if not raw:
        raise BinanceError(-1102, "Mandatory parameter 'batchOrders' was not sent, was empty/null, or malformed.")
    try:
        items = json.loads(raw)
    except ValueError:
        raise BinanceError(-1130, "Data sent for parameter 'batchOrders' is not valid.") from None
    if (not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH
            or not all(isinstance(i, dict) for i in items)):
        raise BinanceError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
    out: list[Any] = []
    for item in items:  # each order stands alone: one failing does not stop the others
        fields = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in item.items()}
        try:
            o, _ = emu.place_futures(acct, fields)
            out.append(order_json(o, emu.fut_ids[o.symbol]))
        except BinanceError as exc:
            out.append(exc.body())
    return out


def get_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o = emu.lookup(acct, "futures", p)
    return order_json(o, emu.fut_ids[o.symbol], query=True)


def cancel_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o = emu.cancel(acct, "futures", p)
    return order_json(o, emu.fut_ids[o.symbol])


def open_orders_of(emu: Emulator, acct: Account, p: Params, venue: str,
                   render: Callable[[Order], dict[str, Any]]) -> list[dict[str, Any]]:
    """GET openOrders on a contract API: the venue's open orders, of ``symbol`` if named."""
    sym = p.get("symbol")
    if sym:
        emu.inst(venue, sym)
    return [render(o) for o in acct.orders.values() if o.venue == venue and o.open and (not sym or o.symbol == sym)]


def open_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    return open_orders_of(emu, acct, p, "futures", lambda o: order_json(o, emu.fut_ids[o.symbol], query=True))


def open_order(emu: Emulator, acct: Account, p: Params) -> Any:
    o = emu.lookup(acct, "futures", p)
    if not o.open:
        raise BinanceError(-2013, "Order does not exist.")
    return order_json(o, emu.fut_ids[o.symbol], query=True)


def cancel_all(emu: Emulator, acct: Account, p: Params) -> Any:
    emu.cancel_all(acct, "futures", p.get("symbol"))
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def all_orders(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("futures", p.get("symbol"))
    rows = [order_json(o, inst, query=True) for o in acct.orders.values()
            if o.venue == "futures" and o.symbol == inst.id]
    return rows[-params.limit(p, 500, 1000):]


def _window(emu: Emulator, p: Params) -> tuple[int, int]:
    start, end = params.integer(p, "startTime"), params.integer(p, "endTime")
    if start is None and end is None:
        now = emu.now_ms()
        return now - WEEK_MS, now
    s = start if start is not None else (end or 0) - WEEK_MS
    e = end if end is not None else s + WEEK_MS
    if s > e:
        raise BinanceError(-1023, "Start time is greater than end time.")
    return s, e


def user_trades(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("futures", p.get("symbol"))
    start, end = _window(emu, p)
    order_id, from_id = params.integer(p, "orderId"), params.integer(p, "fromId")
    limit = params.limit(p, 500, 1000)
    rows = [t for t in acct.trades if t.venue == "futures" and t.symbol == inst.id and start <= t.time_ms <= end
            and (order_id is None or t.order_id == order_id)]
    if from_id is not None:
        rows = [t for t in acct.trades if t.venue == "futures" and t.symbol == inst.id and t.trade_id >= from_id]
    rows = rows[-limit:]
    return [{"buyer": t.side == "BUY", "commission": money(t.commission), "commissionAsset": t.commission_asset,
             "id": t.trade_id, "maker": t.maker, "orderId": t.order_id, "price": inst.fmt_price(t.price),
             "qty": inst.fmt_qty(t.qty), "quoteQty": money(t.price * t.qty), "realizedPnl": money(t.realized_pnl),
             "side": t.side, "positionSide": "BOTH", "symbol": t.symbol, "time": t.time_ms} for t in rows]


def income(emu: Emulator, acct: Account, p: Params) -> Any:
    start, end = _window(emu, p)
    kind, sym = p.get("incomeType"), p.get("symbol")
    if sym:
        emu.inst("futures", sym)
    rows = [i for i in acct.income if start <= i.time_ms <= end and (not kind or i.income_type == kind)
            and (not sym or i.symbol == sym)]
    limit = params.limit(p, 100, 1000)
    rows = rows[:limit] if p.get("startTime") else rows[-limit:]
    return [{"symbol": i.symbol, "incomeType": i.income_type, "income": money(i.amount), "asset": i.asset,
             "info": i.income_type, "time": i.time_ms, "tranId": i.tran_id, "tradeId": i.trade_id} for i in rows]


ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/fapi/v3/account", account_v3),
    ("GET", "/fapi/v2/account", account_v2),
    ("GET", "/fapi/v2/balance", balance_v2),
    ("GET", "/fapi/v3/balance", balance_v2),
    ("GET", "/fapi/v3/positionRisk", position_risk_v3),
    ("GET", "/fapi/v2/positionRisk", position_risk_v2),
    ("POST", "/fapi/v1/leverage", set_leverage),
    ("POST", "/fapi/v1/marginType", set_margin_type),
    ("GET", "/fapi/v1/symbolConfig", symbol_config),
    ("POST", "/fapi/v1/order", new_order),
    ("POST", "/fapi/v1/batchOrders", batch_orders),
    ("GET", "/fapi/v1/order", get_order),
    ("DELETE", "/fapi/v1/order", cancel_order),
    ("GET", "/fapi/v1/openOrders", open_orders),
    ("GET", "/fapi/v1/openOrder", open_order),
    ("DELETE", "/fapi/v1/allOpenOrders", cancel_all),
    ("GET", "/fapi/v1/allOrders", all_orders),
    ("GET", "/fapi/v1/userTrades", user_trades),
    ("GET", "/fapi/v1/income", income),
]
