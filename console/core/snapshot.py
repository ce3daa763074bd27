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
import math
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
    # the venue's leverage tiers (ccxt ``fetch_leverage_tiers``) of the held contracts whose
    # margin ratio and liquidation price the console works out itself (COIN-M: Binance reports
    # no account-wide ratio there); symbol -> ccxt's tier list. Empty elsewhere.
    leverage_tiers: Mapping[str, Any] = field(default_factory=dict)

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
                **({"leverage_tiers": dict(a.leverage_tiers)} if a.leverage_tiers else {}),
            }
            for name, a in snap.accounts.items()
        },
    }


FIX = "take a fresh snapshot with `rebal-tui snapshot --out PATH`"
MAX_DEPTH = 32  # a ccxt state nests a handful of levels; a deeper file is not one

# the fields of ccxt's unified structures the console reads as numbers: each must be a finite
# number or null (NaN, ∞ or text there would reach a weight, a limit or a lot rounding)
_MARKET_NUMBERS = ("contractSize", "expiry", "taker", "maker")
_MARKET_FLAGS = ("spot", "swap", "future", "contract", "linear", "inverse", "active")
_MARKET_TEXT = ("id", "symbol", "base", "quote", "type")  # ccxt's set_markets indexes these
_POSITION_NUMBERS = ("contracts", "contractSize", "entryPrice", "markPrice", "unrealizedPnl", "leverage",
                     "collateral", "notional", "liquidationPrice", "initialMargin", "maintenanceMargin",
                     "marginRatio", "timestamp")
_TICKER_NUMBERS = ("last", "close", "bid", "ask", "markPrice", "indexPrice", "timestamp", "high", "low", "open")
_FUNDING_NUMBERS = ("fundingRate", "nextFundingTimestamp", "fundingTimestamp", "markPrice", "indexPrice",
                    "timestamp", "interval_hours")
_TIER_NUMBERS = ("minNotional", "maxNotional", "maintenanceMarginRate", "maxLeverage")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_epoch_ms(v: Any) -> bool:
    """Epoch milliseconds a date can be made of: from 1970 to the year 5000 (a larger or
    negative figure is not a time, and would overflow the date it is shown as)."""
    return _is_number(v) and 0 <= v < 95_617_584_000_000


_TIME_KEYS = frozenset({"expiry", "timestamp", "nextFundingTimestamp", "fundingTimestamp"})


def _numbers(obj: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    for k in keys:
        v = obj.get(k)
        if v is None:
            continue
        if not _is_number(v):
            raise UserError(f"{where}.{k}: {json.dumps(v, default=str)[:40]} is not a finite number; {FIX}")
        if k in _TIME_KEYS and not _is_epoch_ms(v):
            raise UserError(f"{where}.{k}: {v!r} is not a time in epoch milliseconds; {FIX}")


def _object(v: Any, where: str, what: str = "an object") -> dict[str, Any]:
    if not isinstance(v, dict):
        raise UserError(f"{where}: must be {what}; {FIX}")
    return v


def _check_market(sym: str, m: Any, where: str) -> None:
    m = _object(m, where, "a ccxt market")
    for k in _MARKET_TEXT:
        if not isinstance(m.get(k), str):
            raise UserError(f"{where}.{k}: a ccxt market needs '{k}' as text; {FIX}")
    for k in _MARKET_FLAGS:
        if k == "spot" and not isinstance(m.get(k), bool):
            raise UserError(f"{where}.spot: a ccxt market needs 'spot' as true/false; {FIX}")
        if m.get(k) is not None and not isinstance(m.get(k), bool):
            raise UserError(f"{where}.{k}: must be true, false or null; {FIX}")
    _numbers(m, _MARKET_NUMBERS, where)
    if m.get("settle") is not None and not isinstance(m["settle"], str):
        raise UserError(f"{where}.settle: must be text or null; {FIX}")
    prec = m.get("precision")
    if prec is not None:
        _numbers(_object(prec, f"{where}.precision"), ("amount", "price"), f"{where}.precision")
        for k in ("amount", "price"):
            v = prec.get(k)
            if v is not None and not 1e-18 <= v <= 1e12:  # a step, tick or digit count
                raise UserError(f"{where}.precision.{k}: {v!r} is not a lot step or tick; {FIX}")
    limits = m.get("limits")
    if limits is not None:
        for k, lim in _object(limits, f"{where}.limits").items():
            if lim is not None:
                _numbers(_object(lim, f"{where}.limits.{k}"), ("min", "max"), f"{where}.limits.{k}")


def _check_markets(markets: Any, where: str) -> None:
    for sym, m in _object(markets, where).items():
        _check_market(sym, m, f"{where}.{sym}")


def _check_balance(balance: Any, where: str) -> None:
    bal = _object(balance, where)
    for part in ("total", "free", "used"):
        if bal.get(part) is not None:
            amounts = _object(bal[part], f"{where}.{part}", "an object of amounts by currency")
            _numbers(amounts, tuple(amounts), f"{where}.{part}")


def _check_positions(positions: Any, where: str) -> None:
    if not isinstance(positions, list | tuple):
        raise UserError(f"{where}: must be a JSON array; {FIX}")
    for i, p in enumerate(positions):
        pw = f"{where}[{i}]"
        p = _object(p, pw, "a ccxt position")
        if not isinstance(p.get("symbol"), str):
            raise UserError(f"{pw}: must be a ccxt position with 'symbol'")
        _numbers(p, _POSITION_NUMBERS, pw)
        if p.get("side") not in (None, "long", "short"):
            raise UserError(f"{pw}.side: must be \"long\", \"short\" or null; {FIX}")
        if p.get("marginMode") is not None and not isinstance(p["marginMode"], str):
            raise UserError(f"{pw}.marginMode: must be \"cross\", \"isolated\" or null; {FIX}")


def _check_quotes(keys: tuple[str, ...]) -> Any:
    def check(quotes: Any, where: str) -> None:
        for sym, t in _object(quotes, where).items():
            _numbers(_object(t, f"{where}.{sym}"), keys, f"{where}.{sym}")
            if t.get("info") is not None and not isinstance(t["info"], dict):
                raise UserError(f"{where}.{sym}.info: must be an object; {FIX}")
            if t.get("interval") is not None and not isinstance(t["interval"], str):
                raise UserError(f"{where}.{sym}.interval: must be text such as \"8h\"; {FIX}")
    return check


def _check_tiers(tiers: Any, where: str) -> None:
    """ccxt's leverage tiers by symbol: a list of tiers, each rate and bound a finite number (a
    maintenance rate read as NaN would make a margin ratio NaN)."""
    for sym, rows in _object(tiers, where).items():
        if not isinstance(rows, list | tuple):
            raise UserError(f"{where}.{sym}: must be a JSON array of ccxt leverage tiers; {FIX}")
        for i, t in enumerate(rows):
            tw = f"{where}.{sym}[{i}]"
            t = _object(t, tw, "a ccxt leverage tier")
            _numbers(t, _TIER_NUMBERS, tw)
            if t.get("maintenanceMarginRate") is None:
                raise UserError(f"{tw}.maintenanceMarginRate: a leverage tier needs its maintenance rate; {FIX}")
            info = t.get("info")
            if isinstance(info, Mapping):
                _numbers(info, ("cum",), f"{tw}.info")


# what each part of an account must look like: the state file's parts and a venue's answers
_PART_CHECKS = {"markets": _check_markets, "balance": _check_balance, "positions": _check_positions,
                "tickers": _check_quotes(_TICKER_NUMBERS), "funding_rates": _check_quotes(_FUNDING_NUMBERS),
                "leverage_tiers": _check_tiers}


def check_part(part: str, value: Any, where: str) -> None:
    """Refuse a part whose fields the console reads are not ccxt's types or not finite, with a
    UserError naming the field (``where`` prefixes it: "state.json: accounts.fut.tickers")."""
    check = _PART_CHECKS.get(part)
    if check is not None:
        check(value, where)


def _check_account(a: dict[str, Any], where: str) -> None:
    for part in (*PARTS, "leverage_tiers"):
        if part in a:
            check_part(part, a[part], f"{where}.{part}")
    fetched = _object(a.get("fetched_at", {}), f"{where}.fetched_at")
    for k, v in fetched.items():
        if not _is_epoch_ms(v):
            raise UserError(f"{where}.fetched_at.{k}: must be epoch milliseconds (a whole number); {FIX}")
    if a.get("error") is not None and not isinstance(a["error"], str):
        raise UserError(f"{where}.error: must be text or null; {FIX}")


def snapshot_from_dict(data: Any, source: str = "state") -> Snapshot:
    """A Snapshot from a state file's JSON, checked first: every field the console reads has
    ccxt's type and every number is finite, or a UserError names the field and the fix."""
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a JSON object with 'timestamp' and 'accounts'")
    ts = data.get("timestamp")
    if not _is_epoch_ms(ts):
        raise UserError(f"{source}: 'timestamp' must be epoch milliseconds (a finite number from 0); {FIX}")
    accts = data.get("accounts")
    if not isinstance(accts, dict):
        raise UserError(f"{source}: 'accounts' must be an object keyed by account name")
    out: dict[str, AccountState] = {}
    for name, a in accts.items():
        where = f"{source}: accounts.{name}"
        if not name.strip():
            raise UserError(f"{source}: an account has an empty name; {FIX}")
        if not isinstance(a, dict):
            raise UserError(f"{where}: must be an object")
        exchange = a.get("exchange")
        if not isinstance(exchange, str):
            raise UserError(f"{where}.exchange: must be the ccxt exchange id, e.g. \"binance\"")
        for part, kind in (("markets", dict), ("balance", dict), ("positions", list), ("tickers", dict),
                           ("funding_rates", dict), ("fetched_at", dict), ("leverage_tiers", dict)):
            if part in a and not isinstance(a[part], kind):
                raise UserError(f"{where}.{part}: must be a JSON {'array' if kind is list else 'object'}")
        _check_account(a, where)
        fetched = a.get("fetched_at") or {p: int(ts) for p in PARTS if p in a}
        out[name] = AccountState(
            name=name,
            exchange=exchange,
            markets=a.get("markets", {}),
            balance=a.get("balance", {}),
            positions=tuple(a.get("positions", [])),
            tickers=a.get("tickers", {}),
            funding_rates=a.get("funding_rates", {}),
            fetched_at={k: int(v) for k, v in fetched.items()},
            error=a.get("error"),
            leverage_tiers=a.get("leverage_tiers", {}),
        )
    return Snapshot(timestamp=int(ts), accounts=out)


def load_snapshot(path: Path) -> Snapshot:
    from console.core.config import read_text_file, shape_problem

    text = read_text_file(path, f"no such state file; write one with `rebal-tui snapshot --out {path}`")
    try:
        data = json.loads(text)  # NaN / Infinity tokens parse; shape_problem then names their field
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deep to be a state file; {FIX}") from None
    problem = shape_problem(data, MAX_DEPTH)
    if problem:
        raise UserError(f"{path}: {problem[0]} {problem[1]}; {FIX}")
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
