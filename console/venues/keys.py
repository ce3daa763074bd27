"""API credentials: where they are kept, and how they are found again.

Where, in the order ``load_credentials`` looks:

1. Environment variables, for automation: ``REBAL_TUI_<ACCOUNT>_API_KEY``, ``_SECRET`` and
   ``_PASSWORD`` (plus ``_UID``, ``_WALLET_ADDRESS``, ``_PRIVATE_KEY`` for venues that use
   them). ``<ACCOUNT>`` is the account name upper-cased, every other character than A-Z and
   0-9 turned into ``_``.
2. The OS keyring (macOS Keychain, Windows Credential Locker, Secret Service / KWallet),
   one entry per account under the service ``rebal-tui``, the value a JSON object of ccxt
   credential names.
3. Where there is no OS keyring (headless Linux over SSH), a password-encrypted file
   (keyrings.cryptfile: Argon2 key derivation, AES-GCM) in the user data folder, unlocked
   with ``REBAL_TUI_KEYRING_PASSWORD`` or a prompt. ``REBAL_TUI_KEYRING=file`` chooses it
   even where an OS keyring exists.

Nothing is ever written in plaintext: the plaintext file backends that keyring may find
installed are refused. Every value loaded is registered with ``console.core.redact`` so that it
never reaches a log line or a message.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.core.errors import UserError
from console.core.redact import MASK, register_secret

SERVICE = "rebal-tui"
INDEX_ENTRY = "__accounts__"  # keyring cannot list entries; the names live in an entry of their own
PASSWORD_ENV = "REBAL_TUI_KEYRING_PASSWORD"
BACKEND_ENV = "REBAL_TUI_KEYRING"  # "os" (default: the OS keyring when there is one) or "file"
FILE_NAME = "keyring.cfg"

# ccxt credential name -> environment variable suffix, in prompt order
FIELDS: dict[str, str] = {
    "apiKey": "API_KEY",
    "secret": "SECRET",
    "password": "PASSWORD",
    "uid": "UID",
    "walletAddress": "WALLET_ADDRESS",
    "privateKey": "PRIVATE_KEY",
}
LABELS: dict[str, str] = {
    "apiKey": "API key",
    "secret": "API secret",
    "password": "API passphrase",
    "uid": "user id",
    "walletAddress": "wallet address",
    "privateKey": "private key",
}
Prompt = Callable[[str], str]


class Credentials(dict[str, str]):
    """ccxt credentials (``apiKey``, ``secret``, ``password``...) that never print their values.

    A dict, so ``ccxt.binance({**creds})`` works; its repr and str show the names only.
    """

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={MASK!r}" for k in self)
        return f"Credentials({inner})"

    __str__ = __repr__


# ---------------------------------------------------------------------------- names


def env_token(account: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", account.upper())


def env_var(account: str, field: str) -> str:
    return f"REBAL_TUI_{env_token(account)}_{FIELDS[field]}"


def required_fields(exchange_id: str) -> list[str]:
    """The credential names the venue needs, from ccxt's own ``requiredCredentials``."""
    import ccxt

    cls = getattr(ccxt, exchange_id, None)
    if cls is None or exchange_id not in ccxt.exchanges:
        raise UserError(f"exchange {exchange_id!r} is not a ccxt exchange id; use one such as binance, okx, bybit")
    needed = cls().requiredCredentials
    fields = [f for f in FIELDS if needed.get(f)]
    return fields or ["apiKey", "secret"]


def _check_account_name(account: str) -> None:
    if not account or account == INDEX_ENTRY or not account.strip():
        raise UserError(f"{account!r} cannot be an account name; use the name of an [[accounts]] entry")


# ---------------------------------------------------------------------------- backends


def _is_file_or_failing(backend: Any) -> bool:
    """True for backends that are not an OS keyring: fail/null, and file keyrings (plaintext
    or not) that third-party packages register, which we never pick implicitly."""
    mod = type(backend).__module__
    return (
        mod.startswith(("keyring.backends.fail", "keyring.backends.null", "keyrings.cryptfile", "keyrings.alt"))
        or getattr(backend, "priority", 1) <= 0
    )


def os_keyring() -> Any | None:
    """The OS keyring backend, or None when there is none (headless Linux, a fail backend)."""
    import keyring
    from keyring.backends.chainer import ChainerBackend

    kr = keyring.get_keyring()
    candidates = list(kr.backends) if isinstance(kr, ChainerBackend) else [kr]
    usable = [b for b in candidates if not _is_file_or_failing(b)]
    return usable[0] if usable else None


def file_keyring_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("rebal-tui") / FILE_NAME


_unlocked: dict[Path, Any] = {}  # path -> unlocked CryptFileKeyring, for this process


def forget_unlocked() -> None:
    """Lock the encrypted file again (and for tests: start clean)."""
    _unlocked.clear()


def _tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def unlock_file_keyring(password: str | None = None, *, prompt: Prompt | None = None,
                        create: bool = False) -> Any:
    """The encrypted file keyring, unlocked. The password comes from ``password``,
    ``REBAL_TUI_KEYRING_PASSWORD`` or ``prompt`` (asked twice when the file is new).

    The app calls this from its own password dialog; the CLI lets it prompt with getpass.
    """
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

    path = file_keyring_path()
    if path in _unlocked:
        return _unlocked[path]
    exists = path.exists()
    if not exists and not create:
        raise UserError(f"no encrypted key file at {path}; store keys with `rebal-tui keys set ACCOUNT`")
    pw = password or os.environ.get(PASSWORD_ENV)
    if not pw:
        if prompt is None:
            raise UserError(
                f"the encrypted key file {path} is locked; set {PASSWORD_ENV} or run the command "
                "in a terminal so that it can ask for the password"
            )
        pw = prompt(f"password for the encrypted key file {path}: ")
        if not exists:
            again = prompt("the same password again: ")
            if again != pw:
                raise UserError("the two passwords differ; nothing was stored, run the command again")
    if not pw or not pw.strip():
        raise UserError(f"an empty password cannot protect {path}; choose one with at least one character")
    kr = CryptFileKeyring()
    kr.file_path = str(path)  # our own file, under the user data folder (XDG_DATA_HOME)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        kr.keyring_key = pw  # checks the password against the file's reference entry
    except ValueError:
        raise UserError(
            f"wrong password for the encrypted key file {path}; try again, or check {PASSWORD_ENV}"
        ) from None
    _unlocked[path] = kr
    return kr


@dataclass(frozen=True)
class Store:
    """Where keys are kept on this machine."""

    kind: str  # "os" | "file"
    backend: Any
    description: str
    notice: str | None = None  # said once to the user when we fall back


def _fallback_notice(path: Path) -> str:
    return (
        "no OS keyring is available here (usual on a headless Linux host over SSH); keys go to "
        f"the password-encrypted file {path} (keyrings.cryptfile). Set {PASSWORD_ENV} to unlock "
        "it without a prompt, or give keys to automation as environment variables "
        "REBAL_TUI_<ACCOUNT>_API_KEY / _SECRET / _PASSWORD."
    )


def get_store(*, prompt: Prompt | None = None, create: bool = False) -> Store:
    """The OS keyring, or the encrypted file when there is none (or REBAL_TUI_KEYRING=file)."""
    choice = os.environ.get(BACKEND_ENV, "os").strip().lower()
    if choice not in ("os", "file"):
        raise UserError(f"{BACKEND_ENV}={choice!r} is not valid; use 'os' (the default) or 'file'")
    kr = os_keyring() if choice == "os" else None
    if kr is not None:
        return Store("os", kr, f"OS keyring ({type(kr).__module__}.{type(kr).__name__})")
    path = file_keyring_path()
    notice = _fallback_notice(path) if choice == "os" else None
    return Store("file", unlock_file_keyring(prompt=prompt, create=create), f"encrypted file {path}", notice)


def _call(store: Store, op: str, *args: str) -> Any:
    """One keyring call, with backend failures turned into a clear message (never the value)."""
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        return getattr(store.backend, op)(SERVICE, *args)
    except PasswordDeleteError:
        return None
    except (KeyringError, OSError, RuntimeError, ValueError) as exc:  # locked, D-Bus gone, file damaged
        raise UserError(
            f"the {store.description} refused the request ({type(exc).__name__}); unlock it, or set "
            f"{BACKEND_ENV}=file to keep keys in a password-encrypted file instead"
        ) from None


def _read_index(store: Store) -> list[str]:
    raw = _call(store, "get_password", INDEX_ENTRY)
    if not raw:
        return []
    try:
        names = json.loads(raw)
    except json.JSONDecodeError:
        return []
    return sorted({n for n in names if isinstance(n, str)}) if isinstance(names, list) else []


def _write_index(store: Store, names: list[str]) -> None:
    if names:
        _call(store, "set_password", INDEX_ENTRY, json.dumps(sorted(set(names))))
    else:
        _call(store, "delete_password", INDEX_ENTRY)


# ---------------------------------------------------------------------------- public API


def credentials_from_env(account: str) -> Credentials | None:
    """Credentials from REBAL_TUI_<ACCOUNT>_* variables, or None when none is set."""
    found = {f: os.environ[env_var(account, f)] for f in FIELDS if os.environ.get(env_var(account, f))}
    if not found:
        return None
    for v in found.values():
        register_secret(v)
    return Credentials(found)


def _missing(account: str) -> UserError:
    return UserError(
        f"no API keys for account {account!r}; store them with `rebal-tui keys set {account}` "
        f"(or, for automation, set {env_var(account, 'apiKey')} and {env_var(account, 'secret')})"
    )


def load_credentials(account: str, *, prompt: Prompt | None = None) -> Credentials:
    """ccxt credentials for ``account`` (apiKey, secret, and password where the venue has one).

    Raises UserError naming the account and the fix when there are none. ``prompt`` asks for
    the encrypted file's password when it is locked; without it (the default, and what the
    Textual app wants) a locked file is a UserError telling how to unlock it.
    """
    _check_account_name(account)
    env = credentials_from_env(account)
    if env is not None:
        return env
    if _no_store_yet():
        raise _missing(account)
    store = get_store(prompt=prompt)
    raw = _call(store, "get_password", account)
    if not raw:
        raise _missing(account)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise UserError(f"the stored keys of account {account!r} are damaged; run `rebal-tui keys set {account}` again")
    creds = Credentials({k: v for k, v in data.items() if k in FIELDS and v})
    for v in creds.values():
        register_secret(v)
    return creds


def store_credentials(account: str, creds: Mapping[str, str], *, prompt: Prompt | None = None) -> Store:
    """Keep ``creds`` (ccxt names) for ``account``, replacing what was there. Returns the store."""
    _check_account_name(account)
    unknown = sorted(set(creds) - set(FIELDS))
    if unknown:
        raise UserError(f"unknown credential field(s) {unknown}; use the ccxt names {list(FIELDS)}")
    clean = {k: v for k, v in creds.items() if v}
    if not clean.get("apiKey") and not clean.get("privateKey"):
        raise UserError(f"no API key given for account {account!r}; nothing was stored")
    for v in clean.values():
        register_secret(v)
    store = get_store(prompt=prompt, create=True)
    names = _read_index(store)
    if store.kind == "file":
        # the file format folds case in entry names: "Main" and "main" would share one entry
        clash = [n for n in names if n.lower() == account.lower() and n != account]
        if clash:
            raise UserError(f"account {account!r} differs from stored account {clash[0]!r} only in case, "
                            "which the encrypted file cannot tell apart; rename one of them")
    _call(store, "set_password", account, json.dumps(clean))
    _write_index(store, [*names, account])
    return store


def delete_credentials(account: str, *, prompt: Prompt | None = None) -> bool:
    """Forget ``account``'s keys. True when there were some."""
    _check_account_name(account)
    if _no_store_yet():
        return False
    store = get_store(prompt=prompt)
    had = bool(_call(store, "get_password", account))
    _call(store, "delete_password", account)
    names = _read_index(store)
    if account in names:
        had = True
        _write_index(store, [n for n in names if n != account])
    return had


def list_accounts(*, prompt: Prompt | None = None) -> list[str]:
    """Names of the accounts that have stored keys (never the keys)."""
    if _no_store_yet():
        return []
    return _read_index(get_store(prompt=prompt))


def _no_store_yet() -> bool:
    """True when keys would go to the encrypted file and it does not exist: nothing stored."""
    choice = os.environ.get(BACKEND_ENV, "os").strip().lower()
    uses_file = choice == "file" or os_keyring() is None
    return uses_file and not file_keyring_path().exists()


def credential_source(account: str, *, prompt: Prompt | None = None) -> str | None:
    """Where ``account``'s keys come from ("environment", the store's description), or None."""
    if credentials_from_env(account) is not None:
        return "environment"
    if _no_store_yet():
        return None
    store = get_store(prompt=prompt)
    return store.description if _call(store, "get_password", account) else None


def getpass_prompt(text: str) -> str:
    """The CLI's prompt: no echo on a terminal."""
    return getpass.getpass(text)


def cli_prompt() -> Prompt | None:
    """getpass when there is a terminal to ask on, else None (never block a script)."""
    return getpass_prompt if _tty() else None
