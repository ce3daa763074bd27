"""The ccxt venue layer against the loopback emulator: ccxt's own binance classes, no mocks."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest

from console.core.allocation import compute_allocation
from console.core.config import Account, Config, Mode
from console.core.errors import UserError
from console.core.freshness import stale_parts
from console.core.snapshot import AccountState
from console.emulator.testing import EmulatorHandle
from console.venues.venue import (
    Backoff,
    Feed,
    VenueError,
    VenueSet,
    feed_for,
    make_exchange,
    normalize_contract_balance,
)
from tests.venue.conftest import TEST_BACKOFF, ManualClock

JSONISH = (str, int, float, bool, type(None), list, tuple, dict)


def _plain_attrs(ex: Any) -> dict[str, Any]:
    # per-instance machinery (sessions, throttler, locks, caches) is not configuration
    return {k: v for k, v in vars(ex).items() if isinstance(v, JSONISH)}


# ------------------------------------------------------------------------------ make_exchange


def _flat_urls(urls: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in urls.items():
        if isinstance(v, dict):
            out.update(_flat_urls(v, f"{prefix}{k}."))
        elif isinstance(v, str):
            out[prefix + k] = v
    return out


def test_demo_exchange_differs_from_pristine_only_in_api_urls_and_options(cfg: Config) -> None:
    import ccxt.pro as ccxt_pro

    url = "http://127.0.0.1:9"
    creds = {"apiKey": "k", "secret": "s"}
    for acct in cfg.accounts:
        ex = make_exchange(acct, creds, emulator_url=url)
        # demo streams from the emulator, COIN-M included (its /dstream market and user streams)
        assert feed_for(acct) is Feed.WATCH
        cls = getattr(ccxt_pro, acct.exchange)
        assert type(ex) is cls
        pristine = cls({**creds, "enableRateLimit": True, "timeout": 10_000})
        twin = cls({**creds, "enableRateLimit": True, "timeout": 10_000})
        mine, theirs, twins = _plain_attrs(ex), _plain_attrs(pristine), _plain_attrs(twin)
        assert set(mine) == set(theirs) | {"ssl_context"}  # ccxt's default is on the class
        per_instance = {k for k in theirs if theirs[k] != twins[k]}  # e.g. a random 'origin'
        changed = {k for k in mine if mine[k] != theirs.get(k)} - per_instance
        # and no throttle toward the loopback emulator: it only idled before each request
        assert changed <= {"urls", "options", "enableRateLimit", "ssl_context"}, changed
        assert ex.enableRateLimit is False
        assert ex.ssl_context is False  # plain HTTP to 127.0.0.1: no certificate store to load
        assert {k for k in ex.urls if ex.urls[k] != pristine.urls[k]} == {"api"}
        # every API entry goes to the emulator, paths kept: nothing can leave the host, not
        # even a websocket (its host's first label becomes a path prefix)
        theirs_urls = _flat_urls(pristine.urls["api"])
        mine_urls = _flat_urls(ex.urls["api"])
        assert set(mine_urls) == set(theirs_urls)
        for key, value in mine_urls.items():
            original = urlsplit(theirs_urls[key])
            if original.scheme in ("ws", "wss"):
                label = original.hostname.split(".")[0]  # type: ignore[union-attr]
                assert value == f"ws://127.0.0.1:9/{label}{original.path}", key
            else:
                assert value == url + original.path, key
        assert ex.options["maxRetriesOnFailure"] == 0
        assert ex.options["fetchCurrencies"] is False
        types = ex.options["fetchMarkets"]["types"]
        if acct.exchange == "bybit":  # Bybit's v5 dialect: one host for REST, /v5 paths
            assert ex.urls["api"]["public"] == url and types == ["spot", "linear"]
            continue
        assert ex.urls["api"]["public"] == url + "/api/v3"
        assert ex.urls["api"]["fapiPrivateV2"] == url + "/fapi/v2"
        assert types == {"spot": ["spot"], "futures": ["linear"], "coinm": ["inverse"]}[acct.name]


def test_real_venues_keep_ccxt_rate_limiter_and_tls_checks(cfg: Config) -> None:
    for acct in cfg.accounts:
        on_paper = Account(name=acct.name, exchange=acct.exchange, mode=Mode.PAPER, markets=acct.markets)
        paper = make_exchange(on_paper, {"apiKey": "k", "secret": "s"})
        assert paper.enableRateLimit is True, acct.name  # a venue on the internet counts our weight
        assert paper.ssl_context is None, acct.name  # ccxt's default: a verified TLS context on open
        forced = make_exchange(acct, None, emulator_url="http://127.0.0.1:9", rate_limit=True)
        assert forced.enableRateLimit is True  # an explicit choice wins


def test_make_exchange_refuses_demo_without_emulator_and_unknown_exchange(cfg: Config) -> None:
    with pytest.raises(UserError, match="emulator"):
        make_exchange(cfg.account("spot"), None)
    bogus = Account(name="x", exchange="nosuchexchange", mode=Mode.DEMO)
    with pytest.raises(UserError, match="ccxt has no exchange 'nosuchexchange'"):
        make_exchange(bogus, None, emulator_url="http://127.0.0.1:9")


def test_feed_table_streams_demo_and_live_polls_paper() -> None:
    assert feed_for(Account(name="a", exchange="binance", mode=Mode.DEMO)).value == "watch"  # the emulator streams
    assert feed_for(Account(name="a", exchange="binance", mode=Mode.PAPER)).value == "rest"
    assert feed_for(Account(name="a", exchange="binance", mode=Mode.LIVE)).value == "watch"
    assert feed_for(Account(name="a", exchange="kraken", mode=Mode.LIVE)).value == "rest"


# ------------------------------------------------------------------------------------ refresh


async def test_refresh_reads_the_demo_book(venues: VenueSet, clock: ManualClock) -> None:
    snap = await venues.refresh()
    spot, fut = snap.account("spot"), snap.account("futures")
    assert spot.error is None and fut.error is None
    assert snap.timestamp == clock.now_ms

    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "AVAX/USDT"} <= set(spot.markets)
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USDT:USDT-261225", "ETH/USDT:USDT-261225"} <= set(fut.markets)
    assert spot.total_balance() == {"BTC": 4.2, "ETH": 60.0, "SOL": 700.0, "AVAX": 2130.0,
                                    "USDT": 42000.0, "USDC": 30000.0}

    pos = {p["symbol"]: p for p in fut.open_positions()}
    assert set(pos) == {"BTC/USDT:USDT", "ETH/USDT:USDT-261225"}
    assert pos["BTC/USDT:USDT"]["side"] == "short" and pos["BTC/USDT:USDT"]["contracts"] == pytest.approx(0.68)
    assert pos["ETH/USDT:USDT-261225"]["side"] == "long" and pos["ETH/USDT:USDT-261225"]["contracts"] == pytest.approx(19)

    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "AVAX/USDT", "USDC/USDT"} <= set(spot.tickers)
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT-261225"} <= set(fut.tickers)
    assert all(t["last"] > 0 for t in [*spot.tickers.values(), *fut.tickers.values()])
    fr = fut.funding_rates["BTC/USDT:USDT"]
    assert isinstance(fr["fundingRate"], float) and fr["markPrice"] > 0 and fr["fundingTimestamp"]

    # every part stamped with the venue layer's clock; spot has no positions or funding
    assert set(spot.fetched_at) == {"markets", "balance", "tickers"}
    assert set(fut.fetched_at) == {"markets", "balance", "positions", "tickers", "funding_rates"}
    assert set(spot.fetched_at.values()) == set(fut.fetched_at.values()) == {clock.now_ms}


async def test_contract_total_is_the_wallet_so_nav_counts_upnl_once(
        venues: VenueSet, cfg: Config, emulator: EmulatorHandle) -> None:
    snap = await venues.refresh()
    emu = emulator.emulator
    acct = emu.accounts["default"]
    margin = emu.margin(acct).summary()  # the emulator's own books
    fut = snap.account("futures")
    assert fut.total_balance() == {"USDT": pytest.approx(margin["wallet"])}
    raw = {a["asset"]: a for a in fut.balance["info"]["assets"]}
    assert float(raw["USDT"]["marginBalance"]) == pytest.approx(margin["wallet"] + margin["upnl"])
    assert margin["upnl"] > 1_000  # large enough that counting it twice would show

    # the demo's Bybit account: one unified wallet (spot coins + contract ledger) and its uPnL
    bybit = emu.accounts["bybit"]
    bybit_margin = emu.margin(bybit).summary()
    bybit_wallet = bybit.spot["USDT"][0] + bybit_margin["wallet"]
    assert snap.account("bybit").total_balance() == {"USDT": pytest.approx(bybit_wallet)}
    # COIN-M counts the same way, in its coin: the wallet is spot BTC, its uPnL once
    from console.emulator.coinm import summary

    coin = summary(emu, acct, "BTC")
    assert snap.account("coinm").total_balance() == {"BTC": pytest.approx(float(coin["wallet"]))}

    alloc = compute_allocation(cfg, snap)
    p_btc = alloc.prices["BTC"]
    assert alloc.upnl == pytest.approx(margin["upnl"] + bybit_margin["upnl"] + float(coin["upnl"]) * p_btc, rel=1e-9)
    spot_value = sum(q * alloc.prices[a] for a, (q, _locked) in acct.spot.items())
    manual = sum(h.quantity * alloc.prices[h.asset] for h in cfg.manual)
    coinm = (float(coin["wallet"]) + float(coin["upnl"])) * p_btc
    assert alloc.nav == pytest.approx(spot_value + manual + margin["wallet"] + margin["upnl"]
                                      + bybit_wallet + bybit_margin["upnl"] + coinm, rel=1e-12)


async def test_one_account_trading_spot_and_contracts_sums_both_wallets(
        venues: VenueSet, emulator: EmulatorHandle, cfg: Config, clock: ManualClock) -> None:
    """binance (the spot class) with markets spot + swap + future: one account, both wallets."""
    from console.venues.demo import demo_credentials

    both = Account(name="both", exchange="binance", markets=("spot", "swap", "future"))
    one = cfg.model_copy(update={"accounts": (both,)})
    creds = {"both": demo_credentials(cfg)["spot"]}
    async with VenueSet.from_config(one, creds, emulator_url=emulator.url, clock=clock,
                                    rate_limit=False) as single:
        merged = await single.refresh()
    st = merged.account("both")
    assert st.error is None
    assert st.total_balance()["USDT"] == pytest.approx(42_000 + 60_000)  # spot + futures wallet
    assert {p["symbol"] for p in st.open_positions()} == {"BTC/USDT:USDT", "ETH/USDT:USDT-261225"}
    assert {"BTC/USDT", "BTC/USDT:USDT"} <= set(st.tickers) and "BTC/USDT:USDT" in st.funding_rates
    # the same book as the two Binance accounts spot and futures (Bybit and COIN-M aside)
    keep = ("spot", "futures")
    binance = cfg.model_copy(update={"accounts": [a for a in cfg.accounts if a.name in keep]})
    snap = await venues.refresh()
    two = compute_allocation(binance, replace(snap, accounts={n: a for n, a in snap.accounts.items() if n in keep}))
    assert compute_allocation(one, merged).nav == pytest.approx(two.nav, rel=1e-12)


def test_normalize_contract_balance_writes_wallet_into_total() -> None:
    bal = {"info": {"assets": [{"asset": "USDT", "walletBalance": "100", "marginBalance": "130"},
                               {"asset": "BNB", "walletBalance": "0", "marginBalance": "0"}]},
           "USDT": {"free": 90.0, "used": 10.0, "total": 130.0}, "total": {"USDT": 130.0}}
    out = normalize_contract_balance(bal)
    assert out["total"] == {"USDT": 100.0} and out["USDT"]["total"] == 100.0
    assert bal["total"] == {"USDT": 130.0}  # the input is left alone


async def test_parts_go_stale_past_the_configured_age(venues: VenueSet, clock: ManualClock, cfg: Config) -> None:
    await venues.refresh()
    max_age = cfg.limits.max_data_age_s
    assert not venues.update().any_stale
    clock.advance(max_age)
    assert not venues.update().any_stale  # on the limit is still fresh
    clock.advance(0.001)
    upd = venues.update()
    assert upd.stale == {"spot": ("balance", "tickers"),
                         "futures": ("balance", "positions", "tickers", "funding_rates"),
                         "bybit": ("balance", "positions", "tickers", "funding_rates"),
                         "coinm": ("balance", "positions", "tickers", "funding_rates")}
    assert venues.venues["futures"].is_stale(clock(), max_age)
    # a part-only refresh freshens that part alone
    await venues.venues["spot"].refresh(["tickers"])
    assert venues.update().stale["spot"] == ("balance",)


def test_never_fetched_account_is_stale_everywhere(cfg: Config) -> None:
    empty = AccountState(name="spot", exchange="binance")
    assert stale_parts(empty, cfg.account("spot"), 0, 30) == ("markets", "balance", "tickers")


# -------------------------------------------------------------------------- faults, backoff


async def test_5xx_is_recorded_on_its_part_and_the_next_refresh_recovers(
        venues: VenueSet, emulator: EmulatorHandle, clock: ManualClock) -> None:
    spot = venues.venues["spot"]
    first = await spot.refresh()
    t0 = first.fetched_at["balance"]
    emulator.emulator.set_fault("/api/v3/account", "5xx", count=1)
    clock.advance(5)
    st = await spot.refresh()
    assert st.error is not None and st.error.startswith("balance: ExchangeNotAvailable")
    assert "\n" not in st.error and "Traceback" not in st.error and "signature=" not in st.error
    assert st.fetched_at["balance"] == t0 and st.balance == first.balance  # the last good copy, ageing
    assert st.fetched_at["tickers"] == clock()  # the other parts still arrived
    assert spot.failures == 1 and not spot.ready(clock()) and spot.backoff_s() == pytest.approx(0.05)
    assert venues.update().retry_at == {"spot": clock() + 50}
    clock.advance(0.05)
    assert spot.ready(clock())
    st = await spot.refresh()
    assert st.error is None and st.fetched_at["balance"] == clock() and spot.failures == 0


async def test_a_coin_m_account_whose_markets_never_load_reports_the_venue_down(
        venues: VenueSet, emulator: EmulatorHandle) -> None:
    # the first refresh of a COIN-M account (whose risk the console computes) with the venue down:
    # the account says what failed, not "UnboundLocalError: ... 'positions'"
    coinm = venues.venues["coinm"]
    emulator.emulator.set_fault("/dapi/v1/exchangeInfo", "5xx", count=10)
    st = await coinm.refresh()
    assert st.error is not None and st.error.startswith("markets: ExchangeNotAvailable"), st.error
    assert "UnboundLocalError" not in st.error and st.positions == () and st.leverage_tiers == {}


async def test_dropped_connection_reconnects_and_keeps_the_last_positions(
        venues: VenueSet, emulator: EmulatorHandle, clock: ManualClock) -> None:
    fut = venues.venues["futures"]
    good = await fut.refresh()
    session = fut.exchange.session
    # two drops: aiohttp itself retries an idempotent request once on a reused connection
    emulator.emulator.set_fault("/fapi/v2/positionRisk", "drop", count=2)
    clock.advance(1)
    st = await fut.refresh()
    assert st.error is not None and st.error.startswith("positions: ExchangeNotAvailable")
    assert "ServerDisconnectedError" in st.error
    assert st.positions == good.positions and st.fetched_at["positions"] == good.fetched_at["positions"]
    clock.advance(fut.backoff_s())
    st = await fut.refresh()
    assert st.error is None and st.fetched_at["positions"] == clock()
    assert fut.exchange.session is not session  # a fresh HTTP session after the network error


async def test_backoff_doubles_up_to_its_cap_while_the_venue_is_down(
        venues: VenueSet, emulator: EmulatorHandle, clock: ManualClock) -> None:
    spot = venues.venues["spot"]
    await spot.refresh()
    emulator.emulator.set_fault("*", "5xx")  # every request, until cleared
    delays = []
    for _ in range(4):
        clock.now_ms = max(clock(), spot.next_attempt_ms)
        st = await spot.refresh()
        assert st.error is not None and "balance:" in st.error and "tickers:" in st.error
        delays.append(spot.next_attempt_ms - clock())
    assert delays == [50, 100, 200, 200]
    emulator.emulator.clear_faults()
    clock.now_ms = spot.next_attempt_ms
    assert (await spot.refresh()).error is None and spot.backoff_s() == 0


async def test_rate_limit_replies_keep_the_venue_away_as_long_as_it_asks(
        venues: VenueSet, emulator: EmulatorHandle, clock: ManualClock) -> None:
    spot = venues.venues["spot"]
    await spot.refresh()
    emulator.emulator.set_fault("/api/v3/account", "418", count=1)  # "banned", Retry-After: 120
    st = await spot.refresh()
    assert st.error is not None and st.error.startswith("balance: DDoSProtection")
    assert spot.next_attempt_ms - clock() == 120_000  # the venue's word, past the 0.2 s cap
    clock.now_ms = spot.next_attempt_ms
    emulator.emulator.set_fault("/api/v3/account", "429", count=1)  # Retry-After: 1
    await spot.refresh()
    assert spot.next_attempt_ms - clock() == 1_000


async def test_timeout_is_a_network_error(emulator: EmulatorHandle, cfg: Config) -> None:
    from console.venues.demo import demo_credentials

    vs = VenueSet.from_config(cfg, demo_credentials(cfg), emulator_url=emulator.url, backoff=TEST_BACKOFF,
                              timeout_ms=200, rate_limit=False)
    async with vs:
        emulator.emulator.set_fault("/api/v3/ticker/24hr", "latency", count=1, latency_s=0.6)
        st = await vs.venues["spot"].refresh()
        assert st.error is not None and st.error.startswith("tickers: RequestTimeout")
        assert vs.venues["spot"].failures == 1


async def test_snapshot_retries_failed_accounts_after_backoff(emulator: EmulatorHandle, cfg: Config) -> None:
    from console.venues.demo import demo_credentials

    async with VenueSet.from_config(cfg, demo_credentials(cfg), emulator_url=emulator.url,
                                    backoff=TEST_BACKOFF, rate_limit=False) as vs:
        emulator.emulator.set_fault("/fapi/v3/account", "5xx", count=2)
        snap = await vs.snapshot(retries=2)
        assert snap.account("futures").error is None
        assert snap.account("futures").total_balance()["USDT"] > 0


async def test_a_bug_in_one_account_does_not_stop_the_others(
        venues: VenueSet, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> set[str]:
        raise KeyError("boom")

    monkeypatch.setattr(venues.venues["spot"], "_relevant_symbols", broken)
    snap = await venues.refresh()
    assert snap.account("spot").error == "refresh: KeyError: 'boom'"
    assert snap.account("futures").error is None and snap.account("futures").positions


def test_backoff_schedule() -> None:
    b = Backoff(base_s=1, cap_s=8)
    assert [b.delay_s(n) for n in range(7)] == [0, 1, 2, 4, 8, 8, 8]


# --------------------------------------------------------------------------------- order book


async def test_order_book_on_demand(venues: VenueSet, emulator: EmulatorHandle, clock: ManualClock) -> None:
    book = await venues.order_book("spot", "BTC/USDT", 5)
    assert 0 < len(book["bids"]) <= 5 and 0 < len(book["asks"]) <= 5
    assert book["bids"][0][0] < book["asks"][0][0]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert book["fetched_at"] == clock()
    fbook = await venues.order_book("futures", "ETH/USDT:USDT-261225", 10)
    assert fbook["symbol"] == "ETH/USDT:USDT-261225" and fbook["asks"]

    with pytest.raises(VenueError, match="no market 'DOGE/USDT'"):
        await venues.order_book("spot", "DOGE/USDT")
    emulator.emulator.set_fault("/api/v3/depth", "5xx", count=1)
    with pytest.raises(VenueError, match=r"^spot: order book BTC/USDT: ExchangeNotAvailable"):
        await venues.order_book("spot", "BTC/USDT")
    assert venues.venues["spot"].failures == 1


# ---------------------------------------------------------------------------------- streaming


async def test_updates_stream_fresh_snapshots(emulator: EmulatorHandle, cfg: Config) -> None:
    from console.venues.demo import demo_credentials

    async with VenueSet.from_config(cfg, demo_credentials(cfg), emulator_url=emulator.url,
                                    backoff=TEST_BACKOFF, rate_limit=False) as vs:
        stream = vs.updates(interval_s=0.05)
        try:
            first = await anext(stream)
            emulator.emulator.set_fault("/api/v3/account", "5xx", count=1)
            second = await anext(stream)
            # spot is retried when its backoff ends; futures keeps its own interval meanwhile
            later = [await anext(stream) for _ in range(4)]
        finally:
            await stream.aclose()
    assert not first.any_stale and first.snapshot.account("spot").error is None
    assert second.snapshot.timestamp > first.snapshot.timestamp
    assert second.snapshot.account("spot").error is not None  # the fault, shown
    assert later[-1].snapshot.account("spot").error is None  # retried after the backoff
    assert later[-1].snapshot.timestamp - first.snapshot.timestamp < 2_000  # no waiting on ccxt's throttle
    assert (later[-1].snapshot.account("futures").fetched_at["positions"]
            > first.snapshot.account("futures").fetched_at["positions"])


# ------------------------------------------------------------------------------------ hygiene


def test_importing_the_venue_layer_does_not_import_ccxt() -> None:
    code = ("import sys, console.venues.venue, console.venues.demo, console.cli.snapshot, console.core.snapshot, "
            "console.core.allocation; bad = [m for m in ('ccxt', 'console.emulator', 'aiohttp') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


async def test_an_answer_with_nan_is_a_failed_fetch_that_keeps_the_last_copy(
        venues: VenueSet, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    fut = venues.venues["futures"]
    good = await fut.refresh()

    async def nan_positions() -> list[dict[str, Any]]:
        return [{"symbol": "BTC/USDT:USDT", "contracts": float("nan"), "side": "short"}]

    monkeypatch.setattr(fut, "_fetch_positions", nan_positions)
    clock.advance(1)
    st = await fut.refresh()
    assert st.error is not None and "positions[0].contracts" in st.error and "not a finite number" in st.error
    assert "last good copy is kept" in st.error
    assert st.positions == good.positions and st.fetched_at["positions"] == good.fetched_at["positions"]


def test_a_paper_venue_keeps_ccxts_throttle() -> None:
    """Only the loopback emulator goes unthrottled: a real venue's request weights still apply."""
    ex = make_exchange(Account(name="p", exchange="binanceusdm", mode=Mode.PAPER, markets=("swap",)),
                       {"apiKey": "k", "secret": "s"})
    assert ex.enableRateLimit is True
