"""Run the emulator in a background thread, and point ccxt's own classes at it.

``start_emulator`` gives a live venue on 127.0.0.1 for tests and scripts; ``ccxt_client``
returns an unmodified ``ccxt.async_support.binance`` / ``binanceusdm`` whose only changes are
the API URLs and a few options (no currencies or margin pairs: the emulator serves spot and
USDⓈ-M only; no retries, so a fault surfaces as the exception it causes).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Literal

from console.emulator.auth import DEMO_API_KEY, DEMO_SECRET
from console.emulator.bybit import BYBIT_DEMO_KEY, BYBIT_DEMO_SECRET, open_account
from console.emulator.clock import DEFAULT_START_MS, Clock
from console.emulator.engine import Emulator
from console.emulator.server import EmulatorServer
from console.emulator.streams import DEFAULT_PUSH_S
from console.emulator.urls import emulated_urls


class EmulatorHandle:
    """A running emulator: its own asyncio loop in a daemon thread."""

    def __init__(self, emulator: Emulator, port: int = 0, push_s: float = DEFAULT_PUSH_S) -> None:
        self.emulator = emulator
        self.api_key, (self.secret, _) = next(iter(emulator.keys.items()))
        self._server = EmulatorServer(emulator, push_s=push_s)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._port = port
        self.url = ""
        self._thread = threading.Thread(target=self._run, name="emulator", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)
        if self._error is not None:
            raise self._error
        if not self.url:
            raise RuntimeError("the emulator did not start within 10 s")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.url = self._loop.run_until_complete(self._server.start(port=self._port))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        # requests still held (latency, lost replies) end here, not as "destroyed pending" tasks
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop)
        fut.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(seed: int = 7, speed: float = 1.0, api_key: str | None = None, secret: str | None = None,
                   scenario: str = "demo", start_ms: int | None = None, port: int = 0,
                   push_s: float = DEFAULT_PUSH_S, bybit: bool | None = None) -> EmulatorHandle:
    """``bybit``: also open the Bybit account (key ``BYBIT_DEMO_KEY``) for the /v5 dialect;
    by default when the scenario has a Bybit book (the demo's two-venue book)."""
    clock = Clock(start_ms=DEFAULT_START_MS if start_ms is None else start_ms, speed=speed)
    emu = Emulator(seed=seed, clock=clock, scenario=scenario, api_key=api_key or DEMO_API_KEY,
                   secret=secret or DEMO_SECRET)
    if bybit if bybit is not None else emu.scenario.bybit is not None:
        open_account(emu)
    return EmulatorHandle(emu, port=port, push_s=push_s)


async def user_streams_open(handle: EmulatorHandle, count: int = 1, wait_s: float = 5.0) -> None:
    """Until the emulator has ``count`` user data subscriptions (either dialect): what
    happens next is heard. Tests wait on this, not on a sleep."""
    for _ in range(int(wait_s / 0.01)):
        if handle.emulator.user_streams >= count:
            await asyncio.sleep(0.05)  # the client has read the subscription's answer
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the user data stream never opened")


def emulator_urls(api_urls: dict[str, Any], base_url: str) -> dict[str, Any]:
    """ccxt's ``urls['api']`` with every host replaced by the emulator (``console.emulator.urls``)."""
    return emulated_urls(api_urls, base_url)


def ccxt_client(handle: EmulatorHandle, kind: Literal["spot", "usdm", "coinm"] = "spot", *, pro: bool = False,
                **config: Any) -> Any:
    """A ccxt async exchange on the emulator (``pro``: the ccxt.pro class, websockets
    included). Close it with ``await exchange.close()``."""
    if pro:
        import ccxt.pro as ccxt_async
    else:
        import ccxt.async_support as ccxt_async

    cls = {"spot": ccxt_async.binance, "usdm": ccxt_async.binanceusdm, "coinm": ccxt_async.binancecoinm}[kind]
    ex = cls({"apiKey": handle.api_key, "secret": handle.secret, "enableRateLimit": False, "timeout": 10_000,
              **config})
    ex.urls["api"] = emulator_urls(ex.urls["api"], handle.url)
    ex.options["fetchCurrencies"] = False  # sapi capital/config: not a trading endpoint
    ex.options["fetchMargins"] = False  # sapi margin pairs: likewise
    ex.options["fetchMarkets"] = {"types": {"spot": ["spot", "linear"], "usdm": ["linear"], "coinm": ["inverse"]}[kind]}
    ex.options["maxRetriesOnFailure"] = 0
    # positionRisk v2 carries leverage and marginType (v3 does not); Binance serves both
    ex.options["fetchPositionsRisk"] = {"useV2": True}
    return ex


def bybit_client(handle: EmulatorHandle, *, pro: bool = False, types: tuple[str, ...] = ("spot", "linear", "inverse"),
                 **config: Any) -> Any:
    """An unmodified ``ccxt.bybit`` (async, or ccxt.pro's with ``pro``) on the emulator's
    Bybit dialect, signed with the Bybit demo key. Options: no options markets, no retries."""
    if pro:
        import ccxt.pro as ccxt_async
    else:
        import ccxt.async_support as ccxt_async

    ex = ccxt_async.bybit({"apiKey": BYBIT_DEMO_KEY, "secret": BYBIT_DEMO_SECRET, "enableRateLimit": False,
                           "timeout": 10_000, **config})
    ex.urls["api"] = emulator_urls(ex.urls["api"], handle.url)
    ex.options["fetchMarkets"] = {"types": list(types)}
    ex.options["maxRetriesOnFailure"] = 0
    return ex
