"""Binance's websocket streams on the emulator's port, in Binance's dialect.

Market streams (raw ``/ws`` with SUBSCRIBE messages, ``/ws/<stream>``, or combined
``/stream?streams=a/b``): ``<sym>@ticker``, ``<sym>@bookTicker``, ``<sym>@markPrice[@1s]``,
``<sym>@depth[@100ms|@500ms]``, ``<sym>@aggTrade``, ``!ticker@arr``, ``!markPrice@arr[@1s]``.
The user data stream of USDⓈ-M (``/fstream/private/ws?listenKey=`` or ``/fstream/ws/<key>``)
carries ORDER_TRADE_UPDATE and ACCOUNT_UPDATE; listen keys come from POST /fapi/v1/listenKey.

URLs: ccxt's hosts map to path prefixes (``console.emulator.urls``): spot
``stream.binance.com`` -> ``/stream``, USDⓈ-M ``fstream.binance.com`` -> ``/fstream``, COIN-M
``dstream.binance.com`` -> ``/dstream`` (market streams only), spot's websocket API
``ws-api.binance.com`` -> ``/ws-api`` (the user data stream).

Everything is derived from the model on each push (every ``push_s`` of wall time, after
``sync``): a ticker is the REST ticker re-keyed; a depth update replaces every level of the
last book the client could know (the previous push, and any REST snapshot served since),
with update ids from the emulated time (``lastUpdateId`` = ms // 100, as REST depth); order
and account events are the differences since the last push, one TRADE event per fill.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from console.emulator import api_futures, api_public
from console.emulator.accounts import Account, Order, Trade
from console.emulator.engine import Emulator
from console.emulator.errors import BinanceError
from console.emulator.instruments import Instrument

log = logging.getLogger(__name__)
LISTEN_KEY_TTL_MS = 60 * 60_000  # Binance: a listen key lapses 60 minutes after its last keepalive
VENUE_OF_PREFIX = {"stream": "spot", "fstream": "futures", "dstream": "coinm"}
DEFAULT_PUSH_S = 0.25


# -- listen keys ------------------------------------------------------------------------------
def new_listen_key(emu: Emulator, acct: Account, p: dict[str, str]) -> dict[str, str]:
    """POST listenKey: the account's live key if it has one (as Binance), else a new one."""
    now = emu.now_ms()
    for key, (name, _) in emu.listen_keys.items():
        if name == acct.name:
            emu.listen_keys[key] = (name, now + LISTEN_KEY_TTL_MS)
            return {"listenKey": key}
    key = secrets.token_hex(32)
    emu.listen_keys[key] = (acct.name, now + LISTEN_KEY_TTL_MS)
    return {"listenKey": key}


def _own_key(emu: Emulator, acct: Account, p: dict[str, str]) -> str:
    for key, (name, expires) in emu.listen_keys.items():
        if name == acct.name and (not p.get("listenKey") or p["listenKey"] == key) and expires > emu.now_ms():
            return key
    raise BinanceError(-1125, "This listenKey does not exist.")


def keepalive_listen_key(emu: Emulator, acct: Account, p: dict[str, str]) -> dict[str, Any]:
    key = _own_key(emu, acct, p)
    emu.listen_keys[key] = (acct.name, emu.now_ms() + LISTEN_KEY_TTL_MS)
    return {"listenKey": key}


def close_listen_key(emu: Emulator, acct: Account, p: dict[str, str]) -> dict[str, Any]:
    emu.listen_keys.pop(_own_key(emu, acct, p), None)
    return {}


KEY_ROUTES = [
    ("POST", "/fapi/v1/listenKey", new_listen_key),
    ("PUT", "/fapi/v1/listenKey", keepalive_listen_key),
    ("DELETE", "/fapi/v1/listenKey", close_listen_key),
    ("POST", "/dapi/v1/listenKey", new_listen_key),
    ("PUT", "/dapi/v1/listenKey", keepalive_listen_key),
    ("DELETE", "/dapi/v1/listenKey", close_listen_key),
    ("POST", "/api/v3/userDataStream", new_listen_key),
    ("PUT", "/api/v3/userDataStream", keepalive_listen_key),
    ("DELETE", "/api/v3/userDataStream", close_listen_key),
]


# -- market events ----------------------------------------------------------------------------
TICKER_KEYS = {"priceChange": "p", "priceChangePercent": "P", "weightedAvgPrice": "w", "prevClosePrice": "x",
               "lastPrice": "c", "lastQty": "Q", "bidPrice": "b", "bidQty": "B", "askPrice": "a", "askQty": "A",
               "openPrice": "o", "highPrice": "h", "lowPrice": "l", "volume": "v", "quoteVolume": "q",
               "openTime": "O", "closeTime": "C", "firstId": "F", "lastId": "L", "count": "n"}


def ticker_event(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    rest = api_public.ticker24(emu, inst)
    out: dict[str, Any] = {"e": "24hrTicker", "E": emu.now_ms(), "s": inst.id}
    out.update({short: rest[long] for long, short in TICKER_KEYS.items() if long in rest})
    return out


MINI_KEYS = ("c", "o", "h", "l", "v", "q")


def mini_ticker_event(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    full = ticker_event(emu, inst)
    return {"e": "24hrMiniTicker", "E": full["E"], "s": inst.id, **{k: full[k] for k in MINI_KEYS}}


def book_ticker_event(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    now = emu.now_ms()
    rest = api_public.book_ticker(emu, inst)
    out: dict[str, Any] = {"u": now // 100, "s": inst.id, "b": rest["bidPrice"], "B": rest["bidQty"],
                           "a": rest["askPrice"], "A": rest["askQty"]}
    if inst.contract:
        out = {"e": "bookTicker", **out, "E": now, "T": now}
    return out


def mark_price_event(emu: Emulator, inst: Instrument) -> dict[str, Any]:
    rest = api_public.premium_index_row(emu, inst)
    return {"e": "markPriceUpdate", "E": rest["time"], "s": inst.id, "p": rest["markPrice"],
            "i": rest["indexPrice"], "P": rest["estimatedSettlePrice"], "r": rest["lastFundingRate"],
            "T": rest["nextFundingTime"]}


def depth_levels(emu: Emulator, inst: Instrument, t_ms: int) -> tuple[dict[str, str], dict[str, str]]:
    """The book at ``t_ms`` as {price: qty} strings, bids and asks."""
    book = emu.book(inst, t_ms)
    return ({inst.fmt_price(p): inst.fmt_qty(q) for p, q in book.bids},
            {inst.fmt_price(p): inst.fmt_qty(q) for p, q in book.asks})


def depth_event(emu: Emulator, inst: Instrument, prev_u: int, known_ms: list[int]) -> dict[str, Any] | None:
    """A diff from update ``prev_u`` to now, or None when the book has not moved.

    ``known_ms``: instants of books the client may hold (its last push, REST snapshots
    since): a level of any of them that is gone now is sent with quantity 0."""
    now = emu.now_ms()
    u = now // 100
    if u <= prev_u:
        return None
    bids, asks = depth_levels(emu, inst, now)
    zero = inst.fmt_qty(0)
    for t in known_ms:
        old_bids, old_asks = depth_levels(emu, inst, t)
        for px in old_bids:
            bids.setdefault(px, zero)
        for px in old_asks:
            asks.setdefault(px, zero)
    out: dict[str, Any] = {"e": "depthUpdate", "E": now, "s": inst.id, "U": prev_u + 1, "u": u,
                           "b": [[p, q] for p, q in bids.items()], "a": [[p, q] for p, q in asks.items()]}
    if inst.contract:
        out.update({"T": now, "pu": prev_u})
    return out


def agg_trade_events(emu: Emulator, inst: Instrument, after_id: int) -> list[dict[str, Any]]:
    """Every account's fills on this market after trade id ``after_id``: the venue's tape."""
    rows = sorted((t for a in emu.accounts.values() for t in a.trades
                   if t.symbol == inst.id and t.venue == inst.venue and t.trade_id > after_id),
                  key=lambda t: t.trade_id)
    return [{"e": "aggTrade", "E": t.time_ms, "s": inst.id, "a": t.trade_id, "p": inst.fmt_price(t.price),
             "q": inst.fmt_qty(t.qty), "f": t.trade_id, "l": t.trade_id, "T": t.time_ms,
             "m": t.side == "SELL"} for t in rows]


# -- user data events (USDⓈ-M) ----------------------------------------------------------------
def order_event(emu: Emulator, o: Order, *, execution: str, status: str, cum_qty: float, cum_quote: float,
                last_qty: float = 0.0, last_price: float = 0.0, commission: float = 0.0,
                trade_id: int = 0, maker: bool = False, realized: float = 0.0, t_ms: int) -> dict[str, Any]:
    inst = (emu.coinm_ids if o.venue == "coinm" else emu.fut_ids)[o.symbol]
    avg = cum_quote / cum_qty if cum_qty else 0.0
    if inst.inverse and o.cum_quote and abs(cum_qty - o.executed_qty) < 1e-12:
        avg = o.executed_qty * inst.contract_size / o.cum_quote  # the harmonic mean: cum_quote is coin
    m = api_futures.money
    return {"e": "ORDER_TRADE_UPDATE", "E": t_ms, "T": t_ms, "o": {
        "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.type, "f": o.tif, "q": inst.fmt_qty(o.orig_qty),
        "p": inst.fmt_price(o.price), "ap": f"{avg:.{max(inst.price_decimals, 2)}f}", "sp": "0",
        "x": execution, "X": status, "i": o.order_id, "l": inst.fmt_qty(last_qty), "z": inst.fmt_qty(cum_qty),
        "L": inst.fmt_price(last_price), "N": inst.base if inst.inverse else "USDT", "n": m(commission), "T": t_ms, "t": trade_id,
        "b": "0", "a": "0", "m": maker, "R": o.reduce_only, "wt": "CONTRACT_PRICE", "ot": o.type, "ps": "BOTH",
        "cp": False, "rp": m(realized), "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE",
        "gtd": o.good_till_ms}}


@dataclass
class UserCursor:
    """What one user-data connection has already been told."""

    trades: int = 0  # index into acct.trades
    orders: dict[int, str] = field(default_factory=dict)  # order id -> status told
    cum: dict[int, tuple[float, float]] = field(default_factory=dict)  # order id -> (qty, quote) told
    account: str = ""  # the last ACCOUNT_UPDATE's content


def user_cursor(acct: Account, venue: str = "futures") -> UserCursor:
    """Start from the present: a new connection hears what happens after it connects."""
    c = UserCursor(trades=len(acct.trades))
    for o in acct.orders.values():
        if o.venue == venue:
            c.orders[o.order_id] = o.status
            c.cum[o.order_id] = (o.executed_qty, o.cum_quote)
    return c


def account_event(emu: Emulator, acct: Account, t_ms: int) -> dict[str, Any]:
    m = emu.margin(acct)
    s = api_futures.exact_summary(m)
    rows = []
    for pos in sorted(acct.positions.values(), key=lambda p: p.symbol):
        inst = emu.fut_ids[pos.symbol]
        r = m.risk(pos) if pos.amt else None
        rows.append({"s": pos.symbol, "pa": inst.fmt_qty(pos.amt), "ep": f"{pos.entry:.8f}",
                     "bep": f"{pos.entry:.8f}", "cr": "0", "up": api_futures.money(r.upnl if r else 0.0),
                     "mt": acct.config(pos.symbol).margin_type, "iw": api_futures.money(pos.isolated_wallet),
                     "ps": "BOTH"})
    return {"e": "ACCOUNT_UPDATE", "E": t_ms, "T": t_ms, "a": {
        "m": "ORDER", "B": [{"a": "USDT", "wb": api_futures.money(s["wallet"]),
                             "cw": api_futures.money(s["cross_wallet"]), "bc": "0"}], "P": rows}}


Render = Callable[[Order, str, str, float, float, "Trade | None"], dict[str, Any]]


def order_changes(acct: Account, c: UserCursor, venue: str, render: Render) -> list[dict[str, Any]]:
    """A venue's order events since the cursor, oldest first: NEW for orders not yet told, one
    TRADE per fill (with the cumulative quantity at that fill), then CANCELED or EXPIRED."""
    out: list[dict[str, Any]] = []
    mine = [o for o in acct.orders.values() if o.venue == venue]
    for o in mine:
        if o.order_id not in c.orders:
            c.orders[o.order_id], c.cum[o.order_id] = "NEW", (0.0, 0.0)
            out.append(render(o, "NEW", "NEW", 0.0, 0.0, None))
    for t in acct.trades[c.trades:]:
        if t.venue != venue:
            continue
        o = acct.orders[t.order_id]
        qty, quote = c.cum.get(o.order_id, (0.0, 0.0))
        qty, quote = qty + t.qty, quote + t.qty * t.price
        c.cum[o.order_id] = (qty, quote)
        status = "FILLED" if qty >= o.orig_qty - 1e-12 else "PARTIALLY_FILLED"
        c.orders[o.order_id] = status
        out.append(render(o, "TRADE", status, qty, quote, t))
    c.trades = len(acct.trades)
    for o in mine:
        if o.status in ("CANCELED", "EXPIRED") and c.orders.get(o.order_id) != o.status:
            c.orders[o.order_id] = o.status
            qty, quote = c.cum.get(o.order_id, (0.0, 0.0))
            out.append(render(o, o.status, o.status, qty, quote, None))
    return out


def coinm_account_event(emu: Emulator, acct: Account, t_ms: int) -> dict[str, Any]:
    from console.emulator.coinm import summary

    rows = []
    for pos in sorted(acct.coinm_positions.values(), key=lambda p: p.symbol):
        inst = emu.coinm_ids[pos.symbol]
        up = pos.amt * inst.contract_size * (1 / pos.entry - 1 / emu.mark(inst)) if pos.amt else 0.0
        rows.append({"s": pos.symbol, "pa": inst.fmt_qty(pos.amt), "ep": f"{pos.entry:.8f}", "bep": f"{pos.entry:.8f}",
                     "cr": "0", "up": api_futures.money(up), "mt": "cross", "iw": "0.00000000", "ps": "BOTH"})
    coins = sorted({i.base for i in emu.coinm_ids.values()})
    balances = [{"a": a, "wb": api_futures.money(summary(emu, acct, a)["wallet"]),
                 "cw": api_futures.money(summary(emu, acct, a)["wallet"]), "bc": "0"} for a in coins]
    return {"e": "ACCOUNT_UPDATE", "E": t_ms, "T": t_ms, "a": {"m": "ORDER", "B": balances, "P": rows}}


def contract_user_events(emu: Emulator, acct: Account, c: UserCursor, venue: str) -> list[dict[str, Any]]:
    return user_events(emu, acct, c) if venue == "futures" else coinm_user_events(emu, acct, c)


def coinm_user_events(emu: Emulator, acct: Account, c: UserCursor) -> list[dict[str, Any]]:
    """COIN-M's ORDER_TRADE_UPDATE (commission in the coin) and ACCOUNT_UPDATE (coin wallets)."""
    out = order_changes(acct, c, "coinm", _order_renderer(emu))
    acc = coinm_account_event(emu, acct, emu.now_ms())
    content = json.dumps([acc["a"]["B"], [(p["s"], p["pa"], p["ep"]) for p in acc["a"]["P"]]])
    if content != c.account:
        if c.account:
            out.append(acc)
        c.account = content
    return out


def _order_renderer(emu: Emulator) -> Render:
    def render(o: Order, execution: str, status: str, qty: float, quote: float, t: Trade | None) -> dict[str, Any]:
        if t is None:
            return order_event(emu, o, execution=execution, status=status, cum_qty=qty, cum_quote=quote,
                               t_ms=o.time_ms if execution == "NEW" else o.update_ms)
        return order_event(emu, o, execution=execution, status=status, cum_qty=qty, cum_quote=quote,
                           last_qty=t.qty, last_price=t.price, commission=t.commission, trade_id=t.trade_id,
                           maker=t.maker, realized=t.realized_pnl, t_ms=t.time_ms)

    return render


def user_events(emu: Emulator, acct: Account, c: UserCursor) -> list[dict[str, Any]]:
    """ORDER_TRADE_UPDATE and ACCOUNT_UPDATE events since the cursor, oldest first."""
    out = order_changes(acct, c, "futures", _order_renderer(emu))
    now = emu.now_ms()
    acc = account_event(emu, acct, now)
    content = json.dumps(acc["a"]["B"][0]["wb"]) + json.dumps([(p["s"], p["pa"], p["ep"]) for p in acc["a"]["P"]])
    if content != c.account:
        if c.account:  # the first look only sets the baseline
            out.append(acc)
        c.account = content
    return out


# -- user data events (spot, over the websocket API) ----------------------------------------------
def execution_report(emu: Emulator, o: Order, *, execution: str, status: str, cum_qty: float, cum_quote: float,
                     last_qty: float = 0.0, last_price: float = 0.0, commission: float = 0.0, fee_asset: str = "",
                     trade_id: int = -1, maker: bool = False, t_ms: int) -> dict[str, Any]:
    q8 = api_futures.money
    return {"e": "executionReport", "E": t_ms, "s": o.symbol, "c": o.client_id, "S": o.side, "o": o.type,
            "f": o.tif, "q": q8(o.orig_qty), "p": q8(o.price), "P": q8(0), "F": q8(0), "g": -1, "C": "",
            "x": execution, "X": status, "r": "NONE", "i": o.order_id, "l": q8(last_qty), "z": q8(cum_qty),
            "L": q8(last_price), "n": q8(commission), "N": fee_asset or None, "T": t_ms, "t": trade_id,
            "I": 0, "w": status in ("NEW", "PARTIALLY_FILLED"), "m": maker, "M": False, "O": o.time_ms,
            "Z": q8(cum_quote), "Y": q8(last_qty * last_price), "Q": q8(o.quote_order_qty), "W": o.time_ms,
            "V": "EXPIRE_MAKER"}


def spot_user_events(emu: Emulator, acct: Account, c: UserCursor) -> list[dict[str, Any]]:
    """executionReport (NEW, one TRADE per fill, CANCELED/EXPIRED) and outboundAccountPosition."""
    def render(o: Order, execution: str, status: str, qty: float, quote: float, t: Trade | None) -> dict[str, Any]:
        if t is None:
            return execution_report(emu, o, execution=execution, status=status, cum_qty=qty, cum_quote=quote,
                                    t_ms=o.time_ms if execution == "NEW" else o.update_ms)
        return execution_report(emu, o, execution=execution, status=status, cum_qty=qty, cum_quote=quote,
                                last_qty=t.qty, last_price=t.price, commission=t.commission,
                                fee_asset=t.commission_asset, trade_id=t.trade_id, maker=t.maker, t_ms=t.time_ms)

    out = order_changes(acct, c, "spot", render)
    rows = {a: (api_futures.money(v[0]), api_futures.money(v[1])) for a, v in sorted(acct.spot.items())}
    content = json.dumps(rows)
    if content != c.account:
        if c.account:
            before = json.loads(c.account)
            changed = [{"a": a, "f": f, "l": lk} for a, (f, lk) in rows.items() if before.get(a) != [f, lk]]
            now = emu.now_ms()
            out.append({"e": "outboundAccountPosition", "E": now, "u": now, "B": changed})
        c.account = content
    return out


async def serve_ws_api(request: web.Request, emu: Emulator, push_s: float) -> web.WebSocketResponse:
    """The spot websocket API, as far as the user data stream: ``userDataStream.subscribe.signature``
    (signed like a REST request), then events wrapped as ``{"subscriptionId", "event"}``."""
    from console.emulator.auth import check_key, check_signed

    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)
    subscribed: list[tuple[int, Account, UserCursor]] = []

    async def pump() -> None:
        while not ws.closed:
            with emu.lock:
                emu.sync()
                frames = [{"subscriptionId": sid, "event": e}
                          for sid, acct, cur in subscribed for e in spot_user_events(emu, acct, cur)]
            for frame in frames:
                await ws.send_str(json.dumps(frame, separators=(",", ":")))
            await asyncio.sleep(push_s)

    pusher = asyncio.create_task(pump())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            rid = None
            try:
                req = json.loads(msg.data)
                rid = req.get("id") if isinstance(req, dict) else None
                if not isinstance(req, dict) or not isinstance(req.get("params", {}), dict):
                    raise BinanceError(-1102, "Mandatory parameter 'params' was not sent, was empty/null, or malformed.")
                if req.get("method") != "userDataStream.subscribe.signature":
                    raise BinanceError(-1020, "Unsupported operation.")
                p = {k: str(v) for k, v in req["params"].items()}
                with emu.lock:
                    secret, name = check_key(p.get("apiKey"), emu.keys)
                    query = "&".join(f"{k}={p[k]}" for k in sorted(p) if k != "signature")
                    check_signed(query + f"&signature={p.get('signature', '')}", "", secret, p,
                                 (emu.clock.wall_ms(), emu.now_ms()))
                    acct = emu.accounts[name]
                    sid = len(subscribed)
                    cursor = user_cursor(acct, "spot")
                    spot_user_events(emu, acct, cursor)  # the baseline: only what follows is news
                    subscribed.append((sid, acct, cursor))
                    emu.user_streams += 1
                reply: dict[str, Any] = {"id": rid, "status": 200, "result": {"subscriptionId": sid}}
            except ValueError:
                reply = {"id": None, "status": 400, "error": {"code": -1013, "msg": "Invalid JSON."}}
            except BinanceError as exc:
                reply = {"id": rid, "status": exc.status, "error": exc.body()}
            await ws.send_str(json.dumps(reply, separators=(",", ":")))
    finally:
        pusher.cancel()
        await asyncio.gather(pusher, return_exceptions=True)
        with emu.lock:
            emu.user_streams -= len(subscribed)
    return ws


# -- the websocket session --------------------------------------------------------------------
@dataclass
class Subscription:
    stream: str
    venue: str
    prev_u: int = 0
    last_ms: int = 0
    last_trade: int = 0


class StreamSession:
    """One websocket connection: its subscriptions and what it has been sent."""

    def __init__(self, emu: Emulator, venue: str, combined: bool, acct: Account | None) -> None:
        self.emu = emu
        self.venue = venue
        self.combined = combined
        self.acct = acct
        self.subs: dict[str, Subscription] = {}
        self.user = user_cursor(acct, venue) if acct is not None else None

    def _table(self) -> dict[str, Instrument]:
        return {"spot": self.emu.spot_ids, "futures": self.emu.fut_ids, "coinm": self.emu.coinm_ids}[self.venue]

    def _inst(self, symbol: str) -> Instrument | None:
        table = self._table()
        return table.get(symbol.upper())

    def valid(self, stream: str) -> bool:
        if stream in ("!ticker@arr", "!miniTicker@arr", "!markPrice@arr", "!markPrice@arr@1s", "!bookTicker"):
            return not stream.startswith("!markPrice") or self.venue != "spot"
        sym, _, kind = stream.partition("@")
        if self._inst(sym) is None:
            return False
        base = kind.split("@")[0]
        if base == "markPrice":
            return self.venue != "spot"
        return base in ("ticker", "miniTicker", "bookTicker", "aggTrade") or base.startswith("depth")

    def subscribe(self, streams: list[str]) -> None:
        with self.emu.lock:
            now = self.emu.now_ms()
            for s in streams:
                trades = [t.trade_id for a in self.emu.accounts.values() for t in a.trades]
                self.subs[s] = Subscription(s, self.venue, prev_u=now // 100, last_ms=now,
                                            last_trade=max(trades, default=0))

    def frames(self) -> list[dict[str, Any] | list[Any]]:
        """Everything due now, as (stream, payload) pairs folded for raw or combined delivery."""
        emu = self.emu
        out: list[tuple[str, Any]] = []
        with emu.lock:
            emu.sync()
            now = emu.now_ms()
            for sub in self.subs.values():
                out.extend((sub.stream, e) for e in self._due(sub, now))
            if self.acct is not None and self.user is not None:
                out.extend(("", e) for e in contract_user_events(emu, self.acct, self.user, self.venue))
        if self.combined:
            return [{"stream": s, "data": e} if s else e for s, e in out]
        return [e for _, e in out]

    def _due(self, sub: Subscription, now: int) -> list[Any]:
        emu = self.emu
        insts = self._table()
        if sub.stream == "!ticker@arr":
            return [[ticker_event(emu, i) for i in insts.values()]]
        if sub.stream == "!miniTicker@arr":
            return [[mini_ticker_event(emu, i) for i in insts.values()]]
        if sub.stream.startswith("!markPrice@arr"):
            return [[mark_price_event(emu, i) for i in insts.values()]]
        if sub.stream == "!bookTicker":
            return [book_ticker_event(emu, i) for i in insts.values()]
        sym, _, kind = sub.stream.partition("@")
        inst = insts[sym.upper()]
        base = kind.split("@")[0]
        if base == "ticker":
            return [ticker_event(emu, inst)]
        if base == "miniTicker":
            return [mini_ticker_event(emu, inst)]
        if base == "bookTicker":
            return [book_ticker_event(emu, inst)]
        if base == "markPrice":
            return [mark_price_event(emu, inst)]
        if base == "aggTrade":
            events = agg_trade_events(emu, inst, sub.last_trade)
            if events:
                sub.last_trade = events[-1]["a"]
            return events
        # depth: only when the book moved; levels the client may hold are cleared
        served = [t for t in emu.depth_served.get(inst.id, []) if t > sub.last_ms]
        event = depth_event(emu, inst, sub.prev_u, [sub.last_ms, *served])
        if event is None:
            return []
        sub.prev_u, sub.last_ms = event["u"], now
        return [event]


def _reply(msg: Any, session: StreamSession) -> dict[str, Any]:
    """Binance's answer to a control message on a market stream."""
    if not isinstance(msg, dict):
        return {"error": {"code": 3, "msg": "Invalid JSON: expected an object"}, "id": None}
    rid = msg.get("id")
    if not isinstance(rid, int) or isinstance(rid, bool) or rid < 0:
        return {"error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}, "id": None}
    method, params = msg.get("method"), msg.get("params", [])
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(s, str) for s in params):
            return {"error": {"code": 2, "msg": "Invalid request: property name must be a string"}, "id": rid}
        bad = [s for s in params if not session.valid(s)]
        if bad:
            return {"error": {"code": 2, "msg": f"Invalid request: unknown stream {bad[0]!r}"}, "id": rid}
        if method == "SUBSCRIBE":
            session.subscribe(params)
        else:
            for s in params:
                session.subs.pop(s, None)
        return {"result": None, "id": rid}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": sorted(session.subs), "id": rid}
    return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": rid}


async def serve(request: web.Request, emu: Emulator, push_s: float) -> web.WebSocketResponse:
    """A websocket at /{stream|fstream}/[public|market|private/]{ws[/<stream or key>]|stream}."""
    parts = [p for p in request.path.split("/") if p]
    if parts[:1] == ["ws-api"]:
        return await serve_ws_api(request, emu, push_s)
    venue = VENUE_OF_PREFIX.get(parts[0]) if parts else None
    ws = web.WebSocketResponse(heartbeat=None)
    if venue is None:
        raise web.HTTPNotFound()
    rest = parts[1:]
    if rest and rest[0] in ("public", "market", "private"):
        rest = rest[1:]
    combined = bool(rest) and rest[0] == "stream"
    tail = rest[1:] if rest and rest[0] in ("ws", "stream") else []
    key = request.query.get("listenKey") or (tail[0] if tail and tail[0] in emu.listen_keys else None)
    acct = None
    if key is not None:
        with emu.lock:
            found = emu.listen_keys.get(key)
            if found is None or found[1] <= emu.now_ms() or venue == "spot":
                raise web.HTTPBadRequest(text='{"code":-1125,"msg":"This listenKey does not exist."}',
                                         content_type="application/json")
            acct = emu.accounts[found[0]]
    await ws.prepare(request)
    session = StreamSession(emu, venue, combined, acct)
    initial = [s for s in request.query.get("streams", "").split("/") if s]
    initial += [t for t in tail if "@" in t]
    session.subscribe([s for s in initial if session.valid(s)])
    if acct is not None:
        with emu.lock:
            emu.user_streams += 1

    async def pump() -> None:
        try:
            while not ws.closed:
                for frame in session.frames():
                    await ws.send_str(json.dumps(frame, separators=(",", ":")))
                await asyncio.sleep(push_s)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception:  # a bug in the emulator: say so and end the stream, as a venue would
            log.exception("emulator stream error on %s", request.path)
            await ws.close(code=1011, message=b"internal error")

    pusher = asyncio.create_task(pump())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except ValueError:
                await ws.send_str(json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}))
                continue
            await ws.send_str(json.dumps(_reply(body, session), separators=(",", ":")))
    finally:
        pusher.cancel()
        await asyncio.gather(pusher, return_exceptions=True)
        if acct is not None:
            with emu.lock:
                emu.user_streams -= 1
    return ws
