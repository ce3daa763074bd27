"""Venue data (order books, leverage tiers, trading fees) keyed by account, then symbol.

Two venues can list the same contract (BTC/USDT:USDT on binanceusdm and on bybit) with their
own book, fee tier and leverage brackets: keyed by symbol alone, one venue's data would price
the other's leg. Every pricing path reads it through ``of`` / ``of_account`` so that each leg
is priced on its own account's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from console.core.errors import UserError
from console.core.snapshot import Snapshot

# account → symbol → the venue's answer (a ccxt order book, leverage tiers, trading fee)
ByAccount = Mapping[str, Mapping[str, Any]]
# one shared "nothing": risk caches its sums by the identity of the tiers mapping it is given
_NONE: Mapping[str, Any] = MappingProxyType({})


def of_account(data: ByAccount | None, account: str) -> Mapping[str, Any]:
    """``account``'s own data by symbol (empty when there is none)."""
    return (data or {}).get(account) or _NONE


def of(data: ByAccount | None, account: str, symbol: str) -> Any | None:
    """``account``'s own data for ``symbol``, or None."""
    return of_account(data, account).get(symbol)


def by_account(data: Mapping[str, Any], snap: Snapshot, flag: str) -> dict[str, dict[str, Any]]:
    """A venue-data file as ``ByAccount``. Keyed by account already ({"futures": {symbol: …}}),
    it is taken as it is; keyed by symbol, each symbol goes to the one account that lists it,
    and a symbol two accounts list is refused (whose book or fees would it be?)."""
    if data and all(k in snap.accounts for k in data):
        bad = next((k for k, v in data.items() if not isinstance(v, Mapping)), None)
        if bad is not None:
            raise UserError(f"{flag}: {bad!r} must be an object keyed by symbol, e.g. "
                            f'{{"{bad}": {{"BTC/USDT:USDT": ...}}}}')
        return {a: dict(v) for a, v in data.items()}
    out: dict[str, dict[str, Any]] = {}
    for sym, v in data.items():
        listing = [n for n, a in snap.accounts.items() if sym in a.markets]
        if len(listing) > 1:
            raise UserError(f"{flag}: {sym} is listed on {' and '.join(listing)}, whose data differ; key the file "
                            f'by account, e.g. {{"{listing[0]}": {{"{sym}": ...}}}}')
        if listing:
            out.setdefault(listing[0], {})[sym] = v
    return out


def merged(a: ByAccount, b: ByAccount) -> dict[str, dict[str, Any]]:
    """``a`` with ``b``'s entries added (``b`` wins for an (account, symbol) both hold)."""
    out = {acct: dict(v) for acct, v in a.items()}
    for acct, v in b.items():
        out.setdefault(acct, {}).update(v)
    return out
