"""The console's picture of the world: one immutable Snapshot, each part time-stamped.

Per account it holds ccxt's own unified structures under ccxt's names (``markets`` from
load_markets, ``balance`` from fetch_balance, ``positions`` from fetch_positions, ``tickers``
from fetch_tickers, ``funding_rates`` from fetch_funding_rates). The raw dicts are never
mutated after construction; code that needs a changed world builds a new Snapshot.

One normalisation is part of the schema: for an account that holds contracts,
``balance["total"]`` is the *wallet* balance, without unrealised PnL (ccxt's binance reports
the margin balance there, which already includes it; the venue layer writes
``info.walletBalance`` instead so that NAV does not count the PnL twice).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from console.core.errors import UserError

PARTS = ("markets", "balance", "positions", "tickers", "funding_rates")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AccountState:
    name: str
    exchange: str
    markets: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    balance: Mapping[str, Any] = field(default_factory=dict)
    positions: tuple[dict[str, Any], ...] = ()
    tickers: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    funding_rates: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # epoch ms at which each part was fetched; a part never fetched is absent
    fetched_at: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None  # last fetch error, shown next to the account's freshness

    def age_ms(self, part: str, now_ms: int) -> int | None:
        t = self.fetched_at.get(part)
        return None if t is None else max(0, now_ms - t)

    def oldest_ms(self) -> int | None:
        times = [self.fetched_at[p] for p in ("balance", "positions", "tickers") if p in self.fetched_at]
        return min(times) if times else None

    def total_balance(self) -> dict[str, float]:
        total = self.balance.get("total") or {}
        return {str(k).upper(): float(v) for k, v in total.items() if v}

    def open_positions(self) -> list[dict[str, Any]]:
        return [p for p in self.positions if float(p.get("contracts") or 0) != 0]


@dataclass(frozen=True)
class Snapshot:
    timestamp: int  # epoch ms when the snapshot was assembled
    accounts: Mapping[str, AccountState] = field(default_factory=dict)

    def account(self, name: str) -> AccountState:
        try:
            return self.accounts[name]
        except KeyError:
            raise UserError(
                f"the state has no account {name!r}; it has {sorted(self.accounts)}; "
                "take a fresh snapshot or fix the account name in the config"
            ) from None

    def with_account(self, acct: AccountState, timestamp: int | None = None) -> Snapshot:
        accounts = dict(self.accounts)
        accounts[acct.name] = acct
        return Snapshot(timestamp=timestamp if timestamp is not None else self.timestamp, accounts=accounts)

    def with_positions(self, account: str, positions: tuple[dict[str, Any], ...]) -> Snapshot:
        return self.with_account(replace(self.account(account), positions=positions))


def snapshot_to_dict(snap: Snapshot) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "timestamp": snap.timestamp,
        "accounts": {
            name: {
                "exchange": a.exchange,
                "fetched_at": dict(a.fetched_at),
                "markets": dict(a.markets),
                "balance": dict(a.balance),
                "positions": list(a.positions),
                "tickers": dict(a.tickers),
                "funding_rates": dict(a.funding_rates),
                **({"error": a.error} if a.error else {}),
            }
            for name, a in snap.accounts.items()
        },
    }


def snapshot_from_dict(data: Any, source: str = "state") -> Snapshot:
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a JSON object with 'timestamp' and 'accounts'")
    ts = data.get("timestamp")
    if not isinstance(ts, int | float):
        raise UserError(f"{source}: 'timestamp' must be epoch milliseconds (a number)")
    accts = data.get("accounts")
    if not isinstance(accts, dict):
        raise UserError(f"{source}: 'accounts' must be an object keyed by account name")
    out: dict[str, AccountState] = {}
    for name, a in accts.items():
        where = f"{source}: accounts.{name}"
        if not isinstance(a, dict):
            raise UserError(f"{where}: must be an object")
        exchange = a.get("exchange")
        if not isinstance(exchange, str):
            raise UserError(f"{where}.exchange: must be the ccxt exchange id, e.g. \"binance\"")
        for part, kind in (("markets", dict), ("balance", dict), ("positions", list), ("tickers", dict),
                           ("funding_rates", dict), ("fetched_at", dict)):
            if part in a and not isinstance(a[part], kind):
                raise UserError(f"{where}.{part}: must be a JSON {'array' if kind is list else 'object'}")
        markets = a.get("markets", {})
        for sym, m in markets.items():
            if not isinstance(m, dict) or "symbol" not in m:
                raise UserError(f"{where}.markets.{sym}: must be a ccxt market with at least 'symbol'")
        for i, p in enumerate(a.get("positions", [])):
            if not isinstance(p, dict) or not isinstance(p.get("symbol"), str):
                raise UserError(f"{where}.positions[{i}]: must be a ccxt position with 'symbol'")
        fetched = a.get("fetched_at") or {p: int(ts) for p in PARTS if p in a}
        out[name] = AccountState(
            name=name,
            exchange=exchange,
            markets=markets,
            balance=a.get("balance", {}),
            positions=tuple(a.get("positions", [])),
            tickers=a.get("tickers", {}),
            funding_rates=a.get("funding_rates", {}),
            fetched_at={k: int(v) for k, v in fetched.items()},
            error=a.get("error"),
        )
    return Snapshot(timestamp=int(ts), accounts=out)


def load_snapshot(path: Path) -> Snapshot:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such state file; write one with `rebal-tui snapshot --out {path}`") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return snapshot_from_dict(data, str(path))


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing: a temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_snapshot(snap: Snapshot, path: Path) -> None:
    write_atomic(path, json.dumps(snapshot_to_dict(snap), indent=1, sort_keys=True, default=str))


def book_key(snap: Snapshot) -> tuple:
    """What a ticket's sizes rest on besides prices: every account's open positions and
    balances. When it changes (a fill, a transfer, a liquidation) a ticket built before is
    wrong, not just a little stale, and must be built again before it can be reviewed."""
    return tuple(sorted(
        (name, tuple(sorted((str(p.get("symbol")), str(p.get("side")), float(p.get("contracts") or 0))
                            for p in acct.open_positions())),
         tuple(sorted(acct.total_balance().items())))
        for name, acct in snap.accounts.items()))
