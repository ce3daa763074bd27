"""The loopback exchange emulator on 127.0.0.1: Binance's spot, USDⓈ-M and COIN-M dialect,
and Bybit's v5 dialect (``console.emulator.bybit``), views of one seeded market.

ccxt's own ``binance``, ``binanceusdm``, ``binancecoinm`` and ``bybit`` classes run against it
unmodified (only the URLs change). The market model (``engine``, ``prices``, ``book``, ``matching``, ``accounts``) is
pure Python and deterministic given (seed, clock); ``server`` is a thin aiohttp layer.
"""

from console.emulator.clock import DEFAULT_START_MS, Clock
from console.emulator.engine import Emulator
from console.emulator.server import EmulatorServer
from console.emulator.testing import (
    DEMO_API_KEY,
    DEMO_SECRET,
    EmulatorHandle,
    ccxt_client,
    emulator_urls,
    start_emulator,
)

__all__ = [
    "DEFAULT_START_MS",
    "DEMO_API_KEY",
    "DEMO_SECRET",
    "Clock",
    "Emulator",
    "EmulatorHandle",
    "EmulatorServer",
    "ccxt_client",
    "emulator_urls",
    "start_emulator",
]
