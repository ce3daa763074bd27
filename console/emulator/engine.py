"""The venue model: markets, prices, accounts and the trading rules, pure Python.

``Emulator`` is deterministic given (seed, scenario, clock): prices are a function of the
emulated time; everything that happens between two requests (resting orders filling,
funding every 8 h, liquidations, dated futures' delivery) is replayed on the one-minute grid
by ``sync`` before each request is served, so the outcome does not depend on how often
anyone looks. One lock guards the state: the HTTP server and tests may share an instance.
"""

from __future__ import annotations

import threading
from typing import Any

from console.emulator import coinm, params
from console.emulator.accounts import Account, Income, Margin, Order, Position, Trade
from console.emulator.auth import DEMO_API_KEY, DEMO_SECRET
from console.emulator.book import Book, build_book, top_of_book
from console.emulator.clock import Clock
from console.emulator.errors import BinanceError
from console.emulator.faults import Faults
from console.emulator.instruments import Instrument
from console.emulator.matching import Fill, match, match_quote, would_take
from console.emulator.prices import FUNDING_INTERVAL_MS, PricePaths, funding_times, next_funding_ms
from console.emulator.rules import (
    EPS,
    FUT_TIFS,
    SPOT_TIFS,
    _check_percent_price,
    _check_percent_price_by_side,
    _check_steps,
    _decimals,
    _good_till,
    _multiple,
    _num,
    _side,
    _status,
)
from console.emulator.scenario import Scenario, StartingBook, get_scenario

SPOT_FEE = 0.001  # 0.1 % maker and taker, paid in the asset received
FUT_TAKER = 0.0005
FUT_MAKER = 0.0002
LIQUIDATION_FEE = 0.0125  # of the notional, to the insurance fund
HISTORY_DAYS = 90  # listing date: candles start this long before the start instant
# the filters exchangeInfo publishes (instruments.py): spot by side around the average
# price, USDⓈ-M around the mark


def _sign(side: str) -> float:
    return 1.0 if side == "BUY" else -1.0


class Emulator:
    def __init__(self, seed: int = 7, clock: Clock | None = None, scenario: str | Scenario = "demo",
                 api_key: str | None = None, secret: str | None = None) -> None:
        self.seed = seed
        self.clock = clock or Clock()
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        self.lock = threading.RLock()
        self.faults = Faults()
        self.paths = PricePaths(seed, self.clock.start_ms, self.scenario.assets)
        self.instruments: dict[str, Instrument] = {}
        self.spot_ids: dict[str, Instrument] = {}
        self.fut_ids: dict[str, Instrument] = {}
        self.coinm_ids: dict[str, Instrument] = {}  # COIN-M (/dapi): inverse contracts
        for inst in self.scenario.instruments:
            {"spot": self.spot_ids, "futures": self.fut_ids, "coinm": self.coinm_ids}[inst.venue][inst.id] = inst
        self.listed_ms = self.clock.start_ms - HISTORY_DAYS * 86_400_000
        self.depth_scale: dict[str, float] = {}
        self.keys: dict[str, tuple[str, str]] = {}  # api key -> (secret, account name)
        self.bybit_keys: dict[str, tuple[str, str]] = {}  # Bybit's keys (console.emulator.bybit)
        self.accounts: dict[str, Account] = {}
        self._ids = {"spot_order": 1_000_000, "fut_order": 4_000_000_000, "spot_trade": 300_000,
                     "fut_trade": 700_000_000, "tran": 9_000_000}
        self._synced_ms = self.clock.now_ms()
        self._delivered: set[str] = set()
        self.listen_keys: dict[str, tuple[str, int]] = {}  # user data stream key -> (account, expires ms)
        self.user_streams = 0  # open user data stream subscriptions (tests wait on it, not on sleeps)
        self.depth_served: dict[str, list[int]] = {}  # symbol -> instants of recent REST depth snapshots
        # the demo pair unless told otherwise: one key sees both wallets, as on Binance
        self.add_account("default", api_key or DEMO_API_KEY, secret or DEMO_SECRET)

    # -- set-up and knobs ----------------------------------------------------------------
    def add_account(self, name: str, api_key: str, secret: str, book: Scenario | StartingBook | None = None) -> Account:
        """An account holding ``book`` (default: the scenario's starting book), reachable with this key."""
        start = book or self.scenario
        with self.lock:
            now = self.clock.start_ms
            acct = Account(name=name, created_ms=now)
            for asset, qty in start.spot_balances.items():
                acct.credit(asset, qty)
            acct.futures_wallet.update(start.futures_wallet)
            for symbol, leverage in start.leverage.items():
                acct.config(symbol).leverage = leverage
            for sp in start.positions:
                cfg = acct.config(sp.symbol)
                cfg.leverage, cfg.margin_type = sp.leverage, sp.margin_type
                pos = acct.position(sp.symbol)
                pos.amt, pos.entry, pos.update_ms = sp.amt, sp.entry, now
                if sp.margin_type == "isolated":
                    pos.isolated_wallet = abs(sp.amt) * sp.entry / sp.leverage
            acct.coinm_wallet.update(start.coinm_wallet)
            for sp in start.coinm_positions:
                acct.config(sp.symbol).leverage = sp.leverage
                acct.coinm_positions[sp.symbol] = Position(sp.symbol, sp.amt, sp.entry, update_ms=now)
            self.accounts[name] = acct
            if api_key:
                self.keys[api_key] = (secret, name)
            return acct

    def set_fault(self, endpoint_path: str, kind: str, *, count: int | None = None, latency_s: float = 0.0) -> None:
        self.faults.set(endpoint_path, kind, count=count, latency_s=latency_s)

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_depth(self, symbol_id: str, scale: float) -> None:
        """Thin (scale < 1) or thicken a book, e.g. to force partial fills in a test."""
        with self.lock:
            self.depth_scale[symbol_id] = scale

    def advance(self, seconds: float) -> None:
        """Move the emulated clock forward and replay what happens meanwhile."""
        with self.lock:
            self.clock.advance(seconds)
            self.sync()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def orders(self, account: str = "default") -> list[dict[str, Any]]:
        """Every order the venue accepted for an account, oldest first."""
        with self.lock:
            self.sync()
            return [
                {"venue": o.venue, "symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_id,
                 "side": o.side, "type": o.type, "timeInForce": o.tif, "price": o.price, "origQty": o.orig_qty,
                 "executedQty": o.executed_qty, "avgPrice": o.avg_price, "status": o.status,
                 "reduceOnly": o.reduce_only, "time": o.time_ms, "updateTime": o.update_ms}
                for o in self.accounts[account].orders.values()
            ]

    def _next(self, key: str) -> int:
        self._ids[key] += 1
        return self._ids[key]

    def next_id(self, key: str) -> int:
        return self._next(key)

    def peek_id(self, key: str) -> int:
        return self._ids[key]

    def record_income(self, acct: Account, symbol: str, kind: str, amount: float, t: int, trade_id: str = "",
                      asset: str = "USDT") -> None:
        """An income row: USDⓈ-M's list for USDT, COIN-M's for a coin."""
        rows = acct.income if asset == "USDT" else acct.coinm_income
        rows.append(Income(self._next("tran"), symbol, kind, amount, asset, t, trade_id))

    # -- prices --------------------------------------------------------------------------
    def inst(self, venue: str, symbol_id: str | None) -> Instrument:
        table = {"spot": self.spot_ids, "futures": self.fut_ids, "coinm": self.coinm_ids}[venue]
        if not symbol_id:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        inst = table.get(symbol_id)
        if inst is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return inst

    def index(self, asset: str, t_ms: int | None = None) -> float:
        return self.paths.index(asset, self.now_ms() if t_ms is None else t_ms)

    def mark(self, inst: Instrument, t_ms: int | None = None) -> float:
        t = self.now_ms() if t_ms is None else t_ms
        if inst.kind == "perp":
            return self.paths.perp_mark(inst.base, t)
        if inst.kind == "dated":
            return self.paths.dated_mark(inst.base, t, inst.delivery_ms or t)
        return self.paths.index(inst.base, t)

    def book(self, inst: Instrument, t_ms: int | None = None) -> Book:
        t = self.now_ms() if t_ms is None else t_ms
        return build_book(inst, self.mark(inst, t), t, self.seed, self.depth_scale.get(inst.id, 1.0))

    def futures_status(self, inst: Instrument) -> str:
        if inst.kind == "dated" and inst.delivery_ms is not None and self.now_ms() >= inst.delivery_ms:
            return "SETTLING"
        return "TRADING"

    def next_funding_ms(self) -> int:
        return next_funding_ms(self.now_ms())

    def marks(self, t_ms: int | None = None) -> dict[str, float]:
        return {i.id: self.mark(i, t_ms) for i in self.fut_ids.values()}

    def margin(self, acct: Account, t_ms: int | None = None) -> Margin:
        return Margin(acct, self.fut_ids, self.marks(t_ms))

    # -- time passing --------------------------------------------------------------------
    def sync(self) -> None:
        """Replay resting fills, funding, liquidations and deliveries up to now."""
        with self.lock:
            now = self.now_ms()
            last = self._synced_ms
            if now <= last:
                return
            busy = any(o.open for a in self.accounts.values() for o in a.orders.values()) or any(
                p.amt for a in self.accounts.values() for p in [*a.positions.values(), *a.coinm_positions.values()])
            points: set[int] = set(funding_times(last, now))
            points.update(i.delivery_ms for i in self.fut_ids.values()
                          if i.delivery_ms is not None and last < i.delivery_ms <= now)
            points.update(o.good_till_ms for a in self.accounts.values() for o in a.orders.values()
                          if o.open and last < o.good_till_ms <= now)
            points.update(at for a in self.accounts.values() for at in a.countdowns.values() if last < at <= now)
            if busy:
                points.update(self.paths.minute_points(last, now))
                points.add(now)
            for t in sorted(points):
                self._step(t)
            self._synced_ms = now

    def _step(self, t: int) -> None:
        for acct in self.accounts.values():
            for symbol, at in list(acct.countdowns.items()):
                if t >= at:  # countdownCancelAll ran out without a renewal
                    del acct.countdowns[symbol]
                    for o in acct.orders.values():
                        if o.open and o.venue == "futures" and o.symbol == symbol:
                            o.status, o.update_ms = "CANCELED", at
            for o in list(acct.orders.values()):
                if o.open and o.good_till_ms and t >= o.good_till_ms:
                    o.status, o.update_ms = "EXPIRED", o.good_till_ms
                    continue
                if o.open and o.type in ("LIMIT", "LIMIT_MAKER") and o.checked_ms < t:
                    self._try_fill_resting(acct, o, t)
            if t % FUNDING_INTERVAL_MS == 0:
                self._pay_funding(acct, t)
                coinm.pay_funding(self, acct, t)
            for inst in self.fut_ids.values():
                if inst.delivery_ms == t:
                    self._deliver(acct, inst, t)
            self._liquidate(acct, t)

    def _try_fill_resting(self, acct: Account, o: Order, t: int) -> None:
        inst = {"spot": self.spot_ids, "futures": self.fut_ids, "coinm": self.coinm_ids}[o.venue][o.symbol]
        o.checked_ms = t
        bid, ask = top_of_book(inst, self.mark(inst, t))
        crossed = ask <= o.price if o.side == "BUY" else bid >= o.price
        if not crossed:
            return
        if o.venue == "spot":
            self._spot_fill(acct, o, inst, [Fill(o.price, o.remaining)], maker=True, t=t, from_locked=True)
        elif o.venue == "coinm":
            coinm.fill(self, acct, o, inst, [Fill(o.price, o.remaining)], maker=True, t=t)
        else:
            qty = o.remaining
            if o.reduce_only:
                pos = acct.position(o.symbol)
                qty = min(qty, abs(pos.amt)) if pos.amt * _sign(o.side) < 0 else 0.0
                if qty <= EPS:
                    o.status, o.update_ms = "EXPIRED", t
                    return
            self._fut_fill(acct, o, inst, [Fill(o.price, qty)], maker=True, t=t)
        o.status = "FILLED" if o.remaining <= EPS else "PARTIALLY_FILLED"
        o.update_ms = t

    def _pay_funding(self, acct: Account, t: int) -> None:
        for pos in acct.positions.values():
            inst = self.fut_ids[pos.symbol]
            if not pos.amt or inst.kind != "perp":
                continue
            rate = self.paths.funding_rate(inst.base, t)
            pay = -pos.amt * self.paths.perp_mark(inst.base, t) * rate
            self._wallet(acct, pos, pay)
            self._income(acct, inst.id, "FUNDING_FEE", pay, t)

    def _deliver(self, acct: Account, inst: Instrument, t: int) -> None:
        for o in acct.orders.values():
            if o.open and o.symbol == inst.id and o.venue == "futures":
                o.status, o.update_ms = "EXPIRED", t
        pos = acct.positions.get(inst.id)
        if pos and pos.amt:
            price = inst.round_price(self.paths.index(inst.base, t))
            realized = pos.amt * (price - pos.entry)
            self._wallet(acct, pos, realized)
            self._income(acct, inst.id, "REALIZED_PNL", realized, t)
            pos.amt, pos.entry, pos.isolated_wallet, pos.update_ms = 0.0, 0.0, 0.0, t

    def _liquidate(self, acct: Account, t: int) -> None:
        if not any(p.amt for p in acct.positions.values()):
            return
        m = self.margin(acct, t)
        for pos in m.open_positions():
            r = m.risk(pos)
            hit = r.liquidation_price > 0 and (
                (pos.amt > 0 and r.mark <= r.liquidation_price) or (pos.amt < 0 and r.mark >= r.liquidation_price))
            if not hit:
                continue
            inst = self.fut_ids[pos.symbol]
            price = inst.round_price(r.liquidation_price)
            side = "SELL" if pos.amt > 0 else "BUY"
            o = Order("futures", inst.id, self._next("fut_order"), f"autoclose-{t}", side, "MARKET", "IOC",
                      0.0, abs(pos.amt), t, reduce_only=True, update_ms=t, checked_ms=t)
            acct.orders[o.order_id] = o
            notional = abs(pos.amt) * price
            self._fut_fill(acct, o, inst, [Fill(price, abs(pos.amt))], maker=False, t=t)
            o.status = "FILLED"
            fee = notional * LIQUIDATION_FEE
            acct.futures_wallet["USDT"] = acct.futures_wallet.get("USDT", 0.0) - fee
            self._income(acct, inst.id, "INSURANCE_CLEAR", -fee, t)
            m = self.margin(acct, t)  # the rest is re-assessed without this position

    # -- bookkeeping ---------------------------------------------------------------------
    def _wallet(self, acct: Account, pos: Position, amount: float) -> None:
        acct.futures_wallet["USDT"] = acct.futures_wallet.get("USDT", 0.0) + amount
        if acct.config(pos.symbol).margin_type == "isolated" and pos.amt:
            pos.isolated_wallet += amount

    def _income(self, acct: Account, symbol: str, kind: str, amount: float, t: int, trade_id: str = "") -> None:
        acct.income.append(Income(self._next("tran"), symbol, kind, amount, "USDT", t, trade_id))

    # -- spot trading --------------------------------------------------------------------
    def _spot_fill(self, acct: Account, o: Order, inst: Instrument, fills: list[Fill], *, maker: bool,
                   t: int, from_locked: bool = False) -> None:
        for f in fills:
            cost = f.price * f.qty
            if o.side == "BUY":
                fee, fee_asset = f.qty * SPOT_FEE, inst.base
                if from_locked:
                    acct.credit(inst.quote, o.price * f.qty - cost, locked=-o.price * f.qty)
                else:
                    acct.credit(inst.quote, -cost)
                acct.credit(inst.base, f.qty - fee)
            else:
                fee, fee_asset = cost * SPOT_FEE, inst.quote
                if from_locked:
                    acct.credit(inst.base, 0.0, locked=-f.qty)
                else:
                    acct.credit(inst.base, -f.qty)
                acct.credit(inst.quote, cost - fee)
            o.executed_qty += f.qty
            o.cum_quote += cost
            acct.trades.append(Trade("spot", self._next("spot_trade"), o.order_id, inst.id, o.side, f.price,
                                     f.qty, fee, fee_asset, maker, t))
        o.update_ms = t

    def place_spot(self, acct: Account, p: dict[str, str]) -> tuple[Order, list[Trade]]:
        inst = self.inst("spot", p.get("symbol"))
        side, otype = _side(p), p.get("type", "").upper()
        if otype not in ("MARKET", "LIMIT", "LIMIT_MAKER"):
            raise BinanceError(-1116, "Invalid orderType.")
        client_id = params.client_id(p) or f"emu{self._ids['spot_order'] + 1}"
        if any(o.open and o.client_id == client_id for o in acct.orders.values()):
            raise BinanceError(-2010, "Duplicate order sent.")
        now = self.now_ms()
        book = self.book(inst, now)
        tif = params.time_in_force(p, SPOT_TIFS, "GTC" if otype != "MARKET" else "")
        quote_qty = _num(p, "quoteOrderQty") if p.get("quoteOrderQty") else 0.0
        qty = 0.0 if quote_qty else _num(p, "quantity", required=True)
        price = _num(p, "price", required=True) if otype != "MARKET" else 0.0
        if otype == "LIMIT" and not p.get("timeInForce"):
            raise params.missing("timeInForce")
        if otype == "MARKET" and not quote_qty and qty <= 0:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if qty or otype != "MARKET":
            _check_steps(inst, qty, p.get("quantity", "0"), "LOT_SIZE")
        if otype != "MARKET":
            _check_steps(inst, price, p["price"], "PRICE_FILTER")
            _check_percent_price_by_side(price, self.index(inst.base, now))
        ref = price or (book.best_ask if side == "BUY" else book.best_bid)
        if (quote_qty or qty * ref) < float(inst.min_notional):
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        if otype == "LIMIT_MAKER" and would_take(book, side, price):
            raise BinanceError(-2010, "Order would immediately match and take.")
        step = float(inst.step)
        if otype == "MARKET":
            fills = match_quote(book, side, quote_qty, step) if quote_qty else match(book, side, qty, step=step)
            if quote_qty:
                qty = sum(f.qty for f in fills)
        elif otype == "LIMIT":
            fills = match(book, side, qty, limit=price, step=step)
            if tif == "FOK" and sum(f.qty for f in fills) < qty - EPS:
                fills = []
        else:
            fills = []
        filled = sum(f.qty for f in fills)
        need_quote = sum(f.price * f.qty for f in fills) if side == "BUY" else 0.0
        rest = qty - filled if otype != "MARKET" and tif == "GTC" else 0.0
        if side == "BUY":
            need_quote += rest * price
            if need_quote > acct.free(inst.quote) + EPS:
                raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        elif qty > acct.free(inst.base) + EPS:
            raise BinanceError(-2010, "Account has insufficient balance for requested action.")
        o = Order("spot", inst.id, self._next("spot_order"), client_id, side, otype, tif or "GTC", price, qty, now,
                  quote_order_qty=quote_qty, update_ms=now, checked_ms=now)
        acct.orders[o.order_id] = o
        start = len(acct.trades)
        self._spot_fill(acct, o, inst, fills, maker=False, t=now)
        if rest > EPS:
            if side == "BUY":
                acct.credit(inst.quote, -rest * price, locked=rest * price)
            else:
                acct.credit(inst.base, -rest, locked=rest)
        o.status = _status(o, resting=rest > EPS)
        return o, acct.trades[start:]

    def cancel(self, acct: Account, venue: str, p: dict[str, str]) -> Order:
        o = self._lookup(acct, venue, p, code=-2011, msg="Unknown order sent.")
        if not o.open:
            raise BinanceError(-2011, "Unknown order sent.")
        self._release(acct, o)
        o.status, o.update_ms = "CANCELED", self.now_ms()
        return o

    def cancel_all(self, acct: Account, venue: str, symbol: str | None) -> list[Order]:
        inst = self.inst(venue, symbol)
        out = []
        for o in acct.orders.values():
            if o.venue == venue and o.symbol == inst.id and o.open:
                self._release(acct, o)
                o.status, o.update_ms = "CANCELED", self.now_ms()
                out.append(o)
        return out

    def _release(self, acct: Account, o: Order) -> None:
        if o.venue != "spot":
            return
        inst = self.spot_ids[o.symbol]
        if o.side == "BUY":
            amt = o.remaining * o.price
            acct.credit(inst.quote, amt, locked=-amt)
        else:
            acct.credit(inst.base, o.remaining, locked=-o.remaining)

    def lookup(self, acct: Account, venue: str, p: dict[str, str]) -> Order:
        return self._lookup(acct, venue, p, code=-2013, msg="Order does not exist.")

    def _lookup(self, acct: Account, venue: str, p: dict[str, str], *, code: int, msg: str) -> Order:
        inst = self.inst(venue, p.get("symbol"))
        oid = p.get("orderId")
        cid = p.get("origClientOrderId")
        if not oid and not cid:
            raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        try:
            order_id = int(oid) if oid else None
        except ValueError:
            raise BinanceError(-1100, "Illegal characters found in parameter 'orderId'.") from None
        o = acct.find_order(venue, order_id, cid, inst.id)
        if o is None:
            raise BinanceError(code, msg)
        return o

    # -- futures trading -----------------------------------------------------------------
    def _fut_fill(self, acct: Account, o: Order, inst: Instrument, fills: list[Fill], *, maker: bool, t: int) -> None:
        pos = acct.position(inst.id)
        cfg = acct.config(inst.id)
        s = _sign(o.side)
        for f in fills:
            fee = f.price * f.qty * (FUT_MAKER if maker else FUT_TAKER)
            realized = 0.0
            left = f.qty
            if pos.amt * s < 0:  # reduces (and maybe flips)
                close = min(left, abs(pos.amt))
                realized = close * (f.price - pos.entry) * (1.0 if pos.amt > 0 else -1.0)
                if cfg.margin_type == "isolated":
                    pos.isolated_wallet -= pos.isolated_wallet * close / abs(pos.amt)
                pos.amt = round(pos.amt + s * close, 10)
                left -= close
                if abs(pos.amt) <= EPS:
                    pos.amt, pos.entry, pos.isolated_wallet = 0.0, 0.0, 0.0
            if left > EPS:
                q = abs(pos.amt)
                pos.entry = (q * pos.entry + left * f.price) / (q + left)
                pos.amt = round(pos.amt + s * left, 10)
                if cfg.margin_type == "isolated":
                    pos.isolated_wallet += left * f.price / cfg.leverage
            pos.update_ms = t
            acct.futures_wallet["USDT"] = acct.futures_wallet.get("USDT", 0.0) + realized - fee
            tid = self._next("fut_trade")
            if realized:
                self._income(acct, inst.id, "REALIZED_PNL", realized, t, str(tid))
            self._income(acct, inst.id, "COMMISSION", -fee, t, str(tid))
            o.executed_qty += f.qty
            o.cum_quote += f.price * f.qty
            acct.trades.append(Trade("futures", tid, o.order_id, inst.id, o.side, f.price, f.qty, fee, "USDT",
                                     maker, t, realized))
        o.update_ms = t

    def place_futures(self, acct: Account, p: dict[str, str]) -> tuple[Order, list[Trade]]:
        inst = self.inst("futures", p.get("symbol"))
        if self.futures_status(inst) != "TRADING":
            raise BinanceError(-4140, "Invalid symbol status for opening position.")
        side, otype = _side(p), p.get("type", "").upper()
        if otype not in ("MARKET", "LIMIT"):
            raise BinanceError(-1116, "Invalid orderType.")
        if p.get("positionSide", "BOTH") != "BOTH" or acct.hedge_mode:
            # hedge-mode positions (LONG/SHORT) are not modelled: one-way orders only
            raise BinanceError(-4061, "Order's position side does not match user's setting.")
        client_id = params.client_id(p) or f"emu{self._ids['fut_order'] + 1}"
        if any(o.open and o.client_id == client_id for o in acct.orders.values()):
            raise BinanceError(-4015, "Client order id is not valid.")
        qty = _num(p, "quantity", required=True)
        if qty <= 0:
            raise BinanceError(-4003, "Quantity less than or equal to zero.")
        if _decimals(p["quantity"]) > inst.qty_decimals:
            raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
        price = 0.0
        tif = params.time_in_force(p, FUT_TIFS, "GTC") if otype == "LIMIT" else "GTC"
        if otype == "LIMIT":
            price = _num(p, "price", required=True)
            if price <= 0:
                raise BinanceError(-4001, "Price less than 0.")
            if _decimals(p["price"]) > inst.price_decimals:
                raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
            if not _multiple(price, inst.tick):
                raise BinanceError(-4014, "Price not increased by tick size.")
        if qty > float(inst.max_qty):
            raise BinanceError(-4005, "Quantity greater than max quantity.")
        reduce_only = params.boolean(p, "reduceOnly")
        now = self.now_ms()
        good_till = _good_till(p, now) if tif == "GTD" else 0
        if otype == "LIMIT":
            _check_percent_price(inst, side, price, self.mark(inst, now))
        pos = acct.position(inst.id)
        s = _sign(side)
        if reduce_only:
            if pos.amt * s >= 0:
                raise BinanceError(-2022, "ReduceOnly Order is rejected.")
            qty = min(qty, abs(pos.amt))
        book = self.book(inst, now)
        mark = self.mark(inst, now)
        ref = price or mark
        if not reduce_only and qty * ref < float(inst.min_notional):
            raise BinanceError(-4164, f"Order's notional must be no smaller than {inst.min_notional} (unless you choose reduce only).")
        if tif == "GTX" and would_take(book, side, price):
            raise BinanceError(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history")
        cfg = acct.config(inst.id)
        increase = qty if pos.amt * s >= 0 else max(0.0, qty - abs(pos.amt))
        if increase > 0:
            new_notional = (abs(pos.amt) + increase if pos.amt * s >= 0 else increase) * ref
            cap = max((b.cap for b in inst.brackets if b.initial_leverage >= cfg.leverage), default=0.0)
            if new_notional > cap:
                raise BinanceError(-2027, "Exceeded the maximum allowable position at current leverage.")
            summary = self.margin(acct, now).summary()
            need = increase * ref / cfg.leverage + increase * ref * FUT_TAKER
            if need > summary["available"] + EPS:
                raise BinanceError(-2019, "Margin is insufficient.")
        step = float(inst.step)
        if otype == "MARKET":
            fills = match(book, side, qty, step=step)
        else:
            fills = [] if tif == "GTX" else match(book, side, qty, limit=price, step=step)
            if tif == "FOK" and sum(f.qty for f in fills) < qty - EPS:
                fills = []
        o = Order("futures", inst.id, self._next("fut_order"), client_id, side, otype, tif, price, qty, now,
                  reduce_only=reduce_only, update_ms=now, checked_ms=now, good_till_ms=good_till)
        acct.orders[o.order_id] = o
        start = len(acct.trades)
        self._fut_fill(acct, o, inst, fills, maker=False, t=now)
        resting = otype == "LIMIT" and tif in ("GTC", "GTX", "GTD") and o.remaining > EPS
        o.status = _status(o, resting=resting)
        return o, acct.trades[start:]

    def modify_futures(self, acct: Account, p: dict[str, str]) -> tuple[Order, Instrument]:
        """Binance's order modify: a resting LIMIT order gets a new price and quantity and
        keeps its id; it may then cross and fill at once. Side must match the order's."""
        inst = self.inst("futures", p.get("symbol"))
        o = self.lookup(acct, "futures", p)
        if not o.open:
            raise BinanceError(-2013, "Order does not exist.")
        if o.type != "LIMIT":
            raise BinanceError(-4157, "Order type does not support modification.")
        if _side(p) != o.side:
            raise BinanceError(-4158, "Side does not match the order's side.")
        qty, price = _num(p, "quantity", required=True), _num(p, "price", required=True)
        if price <= 0:
            raise BinanceError(-4001, "Price less than 0.")
        if qty <= o.executed_qty:
            raise BinanceError(-2021, "Order would immediately trigger or the new quantity is not above the filled one.")
        if _decimals(p["quantity"]) > inst.qty_decimals or _decimals(p["price"]) > inst.price_decimals:
            raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
        if not _multiple(price, inst.tick):
            raise BinanceError(-4014, "Price not increased by tick size.")
        now = self.now_ms()
        _check_percent_price(inst, o.side, price, self.mark(inst, now))
        if o.tif == "GTX" and would_take(self.book(inst, now), o.side, price):
            raise BinanceError(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history")
        o.price, o.orig_qty, o.update_ms = price, qty, now
        fills = match(self.book(inst, now), o.side, o.remaining, limit=price, step=float(inst.step))
        self._fut_fill(acct, o, inst, fills, maker=False, t=now)
        o.status = _status(o, resting=True)
        return o, inst

    def set_leverage(self, acct: Account, p: dict[str, str]) -> dict[str, Any]:
        inst = self.inst("futures", p.get("symbol"))
        lev = params.integer(p, "leverage")
        if lev is None:
            raise params.missing("leverage")
        pos = acct.position(inst.id)
        notional = abs(pos.amt) * self.mark(inst)
        allowed = inst.bracket_for(notional).initial_leverage
        if lev < 1 or lev > inst.brackets[0].initial_leverage:
            raise BinanceError(-4028, f"Leverage {lev} is not valid")
        if lev > allowed:
            raise BinanceError(-2027, "Exceeded the maximum allowable position at current leverage.")
        acct.config(inst.id).leverage = lev
        return {"leverage": lev, "maxNotionalValue": f"{inst.max_notional_at(lev):.0f}", "symbol": inst.id}

    def set_margin_type(self, acct: Account, p: dict[str, str]) -> dict[str, Any]:
        inst = self.inst("futures", p.get("symbol"))
        want = p.get("marginType", "").upper()
        if want not in ("ISOLATED", "CROSSED"):
            raise BinanceError(-4044, "The margin type is invalid.")
        mode = "isolated" if want == "ISOLATED" else "cross"
        cfg = acct.config(inst.id)
        if cfg.margin_type == mode:
            raise BinanceError(-4046, "No need to change margin type.")
        if any(o.open and o.symbol == inst.id and o.venue == "futures" for o in acct.orders.values()):
            raise BinanceError(-4047, "Margin type cannot be changed if there exists open orders.")
        if acct.position(inst.id).amt:
            raise BinanceError(-4048, "Margin type cannot be changed if there exists position.")
        cfg.margin_type = mode
        return {"code": 200, "msg": "success"}
