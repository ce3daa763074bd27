"""Venue data (order books, leverage tiers, trading fees) keyed by account, then symbol, and
what a plan reads of an account's markets and funding rates again and again, read once.

Two venues can list the same contract (BTC/USDT:USDT on binanceusdm and on bybit) with their
own book, fee tier and leverage brackets: keyed by symbol alone, one venue's data would price
the other's leg. Every pricing path reads it through ``of`` / ``of_account`` so that each leg
is priced on its own account's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from console.core.costs import FundingInfo, funding_info
from console.core.errors import UserError
from console.core.memo import by_identity
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


# ------------------------------------------------------------ per-market facts, read once
#
# A plan prices every candidate instrument of every sleeve and the roll of every hedge, each
# reading the same few fields of a market and parsing the same funding-rate entry. Those depend
# only on the account's ``markets`` (or ``funding_rates``) mapping, which a stream of snapshots
# hands on as the same object while it is unchanged: the facts are kept per mapping (by its
# identity, see memo) and per symbol, filled in as symbols are asked for.


@dataclass(frozen=True)
class MarketFacts:
    """The fields of a ccxt market a plan prices and sizes legs with."""

    active: bool  # not explicitly inactive (ccxt's ``active`` False)
    contract_size: float  # ``contractSize``, 1 when absent
    linear: bool  # not ``inverse``
    dated: bool  # a dated future: an expiry, type "future", or a dated symbol (…:USDT-261225)
    expiry: int | None  # epoch ms, when the market gives one
    # the market's listed "maker" / "taker" rates, the only fields ``costs.fee_rate`` reads of a
    # market (empty when it lists neither): a plan prices a fee per candidate leg. Compared, but
    # not hashed (a mapping has no hash), so the facts stay hashable
    listed_fees: Mapping[str, Any] = field(hash=False)


def _market_facts(market: Mapping[str, Any] | None, symbol: str) -> MarketFacts:
    m = market or {}
    exp = m.get("expiry")
    return MarketFacts(m.get("active") is not False, float(m.get("contractSize") or 1),
                       not m.get("inverse", False),
                       bool(exp) or m.get("type") == "future" or "-" in symbol.partition(":")[2],
                       int(exp) if exp else None,
                       MappingProxyType({k: m[k] for k in ("maker", "taker") if k in m}))


@by_identity()
def _market_table(markets: Mapping[str, Any]) -> dict[str, MarketFacts]:
    return {}  # filled by market_facts: the same facts whoever asks first


def market_facts(markets: Mapping[str, Any], symbol: str) -> MarketFacts:
    """``symbol``'s facts in an account's ``markets`` (an unlisted symbol: the defaults, dated by
    its name alone)."""
    table = _market_table(markets)
    hit = table.get(symbol)
    if hit is None:
        hit = table[symbol] = _market_facts(markets.get(symbol), symbol)
    return hit


@by_identity()
def _funding_table(funding_rates: Mapping[str, Any]) -> dict[str, FundingInfo | None]:
    return {}  # filled by funding_of


def funding_of(funding_rates: Mapping[str, Any], symbol: str) -> FundingInfo | None:
    """``costs.funding_info`` of ``symbol``'s entry in an account's ``funding_rates``."""
    table = _funding_table(funding_rates)
    if symbol in table:
        return table[symbol]
    out = table[symbol] = funding_info(funding_rates.get(symbol))
    return out
