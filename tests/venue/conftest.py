"""Venue-layer fixtures: the demo portfolio's VenueSet on the `emulator` fixture
(tests/conftest.py: seed 7, frozen clock at 2026-11-21T12:00:00Z)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from console.core.config import Config
from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle
from console.venues.demo import demo_config, demo_credentials
from console.venues.venue import Backoff, VenueSet

# quick and bounded: tests wait at most a few tenths of a second on a backoff
TEST_BACKOFF = Backoff(base_s=0.05, cap_s=0.2)


class ManualClock:
    """The venue layer's clock, moved by hand (epoch ms)."""

    def __init__(self, now_ms: int = DEFAULT_START_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


@pytest.fixture
def cfg() -> Config:
    return demo_config()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def venues(emulator: EmulatorHandle, cfg: Config, clock: ManualClock) -> AsyncIterator[VenueSet]:
    vs = VenueSet.from_config(cfg, demo_credentials(cfg), emulator_url=emulator.url, clock=clock,
                              backoff=TEST_BACKOFF, timeout_ms=2_000, rate_limit=False)
    try:
        yield vs
    finally:
        await vs.close()
