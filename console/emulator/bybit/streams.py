"""Bybit's v5 websockets on the emulator's port: ``/stream/v5/public/{spot,linear,inverse}``
and ``/stream/v5/private`` (ccxt.pro's ``wss://stream.bybit.com/v5/...`` through
``console.emulator.urls``).

Public topics: ``tickers.<SYMBOL>`` and ``orderbook.<depth>.<SYMBOL>``, each push a snapshot
of the REST answer at that instant. Private (after ``{"op": "auth", "args": [key, expires,
HMAC-SHA256(secret, "GET/realtime" + expires)]}``): ``order``, ``execution``, ``position``
and ``wallet``, each push the rows that changed since the last one. ``{"op": "ping"}`` is
answered with a pong. Everything is derived from the model after ``sync``, as the Binance
streams are.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from console.emulator.accounts import Account
from console.emulator.bybit import market, trade
from console.emulator.bybit.errors import BybitError
from console.emulator.bybit.symbols import VENUE, by_engine_id, find
from console.emulator.engine import Emulator

log = logging.getLogger(__name__)
PRIVATE_TOPICS = ("order", "execution", "position", "wallet")


@dataclass
class Private:
    """What a private connection has already been told."""

    acct: Account
    topics: set[str] = field(default_factory=set)
    orders: dict[int, tuple[str, float, float, int]] = field(default_factory=dict)
    trades_seen: int = 0
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    wallet: str = ""


def _frame(topic: str, data: Any, now: int, kind: str | None = "snapshot") -> str:
    msg: dict[str, Any] = {"topic": topic, "ts": now, "data": data}
    if kind:
        msg["type"] = kind
    else:
        msg["id"] = f"{topic}-{now}"
        msg["creationTime"] = now
    return json.dumps(msg, separators=(",", ":"))


def public_frames(emu: Emulator, category: str, topics: set[str]) -> list[str]:
    now = emu.now_ms()
    out = []
    for topic in sorted(topics):
        parts = topic.split(".")
        if parts[0] == "tickers":
            data = market.tickers(emu, None, {"category": category, "symbol": parts[1]})["list"][0]
            out.append(_frame(topic, data, now))
        else:
            book = market.orderbook(emu, None, {"category": category, "symbol": parts[2], "limit": parts[1]})
            out.append(_frame(topic, {k: book[k] for k in ("s", "b", "a", "u", "seq")}, now))
    return out


def private_frames(emu: Emulator, st: Private) -> list[str]:
    now = emu.now_ms()
    acct = st.acct
    out = []
    changed = [o for o in acct.orders.values()
               if st.orders.get(o.order_id) != (o.status, o.executed_qty, o.price, o.update_ms)]
    for o in changed:
        st.orders[o.order_id] = (o.status, o.executed_qty, o.price, o.update_ms)
    if "order" in st.topics and changed:
        rows = [{**trade.order_row(emu, acct, o), "category": by_engine_id(emu, o.venue, o.symbol).category}
                for o in changed]
        out.append(_frame("order", rows, now, None))
    fresh = acct.trades[st.trades_seen:]
    st.trades_seen = len(acct.trades)
    if "execution" in st.topics and fresh:
        rows = [{**trade.execution_row(emu, acct, t), "category": by_engine_id(emu, t.venue, t.symbol).category}
                for t in fresh]
        out.append(_frame("execution", rows, now, None))
    held = {**{f"linear:{k}": (p.amt, p.entry) for k, p in acct.positions.items()},
            **{f"inverse:{k}": (p.amt, p.entry) for k, p in acct.coinm_positions.items()}}
    moved = [k for k, v in held.items() if st.positions.get(k) != v]
    st.positions.update(held)
    if "position" in st.topics and moved:
        rows = []
        for k in moved:
            category, engine_id = k.split(":", 1)
            item = by_engine_id(emu, VENUE[category], engine_id)
            rows.append({**trade.position_row(emu, acct, item), "category": category})
        out.append(_frame("position", rows, now, None))
    wallet = trade.wallet_balance(emu, acct, {"accountType": "UNIFIED"})["list"]
    text = json.dumps(wallet, sort_keys=True)
    if "wallet" in st.topics and text != st.wallet:
        out.append(_frame("wallet", wallet, now, None))
    st.wallet = text
    return out


def _check_auth(emu: Emulator, args: Any) -> Account:
    if not isinstance(args, list) or len(args) != 3:
        raise BybitError(10001, "params error: auth args are [api key, expires, signature]")
    key, expires, sign = (str(a) for a in args)
    found = emu.bybit_keys.get(key)
    if found is None:
        raise BybitError(10003, "API key is invalid.")
    secret, name = found
    expected = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sign.lower()):
        raise BybitError(10004, "error sign! HMAC-SHA256 of \"GET/realtime\" + expires")
    if not expires.isdigit() or int(expires) <= emu.clock.wall_ms():
        raise BybitError(10002, "the auth request expired: expires must be in the future (ms)")
    return emu.accounts[name]


async def serve(request: web.Request, emu: Emulator, push_s: float) -> web.WebSocketResponse:
    parts = [p for p in request.path.split("/") if p]  # stream, v5, public|private, [category]
    private = parts[2:3] == ["private"]
    category = parts[3] if len(parts) > 3 and not private else ""
    if not private and category not in ("spot", "linear", "inverse"):
        raise web.HTTPNotFound()
    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)
    topics: set[str] = set()
    st: Private | None = None
    lock = asyncio.Lock()  # one writer at a time: the pump and the replies

    async def send(frames: list[str]) -> None:
        async with lock:
            for f in frames:
                if not ws.closed:
                    await ws.send_str(f)

    def frames_now() -> list[str]:
        with emu.lock:
            emu.sync()
            if st is not None:
                return private_frames(emu, st)
            return public_frames(emu, category, topics)

    async def pump() -> None:
        while not ws.closed:
            await asyncio.sleep(push_s)
            try:
                await send(frames_now())
            except Exception:  # a bug in the emulator: log it, keep the connection
                log.exception("bybit stream push failed")

    pusher = asyncio.create_task(pump())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            reply: dict[str, Any] = {"success": True, "ret_msg": "", "conn_id": "emulator"}
            try:
                req = json.loads(msg.data)
                if not isinstance(req, dict):
                    raise BybitError(10001, "params error: a request is a JSON object")
                op = req.get("op")
                reply.update({"op": op, "req_id": req.get("req_id", "")})
                if op == "ping":
                    reply["ret_msg"] = "pong"
                elif op == "auth" and private:
                    with emu.lock:
                        st = Private(_check_auth(emu, req.get("args")))
                        private_frames(emu, st)  # what exists now is known: only changes follow
                elif op == "subscribe":
                    wanted = [str(a) for a in req.get("args") or []]
                    with emu.lock:
                        for topic in wanted:
                            _check_topic(emu, private, category, topic, st)
                    if st is not None:
                        with emu.lock:
                            emu.user_streams += len(set(wanted) - st.topics)
                        st.topics.update(wanted)
                    else:
                        topics.update(wanted)
                elif op == "unsubscribe":
                    for topic in req.get("args") or []:
                        if st is not None and str(topic) in st.topics:
                            st.topics.discard(str(topic))
                            with emu.lock:
                                emu.user_streams -= 1
                        topics.discard(str(topic))
                else:
                    raise BybitError(10001, f"params error: unknown op {op!r}")
            except (BybitError, ValueError) as exc:
                reply.update({"success": False, "ret_msg": exc.msg if isinstance(exc, BybitError) else
                              "params error: the request is not JSON"})
            await send([json.dumps(reply, separators=(",", ":"))])
            if reply["success"] and reply.get("op") == "subscribe" and st is None:
                await send(frames_now())  # the first snapshot at once, as Bybit
    finally:
        pusher.cancel()
        if st is not None:
            with emu.lock:
                emu.user_streams -= len(st.topics)
    return ws


def _check_topic(emu: Emulator, private: bool, category: str, topic: str, st: Private | None) -> None:
    if private:
        if st is None:
            raise BybitError(10004, "subscribe to private topics after auth")
        if topic not in PRIVATE_TOPICS:
            raise BybitError(10001, f"params error: private topics are {', '.join(PRIVATE_TOPICS)}")
        return
    parts = topic.split(".")
    if parts[0] == "tickers" and len(parts) == 2:
        find(emu, category, parts[1])
    elif parts[0] == "orderbook" and len(parts) == 3 and parts[1].isdigit():
        find(emu, category, parts[2])
    else:
        raise BybitError(10001, f"params error: topic {topic!r}: the emulator streams tickers.<SYMBOL> and "
                                "orderbook.<depth>.<SYMBOL>")
