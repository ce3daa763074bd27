"""Shared pytest fixtures. Each section belongs to the part of the project named in it."""

from __future__ import annotations

import sys

# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: the run starts several
# pytest workers and dozens of consoles and CLIs as subprocesses, and each would otherwise
# compile the project (and pytest its rewritten test modules) from source again, a tenth of
# the suite's CPU time. Set before the project is imported below (hence the late imports).
sys.dont_write_bytecode = False

import compileall  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# --- emulator (issue #3 part A) ------------------------------------------------------------
from console.emulator.clock import DEFAULT_START_MS  # noqa: E402
from console.emulator.testing import EmulatorHandle, start_emulator  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """The controller compiles the project once, before its workers start: four workers
    importing it from a cold cache at the same moment would each compile all of it."""
    if not hasattr(config, "workerinput"):
        for package in ("console", "widgets"):
            compileall.compile_dir(ROOT / package, quiet=1)

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


# --- scheduling ------------------------------------------------------------------------------
# The files that take longest (wall time, most of it waiting on a terminal, a loopback venue
# or a fault's timeout) are handed out first. One file runs on one worker (--dist loadfile),
# so a long file collected late would run alone at the end while the other workers idle.
LONG_FILES_FIRST = (
    "tests/e2e/test_tmux.py",
    "tests/app/test_money_path_journeys.py",
    "tests/execution/test_proxy_fault_run.py",
    "tests/app/test_journeys_emulator.py",
    "tests/app/test_blotter_columns.py",
    "tests/app/test_small_windows.py",
    "tests/app/test_builder_stale.py",
    "tests/app/test_snapshots.py",
    "tests/cli/test_fuzz.py",
    "tests/execution/test_sigkill.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FILES_FIRST)}
    # a stable sort: within a file, and for every other file, the collection order stays
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))


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
