"""Binance's checks on a signed request: the X-MBX-APIKEY header, the HMAC-SHA256 signature
of the query string plus body, the timestamp and recvWindow. Failures raise BinanceError
with Binance's own code, so ccxt raises its own exception classes. Secrets are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from console.emulator.errors import BinanceError
from console.emulator.params import integer, missing

# Binance-format demo credentials: published on purpose, they open the local emulator only.
DEMO_API_KEY = "rebalDemoKey" + "0" * 52
DEMO_SECRET = "rebalDemoSecret" + "0" * 49
KEY_RE = re.compile(r"^[A-Za-z0-9]{8,128}$")
MAX_RECV_WINDOW = 60_000
FUTURE_SLACK_MS = 1_000  # Binance rejects a timestamp more than 1 s ahead of the server


def new_key() -> str:
    """A random 64-character key in Binance's format."""
    return secrets.token_hex(32)


def strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` parameter, and the signature (if it was there)."""
    parts = raw.split("&") if raw else []
    kept, sig = [], None
    for part in parts:
        if part.startswith("signature="):
            sig = part[len("signature="):]
        else:
            kept.append(part)
    return "&".join(kept), sig


def check_key(api_key: str | None, keys: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """(secret, account name) for a key, or Binance's -2014 / -2015."""
    if not api_key or not KEY_RE.match(api_key):
        raise BinanceError(-2014, "API-key format invalid.", status=401)
    found = keys.get(api_key)
    if found is None:
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
    return found


def check_signed(query: str, body: str, secret: str, params: dict[str, str], clocks_ms: tuple[int, ...]) -> None:
    """Signature over query string + body (Binance concatenates them), then the time window.

    ``clocks_ms``: server instants the timestamp may be measured against. The real clock
    guards network delay as on Binance; the emulated clock is accepted too, for clients
    that synchronise to /time (ccxt's adjustForTimeDifference) while demo time runs faster.
    """
    q, sig_q = strip_signature(query)
    b, sig_b = strip_signature(body)
    sig = sig_q or sig_b
    if not sig:
        raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    expected = hmac.new(secret.encode(), (q + b).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.lower()):
        raise BinanceError(-1022, "Signature for this request is not valid.")
    ts = integer(params, "timestamp")
    if ts is None:
        raise missing("timestamp")
    window = integer(params, "recvWindow", 5_000) or 0
    if window > MAX_RECV_WINDOW or window <= 0:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    for now in clocks_ms:
        if ts < now + FUTURE_SLACK_MS and now - ts <= window:
            return
    raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
