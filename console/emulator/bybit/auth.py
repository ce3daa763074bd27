"""Bybit's checks on a private v5 request: the X-BAPI-API-KEY, X-BAPI-TIMESTAMP,
X-BAPI-RECV-WINDOW and X-BAPI-SIGN headers, where the signature is
HMAC-SHA256(secret, timestamp + api key + recv window + payload) in hex and the payload is
the raw query string (GET) or the raw JSON body (POST). Failures are Bybit's own codes
(10003 key, 10004 signature, 10002 time window). Secrets are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from console.emulator.bybit.errors import BybitError

# Bybit-format demo credentials: published on purpose, they open the local emulator only
BYBIT_DEMO_KEY = "rebalBybitDemoKey0"  # 18 characters, as Bybit's keys
BYBIT_DEMO_SECRET = "rebalBybitDemoSecret0000000000000000"  # 36, as Bybit's secrets
DEFAULT_RECV_WINDOW = 5_000
FUTURE_SLACK_MS = 1_000


def open_account(emu: object, api_key: str = BYBIT_DEMO_KEY, secret: str = BYBIT_DEMO_SECRET,
                 name: str = "bybit") -> str:
    """Add an account holding the scenario's Bybit book (else a copy of its Binance book),
    reachable with a Bybit key and only by the Bybit dialect (a Binance request with this key
    is an unknown key). Returns its name."""
    from console.emulator.engine import Emulator

    assert isinstance(emu, Emulator)
    with emu.lock:
        emu.add_account(name, "", "", book=emu.scenario.bybit)
        emu.bybit_keys[api_key] = (secret, name)
    return name


def check(headers: Mapping[str, str], payload: str, keys: Mapping[str, tuple[str, str]],
          clocks_ms: tuple[int, ...]) -> str:
    """The account name a correctly signed request acts for, or BybitError."""
    key = headers.get("X-BAPI-API-KEY", "")
    found = keys.get(key) if key else None
    if found is None:
        raise BybitError(10003, "API key is invalid.")
    secret, name = found
    ts_raw = headers.get("X-BAPI-TIMESTAMP", "")
    window_raw = headers.get("X-BAPI-RECV-WINDOW", "") or str(DEFAULT_RECV_WINDOW)
    sign = headers.get("X-BAPI-SIGN", "")
    if not ts_raw.isdigit() or not window_raw.isdigit():
        raise BybitError(10001, "params error: X-BAPI-TIMESTAMP and X-BAPI-RECV-WINDOW must be integers")
    expected = hmac.new(secret.encode(), (ts_raw + key + window_raw + payload).encode(), hashlib.sha256).hexdigest()
    if not sign or not hmac.compare_digest(expected, sign.lower()):
        raise BybitError(10004, "error sign! Check the signature: HMAC-SHA256 of timestamp + api key + "
                                "recv window + query string (GET) or JSON body (POST).")
    ts, window = int(ts_raw), int(window_raw)
    for now in clocks_ms:
        if ts < now + FUTURE_SLACK_MS and now - ts <= window:
            return name
    raise BybitError(10002, f"invalid request, please check your server timestamp or recv_window param. "
                            f"req_timestamp[{ts}],server_timestamp[{clocks_ms[0]}],recv_window[{window}]")
