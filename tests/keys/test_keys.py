"""Credential storage: the OS keyring (faked), the encrypted file fallback, env variables."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from keyring.errors import KeyringLocked

from console.core.errors import UserError
from console.core.redact import redact, registered_secrets
from console.venues import keys
from tests.keys.conftest import MemoryKeyring

KEY = "AKIAcanary0123456789"
SECRET = "s3cr3t-value-abcdefghijkl"
PASS = "pass-phrase-42"


def test_store_load_list_delete_os_keyring(memkr: MemoryKeyring) -> None:
    store = keys.store_credentials("futures", {"apiKey": KEY, "secret": SECRET})
    assert store.kind == "os" and store.notice is None
    keys.store_credentials("okx-main", {"apiKey": KEY + "x", "secret": SECRET, "password": PASS})
    # one entry per account plus the index of names
    assert json.loads(memkr.entries[("rebal-tui", "futures")]) == {"apiKey": KEY, "secret": SECRET}
    assert json.loads(memkr.entries[("rebal-tui", keys.INDEX_ENTRY)]) == ["futures", "okx-main"]
    assert keys.list_accounts() == ["futures", "okx-main"]
    creds = keys.load_credentials("okx-main")
    assert dict(creds) == {"apiKey": KEY + "x", "secret": SECRET, "password": PASS}
    assert keys.credential_source("futures", ).startswith("OS keyring")
    assert keys.delete_credentials("futures") is True
    assert keys.delete_credentials("futures") is False
    assert keys.list_accounts() == ["okx-main"]
    assert ("rebal-tui", "futures") not in memkr.entries


def test_missing_names_account_and_fix(memkr: MemoryKeyring) -> None:
    with pytest.raises(UserError) as e:
        keys.load_credentials("spot")
    msg = str(e.value)
    assert "'spot'" in msg and "rebal-tui keys set spot" in msg and "REBAL_TUI_SPOT_API_KEY" in msg


def test_credentials_repr_hides_values(memkr: MemoryKeyring) -> None:
    keys.store_credentials("a1", {"apiKey": KEY, "secret": SECRET})
    creds = keys.load_credentials("a1")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
        assert KEY not in text and SECRET not in text
    assert "apiKey" in repr(creds)
    assert {**creds}["apiKey"] == KEY  # still a plain mapping for ccxt


def test_loaded_values_are_registered_for_redaction(memkr: MemoryKeyring) -> None:
    keys.store_credentials("a1", {"apiKey": KEY, "secret": SECRET})
    keys.forget_unlocked()
    from console.core import redact as r

    r.forget_secrets()
    keys.load_credentials("a1")
    assert KEY in registered_secrets()
    assert redact(f"header X-MBX-APIKEY: {KEY}") == "header X-MBX-APIKEY: ***"


def test_env_variables_take_precedence(memkr: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    keys.store_credentials("my-futures", {"apiKey": "stored-key-123", "secret": "stored-secret-123"})
    monkeypatch.setenv("REBAL_TUI_MY_FUTURES_API_KEY", KEY)
    monkeypatch.setenv("REBAL_TUI_MY_FUTURES_SECRET", SECRET)
    assert keys.env_var("my-futures", "password") == "REBAL_TUI_MY_FUTURES_PASSWORD"
    assert dict(keys.load_credentials("my-futures")) == {"apiKey": KEY, "secret": SECRET}
    assert keys.credential_source("my-futures") == "environment"


def test_env_only_when_no_keyring_at_all(no_os_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REBAL_TUI_BOT_API_KEY", KEY)
    monkeypatch.setenv("REBAL_TUI_BOT_SECRET", SECRET)
    assert keys.load_credentials("bot")["secret"] == SECRET
    assert not keys.file_keyring_path().exists()  # reading env never creates a store


def test_damaged_entry(memkr: MemoryKeyring) -> None:
    memkr.entries[("rebal-tui", "x1")] = "not json"
    with pytest.raises(UserError, match="damaged.*keys set x1"):
        keys.load_credentials("x1")


def test_locked_os_keyring_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    class Locked(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise KeyringLocked("locked")

    keyring.set_keyring(Locked())
    with pytest.raises(UserError, match="REBAL_TUI_KEYRING=file"):
        keys.load_credentials("a1")


def test_store_rejects_empty_and_unknown(memkr: MemoryKeyring) -> None:
    with pytest.raises(UserError, match="no API key"):
        keys.store_credentials("a1", {"apiKey": "", "secret": SECRET})
    with pytest.raises(UserError, match="unknown credential"):
        keys.store_credentials("a1", {"token": "x" * 10})
    with pytest.raises(UserError, match="cannot be an account name"):
        keys.store_credentials(keys.INDEX_ENTRY, {"apiKey": KEY})


def test_required_fields_follow_ccxt() -> None:
    assert keys.required_fields("binanceusdm") == ["apiKey", "secret"]
    assert keys.required_fields("okx") == ["apiKey", "secret", "password"]
    assert keys.required_fields("bitget") == ["apiKey", "secret", "password"]
    assert set(keys.required_fields("hyperliquid")) == {"walletAddress", "privateKey"}
    with pytest.raises(UserError, match="not a ccxt exchange id"):
        keys.required_fields("nosuchvenue")


# ---------------------------------------------------------------- which backend


def test_plaintext_and_file_backends_are_never_picked_implicitly() -> None:
    from keyring.backends.chainer import ChainerBackend
    from keyrings.cryptfile.cryptfile import CryptFileKeyring
    from keyrings.cryptfile.file import PlaintextKeyring

    keyring.set_keyring(PlaintextKeyring())
    assert keys.os_keyring() is None
    keyring.set_keyring(CryptFileKeyring())
    assert keys.os_keyring() is None

    class OnlyFiles(ChainerBackend):
        backends = [CryptFileKeyring(), PlaintextKeyring()]  # type: ignore[assignment]

    keyring.set_keyring(OnlyFiles())
    assert keys.os_keyring() is None
    mem = MemoryKeyring()

    class WithOs(ChainerBackend):
        backends = [CryptFileKeyring(), mem, PlaintextKeyring()]  # type: ignore[assignment]

    keyring.set_keyring(WithOs())
    assert keys.os_keyring() is mem


def test_no_backend_without_password_says_how(no_os_keyring: None) -> None:
    with pytest.raises(UserError) as e:
        keys.store_credentials("a1", {"apiKey": KEY, "secret": SECRET})
    assert keys.PASSWORD_ENV in str(e.value)
    assert keys.list_accounts() == []
    with pytest.raises(UserError, match="keys set a1"):
        keys.load_credentials("a1")


def test_bad_backend_choice(memkr: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.BACKEND_ENV, "plaintext")
    with pytest.raises(UserError, match="REBAL_TUI_KEYRING='plaintext' is not valid"):
        keys.store_credentials("a1", {"apiKey": KEY, "secret": SECRET})


# ---------------------------------------------------------------- encrypted file fallback


def test_cryptfile_round_trip_and_wrong_password(no_os_keyring: None, monkeypatch: pytest.MonkeyPatch,
                                                 isolated: Path) -> None:
    """At the default Argon2 cost: one store, one load, one wrong password."""
    monkeypatch.setenv(keys.PASSWORD_ENV, "correct horse battery")
    store = keys.store_credentials("okx1", {"apiKey": KEY, "secret": SECRET, "password": PASS})
    assert store.kind == "file" and store.notice and "no OS keyring" in store.notice
    path = keys.file_keyring_path()
    assert path.is_relative_to(isolated / "data")  # XDG_DATA_HOME, never the real one
    text = path.read_text()
    for s in (KEY, SECRET, PASS):
        assert s not in text  # encrypted, not plaintext
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    keys.forget_unlocked()
    assert dict(keys.load_credentials("okx1")) == {"apiKey": KEY, "secret": SECRET, "password": PASS}

    keys.forget_unlocked()
    monkeypatch.setenv(keys.PASSWORD_ENV, "wrong password")
    with pytest.raises(UserError, match="wrong password"):
        keys.load_credentials("okx1")


def test_cryptfile_prompts_twice_on_creation(no_os_keyring: None, fast_kdf: None) -> None:
    answers = iter(["pw-one", "pw-two"])
    with pytest.raises(UserError, match="differ"):
        keys.store_credentials("a1", {"apiKey": KEY, "secret": SECRET}, prompt=lambda _: next(answers))
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "same-pw"

    keys.store_credentials("a1", {"apiKey": KEY, "secret": SECRET}, prompt=prompt)
    assert len(asked) == 2
    keys.store_credentials("a2", {"apiKey": KEY, "secret": SECRET}, prompt=prompt)
    assert len(asked) == 2  # unlocked once per process
    assert keys.list_accounts() == ["a1", "a2"]
    keys.forget_unlocked()
    with pytest.raises(UserError, match="locked"):
        keys.load_credentials("a1")  # no prompt, no env: says how to unlock
    assert keys.load_credentials("a1", prompt=lambda _: "same-pw")["apiKey"] == KEY
    assert keys.delete_credentials("a1") is True
    assert keys.list_accounts() == ["a2"]


def test_file_forced_even_with_os_keyring(memkr: MemoryKeyring, fast_kdf: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.BACKEND_ENV, "file")
    monkeypatch.setenv(keys.PASSWORD_ENV, "pw")
    store = keys.store_credentials("a1", {"apiKey": KEY, "secret": SECRET})
    assert store.kind == "file" and store.notice is None
    assert memkr.entries == {}
    assert keys.load_credentials("a1")["apiKey"] == KEY
