"""ccxt clients on the `emulator` fixture (tests/conftest.py).

``timeout_on_exit=0``: ccxt sleeps 250 ms in close() by default; the tests close many clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle, bybit_client, ccxt_client, start_emulator


@pytest.fixture
async def spot(emulator: EmulatorHandle) -> AsyncIterator[Any]:
    ex = ccxt_client(emulator, "spot", timeout_on_exit=0)
    try:
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def usdm(emulator: EmulatorHandle) -> AsyncIterator[Any]:
    ex = ccxt_client(emulator, "usdm", timeout_on_exit=0)
    try:
        yield ex
    finally:
        await ex.close()


@pytest.fixture
def bybit_venue() -> Iterator[EmulatorHandle]:
    """The demo market with its Binance account (the demo key) and a Bybit unified account
    (``BYBIT_DEMO_KEY``): seed 7, fixed start, frozen clock, pushes every 20 ms."""
    handle = start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS, bybit=True, push_s=0.02)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
async def bybit(bybit_venue: EmulatorHandle) -> AsyncIterator[Any]:
    """ccxt's bybit (REST) on ``bybit_venue``, markets loaded."""
    ex = bybit_client(bybit_venue, timeout_on_exit=0)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()
