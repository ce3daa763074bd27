"""Isolation for the keys tests: an in-memory keyring, a tmp HOME and XDG folders, no env keys.

The real OS keyring and the user's config and data folders are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from console.core import redact
from console.venues import keys


class MemoryKeyring(KeyringBackend):
    """A fake OS keyring: a dict in memory."""

    priority = 1.0  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError("not found")
        del self.entries[(service, username)]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    for sub in ("config", "data", "cache", "state"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    import os

    for name in list(os.environ):
        if name.startswith("REBAL_TUI_") or name == "PYTHON_KEYRING_BACKEND":
            monkeypatch.delenv(name)
    saved = keyring.core._keyring_backend
    keyring.set_keyring(MemoryKeyring())  # default for every test: never the real OS keyring
    keys.forget_unlocked()
    redact.forget_secrets()
    yield home
    keyring.core._keyring_backend = saved
    keys.forget_unlocked()
    redact.forget_secrets()


@pytest.fixture
def memkr() -> MemoryKeyring:
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    return kr


@pytest.fixture
def no_os_keyring() -> None:
    """A headless host: keyring finds no backend."""
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())


@pytest.fixture
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its default cost takes ~0.4 s per entry; the tests check behaviour, not cost."""
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

    monkeypatch.setattr(CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(CryptFileKeyring, "memory_cost", 2**10)
    monkeypatch.setattr(CryptFileKeyring, "parallelism", 1)
