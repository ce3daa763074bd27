"""How old each account's data is, and which parts are too old to plan on.

One definition for the whole console: the alerts, the venue layer's refusal to plan, the
executor's send-time check and every screen's header all read ages through these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from console.core.config import Account, Config
from console.core.snapshot import AccountState, Snapshot


# parts whose age matters for a plan (markets are loaded once and do not age)
def required_parts(account: Account) -> tuple[str, ...]:
    if account.holds_contracts:
        return ("balance", "positions", "tickers", "funding_rates")
    return ("balance", "tickers")


def stale_parts(state: AccountState, account: Account, now_ms: int, max_age_s: float) -> tuple[str, ...]:
    """Parts that are missing or older than ``max_age_s`` (markets must only be present)."""
    out = [] if "markets" in state.fetched_at else ["markets"]
    limit = max_age_s * 1000
    for part in required_parts(account):
        age = state.age_ms(part, now_ms)
        if age is None or age > limit:
            out.append(part)
    return tuple(out)


def stale_accounts(config: Config, snap: Snapshot, now_ms: int) -> dict[str, tuple[str, ...]]:
    """Per account, the parts older than the config's max data age (or never fetched)."""
    out = {}
    for acct in config.accounts:
        st = snap.accounts.get(acct.name)
        if st is None:
            out[acct.name] = ("all",)
            continue
        out[acct.name] = stale_parts(st, acct, now_ms, config.limits.max_data_age_s)
    return out


@dataclass(frozen=True)
class Freshness:
    account: str
    age_ms: int | None
    stale: bool
    error: str | None


def freshness(snapshot: Snapshot | None, stale: Mapping[str, tuple[str, ...]], now_ms: int) -> dict[str, Freshness]:
    """Each account's data age at ``now_ms``: the oldest of its balance, positions and tickers
    reads, with the stale flags (``stale_accounts``) and fetch errors. Every screen's header uses this, so
    they all show the same ages. ``{}`` before the first snapshot."""
    if snapshot is None:
        return {}
    out: dict[str, Freshness] = {}
    for name, acct in snapshot.accounts.items():
        oldest = acct.oldest_ms()
        out[name] = Freshness(name, None if oldest is None else max(0, now_ms - oldest),
                              bool(stale.get(name)), acct.error)
    return out
