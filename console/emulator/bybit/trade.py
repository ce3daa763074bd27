"""Bybit v5 private endpoints on the engine: account and API-key info, the unified wallet,
fee rates, positions, leverage and position/margin modes, orders (create, batch, amend,
cancel, realtime, history) and executions.

Every order goes through the engine's own order paths (spot, USDⓈ-M, COIN-M) with Bybit's
parameters translated to the engine's; a refusal comes back as Bybit's retCode. Bybit's
unified wallet is the engine's spot and futures ledgers reported as one coin list.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from console.emulator import api_more, coinm
from console.emulator.accounts import Account, Order, Trade
from console.emulator.bybit.errors import BybitError, from_binance
from console.emulator.bybit.market import price_out, qty_out
from console.emulator.bybit.symbols import VENUE, Listed, by_engine_id, find
from console.emulator.engine import FUT_MAKER, FUT_TAKER, SPOT_FEE, Emulator
from console.emulator.errors import BinanceError

Params = dict[str, Any]
MAX_BATCH = {"spot": 10, "linear": 20, "inverse": 20}
STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled", "CANCELED": "Cancelled",
          "EXPIRED": "Cancelled", "REJECTED": "Rejected"}
TIFS = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "POSTONLY": "GTX"}  # Bybit -> engine (futures)


def _s(x: Any) -> str:
    """A JSON value as the engine's parameter string (Bybit accepts "0.1" and 0.1 alike)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return format(Decimal(repr(x)), "f")
    return "" if x is None else str(x)


def _engine_call(item: Listed, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except BinanceError as exc:
        raise from_binance(exc, spot=item.category == "spot") from None


# -- account ------------------------------------------------------------------------------
def query_api(emu: Emulator, acct: Account, p: Params) -> Any:
    return {"id": "1", "note": "rebal-tui emulator", "apiKey": "", "readOnly": 0, "secret": "",
            "permissions": {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"], "Wallet": [],
                            "Options": [], "Derivatives": [], "Exchange": [], "NFT": []},
            "ips": ["*"], "type": 1, "deadlineDay": -1, "unified": 0, "uta": 1, "userID": 1,
            "isMaster": True, "vipLevel": "No VIP"}


def account_info(emu: Emulator, acct: Account, p: Params) -> Any:
    return {"marginMode": acct.margin_mode,
            "updatedTime": str(acct.created_ms), "unifiedMarginStatus": 6, "dcpStatus": "OFF",
            "timeWindow": 10, "smpGroup": 0, "isMasterTrader": False, "spotHedgingStatus": "OFF"}


def _f(x: float | Decimal) -> str:
    return f"{x:.8f}"


def wallet_balance(emu: Emulator, acct: Account, p: Params) -> Any:
    if p.get("accountType", "UNIFIED").upper() != "UNIFIED":
        raise BybitError(10001, "accountType only support UNIFIED")
    s = emu.margin(acct).summary()
    coins = sorted(set(acct.spot) | set(acct.futures_wallet) | set(acct.coinm_wallet))
    wanted = {c.strip().upper() for c in str(p.get("coin") or "").split(",") if c.strip()}
    rows = []
    tot_equity = tot_wallet = 0.0
    for c in coins:
        free, locked = acct.spot.get(c, [0.0, 0.0])
        wallet = free + locked + acct.futures_wallet.get(c, 0.0)
        upnl = s["upnl"] if c == "USDT" else 0.0
        pos_im = s["position_im"] if c == "USDT" else 0.0
        ord_im = s["order_im"] if c == "USDT" else 0.0
        mm = s["maint_margin"] if c == "USDT" else 0.0
        if c in acct.coinm_wallet:
            cs = coinm.summary(emu, acct, c)
            wallet += float(cs["wallet"])
            upnl += float(cs["upnl"])
            pos_im += float(cs["position_im"])
            ord_im += float(cs["order_im"])
            mm += float(cs["maint_margin"])
        price = 1.0 if c == "USDT" else emu.index(c)
        tot_equity += (wallet + upnl) * price
        tot_wallet += wallet * price
        if wanted and c not in wanted:
            continue
        rows.append({"coin": c, "equity": _f(wallet + upnl), "usdValue": _f((wallet + upnl) * price),
                     "walletBalance": _f(wallet), "locked": _f(locked), "borrowAmount": "0", "accruedInterest": "0",
                     "totalOrderIM": _f(ord_im), "totalPositionIM": _f(pos_im), "totalPositionMM": _f(mm),
                     "unrealisedPnl": _f(upnl), "cumRealisedPnl": "0", "bonus": "0", "collateralSwitch": True,
                     "marginCollateral": True, "spotHedgingQty": "0"})
    im, mmt = s["initial_margin"], s["maint_margin"]
    return {"list": [{
        "accountType": "UNIFIED", "totalEquity": _f(tot_equity), "totalWalletBalance": _f(tot_wallet),
        "totalMarginBalance": _f(tot_equity), "totalAvailableBalance": _f(tot_equity - im),
        "totalPerpUPL": _f(s["upnl"]), "totalInitialMargin": _f(im), "totalMaintenanceMargin": _f(mmt),
        "accountIMRate": _f(im / tot_equity if tot_equity else 0.0),
        "accountMMRate": _f(mmt / tot_equity if tot_equity else 0.0), "accountLTV": "0", "coin": rows}]}


def fee_rate(emu: Emulator, acct: Account, p: Params) -> Any:
    category = p.get("category", "spot")
    if category == "spot":
        taker, maker = SPOT_FEE, SPOT_FEE
    elif category == "linear":
        taker, maker = FUT_TAKER, FUT_MAKER
    else:
        taker, maker = coinm.FEE_TAKER, coinm.FEE_MAKER
    if p.get("symbol"):
        items = [find(emu, category, p["symbol"])]
    else:
        from console.emulator.bybit.symbols import listed

        items = listed(emu, category)
    return {"list": [{"symbol": it.symbol, "baseCoin": it.inst.base if category == "spot" else "",
                      "takerFeeRate": f"{taker:.4f}", "makerFeeRate": f"{maker:.4f}"} for it in items]}


def coin_info(emu: Emulator, acct: Account, p: Params) -> Any:
    """The coins the venue lists (ccxt loads currencies from here); no chains: deposits and
    withdrawals are not modelled."""
    insts = [*emu.spot_ids.values(), *emu.fut_ids.values(), *emu.coinm_ids.values()]
    coins = sorted({i.base for i in insts} | {i.quote for i in insts})
    return {"rows": [{"name": c, "coin": c, "remainAmount": "0", "chains": []} for c in coins]}


LEDGER_TYPES = {"FUNDING_FEE": "SETTLEMENT", "REALIZED_PNL": "TRADE", "COMMISSION": "TRADE",
                "INSURANCE_CLEAR": "LIQUIDATION"}


def transaction_log(emu: Emulator, acct: Account, p: Params) -> Any:
    """The unified account's ledger: the engine's income rows (funding, realised PnL,
    commissions), newest first, with the coin's wallet balance after each."""
    coin = _s(p.get("currency") or p.get("coin")).upper()
    rows = [r for r in [*acct.income, *acct.coinm_income] if not coin or r.asset == coin]
    rows.sort(key=lambda r: (r.time_ms, r.tran_id))
    start, end = _s(p.get("startTime")), _s(p.get("endTime"))
    running: dict[str, float] = {}
    out = []
    for r in rows:
        running[r.asset] = running.get(r.asset, 0.0) + r.amount
        if (start.isdigit() and r.time_ms < int(start)) or (end.isdigit() and r.time_ms > int(end)):
            continue
        item = by_engine_id(emu, "futures" if r.asset == "USDT" else "coinm", r.symbol) if r.symbol else None
        out.append({"id": str(r.tran_id), "symbol": item.symbol if item else "", "category":
                    item.category if item else "", "side": "", "transactionTime": str(r.time_ms),
                    "type": LEDGER_TYPES.get(r.income_type, "TRADE"), "qty": "0", "size": "0", "currency": r.asset,
                    "tradePrice": "0", "funding": _f(r.amount) if r.income_type == "FUNDING_FEE" else "0",
                    "fee": _f(-r.amount) if r.income_type == "COMMISSION" else "0", "cashFlow": _f(r.amount)
                    if r.income_type not in ("COMMISSION", "FUNDING_FEE") else "0", "change": _f(r.amount),
                    "cashBalance": _f(running[r.asset]), "feeRate": "", "bonusChange": "", "tradeId": r.trade_id,
                    "orderId": "", "orderLinkId": ""})
    limit = int(_s(p.get("limit")) or 20)
    return {"list": list(reversed(out))[:limit], "nextPageCursor": ""}


# -- positions ----------------------------------------------------------------------------
def position_row(emu: Emulator, acct: Account, item: Listed) -> dict[str, Any]:
    i = item.inst
    now = emu.now_ms()
    cfg = acct.config(i.id)
    if item.category == "linear":
        pos = acct.position(i.id)
        r = emu.margin(acct).risk(pos) if pos.amt else None
        size, entry = abs(pos.amt), pos.entry
        mark = emu.mark(i, now)
        value = size * entry
        upnl = r.upnl if r else 0.0
        im, mm = (r.initial_margin, r.maint_margin) if r else (0.0, 0.0)
        liq = r.liquidation_price if r else 0.0
        size_s = i.fmt_qty(size)
        amt, updated = pos.amt, pos.update_ms
    else:
        cpos = acct.coinm_positions.get(i.id)
        amt = cpos.amt if cpos else 0.0
        entry = cpos.entry if cpos else 0.0
        mark = emu.mark(i, now)
        usd = abs(amt) * i.contract_size
        value = usd / entry if entry else 0.0
        upnl = amt * i.contract_size * (1 / entry - 1 / mark) if amt else 0.0
        notional = usd / mark
        im = notional / cfg.leverage
        b = i.bracket_for(notional)
        mm = max(0.0, notional * b.mmr - b.cum)
        liq = 0.0
        size_s = f"{usd:.0f}"
        updated = cpos.update_ms if cpos else 0
    side = "Buy" if amt > 0 else "Sell" if amt < 0 else ""
    return {
        "positionIdx": 0, "riskId": 1, "riskLimitValue": f"{i.max_notional_at(cfg.leverage):.0f}" if i.brackets else "0",
        "symbol": item.symbol, "side": side, "size": size_s, "avgPrice": price_out(item, entry) if entry else "0",
        "positionValue": _f(value), "tradeMode": 1 if cfg.margin_type == "isolated" else 0, "autoAddMargin": 0,
        "positionStatus": "Normal", "leverage": str(cfg.leverage), "markPrice": price_out(item, mark),
        "liqPrice": price_out(item, liq) if liq else "", "bustPrice": "", "positionIM": _f(im), "positionMM": _f(mm),
        "positionBalance": _f(im), "tpslMode": "Full", "takeProfit": "", "stopLoss": "", "trailingStop": "0",
        "sessionAvgPrice": "", "delta": "", "gamma": "", "vega": "", "theta": "", "unrealisedPnl": _f(upnl),
        "curRealisedPnl": "0", "cumRealisedPnl": "0", "adlRankIndicator": 2 if amt else 0, "isReduceOnly": False,
        "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "", "createdTime": str(acct.created_ms),
        "updatedTime": str(updated or acct.created_ms), "seq": updated or 0,
    }


def position_list(emu: Emulator, acct: Account, p: Params) -> Any:
    category = p.get("category", "")
    if category not in ("linear", "inverse"):
        raise BybitError(10001, "params error: category must be linear or inverse")
    if p.get("symbol"):
        items = [find(emu, category, p["symbol"])]
    else:
        if category == "linear" and not p.get("settleCoin"):
            raise BybitError(10001, "params error: symbol or settleCoin is required")
        from console.emulator.bybit.symbols import listed

        held = acct.positions if category == "linear" else acct.coinm_positions
        items = [it for it in listed(emu, category) if held.get(it.inst.id) and held[it.inst.id].amt
                 and (not p.get("settleCoin") or p["settleCoin"].upper() == (it.inst.quote if category == "linear"
                                                                               else it.inst.base))]
    return {"category": category, "list": [position_row(emu, acct, it) for it in items], "nextPageCursor": ""}


def set_leverage(emu: Emulator, acct: Account, p: Params) -> Any:
    item = find(emu, p.get("category"), p.get("symbol"))
    if item.category == "spot":
        raise BybitError(10001, "params error: category must be linear or inverse")
    buy, sell = _s(p.get("buyLeverage")), _s(p.get("sellLeverage"))
    if not buy or buy != sell:
        raise BybitError(10001, "params error: buyLeverage must equal sellLeverage in one-way mode")
    try:
        lev = float(buy)
    except ValueError:
        raise BybitError(10001, "params error: buyLeverage must be a number") from None
    if lev != int(lev):
        raise BybitError(10001, "params error: the emulator takes whole leverage (1, 2, ...)")
    if acct.config(item.inst.id).leverage == int(lev):
        raise BybitError(110043, "leverage not modified")
    if item.category == "inverse":
        top = item.inst.brackets[0].initial_leverage
        if not 1 <= lev <= top:
            raise BybitError(10001, f"leverage invalid: between 1 and {top}")
        acct.config(item.inst.id).leverage = int(lev)
        return {}
    _engine_call(item, emu.set_leverage, acct, {"symbol": item.inst.id, "leverage": str(int(lev))})
    return {}


def switch_mode(emu: Emulator, acct: Account, p: Params) -> Any:
    """Position mode: 0 one-way, 3 hedge (changeable only on an empty account, as the engine)."""
    mode = _s(p.get("mode"))
    if mode not in ("0", "3"):
        raise BybitError(10001, "params error: mode must be 0 (one-way) or 3 (hedge)")
    try:
        api_more.set_position_mode(emu, acct, {"dualSidePosition": "true" if mode == "3" else "false"})
    except BinanceError as exc:
        code = 110025 if exc.code == -4059 else 110024
        raise BybitError(code, "Position mode is not modified" if code == 110025 else exc.msg) from None
    return {}


def switch_isolated(emu: Emulator, acct: Account, p: Params) -> Any:
    item = find(emu, p.get("category"), p.get("symbol"))
    mode = _s(p.get("tradeMode"))
    if mode not in ("0", "1"):
        raise BybitError(10001, "params error: tradeMode must be 0 (cross) or 1 (isolated)")
    try:
        emu.set_margin_type(acct, {"symbol": item.inst.id, "marginType": "ISOLATED" if mode == "1" else "CROSSED"})
    except BinanceError as exc:
        if exc.code == -4046:
            raise BybitError(110026, "Cross/isolated margin mode is not modified") from None
        raise BybitError(110024, exc.msg) from None
    return {}


def set_margin_mode(emu: Emulator, acct: Account, p: Params) -> Any:
    """Unified account margin mode: REGULAR_MARGIN (cross) or ISOLATED_MARGIN, for every
    linear contract; refused while a contract position or order is open."""
    want = _s(p.get("setMarginMode")).upper()
    if want not in ("REGULAR_MARGIN", "ISOLATED_MARGIN"):
        raise BybitError(10001, "params error: setMarginMode must be REGULAR_MARGIN or ISOLATED_MARGIN "
                                "(PORTFOLIO_MARGIN is not modelled)")
    iso = want == "ISOLATED_MARGIN"
    if want == acct.margin_mode:
        return {"reasons": []}
    if any(pos.amt for pos in acct.positions.values()) or any(
            o.open and o.venue == "futures" for o in acct.orders.values()):
        return {"reasons": [{"reasonCode": "3400045", "reasonMsg": "Positions or open orders: close them first."}]}
    for inst in emu.fut_ids.values():
        acct.config(inst.id).margin_type = "isolated" if iso else "cross"
    acct.margin_mode = want
    return {"reasons": []}


# -- orders -------------------------------------------------------------------------------
def _engine_order(item: Listed, p: Params) -> dict[str, str]:
    """Bybit's order parameters as the engine's (Binance-style) ones."""
    side = _s(p.get("side"))
    if side not in ("Buy", "Sell"):
        raise BybitError(10001 if item.category != "spot" else 170130, "params error: side must be Buy or Sell")
    otype = _s(p.get("orderType"))
    if otype not in ("Market", "Limit"):
        raise BybitError(10001, "params error: orderType must be Market or Limit")
    qty = _s(p.get("qty"))
    if not qty:
        raise BybitError(10001, "params error: qty is required")
    tif = _s(p.get("timeInForce")).upper() or ("IOC" if otype == "Market" else "GTC")
    if tif not in TIFS:
        raise BybitError(10001, "params error: timeInForce must be GTC, IOC, FOK or PostOnly")
    q: dict[str, str] = {"symbol": item.inst.id, "side": side.upper()}
    link = _s(p.get("orderLinkId"))
    if link:
        q["newClientOrderId"] = link
    if otype == "Limit":
        q["price"] = _s(p.get("price"))
        if not q["price"]:
            raise BybitError(10001, "params error: price is required for a Limit order")
    if item.category == "spot":
        if otype == "Market":
            q["type"] = "MARKET"
            unit = _s(p.get("marketUnit")) or ("quoteCoin" if side == "Buy" else "baseCoin")
            q["quoteOrderQty" if unit == "quoteCoin" else "quantity"] = qty
        elif tif == "POSTONLY":
            q["type"] = "LIMIT_MAKER"
            q["quantity"] = qty
        else:
            q.update({"type": "LIMIT", "timeInForce": tif, "quantity": qty})
        return q
    q["type"] = otype.upper()
    if otype == "Limit":
        q["timeInForce"] = TIFS[tif]
    if p.get("reduceOnly") is not None:
        q["reduceOnly"] = _s(p.get("reduceOnly"))
    if item.category == "inverse":
        try:
            lots = Decimal(qty) / Decimal(f"{item.lot_usd:.0f}")
        except ArithmeticError:
            raise BybitError(10001, "params error: qty must be a number") from None
        if lots != lots.to_integral_value() or lots <= 0:
            raise BybitError(10001, f"params error: qty must be a multiple of the qty step ({item.lot_usd:.0f} USD)")
        q["quantity"] = str(int(lots))
    else:
        q["quantity"] = qty
    return q


def _place(emu: Emulator, acct: Account, p: Params) -> tuple[Listed, Order]:
    item = find(emu, p.get("category"), p.get("symbol"))
    if _s(p.get("positionIdx")) not in ("", "0"):
        raise BybitError(10001, "params error: positionIdx must be 0 (one-way mode)")
    if p.get("triggerPrice") or p.get("takeProfit") or p.get("stopLoss") or p.get("orderFilter") not in (None, "Order"):
        raise BybitError(10001, "params error: conditional and TP/SL orders are not modelled by the emulator")
    q = _engine_order(item, p)
    if item.category == "spot":
        o, _ = _engine_call(item, emu.place_spot, acct, q)
    elif item.category == "linear":
        o, _ = _engine_call(item, emu.place_futures, acct, q)
    else:
        o = _engine_call(item, coinm.place, emu, acct, q)
    return item, o


def order_create(emu: Emulator, acct: Account, p: Params) -> Any:
    _, o = _place(emu, acct, p)
    return {"orderId": str(o.order_id), "orderLinkId": o.client_id}


def create_batch(emu: Emulator, acct: Account, p: Params) -> Any:
    """Each order on its own: one refused does not stop the others (retExtInfo says which)."""
    category = _s(p.get("category"))
    requests = p.get("request")
    if not isinstance(requests, list) or not requests:
        raise BybitError(10001, "params error: request must be a non-empty list of orders")
    if len(requests) > MAX_BATCH.get(category, 0):
        raise BybitError(10001, f"params error: at most {MAX_BATCH.get(category, 0)} orders per batch for {category}")
    done, infos = [], []
    for one in requests:
        if not isinstance(one, dict):
            raise BybitError(10001, "params error: each request is an order object")
        try:
            item, o = _place(emu, acct, {**one, "category": category})
            done.append({"category": category, "symbol": item.symbol, "orderId": str(o.order_id),
                         "orderLinkId": o.client_id, "createAt": str(o.time_ms)})
            infos.append({"code": 0, "msg": "OK"})
        except BybitError as exc:
            done.append({"category": category, "symbol": _s(one.get("symbol")), "orderId": "",
                         "orderLinkId": _s(one.get("orderLinkId")), "createAt": ""})
            infos.append({"code": exc.code, "msg": exc.msg})
    return {"list": done}, {"list": infos}


def _lookup(emu: Emulator, acct: Account, p: Params) -> tuple[Listed, Order]:
    item = find(emu, p.get("category"), p.get("symbol"))
    oid, link = _s(p.get("orderId")), _s(p.get("orderLinkId"))
    if not oid and not link:
        raise BybitError(10001, "params error: orderId or orderLinkId is required")
    venue = VENUE[item.category]
    o = acct.find_order(venue, int(oid) if oid.isdigit() else (None if not oid else -1), link or None, item.inst.id)
    if o is None:
        raise BybitError(170213 if item.category == "spot" else 110001, "Order does not exist.")
    return item, o


def order_cancel(emu: Emulator, acct: Account, p: Params) -> Any:
    item, o = _lookup(emu, acct, p)
    if not o.open:
        raise BybitError(170213 if item.category == "spot" else 110001, "order not exists or too late to cancel")
    _engine_call(item, emu.cancel, acct, VENUE[item.category], {"symbol": item.inst.id, "orderId": str(o.order_id)})
    return {"orderId": str(o.order_id), "orderLinkId": o.client_id}


def cancel_all(emu: Emulator, acct: Account, p: Params) -> Any:
    category = _s(p.get("category"))
    items = [find(emu, category, p["symbol"])] if p.get("symbol") else None
    if items is None:
        from console.emulator.bybit.symbols import listed

        items = listed(emu, category)
    out = []
    for item in items:
        for o in _engine_call(item, emu.cancel_all, acct, VENUE[item.category], item.inst.id):
            out.append({"orderId": str(o.order_id), "orderLinkId": o.client_id})
    return {"list": out, "success": "1"}


def order_amend(emu: Emulator, acct: Account, p: Params) -> Any:
    """A resting linear limit order: new qty and/or price, same id (the engine's modify)."""
    item, o = _lookup(emu, acct, p)
    if item.category != "linear":
        raise BybitError(10001, "params error: the emulator amends linear orders only (cancel and place anew)")
    if not o.open:
        raise BybitError(110001, "order not exists or too late to replace")
    qty = _s(p.get("qty")) or item.inst.fmt_qty(o.orig_qty)
    price = _s(p.get("price")) or item.inst.fmt_price(o.price)
    _engine_call(item, emu.modify_futures, acct, {"symbol": item.inst.id, "orderId": str(o.order_id),
                                                  "side": o.side, "quantity": qty, "price": price})
    return {"orderId": str(o.order_id), "orderLinkId": o.client_id}


def _fees(acct: Account, o: Order) -> float:
    return sum(t.commission for t in acct.trades if t.order_id == o.order_id and t.venue == o.venue)


def order_row(emu: Emulator, acct: Account, o: Order) -> dict[str, Any]:
    item = by_engine_id(emu, o.venue, o.symbol)
    status = STATUS.get(o.status, "New")
    if status == "Cancelled" and o.executed_qty > 0:
        status = "PartiallyFilledCanceled"
    spot = item.category == "spot"
    tif = {"GTX": "PostOnly"}.get(o.tif, o.tif) if o.type != "LIMIT_MAKER" else "PostOnly"
    if o.type == "MARKET":
        tif = "IOC" if not spot else "IOC"
    qty = o.orig_qty if not (spot and o.quote_order_qty) else o.executed_qty
    cum_value = o.cum_quote if item.category != "inverse" else o.cum_quote  # inverse: the coin value
    leaves = qty - o.executed_qty if o.open else 0.0
    return {
        "orderId": str(o.order_id), "orderLinkId": o.client_id, "blockTradeId": "", "symbol": item.symbol,
        "price": price_out(item, o.price) if o.price else "0", "qty": qty_out(item, qty), "side": o.side.title(),
        "isLeverage": "0" if spot else "", "positionIdx": 0, "orderStatus": status,
        "cancelType": "UNKNOWN", "rejectReason": "EC_NoError", "avgPrice": price_out(item, o.avg_price)
        if item.category != "inverse" and o.executed_qty else (
            f"{o.executed_qty * item.lot_usd / o.cum_quote:.8f}" if o.executed_qty and o.cum_quote else ""),
        "leavesQty": qty_out(item, leaves), "leavesValue": _f(leaves * o.price),
        "cumExecQty": qty_out(item, o.executed_qty), "cumExecValue": _f(cum_value),
        "cumExecFee": _f(_fees(acct, o)), "timeInForce": tif, "orderType": o.type.title() if o.type != "LIMIT_MAKER"
        else "Limit", "stopOrderType": "", "orderIv": "", "marketUnit": ("quoteCoin" if o.quote_order_qty else
                                                                           "baseCoin") if spot and o.type == "MARKET" else "",
        "triggerPrice": "", "takeProfit": "", "stopLoss": "", "tpTriggerBy": "", "slTriggerBy": "",
        "triggerDirection": 0, "triggerBy": "", "lastPriceOnCreated": "", "reduceOnly": o.reduce_only,
        "closeOnTrigger": False, "smpType": "None", "smpGroup": 0, "smpOrderId": "", "tpslMode": "",
        "tpLimitPrice": "", "slLimitPrice": "", "placeType": "", "createdTime": str(o.time_ms),
        "updatedTime": str(o.update_ms or o.time_ms),
    }


def _orders(emu: Emulator, acct: Account, p: Params, want_open: bool | None) -> list[Order]:
    category = _s(p.get("category"))
    venue = VENUE.get(category)
    if venue is None:
        raise BybitError(10001, "params error: category must be spot, linear or inverse")
    symbol = find(emu, category, p["symbol"]).inst.id if p.get("symbol") else None
    oid, link = _s(p.get("orderId")), _s(p.get("orderLinkId"))
    out = [o for o in acct.orders.values() if o.venue == venue and (symbol is None or o.symbol == symbol)
           and (not oid or str(o.order_id) == oid) and (not link or o.client_id == link)
           and (want_open is None or o.open == want_open)]
    return sorted(out, key=lambda o: (o.time_ms, o.order_id), reverse=True)


def order_realtime(emu: Emulator, acct: Account, p: Params) -> Any:
    """Open orders; with an orderId or orderLinkId, that order whatever its state (as Bybit)."""
    by_id = bool(p.get("orderId") or p.get("orderLinkId"))
    rows = _orders(emu, acct, p, None if by_id else True)
    limit = int(_s(p.get("limit")) or 20)
    return {"category": p.get("category"), "list": [order_row(emu, acct, o) for o in rows[:limit]],
            "nextPageCursor": ""}


def order_history(emu: Emulator, acct: Account, p: Params) -> Any:
    rows = _orders(emu, acct, p, None)
    start, end = _s(p.get("startTime")), _s(p.get("endTime"))
    if start.isdigit():
        rows = [o for o in rows if o.time_ms >= int(start)]
    if end.isdigit():
        rows = [o for o in rows if o.time_ms <= int(end)]
    status = _s(p.get("orderStatus"))
    if status:
        rows = [o for o in rows if order_row(emu, acct, o)["orderStatus"] == status]
    limit = int(_s(p.get("limit")) or 20)
    return {"category": p.get("category"), "list": [order_row(emu, acct, o) for o in rows[:limit]],
            "nextPageCursor": ""}


def execution_row(emu: Emulator, acct: Account, t: Trade) -> dict[str, Any]:
    item = by_engine_id(emu, t.venue, t.symbol)
    o = acct.orders.get(t.order_id)
    value = t.price * t.qty if item.category != "inverse" else t.qty * item.lot_usd / t.price
    return {
        "symbol": item.symbol, "orderId": str(t.order_id), "orderLinkId": o.client_id if o else "",
        "side": t.side.title(), "orderPrice": price_out(item, o.price) if o and o.price else "0",
        "orderQty": qty_out(item, o.orig_qty) if o else "0", "leavesQty": qty_out(item, o.remaining) if o else "0",
        "createType": "CreateByUser", "orderType": o.type.title() if o and o.type != "LIMIT_MAKER" else "Limit",
        "stopOrderType": "", "execFee": _f(t.commission), "feeCurrency": t.commission_asset,
        "execId": str(t.trade_id), "execPrice": price_out(item, t.price), "execQty": qty_out(item, t.qty),
        "execType": "Trade", "execValue": _f(value), "execTime": str(t.time_ms), "isMaker": t.maker,
        "feeRate": _f(t.commission / value) if value else "0", "tradeIv": "", "markIv": "",
        "markPrice": "", "indexPrice": "", "underlyingPrice": "", "blockTradeId": "",
        "closedSize": "0", "seq": t.trade_id,
    }


def execution_list(emu: Emulator, acct: Account, p: Params) -> Any:
    category = _s(p.get("category"))
    venue = VENUE.get(category)
    if venue is None:
        raise BybitError(10001, "params error: category must be spot, linear or inverse")
    symbol = find(emu, category, p["symbol"]).inst.id if p.get("symbol") else None
    oid = _s(p.get("orderId"))
    rows = [t for t in acct.trades if t.venue == venue and (symbol is None or t.symbol == symbol)
            and (not oid or str(t.order_id) == oid)]
    start, end = _s(p.get("startTime")), _s(p.get("endTime"))
    if start.isdigit():
        rows = [t for t in rows if t.time_ms >= int(start)]
    if end.isdigit():
        rows = [t for t in rows if t.time_ms <= int(end)]
    rows.sort(key=lambda t: (t.time_ms, t.trade_id), reverse=True)
    limit = int(_s(p.get("limit")) or 50)
    return {"category": category, "list": [execution_row(emu, acct, t) for t in rows[:limit]], "nextPageCursor": ""}


GET, POST = "GET", "POST"
ROUTES: list[tuple[str, str, Any]] = [
    (GET, "/v5/user/query-api", query_api),
    (GET, "/v5/account/info", account_info),
    (GET, "/v5/account/wallet-balance", wallet_balance),
    (GET, "/v5/asset/coin/query-info", coin_info),
    (GET, "/v5/account/transaction-log", transaction_log),
    (GET, "/v5/account/fee-rate", fee_rate),
    (GET, "/v5/position/list", position_list),
    (POST, "/v5/position/set-leverage", set_leverage),
    (POST, "/v5/position/switch-mode", switch_mode),
    (POST, "/v5/position/switch-isolated", switch_isolated),
    (POST, "/v5/account/set-margin-mode", set_margin_mode),
    (POST, "/v5/order/create", order_create),
    (POST, "/v5/order/create-batch", create_batch),
    (POST, "/v5/order/cancel", order_cancel),
    (POST, "/v5/order/cancel-all", cancel_all),
    (POST, "/v5/order/amend", order_amend),
    (GET, "/v5/order/realtime", order_realtime),
    (GET, "/v5/order/history", order_history),
    (GET, "/v5/execution/list", execution_list),
]


def parse_body(body: str) -> Params:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise BybitError(10001, "params error: the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BybitError(10001, "params error: the request body must be a JSON object")
    return data
