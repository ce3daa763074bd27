"""A fake of the executor's own ``VenuePort`` (not of ccxt), with fault knobs.

Faults are queued per operation: ``venue.fail("place", "lost_reply")`` makes the next
place apply the order and then raise Ambiguous, as a reply lost on the way back would.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

from console.execution.ports import (
    Ambiguous,
    LookupFailed,
    OrderRequest,
    Rejected,
    VenueOrder,
    VenueTrade,
)


class FakeVenue:
    def __init__(self, account: str = "futures", exchange_id: str = "binanceusdm", *,
                 contract: bool = True, batch: bool = True, prices: dict[str, float] | None = None) -> None:
        self.account = account
        self.exchange_id = exchange_id
        self.contract = contract
        self.batch = batch
        self.prices = prices or {"BTC/USDT:USDT": 60_000.0, "ETH/USDT:USDT": 3_000.0}
        self.orders: dict[str, dict[str, Any]] = {}  # client id → venue order
        self.place_calls: Counter[str] = Counter()  # requests per client id that reached us
        self.faults: dict[str, list[str]] = {}
        self.rest: set[str] = set()  # symbols whose orders rest instead of filling
        self.book_spread: float | None = None  # touch(): bid/ask this far apart around the price; None: no book
        self.positions_: dict[str, float] = {}
        self.trades_: list[VenueTrade] = []
        self._ids = itertools.count(1000)

    # -- knobs -------------------------------------------------------------------
    def fail(self, op: str, *kinds: str) -> None:
        self.faults.setdefault(op, []).extend(kinds)

    def _fault(self, op: str) -> str | None:
        q = self.faults.get(op)
        return q.pop(0) if q else None

    def external_order(self, symbol: str, side: str, amount: float, cid: str = "web_123") -> None:
        self.orders[cid] = {"cid": cid, "id": str(next(self._ids)), "symbol": symbol, "side": side,
                            "type": "limit", "amount": amount, "filled": 0.0, "status": "open",
                            "price": self.prices[symbol] * 0.9, "reduce_only": False}

    def fill_resting(self, symbol: str) -> None:
        for o in self.orders.values():
            if o["symbol"] == symbol and o["status"] == "open":
                self._fill(o)

    # -- VenuePort ---------------------------------------------------------------
    async def prepare(self) -> None:
        return None

    def can_batch(self, reqs: Sequence[OrderRequest]) -> bool:
        return self.batch and 1 < len(reqs) <= 5

    def is_contract(self, symbol: str) -> bool:
        return self.contract

    async def touch(self, symbol: str) -> tuple[float | None, float | None]:
        if self.book_spread is None:  # no book: the executor falls back to the snapshot's ticker
            return None, None
        px = self.prices[symbol]
        return px - self.book_spread / 2, px + self.book_spread / 2

    def amount_to_precision(self, symbol: str, amount: float) -> float:
        return round(amount, 6)

    def price_to_precision(self, symbol: str, price: float) -> float:
        return round(price, 1)

    def _fill(self, o: dict[str, Any]) -> None:
        o["filled"] = o["amount"]
        o["status"] = "closed"
        o["average"] = self.prices[o["symbol"]]
        sign = 1 if o["side"] == "buy" else -1
        self.positions_[o["symbol"]] = self.positions_.get(o["symbol"], 0.0) + sign * o["amount"]
        self.trades_.append(VenueTrade(trade_id=f"t{next(self._ids)}", order_venue_id=o["id"], client_id=None,
                                       symbol=o["symbol"], side=o["side"], amount=o["amount"],
                                       price=o["average"], timestamp=0))

    def _view(self, o: dict[str, Any]) -> VenueOrder:
        return VenueOrder(client_id=o["cid"], venue_id=o["id"], symbol=o["symbol"], side=o["side"],
                          type=o["type"], amount=o["amount"], filled=o["filled"], average=o.get("average"),
                          price=o.get("price"), status=o["status"], reduce_only=o["reduce_only"])

    def _apply(self, req: OrderRequest) -> VenueOrder:
        if req.client_id in self.orders:
            raise Rejected("duplicate client order id")
        o = {"cid": req.client_id, "id": str(next(self._ids)), "symbol": req.symbol, "side": req.side,
             "type": req.type, "amount": req.amount, "filled": 0.0, "status": "open", "price": req.price,
             "reduce_only": req.reduce_only}
        self.orders[req.client_id] = o
        if req.symbol not in self.rest:
            self._fill(o)
        return self._view(o)

    async def place(self, req: OrderRequest) -> VenueOrder:
        kind = self._fault("place")
        if kind == "drop":
            raise Ambiguous("RequestTimeout: dropped before the venue")
        self.place_calls[req.client_id] += 1
        if kind == "reject":
            raise Rejected("InsufficientFunds")
        v = self._apply(req)
        if kind == "lost_reply":
            raise Ambiguous("RequestTimeout: reply lost")
        return v

    async def place_many(self, reqs: Sequence[OrderRequest]) -> list[VenueOrder | Exception]:
        kind = self._fault("place_many")
        if kind == "drop":
            return [Ambiguous("timeout") for _ in reqs]
        out: list[VenueOrder | Exception] = []
        for r in reqs:
            self.place_calls[r.client_id] += 1
            try:
                out.append(self._apply(r))
            except Rejected as exc:
                out.append(exc)
        if kind == "lost_reply":
            return [Ambiguous("timeout") for _ in reqs]
        return out

    async def lookup(self, symbol: str, client_id: str) -> VenueOrder | None:
        if self._fault("lookup") == "fail":
            raise LookupFailed("ExchangeNotAvailable: 503")
        o = self.orders.get(client_id)
        return None if o is None else self._view(o)

    async def cancel(self, symbol: str, client_id: str) -> VenueOrder | None:
        if self._fault("cancel") == "fail":
            raise LookupFailed("RequestTimeout")
        o = self.orders.get(client_id)
        if o is None or o["status"] != "open":
            return None
        o["status"] = "canceled"
        return self._view(o)

    async def open_orders(self, symbols: Sequence[str] | None = None) -> list[VenueOrder]:
        return [self._view(o) for o in self.orders.values() if o["status"] == "open"]

    async def positions(self) -> list[dict[str, Any]] | None:
        if not self.contract:
            return None
        return [{"symbol": s, "contracts": abs(n), "side": "long" if n > 0 else "short", "contractSize": 1.0,
                 "markPrice": self.prices.get(s, 0.0)} for s, n in self.positions_.items() if n]

    async def trades(self, symbol: str, since_ms: int | None) -> list[VenueTrade]:
        return [t for t in self.trades_ if t.symbol == symbol]
