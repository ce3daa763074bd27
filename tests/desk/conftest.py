"""Fixtures for the desk (shared PostgreSQL journal) tests: one real server per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.desk.pgserver import INSTALL_HINT, PgServer, pg_bin, pg_server


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    if pg_bin() is None:
        if os.environ.get("REBAL_REQUIRE_PG") == "1":
            pytest.fail(INSTALL_HINT + " (REBAL_REQUIRE_PG=1: CI must run them)")
        pytest.skip(INSTALL_HINT)
    with pg_server() as server:
        yield server


@pytest.fixture
def pg_url(pg: PgServer) -> str:
    """A fresh, empty database on the session's server."""
    return pg.new_database()
