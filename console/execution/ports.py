"""The executor's narrow view of a venue, and its one implementation over ccxt.

The executor never sees ccxt's exceptions: ``CcxtPort`` sorts every outcome into three
kinds, because that is the only distinction the money path needs:

- a ``VenueOrder``: the venue answered and we know the order's state;
- ``Rejected``: the venue processed the request and said no; nothing exists; safe to report;
- ``Ambiguous``: we cannot tell (timeout, disconnect, 5xx, 429, Binance -1007, a reply we
  could not parse, any surprise). The order may exist. It is never sent again; it is
  looked up by its client order id until its fate is known.

Tests drive the executor through small fakes of ``VenuePort`` (tests/execution/fakes.py)
and through ``CcxtPort`` against the emulator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from console.core.numbers import num

if TYPE_CHECKING:
    from ccxt.async_support.base.exchange import Exchange


@dataclass(frozen=True)
class OrderRequest:
    client_id: str
    symbol: str
    side: str  # "buy" | "sell"
    type: str  # "market" | "limit"
    amount: float
    price: float | None = None
    reduce_only: bool = False
    post_only: bool = False


@dataclass(frozen=True)
class VenueOrder:
    client_id: str | None
    venue_id: str | None
    symbol: str
    side: str
    type: str
    amount: float
    filled: float
    average: float | None
    price: float | None
    status: str | None  # ccxt's unified status
    reduce_only: bool = False
    timestamp: int | None = None


@dataclass(frozen=True)
class VenueTrade:
    trade_id: str
    order_venue_id: str | None
    client_id: str | None
    symbol: str
    side: str
    amount: float
    price: float
    timestamp: int


class Rejected(Exception):
    """The venue processed the request and refused it: no order exists."""


class Ambiguous(Exception):
    """The outcome is unknown: the order may or may not exist at the venue."""


class LookupFailed(Exception):
    """A lookup or cancel could not get a definite answer; try again later."""


class VenuePort(Protocol):
    account: str
    exchange_id: str

    async def prepare(self) -> None: ...
    def can_batch(self, reqs: Sequence[OrderRequest]) -> bool: ...
    async def place(self, req: OrderRequest) -> VenueOrder: ...
    async def place_many(self, reqs: Sequence[OrderRequest]) -> list[VenueOrder | Exception]: ...
    async def lookup(self, symbol: str, client_id: str) -> VenueOrder | None: ...
    async def cancel(self, symbol: str, client_id: str) -> VenueOrder | None: ...
    async def open_orders(self, symbols: Sequence[str] | None = None) -> list[VenueOrder]: ...
    async def positions(self) -> list[dict[str, Any]] | None: ...
    async def trades(self, symbol: str, since_ms: int | None) -> list[VenueTrade]: ...
    def amount_to_precision(self, symbol: str, amount: float) -> float: ...
    def price_to_precision(self, symbol: str, price: float) -> float: ...
    def is_contract(self, symbol: str) -> bool: ...
    async def touch(self, symbol: str) -> tuple[float | None, float | None]: ...


# ----------------------------------------------------------------------------- ccxt


def _ambiguous_text(text: str) -> bool:
    # Binance -1007: "Timeout waiting for response from backend server. Send status
    # unknown; execution status unknown." Whatever class ccxt maps it to, it is ambiguous.
    return "-1007" in text or "status unknown" in text.lower()


# Binance order-entry codes that mean "processed and refused; no order exists". ccxt maps
# many of them (-2019, -2022, -4164, -5022...) only when the URL is Binance's own hostname
# (``get_exceptions_by_url``): against the emulator, a testnet proxy or any other base URL
# they arrive as a bare ExchangeError, so the code is read from the reply itself.
# Not listed on purpose: -1007 (status unknown), -1000/-1001 (internal errors), -2010 (spot
# uses it for "Duplicate order sent"), -4015/-4116 (duplicate client id: the order exists).
BINANCE_REJECT_CODES = frozenset({
    -1013, -1100, -1102, -1106, -1111, -1115, -1116, -1117, -1121,
    -2019, -2020, -2021, -2022, -2025, -2027, -2028,
    -4003, -4004, -4005, -4013, -4014, -4023, -4061, -4131, -4140, -4164,
    -5021, -5022,
})
# Binance's "we could not tell" codes: unknown error, disconnected, unexpected reply from the
# message bus (execution status unknown), -1007 timeout, overloaded. The order may exist.
BINANCE_UNKNOWN_CODES = frozenset({-1000, -1001, -1006, -1007, -1008})
_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')


_MSG = re.compile(r'"msg"\s*:\s*"((?:[^"\\]|\\.)*)"')


def venue_reason(error: str | None) -> str | None:
    """Why the venue refused an order, in its own words, from the error the journal keeps:
    ``-5022: Due to the order could not be executed as maker, the Post Only order will be
    rejected`` rather than ccxt's class name and a JSON body. None when there is no error."""
    if not error:
        return None
    code, msg = _CODE.search(error), _MSG.search(error)
    if msg is not None:
        text = msg.group(1).split(". ")[0].rstrip(".")
        return f"{code.group(1)}: {text}" if code is not None else text
    # "InvalidOrder: binanceusdm amount must be..." → what follows the class and venue names
    head, _, rest = error.partition(": ")
    return (rest or head).strip()[:200]


def _binance_reject_code(exc: BaseException, text: str) -> int | None:
    import ccxt

    if isinstance(exc, ccxt.NetworkError | ccxt.BadResponse) or "duplicate" in text.lower():
        return None
    m = _CODE.search(str(exc))
    if m is None or not str(exc).lstrip().startswith("binance"):
        return None
    code = int(m.group(1))
    return code if code in BINANCE_REJECT_CODES else None


def classify_send_error(exc: BaseException) -> Exception:
    """Rejected or Ambiguous for an exception raised while placing an order."""
    import ccxt

    text = f"{type(exc).__name__}: {exc}"
    if _ambiguous_text(text):
        return Ambiguous(text)
    if isinstance(exc, ccxt.DuplicateOrderId):
        return Ambiguous(text)  # the venue already has this client id: it exists; look it up
    definite = (ccxt.InvalidOrder, ccxt.InsufficientFunds, ccxt.BadSymbol, ccxt.BadRequest,
                ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended,
                ccxt.ArgumentsRequired, ccxt.NotSupported, ccxt.MarginModeAlreadySet)
    if isinstance(exc, definite):
        return Rejected(text)
    if isinstance(exc, ccxt.ExchangeError) and _binance_reject_code(exc, text) is not None:
        return Rejected(text)
    # NetworkError (timeouts, disconnects, 5xx as ExchangeNotAvailable, 429 as
    # RateLimitExceeded/DDoSProtection), BadResponse, a bare ExchangeError and anything
    # unexpected: the request may have been applied.
    return Ambiguous(text)


def _f(v: Any) -> float:
    """A venue's figure, 0 when it is missing. One that is there but cannot be read (NaN, text)
    raises: through ``_parsed`` the whole answer is then unreadable, so ambiguous, never a fill
    of 0 that would turn a resting order into a cancelled one."""
    if v is None:
        return 0.0
    out = num(v)
    if out is None:
        raise ValueError(f"unreadable figure {v!r}")
    return out


def venue_order_from_ccxt(o: dict[str, Any], fallback: OrderRequest | None = None) -> VenueOrder:
    info = o.get("info") or {}
    reduce_only = o.get("reduceOnly")
    if reduce_only is None:
        reduce_only = str(info.get("reduceOnly", "false")).lower() == "true"
    return VenueOrder(
        client_id=o.get("clientOrderId") or (fallback.client_id if fallback else None),
        venue_id=None if o.get("id") is None else str(o["id"]),
        symbol=o.get("symbol") or (fallback.symbol if fallback else ""),
        side=o.get("side") or (fallback.side if fallback else ""),
        type=o.get("type") or (fallback.type if fallback else ""),
        amount=_f(o.get("amount")) or (fallback.amount if fallback else 0.0),
        filled=_f(o.get("filled")),
        average=None if o.get("average") is None else _f(o.get("average")),
        price=None if o.get("price") is None else _f(o.get("price")),
        status=o.get("status"),
        reduce_only=bool(reduce_only),
        timestamp=o.get("timestamp"),
    )


def _parsed(parse: Any, *args: Any, error: type[Exception]) -> Any:
    """``parse(*args)``, where a reply that is not the shape expected (a 200 whose body was
    not JSON, a field of the wrong type) raises ``error``: Ambiguous for an order's answer,
    LookupFailed for a read. An answer we cannot read is never taken as a definite one."""
    try:
        return parse(*args)
    except Exception as exc:  # noqa: BLE001 - any parse failure is an unreadable answer
        raise error(f"unreadable reply ({type(exc).__name__}: {str(exc)[:200]})") from exc


# How ccxt finds an order again by our client id, where its unified ``clientOrderId`` param
# does not reach the venue: ccxt's bybit passes params through, and Bybit reads ``orderLinkId``.
# Its fetchOrder also wants ``acknowledged`` (the order must be among the last 500) and would
# send ``orderId=None`` for a missing id, which matches nothing: an empty orderId is no filter.
CLIENT_ID_PARAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "bybit": ("orderLinkId", {"acknowledged": True, "orderId": ""})}
# Unified accounts whose open orders ccxt reads one market type at a time (Bybit's category)
OPEN_ORDER_TYPES: dict[str, tuple[str, ...]] = {"bybit": ("spot", "swap")}


class CcxtPort:
    """A ``VenuePort`` over one ccxt async exchange (the account's)."""

    BATCH_MAX = 5  # Binance USDⓈ-M batchOrders takes at most 5

    def __init__(self, account: str, exchange: Exchange) -> None:
        retries = exchange.options.get("maxRetriesOnFailure")
        # ccxt's own retry would resend an order after a timeout: a duplicate. Refuse it.
        if retries not in (None, 0):
            raise ValueError(f"account {account}: ccxt maxRetriesOnFailure is {retries}; it must be 0 "
                             "so that an ambiguous order is looked up, never resent")
        exchange.options["maxRetriesOnFailure"] = 0
        self.account = account
        self.exchange = exchange
        self.exchange_id = str(exchange.id)

    async def prepare(self) -> None:
        if not self.exchange.markets:
            await self.exchange.load_markets()

    def _market(self, symbol: str) -> dict[str, Any]:
        return self.exchange.market(symbol)

    def is_contract(self, symbol: str) -> bool:
        return bool(self._market(symbol).get("contract"))

    def amount_to_precision(self, symbol: str, amount: float) -> float:
        return float(self.exchange.amount_to_precision(symbol, amount))

    def price_to_precision(self, symbol: str, price: float) -> float:
        return float(self.exchange.price_to_precision(symbol, price))

    async def touch(self, symbol: str) -> tuple[float | None, float | None]:
        """Best bid and ask from the order book: Binance's futures tickers (24 h statistics)
        carry no bid or ask, so a chase priced from them would not cross the spread."""
        book = await self.exchange.fetch_order_book(symbol, 5)
        bids, asks = book.get("bids") or [], book.get("asks") or []
        return (float(bids[0][0]) if bids else None), (float(asks[0][0]) if asks else None)

    def _params(self, req: OrderRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"clientOrderId": req.client_id}
        if req.reduce_only and self.is_contract(req.symbol):
            params["reduceOnly"] = True
        if req.post_only:
            params["postOnly"] = True
        return params

    def can_batch(self, reqs: Sequence[OrderRequest]) -> bool:
        # ccxt's binance createOrders is contract-only; one request keeps the legs together.
        # ccxt also refuses a batch that mixes perps and dated futures (one market type).
        return (len(reqs) > 1 and len(reqs) <= self.BATCH_MAX
                and bool(self.exchange.has.get("createOrders"))
                and all(self.is_contract(r.symbol) for r in reqs)
                and len({(self._market(r.symbol).get("type"), self._market(r.symbol).get("settle"))
                         for r in reqs}) == 1)

    async def place(self, req: OrderRequest) -> VenueOrder:
        try:
            o = await self.exchange.create_order(req.symbol, req.type, req.side, req.amount, req.price,
                                                 self._params(req))
        except Exception as exc:
            raise classify_send_error(exc) from exc
        return self._checked(o, req)

    def _checked(self, o: Any, req: OrderRequest) -> VenueOrder:
        if not isinstance(o, dict):
            raise Ambiguous(f"unparseable reply {str(o)[:200]!r}")
        info = o.get("info") or {}
        if o.get("id") is None and isinstance(info, dict) and "code" in info:
            text = f"{info.get('code')}: {info.get('msg')}"
            try:
                code = int(info.get("code"))
            except (TypeError, ValueError):
                code = None
            if _ambiguous_text(text) or code in BINANCE_UNKNOWN_CODES:
                raise Ambiguous(text)
            raise Rejected(text)
        v = _parsed(venue_order_from_ccxt, o, req, error=Ambiguous)
        if v.client_id != req.client_id or v.venue_id is None:
            raise Ambiguous(f"reply does not name our order (client id {v.client_id!r})")
        return v

    async def place_many(self, reqs: Sequence[OrderRequest]) -> list[VenueOrder | Exception]:
        payload = [{"symbol": r.symbol, "type": r.type, "side": r.side, "amount": r.amount,
                    "price": r.price, "params": self._params(r)} for r in reqs]
        try:
            out = await self.exchange.create_orders(payload)
        except Exception as exc:
            err = classify_send_error(exc)
            return [err for _ in reqs]
        if not isinstance(out, list) or len(out) != len(reqs):
            return [Ambiguous(f"batch reply has {len(out) if isinstance(out, list) else '?'} entries "
                              f"for {len(reqs)} orders") for _ in reqs]
        results: list[VenueOrder | Exception] = []
        for o, r in zip(out, reqs, strict=True):
            try:
                results.append(self._checked(o, r))
            except (Ambiguous, Rejected) as exc:
                results.append(exc)
        return results

    def _by_client_id(self, client_id: str, *, lookup: bool = False) -> dict[str, Any]:
        """ccxt params that name an order by our client id on this exchange."""
        found = CLIENT_ID_PARAMS.get(self.exchange_id)
        if found is None:
            return {"clientOrderId": client_id}
        key, extra = found
        return {key: client_id, **(extra if lookup else {})}

    async def lookup(self, symbol: str, client_id: str) -> VenueOrder | None:
        import ccxt

        try:
            o = await self.exchange.fetch_order(None, symbol, self._by_client_id(client_id, lookup=True))
        except ccxt.OrderNotFound:
            return None
        except Exception as exc:
            raise LookupFailed(f"{type(exc).__name__}: {exc}") from exc
        v = _parsed(venue_order_from_ccxt, o, error=LookupFailed)
        if v.client_id not in (None, client_id):
            raise LookupFailed(f"the lookup of {client_id} answered about {v.client_id}")
        return v

    async def cancel(self, symbol: str, client_id: str) -> VenueOrder | None:
        """Cancel by client id; returns the order's state after, or None when the venue no
        longer has it open (already final, or never there): look it up then."""
        import ccxt

        try:
            o = await self.exchange.cancel_order(None, symbol, self._by_client_id(client_id))
        except ccxt.OrderNotFound:
            return None
        except Exception as exc:
            raise LookupFailed(f"{type(exc).__name__}: {exc}") from exc
        v = _parsed(venue_order_from_ccxt, o, error=LookupFailed)
        if v.status is None:
            return None
        return v

    async def open_orders(self, symbols: Sequence[str] | None = None) -> list[VenueOrder]:
        try:
            if symbols:
                out: list[dict[str, Any]] = []
                for s in symbols:
                    out += await self.exchange.fetch_open_orders(s)
            else:
                # every symbol at once costs more weight, but misses nothing
                self.exchange.options.setdefault("fetchOpenOrders", {})["warnWithoutSymbol"] = False
                self.exchange.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
                types = OPEN_ORDER_TYPES.get(self.exchange_id)
                if types is None:
                    out = await self.exchange.fetch_open_orders()
                else:  # one request per market type: one alone would miss the others' orders
                    out = []
                    for t in types:
                        out += await self.exchange.fetch_open_orders(None, None, None, {"type": t})
        except Exception as exc:
            raise LookupFailed(f"{type(exc).__name__}: {exc}") from exc
        return _parsed(lambda: [venue_order_from_ccxt(o) for o in out], error=LookupFailed)

    async def positions(self) -> list[dict[str, Any]] | None:
        if not self.exchange.has.get("fetchPositions"):
            return None
        if not any(m.get("contract") for m in (self.exchange.markets or {}).values()):
            return None
        try:
            out = await self.exchange.fetch_positions()
        except Exception as exc:
            raise LookupFailed(f"{type(exc).__name__}: {exc}") from exc
        # a reply we cannot read is a failed read, never "no positions" (the kill switch would
        # then flatten nothing and say it had)
        if not isinstance(out, list) or not all(isinstance(p, dict) and p.get("symbol") for p in out):
            raise LookupFailed(f"positions: unreadable reply {str(out)[:200]!r}")
        return _parsed(lambda: [p for p in out if _f(p.get("contracts")) != 0], error=LookupFailed)

    async def trades(self, symbol: str, since_ms: int | None) -> list[VenueTrade]:
        try:
            out = await self.exchange.fetch_my_trades(symbol, since_ms)
        except Exception as exc:
            raise LookupFailed(f"{type(exc).__name__}: {exc}") from exc
        return _parsed(lambda: [VenueTrade(trade_id=str(t.get("id")), order_venue_id=None if t.get("order") is None else str(t["order"]),
                           client_id=_trade_client_id(t), symbol=t.get("symbol") or symbol,
                           side=t.get("side") or "", amount=_f(t.get("amount")), price=_f(t.get("price")),
                           timestamp=int(t.get("timestamp") or 0)) for t in out], error=LookupFailed)


def signed_contracts(p: dict[str, Any]) -> float:
    """A ccxt position's signed size (short negative)."""
    n = abs(_f(p.get("contracts")))
    return -n if p.get("side") == "short" else n


def as_port(account: str, ex: Any) -> VenuePort:
    if hasattr(ex, "place") and hasattr(ex, "lookup"):
        return ex  # already a VenuePort
    return CcxtPort(account, ex)


def _trade_client_id(t: Mapping[str, Any]) -> str | None:
    """Our client id on a fill: ccxt leaves it in the venue's own field (Binance
    ``clientOrderId``, Bybit ``orderLinkId``)."""
    info = t.get("info") or {}
    return info.get("clientOrderId") or info.get("orderLinkId") or None
