"""The composition root: the one place that builds what the console talks to.

The CLI (``rebal-tui``), the Pilot test rig and the screenshot script all build their services
here, so the console under test is wired exactly as the one a trader runs: the demo emulator
(when an account is demo), the venues, the journal and the executor, each on a ``ServiceLoop``
of its own so that no keypress waits on the network, the journal or the maths.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from console.core.clock import Clock, wall_ms
from console.core.mode import Mode
from console.venues.books import BookSource

# the console's first frame comes before the config models (pydantic) are imported: types only
if TYPE_CHECKING:
    from console.core.allocation import Allocation
    from console.core.config import Config
    from console.core.pnl import PnlReport
    from console.execution.executor import ExecPolicy, Executor
    from console.execution.journal import Journal
    from console.execution.pnl_store import PnlStore
    from console.execution.store import ChangeListener
    from console.venues.demo import DemoSession
    from console.venues.venue import VenueSet

T = TypeVar("T")

POLL_S = 2.0  # venue refresh interval; the emulator is local, real venues rate-limit themselves
# How long a thread holds the interpreter lock while another waits for it (Python's default:
# 5 ms). The service loop gives the lock up at every journal statement and socket call; with
# the UI thread busy repainting (as the confirmation closes), each of those came back after
# up to 5 ms, several times between `y` and the first order byte. 1 ms: bench_wire's median
# and p99 fell to about a third (tests/bench/bench_wire.py, README "Tests and benchmarks").
SWITCH_INTERVAL_S = 0.001
# How long the UI thread holds still after `y` while the send goes out (``Services.hold_for``).
# The send is a few ms of interpreter work on the service loop (the checks, the journal
# commit, ccxt signing, the socket write); the UI's repaint as the modal closes is 5-25 ms of
# it, and sharing the lock with it took the send's p99 past 20 ms (bench_wire). The cap
# bounds the wait when the send is slow (a remote journal, a venue's rate limit): the
# repaint goes ahead then, as before; a human does not see 50 ms.
WIRE_HOLD_S = 0.05


class ServiceLoop:
    """A second asyncio loop on its own thread for everything that talks to venues: ccxt
    requests and their JSON parsing, the executor and its journal writes, the demo emulator.
    The UI's loop only awaits the results, so a keypress never waits behind them."""

    def __init__(self) -> None:
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="rebal-services", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Block the calling (non-loop) thread until ``coro`` is done: start-up and shut-down."""
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@dataclass
class Services:
    """What the console talks to beyond its feed. Every part is optional: a Pilot test that
    injects snapshots has none, one that sends orders has them all."""

    venues: VenueSet | None = None
    journal: Journal | None = None
    executor: Executor | None = None
    loop: ServiceLoop | None = None  # where venues/executor run; None = the UI's own loop (tests)
    credentials: Mapping[str, Any] | None = None  # per account, for preflight; never logged
    emulator_url: str | None = None  # the demo emulator's base URL, when one runs
    demo_session: DemoSession | None = None  # an emulator started inside this process
    journal_path: Path | None = None
    listener: ChangeListener | None = None  # other consoles' journal writes, and the journal's health
    pnl: PnlStore | None = None  # the overlay's trades, funding and the NAV / P&L history
    pnl_venues: VenueSet | None = None  # the same accounts on exchange objects the P&L reads alone use
    # makes ``pnl_venues`` on the service loop at the first P&L read: after the first figures,
    # not before the feed's first snapshot (four more ccxt exchange objects at start-up)
    make_pnl_venues: Callable[[], VenueSet] | None = None
    books: BookSource = field(init=False)

    def __post_init__(self) -> None:
        self.books = BookSource(lambda: self.venues, self.call)

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the service loop (or here, when there is none)."""
        return await self.start(coro)

    def start(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Start ``coro`` on the service loop now, from the calling loop's thread, without
        waiting for it (a send the moment `y` is taken); await the returned future for its
        result. With no service loop it runs as a task of the calling loop."""
        if self.loop is None:
            return asyncio.ensure_future(coro)
        return asyncio.wrap_future(self.loop.submit(coro))

    def hold_for(self, done: threading.Event) -> bool:
        """Block the calling (UI) thread until the service loop sets ``done``, at most
        ``WIRE_HOLD_S``: the order goes out before the screen repaints, not in turns with it.
        Returns whether ``done`` was set. With no service loop the work runs on the caller's
        own loop, which waiting would only stall: then it returns at once."""
        if self.loop is None:
            return done.is_set()
        return done.wait(WIRE_HOLD_S)

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the service loop (or now, when there is none): what belongs to that
        loop (an asyncio.Event of the executor's, say) is only touched from its own thread."""
        if self.loop is None:
            fn()
        else:
            self.loop.loop.call_soon_threadsafe(fn)


Feed = Callable[[], AsyncIterator[Any]]


def _credentials(config: Config, demo_creds: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    from console.venues import keys

    out: dict[str, Any] = {}
    for a in config.accounts:
        if Mode(a.mode) is Mode.DEMO:
            out[a.name] = demo_creds.get(a.name)
        else:
            # keep the Credentials object: a dict for ccxt, whose repr masks the values
            out[a.name] = keys.load_credentials(a.name, prompt=keys.cli_prompt())
    return out


def connect(config: Config, services: Services, *, live: bool = False, seed: int | None = None,
            journal_path: Path | str | None = None, emulator_url: str | None = None,
            clock: Clock | None = None) -> Feed:
    """Fill ``services`` for ``config`` on its ServiceLoop: the emulator if an account is demo
    (or ``emulator_url``, one already running), venues and journal; returns the feed. The
    caller stops them with ``close``. The journal: ``journal_path`` (a file or a PostgreSQL
    URL, from ``--journal``), else the config's ``[journal] url``, else a file."""
    from console.execution.journal import Journal
    from console.venues.demo import (
        DEMO_SEED,
        demo_credentials,
        needs_emulator,
        start_emulator_in_loop,
    )
    from console.venues.venue import VenueSet

    loop = services.loop
    assert loop is not None, "services need a ServiceLoop to connect"
    demo_creds: Mapping[str, Mapping[str, str]] = {}
    if emulator_url is not None:
        demo_creds = demo_credentials(config)
    elif needs_emulator(config):
        # the emulator's clock starts now, so its timestamps and the console's clock agree
        session = loop.run(start_emulator_in_loop(config, seed=DEMO_SEED if seed is None else seed,
                                                  start_ms=wall_ms()), timeout=30)
        services.demo_session = session
        emulator_url, demo_creds = session.url, session.credentials
    creds = _credentials(config, demo_creds)
    services.credentials = creds
    services.emulator_url = emulator_url
    extra: dict[str, Any] = {} if clock is None else {"clock": clock}

    def build() -> VenueSet:
        return VenueSet.from_config(config, creds, emulator_url=emulator_url, live_allowed=live, **extra)

    async def make() -> VenueSet:  # ccxt objects are born on the loop that will use them
        return build()

    venues = loop.run(make(), timeout=30)
    services.venues = venues
    if journal_path is None:
        journal_path = config.journal.url
    # the P&L's reads on exchange objects of their own: ccxt throttles each object by the
    # venue's request weights, and an order must never queue behind a weight-30 income read.
    # Made by the first P&L read (on the service loop), which comes after the first figures.
    services.make_pnl_venues = build
    if journal_path is None and services.demo_session is not None:
        # each demo starts a fresh emulator: its orders belong in a fresh journal
        journal_path = Path(tempfile.mkdtemp(prefix="rebal-demo-")) / "journal.sqlite3"
    # a desk's journal server being down at start-up is no reason not to start: the header
    # says so and nothing is sent until it answers
    services.journal = Journal.open(journal_path, allow_offline=True)
    services.journal_path = services.journal.path
    from console.execution.pnl_store import PnlStore, default_pnl_path

    services.pnl = PnlStore.open(default_pnl_path(services.journal_path))

    def feed() -> AsyncIterator[Any]:
        # the console starts the websockets once the first figures are painted (RebalApp):
        # their handshakes and first frames would otherwise share the CPU with that paint
        return venues.updates(POLL_S, hold_streams=True)

    return feed


def attach_executor(services: Services, config: Config, on_event: Callable[[Any], None], *,
                    policy: ExecPolicy | None = None, clock: Clock | None = None) -> Executor:
    """The executor reports to the app (``on_event``), so it is made once the app exists."""
    from console.execution.executor import Executor
    from console.venues.venue import Feed, feed_for

    venues, loop = services.venues, services.loop
    assert venues is not None and loop is not None and services.journal is not None
    journal = services.journal
    extra: dict[str, Any] = {}
    if policy is not None:
        extra["policy"] = policy
    if clock is not None:
        extra["clock"] = clock

    async def make() -> Executor:
        # the send-time checks read the latest snapshot the feed (streams, then polls) keeps,
        # with no REST round trip between `y` and the send; its age is checked (data_age_guard)
        return Executor(journal, {n: v.exchange for n, v in venues.venues.items()}, config,
                        snapshot_provider=venues.current, on_event=on_event, **extra)

    executor = services.executor = loop.run(make(), timeout=30)
    # fills as they happen: each streaming venue hands its order updates to the executor
    for name, venue in venues.venues.items():
        if feed_for(venue.account) is Feed.WATCH:
            venue.on_order_update(lambda o, n=name: executor.on_streamed_order(n, o))
            executor.attach_order_stream(name, lambda v=venue: v.streams_orders)
    return executor


def watch_journal(services: Services, on_change: Callable[[], None], on_health: Callable[[bool, str], None],
                  *, poll_s: float = 1.0) -> ChangeListener:
    """Call ``on_change`` when another console writes to the journal (LISTEN/NOTIFY on a
    PostgreSQL journal, a poll as the fallback) and ``on_health`` when the journal's database
    becomes unreachable or answers again. Both run on the listener's thread."""
    from console.execution.store import ChangeListener

    journal = services.journal
    assert journal is not None
    services.listener = ChangeListener(journal.url, journal.origin.label, on_change, on_health,
                                       latest=journal.latest_event, poll_s=poll_s).start()
    return services.listener


def close(services: Services) -> None:
    """Stop what ``connect`` started: venues, the demo emulator, the journal, the loop."""
    loop = services.loop
    if loop is None:
        return
    try:
        if services.executor is not None:  # its watchers stop before the exchanges close under them
            loop.run(services.executor.stop_watching(), timeout=10)
        if services.venues is not None:
            loop.run(services.venues.close(), timeout=10)
        if services.pnl_venues is not None:
            loop.run(services.pnl_venues.close(), timeout=10)
        if services.demo_session is not None:
            loop.run(services.demo_session.close(), timeout=10)
    except Exception:  # noqa: BLE001 - shutting down: report nothing the user can act on
        pass
    finally:
        if services.listener is not None:
            services.listener.stop()
        if services.journal is not None:
            services.journal.close()
        if services.pnl is not None:
            services.pnl.close()
        loop.stop()


# --------------------------------------------------------------------------- overlay P&L

PNL_HISTORY_MS = 7 * 24 * 3600 * 1000  # a new store starts this far back: what Binance serves at once
PNL_OVERLAP_MS = 60_000  # refetch the last minute: a fill stamped just before a fetch may show up after it
# funding is paid every 1-8 h, and Binance weighs its income endpoint at 30 (a trades read at 5):
# read it (once per account, every contract at once) at most this often, unless asked (ctrl+r)
FUNDING_EVERY_MS = 5 * 60_000


async def sync_pnl(services: Services, config: Config, alloc: Allocation, now_ms: int, *,
                   force: bool = False) -> PnlReport:
    """Bring the P&L store up to ``now_ms`` for every open position of ``alloc`` (trades,
    funding, the prices at period starts), sample the history, and return the report.
    Runs on the service loop (ccxt's loop); a venue failure becomes a note, and the figures
    stand on what the store already holds."""
    from console.core.pnl import build_report, open_lines, position_since, sleeve_starts
    from console.venues.pnl_source import fetch_fills, fetch_funding, minute_open
    from console.venues.venue import VenueError

    store, venues = services.pnl, services.venues
    assert store is not None and venues is not None
    if services.pnl_venues is None and services.make_pnl_venues is not None:
        services.pnl_venues = services.make_pnl_venues()  # on this (the service) loop, as ccxt needs
    readers = services.pnl_venues or venues
    start = store.history_start(now_ms - PNL_HISTORY_MS)
    notes: list[str] = [store.reset_note] if store.reset_note else []
    lines = open_lines(alloc)

    async def read(coro: Any) -> Any:
        try:
            rows, errors = await coro
        except VenueError as exc:
            notes.append(str(exc))
            return None
        notes.extend(errors)
        return rows

    for line in lines:
        venue = readers.venues.get(line.account)
        if venue is None:
            continue
        since = max(start, (store.cursor(line.account, line.symbol, "fills") or start) - PNL_OVERLAP_MS)
        fresh = await read(fetch_fills(venue, line.symbol, since, now_ms))
        if fresh is not None:
            store.add_fills(line.account, line.symbol, fresh, now_ms)
    # funding: one read per account for every contract (a dated future pays none)
    for account in dict.fromkeys(p.account for p in lines if not p.dated):
        venue = readers.venues.get(account)
        cursor = store.cursor(account, "*", "funding")
        if venue is None or (cursor is not None and not force and now_ms - cursor < FUNDING_EVERY_MS):
            continue
        since = max(start, (cursor or start) - PNL_OVERLAP_MS)
        paid = await read(fetch_funding(venue, since, now_ms))
        if paid is not None:
            store.add_funding(account, paid, now_ms)
    fills = {(p.account, p.symbol): store.fills(p.account, p.symbol) for p in lines}
    funding = {(p.account, p.symbol): store.funding(p.account, p.symbol) for p in lines}

    async def price_at(account: str, symbol: str, ts: int, mark: bool = False) -> float | None:
        held = store.start_price(account, symbol, ts)
        if held is not None:
            return held
        venue = readers.venues.get(account)
        if venue is None:
            return None
        try:
            px = await minute_open(venue, symbol, ts, mark=mark)
        except VenueError as exc:
            notes.append(str(exc))
            return None
        store.set_start_price(account, symbol, ts, px)
        return px

    marks: dict[tuple[str, str], float] = {}
    for p in lines:
        if position_since(p, fills[(p.account, p.symbol)], start) is None:
            px = await price_at(p.account, p.symbol, start, mark=True)
            if px is not None:
                marks[(p.account, p.symbol)] = px
    # each sleeve's spot start price, from an account that lists ASSET/QUOTE spot
    start_prices: dict[tuple[str, int], float] = {}
    for sleeve, since in sleeve_starts(lines, fills, start).items():
        try:
            assets = [a.asset for a in alloc.row(sleeve).assets if a.spot_qty]
        except KeyError:
            continue
        for asset in assets:
            symbol = f"{asset}/{alloc.quote}"
            account = next((n for n, v in venues.venues.items() if symbol in (v.exchange.markets or {})
                            and (v.exchange.markets or {})[symbol].get("spot")), None)
            if account is None:
                continue
            px = await price_at(account, symbol, since)
            if px is not None:
                start_prices[(asset, since)] = px
    report = build_report(alloc, fills, funding, start, marks, start_prices, now_ms, notes)
    store.add_sample(now_ms, alloc.nav, report.totals)
    return report
