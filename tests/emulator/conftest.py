"""ccxt clients on the `emulator` fixture (tests/conftest.py).

``timeout_on_exit=0``: ccxt sleeps 250 ms in close() by default; the tests close many clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from console.emulator.testing import EmulatorHandle, ccxt_client


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
