"""The one ccxt-backed venue: keeps each account's part of the Snapshot fresh.

One ``Venue`` owns one account's ccxt exchange. ``refresh()`` fetches markets (once, then on
demand), the balance, positions and funding rates (contract accounts) and tickers of the
symbols that matter to the portfolio, stamps each part with the venue's clock, and records a
failing part as a one-line error while keeping the last good copy (which then ages into
staleness). After a network error the venue backs off exponentially (capped) and drops its
HTTP session so the next attempt opens a fresh connection.

``VenueSet`` runs every account of a Config concurrently and assembles Snapshots, once
(``snapshot()``, for the CLI) or as a stream (``updates()``, for a Textual worker).

Feeds (``feed_for``): REST polling everywhere, except on live and demo accounts of exchanges
listed in ``WATCH_TICKERS``, where ccxt.pro streams tickers (COIN-M: mark prices,
``WATCH_MARK_PRICES``) over websockets, and the user data stream: each streamed order update is kept for the order path
(``Venue.take_order_updates``) and wakes ``VenueSet.updates`` to re-read that account's
balance and positions at once instead of at the next poll. REST stays the fallback whenever a
stream is late or down, and the record every figure comes from. The demo emulator serves the
same streams, so demo runs this path too.

ccxt costs most of a second to import, so it is imported inside functions here and nowhere in
the core (config, snapshot, allocation); a UI draws its first frame without waiting for it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import importlib.util
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from console.core.clock import Clock, wall_ms
from console.core.config import Account, Config, Mode
from console.core.errors import UserError
from console.core.freshness import required_parts, stale_parts
from console.core.simulated import is_simulated, real_code, real_symbol, simulated_symbol
from console.core.snapshot import FIX, AccountState, Snapshot, check_part
from console.venues.modes import uses_simulated_contracts

if TYPE_CHECKING:  # typing only: importing ccxt costs most of a second
    from ccxt.async_support.base.exchange import Exchange




class Feed(StrEnum):
    REST = "rest"  # poll every part over REST
    WATCH = "watch"  # tickers from a ccxt.pro websocket watcher, the rest over REST


# Exchanges whose ccxt.pro class streams tickers (``watchTickers``) reliably for the symbols
# we ask for. Balances and positions stay on REST everywhere: they are the record the plan is
# checked against, and a REST read is one request that either succeeds or says why.
WATCH_TICKERS = frozenset({"binance", "binanceusdm", "binancecoinm", "bybit"})
# Exchanges whose contracts stream their mark price (ccxt.pro ``watchMarkPrices``) instead of the
# 24 h ticker: COIN-M, whose 24 h ticker carries no mark, and whose positions, coin margin and
# inverse exposure (side × Q × mark / entry) all move with the mark. ccxt cannot watch both on
# one symbol (they share a message hash), and Binance's markPrice event is the one with a mark.
WATCH_MARK_PRICES = frozenset({"binancecoinm"})


def feed_for(account: Account) -> Feed:
    """REST or websockets for an account.

    Demo streams from the emulator, which speaks Binance's and Bybit's websockets. Paper polls: ccxt's
    demo-trading switch moves binance's REST URLs but not its websocket ones, and
    ``console.venues.modes`` rightly refuses an exchange object with any URL off the paper venue.
    """
    if account.mode is Mode.PAPER or account.exchange not in WATCH_TICKERS:
        return Feed.REST
    return Feed.WATCH


# Exchanges whose account is one unified wallet (Bybit's UTA): one balance read covers spot
# coins and contract margin, each coin's total its wallet balance (unrealised PnL excluded)
UNIFIED_WALLETS = frozenset({"bybit"})

# Exchanges whose contract tickers are cheaper one by one: Binance weighs the all-symbols
# futures ticker at 40 (two seconds of ccxt's throttle) against 1 per symbol, and ccxt's
# binanceusdm refuses a list that mixes perps and dated futures.
PER_SYMBOL_CONTRACT_TICKERS = frozenset({"binance", "binanceusdm", "binancecoinm"})
# Exchanges whose every ticker is read one by one: ccxt's deribit fetchTickers reads one
# currency's book summary and raises BadRequest for a list with two bases (BTC and ETH).
PER_SYMBOL_TICKERS = frozenset({"deribit"})

WATCH_RETRY_MS = 60_000  # after a watcher fails, poll REST this long before streaming again
MAX_ORDER_UPDATES = 1_000  # streamed order updates kept for the order path, newest last

DEFAULT_TIMEOUT_MS = 10_000  # ccxt's own default; long enough for a slow venue, short for a UI


# --------------------------------------------------------------------------------- exchange


def _market_types(account: Account) -> list[str]:
    """ccxt's fetchMarkets types for an account: its spot markets, and its contracts: COIN-M
    (inverse) on ``binancecoinm``, USDⓈ-M (linear) anywhere else."""
    types: list[str] = []
    if "spot" in account.markets:
        types.append("spot")
    if account.holds_contracts:
        types.append("inverse" if account.exchange == "binancecoinm" else "linear")
    return types


def demo_options(account: Account) -> dict[str, Any]:
    """Options that keep ccxt on endpoints the emulator has (no sapi, no currencies, no options)."""
    return {
        "fetchCurrencies": False,  # sapi/v1/capital/config/getall: the emulator has no wallet API
        "fetchMargins": False,  # sapi margin pairs
        "fetchMarkets": {"types": _market_types(account), "loadAllOptions": False},
        "adjustForTimeDifference": False,
    }


def make_exchange(
    account: Account,
    credentials: Mapping[str, str] | None,
    *,
    emulator_url: str | None = None,
    live_allowed: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    rate_limit: bool | None = None,
) -> Exchange:
    """A configured ``ccxt.async_support`` (or ``ccxt.pro``) exchange for ``account``.

    Demo mode changes only ``urls['api']`` (every entry, so that nothing can leave the
    loopback host, not even an endpoint the emulator lacks) and a few options. Paper and
    live go through ``console.venues.modes.configure_mode``, which owns those switches.
    ccxt never retries by itself here: the venue decides when to try again. ``rate_limit``
    is ccxt's throttle (the venue's request weights); by default (None) it stays on toward
    every real venue and is off when every API URL is on loopback (the emulator), where it
    only made the console idle for seconds before its first data.
    """
    if account.mode is Mode.DEMO and not emulator_url:
        raise UserError(f"account {account.name!r} is in demo mode, which needs the emulator's URL; "
                        "start it with `rebal-tui --demo` or set mode = \"paper\" / \"live\"")
    if feed_for(account) is Feed.WATCH:
        import ccxt.pro as ccxt_mod
    else:
        import ccxt.async_support as ccxt_mod
    cls = getattr(ccxt_mod, account.exchange, None)
    if cls is None:
        raise UserError(f"account {account.name!r}: ccxt has no exchange {account.exchange!r}; "
                        "use an id from ccxt.exchanges, e.g. binance or binanceusdm")
    config: dict[str, Any] = {"timeout": timeout_ms}
    for key in ("apiKey", "secret", "password", "uid", "walletAddress", "privateKey"):
        if credentials and credentials.get(key):
            config[key] = credentials[key]
    ex = cls(config)
    ex.options["maxRetriesOnFailure"] = 0
    if account.holds_contracts:
        # positionRisk v2 carries leverage and marginType, which v3 dropped; Binance serves both
        ex.options["fetchPositionsRisk"] = {"useV2": True}
    if account.mode is Mode.DEMO:
        assert emulator_url is not None
        from console.emulator.urls import emulated_urls

        # every URL, websockets included: nothing may leave the loopback host
        ex.urls["api"] = emulated_urls(ex.urls["api"], emulator_url)
        ex.options.update(demo_options(account))
        # the loopback emulator has no request weights to respect: ccxt's throttle would only
        # idle (an order waited ~0.1 s behind the last poll's weight). Real venues keep it.
        ex.enableRateLimit = False
    else:
        if importlib.util.find_spec("console.venues.modes") is None:
            raise UserError(f"account {account.name!r} is in {account.mode.value} mode, which this build "
                            "cannot configure yet (console.venues.modes is missing); use mode = \"demo\"")
        from console.venues.modes import configure_mode

        configure_mode(ex, account, live_allowed=live_allowed)
    from console.venues.modes import demo_problem

    on_loopback = demo_problem(ex) is None  # every URL on this machine (the emulator's plain HTTP)
    if rate_limit is None:
        rate_limit = not on_loopback
    ex.enableRateLimit = rate_limit  # ccxt reads it on every request
    if on_loopback:
        # no certificate store for plain HTTP to this machine: ccxt loads one per exchange when
        # it opens (~25 ms each, four before the demo's first figures). Every other venue keeps
        # ccxt's verified default.
        ex.ssl_context = False
    return ex


# ------------------------------------------------------------------------------------ venue


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff after network errors: base, 2×base, 4×base… capped."""

    base_s: float = 1.0
    cap_s: float = 60.0

    def delay_s(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * 2 ** (failures - 1))


_QUERY_RE = re.compile(r"\?\S*")
_TAG_RE = re.compile(r"<[^>]*>")


class VenueError(Exception):
    """A venue call that failed, with a one-line message fit for a toast."""


def describe_error(exc: BaseException) -> str:
    """One line, no traceback: the error class and the first 200 characters of its message,
    without query strings (timestamps and signatures are noise) or HTML markup."""
    msg = _QUERY_RE.sub("", str(exc))
    cause = exc.__cause__
    if cause is not None and str(cause) not in msg:  # ccxt wraps aiohttp's reason ("Server disconnected")
        msg += f" ({type(cause).__name__}: {cause})" if str(cause) else f" ({type(cause).__name__})"
    msg = _TAG_RE.sub(" ", msg)
    msg = " ".join(msg.split()) or "no message"
    if len(msg) > 200:
        msg = msg[:197] + "..."
    return f"{type(exc).__name__}: {msg}"


def _is_network(exc: BaseException) -> bool:
    import ccxt

    return isinstance(exc, ccxt.NetworkError | asyncio.TimeoutError | ConnectionError)


_BANNED_UNTIL_RE = re.compile(r"banned until (\d{13})")


def venue_pause_s(exc: BaseException, exchange: Any) -> float:
    """How long the venue told us to stay away after a 429/418 (0 if it did not say).

    Binance escalates an IP ban when it is hit again while banned (minutes to days), so this
    wins over the capped backoff. Sources: "banned until <epoch ms>" in a 418's message, else
    the Retry-After header (the last response's, which under concurrency may be a sibling's:
    then we fall back on the backoff alone).
    """
    import ccxt

    if not isinstance(exc, ccxt.DDoSProtection):
        return 0.0
    pause = 0.0
    m = _BANNED_UNTIL_RE.search(str(exc))
    if m:
        pause = max(pause, (int(m.group(1)) - wall_ms()) / 1000)
    headers = getattr(exchange, "last_response_headers", None) or {}
    retry_after = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if retry_after is not None:
        with contextlib.suppress(ValueError):  # an HTTP date: rare; the backoff covers it
            pause = max(pause, float(retry_after))
    return pause


def normalize_contract_balance(balance: dict[str, Any]) -> dict[str, Any]:
    """Write ``info.assets[].walletBalance`` as each asset's total (the snapshot's schema).

    ccxt's binance USDⓈ-M balance puts ``marginBalance`` (wallet + unrealised PnL) in
    ``total``; allocation adds unrealised PnL from the positions, so it would count twice.
    """
    info = balance.get("info")
    assets = info.get("assets") if isinstance(info, dict) else info if isinstance(info, list) else None
    if not isinstance(assets, list):
        return balance
    out = dict(balance)
    totals = dict(out.get("total") or {})
    for entry in assets:
        if not isinstance(entry, dict) or entry.get("walletBalance") is None:
            continue
        code = str(entry.get("asset", "")).upper()
        if code not in totals and code not in out:  # ccxt skipped it (never used): so do we
            continue
        wallet = float(entry["walletBalance"])
        totals[code] = wallet
        if isinstance(out.get(code), dict):
            out[code] = {**out[code], "total": wallet}
    out["total"] = totals
    return out


def _summed(balances: Iterable[Mapping[str, Any]], code_of: Callable[[str], str] = str) -> dict[str, Any]:
    """free, used and total summed per currency (as ``code_of`` names it) over ``balances``."""
    out: dict[str, Any] = {"timestamp": None, "datetime": None}
    for key in ("free", "used", "total"):
        summed: dict[str, float] = {}
        for bal in balances:
            for code, v in (bal.get(key) or {}).items():
                summed[code_of(code)] = summed.get(code_of(code), 0.0) + float(v or 0)
        out[key] = summed
    for code in set(out["free"]) | set(out["used"]) | set(out["total"]):
        out[code] = {k: out[k].get(code) for k in ("free", "used", "total")}
    return out


def merge_balances(spot: Mapping[str, Any], contract: Mapping[str, Any]) -> dict[str, Any]:
    """One balance for an account with a spot and a contract wallet: free, used and total
    summed per currency; both raw replies kept under ``info``."""
    return {"info": {"spot": spot.get("info"), "contract": contract.get("info")}, **_summed((spot, contract))}


def real_coin_balance(balance: Mapping[str, Any]) -> dict[str, Any]:
    """A Bitget demo balance in real coins: simulated margin coins (SUSDT) count as the real
    ones (USDT), summed with any real balance of that coin."""
    return {"info": balance.get("info"), **_summed((balance,), real_code)}


def real_coin_market(market: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a simulated contract's market whose base, quote and settle are the real coins
    (its symbol and id stay: orders go to the simulated contract)."""
    real = real_symbol(str(market.get("symbol")))
    base, _, rest = real.partition("/")
    quote, _, settle = rest.partition(":")
    return {**copy.deepcopy(dict(market)), "base": base, "quote": quote, "settle": settle.split("-")[0]}


def leverage_tiers_call(ex: Any) -> Callable[[list[str]], Awaitable[dict[str, Any]]] | None:
    """How to read ``ex``'s leverage tiers for a list of symbols: ccxt's fetchLeverageTiers where the
    exchange has it, else fetchMarketLeverageTiers one symbol at a time (OKX, Bitget, BingX
    offer only that), else None (the preview then labels its fallback tiers)."""
    if ex.has.get("fetchLeverageTiers"):
        return ex.fetch_leverage_tiers  # type: ignore[no-any-return]
    if ex.has.get("fetchMarketLeverageTiers"):
        async def per_symbol(symbols: list[str]) -> dict[str, Any]:
            tiers = await asyncio.gather(*(ex.fetch_market_leverage_tiers(s) for s in symbols))
            return dict(zip(symbols, tiers, strict=True))
        return per_symbol
    return None


class Venue:
    """One account's exchange and its latest AccountState."""

    def __init__(
        self,
        config: Config,
        account: Account,
        exchange: Exchange,
        *,
        clock: Clock = wall_ms,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.config = config
        self.account = account
        self.exchange = exchange
        self.clock = clock
        self.backoff = backoff
        self.feed = feed_for(account) if exchange.has.get("watchTickers") else Feed.REST
        # a paper venue that trades simulated contracts (Bitget's S*-FUTURES) in stand-in coins
        self.simulated = account.mode is Mode.PAPER and uses_simulated_contracts(account)
        self.state = AccountState(name=account.name, exchange=account.exchange)
        self.failures = 0  # consecutive refreshes that hit a network error
        self.next_attempt_ms = 0  # no network call before this (backoff)
        self.last_attempt_ms: int | None = None
        self._markets_key: frozenset[str] | None = None
        self._markets_view: dict[str, dict[str, Any]] = {}
        self._watched: dict[str, dict[str, Any]] = {}  # streamed tickers (Feed.WATCH)
        self._watched_at: dict[str, int] = {}
        self._watch_tasks: list[asyncio.Task[None]] = []
        self._watch_key: tuple[tuple[str, tuple[str, ...]], ...] | None = None
        self._watch_retry_ms = 0
        self._needs_reconnect = False
        # True: refresh() reads everything over REST and starts no websocket; ``updates()``
        # holds the streams back for its first snapshot, so their connections and first frames
        # do not delay the console's first figures, and starts them (start_streams) right after
        self.streams_held = False
        # the user data stream (contract accounts on Feed.WATCH)
        self._user_task: asyncio.Task[None] | None = None
        self._user_retry_ms = 0
        self._order_updates: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_ORDER_UPDATES)
        self.user_event = asyncio.Event()  # set by a streamed order/account update, cleared by refresh
        # called with each streamed order update as it arrives (the executor's fills), on this loop
        self._order_listeners: list[Callable[[dict[str, Any]], None]] = []
        # leverage tiers of held COIN-M contracts, read once per symbol (they change rarely)
        self._tiers: dict[str, Any] = {}

    # ----- public

    @property
    def name(self) -> str:
        return self.account.name

    def ready(self, now_ms: int) -> bool:
        """False while backing off after a network error."""
        return now_ms >= self.next_attempt_ms

    def backoff_s(self) -> float:
        return self.backoff.delay_s(self.failures)

    def is_stale(self, now_ms: int, max_age_s: float) -> bool:
        return bool(stale_parts(self.state, self.account, now_ms, max_age_s))

    async def refresh(self, parts: Iterable[str] | None = None) -> AccountState:
        """Fetch ``parts`` (default: everything but a markets reload) and return the new state.

        Never raises for a venue failure: each failing part keeps its last copy and its old
        time stamp, and the messages land in ``state.error``.
        """
        wanted = set(parts) if parts is not None else set(self._default_parts())
        self.last_attempt_ms = self.clock()
        self.user_event.clear()  # this refresh reads what the event announced
        if self._needs_reconnect:
            await self._reconnect()
        errors: list[str] = []
        network = False
        updates: dict[str, Any] = {}
        stamps: dict[str, int] = {}
        pause_s = [0.0]  # the longest wait a 429/418 asked for

        # each part's call is made when its task starts, not when the task is queued: a refresh
        # cancelled before a part ran (Ctrl-C, a closing console) then leaves no coroutine that
        # was never awaited (Python warns about one on stderr)
        async def run(part: str, call: Callable[[], Awaitable[Any]]) -> None:
            nonlocal network
            try:
                result = await call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure becomes one line on the account
                errors.append(f"{part}: {describe_error(exc)}")
                network = network or _is_network(exc)
                pause_s[0] = max(pause_s[0], venue_pause_s(exc, self.exchange))
                return
            try:  # an answer with NaN, ∞ or a wrong type is a failed fetch: the last copy stays
                check_part(part, result, f"{self.account.name}: the venue's {part}")
            except UserError as exc:
                errors.append(f"{part}: {str(exc).replace(FIX, 'the last good copy is kept')}")
                return
            updates[part] = result
            stamps[part] = self.clock()

        # markets first: every other call needs them
        if self.exchange.markets is None or "markets" in wanted:
            await run("markets", lambda: self.exchange.load_markets(reload=self.exchange.markets is not None))
        if self.exchange.markets is not None:
            if "markets" not in stamps and "markets" not in self.state.fetched_at:
                stamps["markets"] = self.clock()  # loaded by an earlier call (e.g. order_book)
            contracts = self.account.holds_contracts
            phase1 = []
            if "balance" in wanted:
                phase1.append(run("balance", self._fetch_balance))
            if contracts and "positions" in wanted:
                phase1.append(run("positions", self._fetch_positions))
            await asyncio.gather(*phase1)
            if not self.streams_held:
                self._ensure_user_stream()
            # tickers and funding depend on what is held, so they follow the balance and positions
            balance = updates.get("balance", self.state.balance)
            positions = updates.get("positions", self.state.positions)
            symbols = self._relevant_symbols(balance, positions)
            phase2 = []
            if "tickers" in wanted:
                phase2.append(run("tickers", lambda: self._fetch_tickers(symbols)))
            perps = [s for s in symbols if self.exchange.markets[s].get("swap")]
            if contracts and "funding_rates" in wanted and perps:
                phase2.append(run("funding_rates", lambda: self._fetch_funding_rates(perps)))
            held = {str(p.get("symbol")) for p in positions if float(p.get("contracts") or 0)}
            if self._computes_risk() and (unread := sorted(held - set(self._tiers))):
                phase2.append(run("leverage_tiers", lambda: self._fetch_tiers(unread)))
            await asyncio.gather(*phase2)
            self._tiers.update(updates.get("leverage_tiers", {}))  # checked by run(): finite rates
            markets = self._markets_for(symbols | held, reloaded="markets" in stamps)
        else:  # no markets (the venue did not answer): every part keeps its last copy
            markets = dict(self.state.markets)
            positions = self.state.positions

        self._after_attempt(network, pause_s[0])
        self.state = AccountState(
            name=self.account.name,
            exchange=self.account.exchange,
            markets=markets,
            balance=updates.get("balance", self.state.balance),
            positions=tuple(updates["positions"]) if "positions" in updates else self.state.positions,
            tickers=updates.get("tickers", self.state.tickers),
            funding_rates=updates.get("funding_rates", self.state.funding_rates),
            fetched_at={**self.state.fetched_at, **stamps},
            error="; ".join(errors) or None,
            leverage_tiers=self._held_tiers(positions) if self._computes_risk() else {},
        )
        return self.state

    async def order_book(self, symbol: str, limit: int | None = None) -> dict[str, Any]:
        """The order book of ``symbol`` now (for slippage), with ``fetched_at`` set; raises VenueError."""
        try:
            if self.exchange.markets is None:
                await self.exchange.load_markets()
            if symbol not in self.exchange.markets:
                raise VenueError(f"{self.name}: {self.account.exchange} has no market {symbol!r}")
            book = await self.exchange.fetch_order_book(symbol, limit)
        except VenueError:
            raise
        except Exception as exc:
            if _is_network(exc):
                self._after_attempt(True, venue_pause_s(exc, self.exchange))
            raise VenueError(f"{self.name}: order book {symbol}: {describe_error(exc)}") from None
        return {**book, "fetched_at": self.clock()}

    def on_order_update(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each order update of the user data stream as it arrives
        (ccxt's unified order, a private copy), on the loop this venue runs on."""
        self._order_listeners.append(listener)

    @property
    def streams_orders(self) -> bool:
        """True while the user data stream is up: order updates arrive without polling."""
        t = self._user_task
        return t is not None and not t.done()

    def take_order_updates(self) -> list[dict[str, Any]]:
        """Order updates streamed since the last call (ccxt's unified orders, oldest first):
        a fill or cancel the order path can read without polling. Reconcile against REST."""
        out = list(self._order_updates)
        self._order_updates.clear()
        return out

    async def close(self) -> None:
        tasks = [*self._watch_tasks, *([self._user_task] if self._user_task else [])]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watch_tasks, self._user_task = [], None
        await self.exchange.close()

    # ----- internals

    def _default_parts(self) -> tuple[str, ...]:
        return required_parts(self.account)

    def _after_attempt(self, network: bool, pause_s: float = 0.0) -> None:
        if network:
            self.failures += 1
            delay_s = max(self.backoff.delay_s(self.failures), pause_s)  # the venue's word wins over the cap
            self.next_attempt_ms = self.clock() + int(delay_s * 1000)
            self._needs_reconnect = True
        else:
            self.failures = 0
            self.next_attempt_ms = 0

    async def _reconnect(self) -> None:
        """Drop the HTTP session; ccxt opens a fresh one on the next request.

        ``exchange.close()`` would also do it, but it marks the instance closed for good
        and sleeps a quarter second on the way out.
        """
        self._needs_reconnect = False
        ex = self.exchange
        session = getattr(ex, "session", None)
        if session is not None and getattr(ex, "own_session", True):
            await session.close()
            ex.session = None
            await ex.close_connector()

    async def _fetch_balance(self) -> dict[str, Any]:
        """The account's wallet(s), in real coins on a simulated-contract paper venue."""
        balance = await self._fetch_wallets()
        return real_coin_balance(balance) if self.simulated else balance

    async def _fetch_wallets(self) -> dict[str, Any]:
        """The account's wallet(s): spot, contract (wallet balance, see the snapshot's schema),
        or both summed when one account trades both (e.g. binance with markets spot + swap)."""
        if not self.account.holds_contracts:
            return await self.exchange.fetch_balance()
        if self.account.exchange in UNIFIED_WALLETS:  # one wallet: spot coins and contract margin
            return await self.exchange.fetch_balance()
        if "spot" not in self.account.markets:  # a contract class such as binanceusdm
            return normalize_contract_balance(await self.exchange.fetch_balance())
        spot, fut = await asyncio.gather(self.exchange.fetch_balance({"type": "spot"}),
                                         self.exchange.fetch_balance({"type": "swap"}))
        return merge_balances(spot, normalize_contract_balance(fut))

    async def _fetch_funding_rates(self, perps: list[str]) -> dict[str, dict[str, Any]]:
        """Funding rates of ``perps`` in one call where ccxt has one (fetchFundingRates), else one
        call per symbol (Deribit, Phemex: fetchFundingRate only), else none: an exchange without
        either shows funding as n/a (preflight's capability matrix says so) instead of an error
        on every refresh."""
        has = self.exchange.has
        if has.get("fetchFundingRates"):
            return await self.exchange.fetch_funding_rates(perps)
        if has.get("fetchFundingRate"):
            rates = await asyncio.gather(*(self.exchange.fetch_funding_rate(s) for s in perps))
            return {s: r for s, r in zip(perps, rates, strict=True)}
        return {}

    def _computes_risk(self) -> bool:
        """Whether the console works out this account's margin ratio and liquidation prices
        from the venue's leverage tiers: COIN-M, whose account answer has no account-wide
        ratio (one per coin pool) and whose emulated positions report no liquidation price."""
        return "inverse" in _market_types(self.account)

    async def _fetch_tiers(self, symbols: list[str]) -> dict[str, Any]:
        fetch = leverage_tiers_call(self.exchange)
        if fetch is None:
            return {}
        got = await fetch(symbols)
        return {s: got[s] for s in symbols if s in got}

    def _held_tiers(self, positions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """The tiers read so far for the contracts held now (copies: ccxt's are never shared)."""
        held = {str(p.get("symbol")) for p in positions if float(p.get("contracts") or 0)}
        return {s: copy.deepcopy(self._tiers[s]) for s in sorted(held) if s in self._tiers}

    async def _fetch_positions(self) -> list[dict[str, Any]]:
        # a spot-first class (binance) needs to be told to look at its contracts
        params = {"type": "swap"} if "spot" in self.account.markets else {}
        return await self.exchange.fetch_positions(None, params)

    def _ticker_groups(self, symbols: set[str]) -> dict[str, list[str]]:
        """Symbols by market kind: ccxt serves one endpoint per call, and binanceusdm refuses
        a list that mixes perps and dated futures."""
        groups: dict[str, list[str]] = {}
        for s in sorted(symbols):
            m = self.exchange.markets[s]
            kind = f"{m.get('type')}/{'inverse' if m.get('inverse') else 'linear'}"
            groups.setdefault(kind, []).append(s)
        return groups

    async def _fetch_tickers(self, symbols: set[str]) -> dict[str, dict[str, Any]]:
        """Tickers of ``symbols``: streamed ones when the watchers are live and fresh, else REST."""
        groups = self._ticker_groups(symbols)
        if self.feed is Feed.WATCH and not self.streams_held:
            watched = self._watched_tickers(groups)
            if watched is not None:
                return watched
        calls = []
        for kind, group in groups.items():
            one_by_one = self.account.exchange in PER_SYMBOL_CONTRACT_TICKERS and not kind.startswith("spot/")
            if one_by_one or self.account.exchange in PER_SYMBOL_TICKERS:
                calls += [self._one_ticker(s) for s in group]
            else:
                calls.append(self.exchange.fetch_tickers(group))
        out: dict[str, dict[str, Any]] = {}
        for r in await asyncio.gather(*calls):
            out.update({k: v for k, v in r.items() if k in symbols})
        return out

    async def _one_ticker(self, symbol: str) -> dict[str, dict[str, Any]]:
        return {symbol: await self.exchange.fetch_ticker(symbol)}

    def _watched_tickers(self, groups: dict[str, list[str]]) -> dict[str, dict[str, Any]] | None:
        """The streamed tickers if every symbol arrived within the max data age; else None,
        and the caller polls REST. (Re)starts one watcher per market kind as needed."""
        now = self.clock()
        key = tuple((k, tuple(v)) for k, v in sorted(groups.items()))
        dead = any(t.done() for t in self._watch_tasks)
        if key != self._watch_key or dead:
            for t in self._watch_tasks:
                if t.done() and not t.cancelled() and t.exception() is not None:
                    self._watch_retry_ms = now + WATCH_RETRY_MS  # it failed: poll for a while
                t.cancel()
            self._watch_tasks, self._watch_key = [], None
            if now < self._watch_retry_ms:
                return None
            self._watch_tasks = [asyncio.create_task(self._watch_loop(g, k)) for k, g in groups.items()]
            self._watch_key = key
            return None
        limit = self.config.limits.max_data_age_s * 1000
        symbols = [s for g in groups.values() for s in g]
        if any(now - self._watched_at.get(s, -(10**15)) > limit for s in symbols):
            return None
        return {s: self._watched[s] for s in symbols}

    async def _watch_loop(self, symbols: list[str], kind: str = "") -> None:
        # ccxt.pro reconnects the socket itself; an exception ends this loop, and the next
        # refresh polls REST and restarts the watcher after WATCH_RETRY_MS
        ex: Any = self.exchange
        marks = self.account.exchange in WATCH_MARK_PRICES and not kind.startswith("spot/")
        watch = ex.watch_mark_prices if marks else ex.watch_tickers
        seen: dict[str, Any] = {}  # the dict last copied per symbol (held, so never recycled)
        while True:
            await watch(symbols)
            # watch_tickers returns the message that woke us; others that arrived meanwhile
            # are only in ccxt's cache, one new dict per message
            now = self.clock()
            for sym in symbols:
                t = ex.tickers.get(sym)
                if t is not None and seen.get(sym) is not t:
                    seen[sym] = t
                    self._watched[sym] = copy.deepcopy(t)
                    self._watched_at[sym] = now

    def start_streams(self) -> None:
        """Start the websockets held back (``streams_held``) now: the user data stream and the
        ticker watchers of the symbols the last refresh read; the next refresh uses them."""
        self.streams_held = False
        if self.feed is not Feed.WATCH or self.exchange.markets is None:
            return
        self._ensure_user_stream()
        symbols = self._relevant_symbols(self.state.balance, self.state.positions)
        self._watched_tickers(self._ticker_groups(symbols))  # as the next refresh groups them

    def _ensure_user_stream(self) -> None:
        """(Re)start the user data watcher of a streaming account; after it fails, REST alone
        for WATCH_RETRY_MS."""
        if self.feed is not Feed.WATCH or not self.exchange.has.get("watchOrders"):
            return
        now = self.clock()
        t = self._user_task
        if t is not None and not t.done():
            return
        if t is not None and not t.cancelled() and t.exception() is not None:
            self._user_retry_ms = now + WATCH_RETRY_MS
            self._user_task = None
        if now < self._user_retry_ms:
            return
        self._user_task = asyncio.create_task(self._user_loop())

    async def _user_loop(self) -> None:
        ex: Any = self.exchange
        # a spot-first class (binance) that also holds contracts listens to its contracts, as
        # for positions; a spot account listens to spot (over Binance's websocket API)
        mixed = "spot" in self.account.markets and self.account.holds_contracts
        params = {"type": "swap"} if mixed else {}
        # watch_orders would also read a positions snapshot over REST in the background: the
        # refresh reads positions itself, and a hidden extra request muddles its error handling
        ex.options["watchPositions"] = {**ex.options.get("watchPositions", {}), "fetchPositionsSnapshot": False}
        seen: set[tuple[Any, ...]] = set()
        while True:
            orders = await ex.watch_orders(None, None, None, params)
            for o in orders:
                key = (o.get("id"), o.get("status"), o.get("filled"))
                if key not in seen:  # ccxt returns its cache: keep each state once
                    seen.add(key)
                    self._order_updates.append(copy.deepcopy(o))
                    for listener in self._order_listeners:
                        try:
                            listener(copy.deepcopy(o))
                        except Exception:  # noqa: BLE001, S112 - a listener's bug must not stop the stream
                            continue
            self.user_event.set()

    def _relevant_symbols(self, balance: Mapping[str, Any], positions: Iterable[Mapping[str, Any]]) -> set[str]:
        """Markets whose prices value or hedge this portfolio on this account."""
        markets = self.exchange.markets or {}
        quote = self.config.portfolio.quote
        assets = {a for s in self.config.sleeves for a in s.assets} | {h.asset for h in self.config.manual}
        total = balance.get("total") or {}
        assets |= {str(a).upper() for a, q in total.items() if q}
        out: set[str] = set()
        if "spot" in self.account.markets:
            out |= {f"{a}/{quote}" for a in assets if a != quote}
        if self.account.holds_contracts:
            perps = {f"{a}/{quote}:{quote}" for a in assets if a != quote}
            out |= perps
            if "inverse" in _market_types(self.account):
                # a COIN-M account lists no {a}/USDT perps: its hedges for an asset are the
                # coin-settled perp (BTC/USD:BTC), whose funding the trader weighs before one
                out |= {f"{a}/USD:{a}" for a in assets if a != quote}
            if self.simulated:  # the stand-ins the paper venue trades for those perps
                out |= {t for s in perps if (t := simulated_symbol(s))}
            out |= {h.symbol for s in self.config.sleeves for h in s.hedges
                    if h.account in (None, self.account.name)}
        out |= {str(p.get("symbol")) for p in positions if float(p.get("contracts") or 0)}
        return {s for s in out if s in markets}

    def _markets_for(self, symbols: set[str], reloaded: bool) -> dict[str, dict[str, Any]]:
        """A private copy of the relevant markets only (a venue lists thousands; the state
        file keeps what the plan needs). Copied so ccxt can never mutate the snapshot."""
        key = frozenset(symbols)
        if key != self._markets_key or reloaded:
            markets = self.exchange.markets or {}
            self._markets_view = {
                s: real_coin_market(markets[s]) if self.simulated and is_simulated(s) else copy.deepcopy(markets[s])
                for s in sorted(symbols) if s in markets}
            self._markets_key = key
        return self._markets_view


# -------------------------------------------------------------------------------- venue set


@dataclass(frozen=True)
class VenueUpdate:
    """A fresh Snapshot and, per account, the parts older than the config's max data age."""

    snapshot: Snapshot
    stale: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # accounts backing off after a network error -> epoch ms of their next attempt
    retry_at: Mapping[str, int] = field(default_factory=dict)

    @property
    def any_stale(self) -> bool:
        return any(self.stale.values())


class VenueSet:
    """Every account of a Config, refreshed concurrently into one Snapshot."""

    def __init__(self, config: Config, venues: Iterable[Venue], *, clock: Clock = wall_ms) -> None:
        self.config = config
        self.venues = {v.name: v for v in venues}
        self.clock = clock

    @classmethod
    def from_config(
        cls,
        config: Config,
        credentials: Mapping[str, Mapping[str, str] | None],
        *,
        emulator_url: str | None = None,
        live_allowed: bool = False,
        clock: Clock = wall_ms,
        backoff: Backoff = Backoff(),
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        rate_limit: bool | None = None,  # None: make_exchange's choice (off toward loopback only)
    ) -> VenueSet:
        # a failure half-way leaves nothing to close: ccxt opens its HTTP session on the first request
        venues = [
            Venue(config, acct, make_exchange(acct, credentials.get(acct.name), emulator_url=emulator_url,
                                              live_allowed=live_allowed, timeout_ms=timeout_ms,
                                              rate_limit=rate_limit),
                  clock=clock, backoff=backoff)
            for acct in config.accounts
        ]
        return cls(config, venues, clock=clock)

    def current(self) -> Snapshot:
        return Snapshot(timestamp=self.clock(), accounts={n: v.state for n, v in self.venues.items()})

    def update(self) -> VenueUpdate:
        snap = self.current()
        max_age = self.config.limits.max_data_age_s
        stale = {n: stale_parts(v.state, v.account, snap.timestamp, max_age) for n, v in self.venues.items()}
        retry = {n: v.next_attempt_ms for n, v in self.venues.items() if v.failures}
        return VenueUpdate(snap, stale, retry)

    async def refresh(self, names: Iterable[str] | None = None) -> Snapshot:
        """Refresh the named venues (default all) concurrently; return the whole Snapshot."""
        chosen = [self.venues[n] for n in names] if names is not None else list(self.venues.values())
        results = await asyncio.gather(*(v.refresh() for v in chosen), return_exceptions=True)
        for v, r in zip(chosen, results, strict=True):
            if isinstance(r, asyncio.CancelledError):
                raise r
            if isinstance(r, BaseException):  # a bug, not a venue failure: show it, keep the others
                v.state = replace(v.state, error=f"refresh: {describe_error(r)}")
        return self.current()

    async def snapshot(self, retries: int = 2) -> Snapshot:
        """One Snapshot for the CLI: accounts that hit network errors are retried after
        their backoff, at most ``retries`` times."""
        await self.refresh()
        for _ in range(retries):
            failing = [v for v in self.venues.values() if v.failures]
            if not failing:
                break
            await asyncio.sleep(max(0.0, min(v.next_attempt_ms for v in failing) - self.clock()) / 1000)
            await self.refresh([v.name for v in failing])
        return self.current()

    async def updates(self, interval_s: float, *, hold_streams: bool = False) -> AsyncIterator[VenueUpdate]:
        """Yield a VenueUpdate now and after every later refresh, for a Textual worker.

        Each venue is refreshed every ``interval_s``, or, after a network error, when its
        backoff ends; the loop sleeps until the next venue is due. Needs a clock that runs
        with real time (the default). Stop it with ``aclose()`` or by cancelling the task.
        The first snapshot is read over REST alone; the websockets start as it is handed over,
        or, with ``hold_streams``, when the caller says (``start_streams``: the console, once
        that snapshot's figures are painted); until then every refresh is REST alone.
        """
        for v in self.venues.values():
            v.streams_held = True
        await self.refresh()
        first = self.update()
        if not hold_streams:
            self.start_streams()  # the first figures are read: now the websockets
        yield first
        while True:
            now = self.clock()
            due_at = {n: self._due_ms(v, interval_s) for n, v in self.venues.items()}
            wake = min(due_at.values(), default=now + int(interval_s * 1000))
            streamed = await self._wait_for_stream(max(0.0, wake - now) / 1000)
            now = self.clock()
            due = {n for n, t in due_at.items() if t <= now}
            # a streamed fill or account change: re-read that account now, not at its next poll
            due |= {n for n in streamed if not self.venues[n].failures}
            await self.refresh(sorted(due))
            yield self.update()

    def start_streams(self) -> None:
        """Start every streaming venue's websockets held back for the first snapshot (on the
        loop the venues run on)."""
        for v in self.venues.values():
            v.start_streams()

    async def _wait_for_stream(self, timeout_s: float) -> set[str]:
        """Sleep ``timeout_s`` or until a venue's user data stream speaks; the venues that did."""
        waits = [asyncio.ensure_future(v.user_event.wait()) for v in self.venues.values()]
        if not waits:
            await asyncio.sleep(timeout_s)
            return set()
        try:
            await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return {n for n, v in self.venues.items() if v.user_event.is_set()}

    @staticmethod
    def _due_ms(v: Venue, interval_s: float) -> int:
        if v.failures:
            return v.next_attempt_ms
        last = v.last_attempt_ms if v.last_attempt_ms is not None else 0
        return last + int(interval_s * 1000)

    async def order_book(self, account: str, symbol: str, limit: int | None = None) -> dict[str, Any]:
        if account not in self.venues:
            raise VenueError(f"no account {account!r}; the accounts are {sorted(self.venues)}")
        return await self.venues[account].order_book(symbol, limit)

    async def close(self) -> None:
        await asyncio.gather(*(v.close() for v in self.venues.values()), return_exceptions=True)

    async def __aenter__(self) -> VenueSet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
