"""Bybit's v5 dialect of the emulator: the same seeded market model (prices, books, matching,
accounts, clock) answered as Bybit's ``/v5`` REST API and its v5 websockets.

A Bybit account is an engine account reached with a Bybit key (``open_account``); its
unified wallet is the engine's spot and USDⓈ-M ledgers (and the coin wallets for inverse
contracts), reported as one. Symbols translate one to one (``symbols``); every trading rule
is the engine's, and its refusals come back as Bybit's ``retCode``/``retMsg`` (``errors``).
"""

from console.emulator.bybit.auth import BYBIT_DEMO_KEY, BYBIT_DEMO_SECRET, open_account

__all__ = ["BYBIT_DEMO_KEY", "BYBIT_DEMO_SECRET", "open_account"]
