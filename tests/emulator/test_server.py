"""The in-loop API (what demo mode uses) and the loopback-only rule."""

from __future__ import annotations

import pytest

from console.emulator import Clock, Emulator, EmulatorServer
from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import ccxt_client

pytestmark = pytest.mark.asyncio


class _Handle:
    def __init__(self, url: str, emu: Emulator) -> None:
        self.url = url
        self.api_key, (self.secret, _) = next(iter(emu.keys.items()))


async def test_server_runs_inside_the_callers_loop() -> None:
    emu = Emulator(seed=7, clock=Clock(DEFAULT_START_MS, speed=0.0))
    server = EmulatorServer(emu)
    url = await server.start()
    assert url.startswith("http://127.0.0.1:")
    ex = ccxt_client(_Handle(url, emu), "usdm", timeout_on_exit=0)  # type: ignore[arg-type]
    try:
        assert await ex.fetch_time() == DEFAULT_START_MS
        assert len(await ex.fetch_positions()) == 2
    finally:
        await ex.close()
        await server.stop()


async def test_only_loopback() -> None:
    with pytest.raises(ValueError):
        await EmulatorServer(Emulator()).start(host="0.0.0.0")


async def test_unknown_path_is_404_like_binance() -> None:
    import aiohttp

    server = EmulatorServer(Emulator(clock=Clock(speed=0.0)))
    url = await server.start()
    try:
        async with aiohttp.ClientSession() as s, s.get(url + "/sapi/v1/capital/config/getall") as r:
            assert r.status == 404
    finally:
        await server.stop()
