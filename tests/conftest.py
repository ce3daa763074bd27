"""Shared pytest fixtures. Each section belongs to the part of the project named in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

# --- emulator (issue #3 part A) ------------------------------------------------------------
from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle, start_emulator

# property tests draw the same examples on every run and machine: a red CI is a real one
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """A live loopback Binance on 127.0.0.1: demo scenario, seed 7, fixed start
    (2026-11-21T12:00:00Z), frozen clock (speed 0: time moves only by
    ``emulator.emulator.advance(seconds)``, so every reply is reproducible)."""
    handle = start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS)
    try:
        yield handle
    finally:
        handle.stop()


# --- logging ---------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """``--debug`` (the CLI's ``configure_debug_logging``) adds a stderr handler to the root
    logger at DEBUG. Left behind, that handler holds the test's captured stderr, which closes:
    every later ccxt request then logs into a closed stream and prints a logging-error stack,
    slowing the rest of the suite by minutes. Each test gets the root logger back as it was."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
