"""The rest of what ccxt calls for the console's work and for its own exchange tests:
system status, aggregate trades, open interest (now and its history), trading fees
(spot tradeFee, USDⓈ-M commissionRate and accountConfig), batch cancel, order modify,
countdown cancel-all and switching hedge mode on an empty account.

The tape (aggTrades) is every account's fills merged with a synthetic market trade every
``TAPE_STEP_MS`` at the book's touch, sized from the hour's synthetic volume: deterministic
from (seed, time). Open interest follows the same volume model.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from console.emulator import api_futures, params
from console.emulator.accounts import Account
from console.emulator.book import top_of_book
from console.emulator.engine import FUT_MAKER, FUT_TAKER, SPOT_FEE, Emulator
from console.emulator.errors import BinanceError
from console.emulator.instruments import Instrument

Params = dict[str, str]
TAPE_STEP_MS = 10_000
HOUR_MS = 3_600_000
OI_PERIODS_MS = {"5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": HOUR_MS, "2h": 2 * HOUR_MS,
                 "4h": 4 * HOUR_MS, "6h": 6 * HOUR_MS, "12h": 12 * HOUR_MS, "1d": 24 * HOUR_MS}
OI_HISTORY_MS = 30 * 24 * HOUR_MS  # Binance keeps the last 30 days


def system_status(emu: Emulator, acct: Any, p: Params) -> Any:
    return {"status": 0, "msg": "normal"}


# -- the tape -----------------------------------------------------------------------------------
def _synthetic(emu: Emulator, inst: Instrument, t: int) -> dict[str, Any]:
    rng = random.Random(f"{emu.seed}:tape:{inst.id}:{t}")
    bid, ask = top_of_book(inst, emu.mark(inst, t))
    buyer_maker = rng.random() < 0.5
    price = bid if buyer_maker else ask
    qty = max(float(inst.step), round(inst.depth_usd * rng.uniform(0.01, 0.2) / price / float(inst.step))
              * float(inst.step))
    tid = t // TAPE_STEP_MS  # one synthetic trade per step: its id is its slot
    return {"a": tid, "p": inst.fmt_price(price), "q": inst.fmt_qty(qty), "f": tid, "l": tid, "T": t,
            "m": buyer_maker, **({} if inst.contract else {"M": True})}


def agg_trades(emu: Emulator, venue: str, p: Params) -> list[dict[str, Any]]:
    inst = emu.inst(venue, p.get("symbol"))
    limit = params.limit(p, 500, 1000)
    now = emu.now_ms()
    start, end = params.integer(p, "startTime"), params.integer(p, "endTime")
    from_id = params.integer(p, "fromId")
    if start is not None and end is not None and end - start > HOUR_MS:
        raise BinanceError(-1127, "More than 1 hours between startTime and endTime.")
    if from_id is not None:
        start = from_id * TAPE_STEP_MS
    if start is None:
        end = now if end is None else min(end, now)
        start = max(emu.listed_ms, end - limit * TAPE_STEP_MS)
    end = min(now, end if end is not None else start + HOUR_MS)
    first = -(-start // TAPE_STEP_MS) * TAPE_STEP_MS
    rows = [_synthetic(emu, inst, t) for t in range(first, end + 1, TAPE_STEP_MS)]
    return rows[:limit] if (p.get("startTime") or from_id is not None) else rows[-limit:]


def spot_agg_trades(emu: Emulator, acct: Any, p: Params) -> Any:
    return agg_trades(emu, "spot", p)


def fut_agg_trades(emu: Emulator, acct: Any, p: Params) -> Any:
    return agg_trades(emu, "futures", p)


# -- open interest --------------------------------------------------------------------------------
def _open_interest(emu: Emulator, inst: Instrument, t: int) -> float:
    """Contracts open: about six hours of synthetic volume, drifting by the hour."""
    hour = t // HOUR_MS
    rng = random.Random(f"{emu.seed}:oi:{inst.id}:{hour}")
    usd = inst.depth_usd * 400 * 6 * (0.8 + 0.4 * rng.random())
    return usd / emu.mark(inst, t)


def open_interest(emu: Emulator, acct: Any, p: Params) -> Any:
    inst = emu.inst("futures", p.get("symbol"))
    now = emu.now_ms()
    return {"openInterest": inst.fmt_qty(_open_interest(emu, inst, now)), "symbol": inst.id, "time": now}


def open_interest_hist(emu: Emulator, acct: Any, p: Params) -> Any:
    inst = emu.inst("futures", p.get("symbol"))
    step = OI_PERIODS_MS.get(p.get("period", ""))
    if step is None:
        raise BinanceError(-1120, "Invalid period.")
    limit = params.limit(p, 30, 500)
    now = emu.now_ms()
    start, end = params.integer(p, "startTime"), params.integer(p, "endTime")
    end = min(now, end if end is not None else now)
    if start is None:
        start = end - (limit - 1) * step
    start = max(start, now - OI_HISTORY_MS, emu.listed_ms)
    first = -(-start // step) * step
    rows = []
    for t in range(first, end + 1, step):
        oi = _open_interest(emu, inst, t)
        rows.append({"symbol": inst.id, "sumOpenInterest": f"{oi:.8f}",
                     "sumOpenInterestValue": f"{oi * emu.mark(inst, t):.8f}", "timestamp": t})
    return rows[:limit] if p.get("startTime") else rows[-limit:]


# -- fees ---------------------------------------------------------------------------------------
def spot_trade_fee(emu: Emulator, acct: Account, p: Params) -> Any:
    insts = [emu.inst("spot", p["symbol"])] if p.get("symbol") else list(emu.spot_ids.values())
    return [{"symbol": i.id, "makerCommission": f"{SPOT_FEE}", "takerCommission": f"{SPOT_FEE}"} for i in insts]


def commission_rate(emu: Emulator, acct: Account, p: Params) -> Any:
    inst = emu.inst("futures", p.get("symbol"))
    return {"symbol": inst.id, "makerCommissionRate": f"{FUT_MAKER:.6f}", "takerCommissionRate": f"{FUT_TAKER:.6f}"}


def account_config(emu: Emulator, acct: Account, p: Params) -> Any:
    return {"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True,
            "dualSidePosition": acct.hedge_mode, "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1}


# -- order management ---------------------------------------------------------------------------
def batch_cancel(emu: Emulator, acct: Account, p: Params) -> Any:
    """DELETE /fapi/v1/batchOrders: orderIdList or origClientOrderIdList (JSON, at most 10);
    each cancel stands alone, as the batch of new orders."""
    inst = emu.inst("futures", p.get("symbol"))
    ids_raw, cids_raw = p.get("orderIdList"), p.get("origClientOrderIdList")
    if not ids_raw and not cids_raw:
        raise params.missing("orderIdList")
    key, raw = ("orderId", ids_raw) if ids_raw else ("origClientOrderId", cids_raw)
    try:
        items = json.loads(raw or "")
    except ValueError:
        raise BinanceError(-1130, f"Data sent for parameter '{key}List' is not valid.") from None
    ok_type = int if key == "orderId" else str
    if (not isinstance(items, list) or not 1 <= len(items) <= 10
            or not all(isinstance(i, ok_type) and not isinstance(i, bool) for i in items)):
        raise BinanceError(-1130, f"Data sent for parameter '{key}List' is not valid.")
    out: list[Any] = []
    for item in items:
        try:
            o = emu.cancel(acct, "futures", {"symbol": inst.id, key: str(item)})
            out.append(api_futures.order_json(o, inst))
        except BinanceError as exc:
            out.append(exc.body())
    return out


def modify_order(emu: Emulator, acct: Account, p: Params) -> Any:
    """PUT /fapi/v1/order: a new price and quantity for a resting LIMIT order, same id."""
    return api_futures.order_json(*emu.modify_futures(acct, p))


def countdown_cancel_all(emu: Emulator, acct: Account, p: Params) -> Any:
    """POST /fapi/v1/countdownCancelAll: cancel the symbol's open orders when the countdown
    (ms, 0 turns it off) runs out without being renewed."""
    inst = emu.inst("futures", p.get("symbol"))
    ms = params.integer(p, "countdownTime")
    if ms is None:
        raise params.missing("countdownTime")
    if ms and ms < 1_000:  # Binance: the shortest countdown is a second
        raise BinanceError(-1130, "Data sent for parameter 'countdownTime' is not valid.")
    if ms:
        acct.countdowns[inst.id] = emu.now_ms() + ms
    else:
        acct.countdowns.pop(inst.id, None)
    return {"symbol": inst.id, "countdownTime": str(ms)}


def set_position_mode(emu: Emulator, acct: Account, p: Params) -> Any:
    """Hedge mode can change only on an empty account (no position, no open order)."""
    raw = str(p.get("dualSidePosition", "")).lower()
    if raw not in ("true", "false"):
        raise params.illegal("dualSidePosition", "true, false")
    want = raw == "true"
    if want == acct.hedge_mode:
        raise BinanceError(-4059, "No need to change position side.")
    if any(pos.amt for pos in acct.positions.values()):
        raise BinanceError(-4068, "Position side cannot be changed if there exists position.")
    if any(o.open and o.venue == "futures" for o in acct.orders.values()):
        raise BinanceError(-4067, "Position side cannot be changed if there exists open orders.")
    acct.hedge_mode = want
    return {"code": 200, "msg": "success"}


def position_mode(emu: Emulator, acct: Account, p: Params) -> Any:
    return {"dualSidePosition": acct.hedge_mode}


PUBLIC_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/sapi/v1/system/status", system_status),
    ("GET", "/api/v3/aggTrades", spot_agg_trades),
    ("GET", "/fapi/v1/aggTrades", fut_agg_trades),
    ("GET", "/fapi/v1/openInterest", open_interest),
    ("GET", "/futures/data/openInterestHist", open_interest_hist),
]
SIGNED_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/sapi/v1/asset/tradeFee", spot_trade_fee),
    ("GET", "/fapi/v1/commissionRate", commission_rate),
    ("GET", "/fapi/v1/accountConfig", account_config),
    ("DELETE", "/fapi/v1/batchOrders", batch_cancel),
    ("PUT", "/fapi/v1/order", modify_order),
    ("POST", "/fapi/v1/countdownCancelAll", countdown_cancel_all),
    ("GET", "/fapi/v1/positionSide/dual", position_mode),
    ("POST", "/fapi/v1/positionSide/dual", set_position_mode),
]
