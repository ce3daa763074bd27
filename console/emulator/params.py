"""Reading a request's parameters as Binance does: every value is checked against Binance's
legal range before the model sees it, and a bad one is refused with Binance's own code and
message (naming the parameter). ``float("nan")``, ``"inf"``, ``"1e5"`` or ``"-1"`` are not
numbers to Binance; a NaN that got through would fill an order and poison the wallet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from console.emulator.errors import BinanceError

Params = dict[str, str]

DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
INTEGER_RE = re.compile(r"^[0-9]{1,20}$")
SIGNED_INTEGER_RE = re.compile(r"^-?[0-9]{1,20}$")
CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
SIDES = ("BUY", "SELL")


def missing(key: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed.")


def illegal(key: str, legal: str) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{key}'; legal range is '{legal}'.")


def no_duplicates(pairs: Iterable[tuple[str, str]]) -> Params:
    """The parameters as a dict; a name sent twice (query and body count together) is -1101."""
    out: Params = {}
    for key, value in pairs:
        if key in out:
            raise BinanceError(-1101, f"Duplicate values for a parameter detected: '{key}'.")
        out[key] = value
    return out


def decimal(p: Params, key: str, *, required: bool = False) -> Decimal | None:
    """A non-negative decimal in Binance's grammar, as an exact Decimal (None when absent)."""
    raw = p.get(key)
    if raw is None or raw == "":
        if required:
            raise missing(key)
        return None
    if not isinstance(raw, str) or not DECIMAL_RE.match(raw):
        raise illegal(key, DECIMAL_RE.pattern)
    return Decimal(raw)


def number(p: Params, key: str, *, required: bool = False) -> float:
    """``decimal`` as the float the price model works in; 0.0 when absent and optional."""
    d = decimal(p, key, required=required)
    return 0.0 if d is None else float(d)


def integer(p: Params, key: str, default: int | None = None, *, signed: bool = False) -> int | None:
    raw = p.get(key)
    if raw is None or raw == "":
        return default
    rule = SIGNED_INTEGER_RE if signed else INTEGER_RE
    if not isinstance(raw, str) or not rule.match(raw):
        raise illegal(key, rule.pattern)
    return int(raw)


def limit(p: Params, default: int, most: int) -> int:
    """Binance's ``limit``: a positive integer, capped at the endpoint's maximum."""
    n = integer(p, "limit", default)
    if n is None or n <= 0:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    return min(n, most)


def side(p: Params) -> str:
    raw = p.get("side")
    if not raw:
        raise missing("side")
    if raw.upper() not in SIDES:
        raise BinanceError(-1117, "Invalid side.")
    return raw.upper()


def time_in_force(p: Params, allowed: tuple[str, ...], default: str) -> str:
    raw = p.get("timeInForce")
    if raw is None or raw == "":
        return default
    if raw.upper() not in allowed:
        raise BinanceError(-1115, "Invalid timeInForce.")
    return raw.upper()


def boolean(p: Params, key: str) -> bool:
    raw = p.get(key)
    if raw is None or raw == "":
        return False
    if raw.lower() not in ("true", "false"):
        raise illegal(key, "true, false")
    return raw.lower() == "true"


def client_id(p: Params, key: str = "newClientOrderId") -> str | None:
    raw = p.get(key)
    if raw is None or raw == "":
        return None
    if not CLIENT_ID_RE.match(raw):
        raise illegal(key, CLIENT_ID_RE.pattern)
    return raw
