"""Builders for ccxt-shaped unified structures (markets, tickers, positions) and snapshots.

They produce exactly the keys ccxt's binance parsers produce that the console reads, so a
test's state looks like one `rebal-tui snapshot` would write.
"""

from __future__ import annotations

from typing import Any

from console.core.config import Config, parse_config
from console.core.snapshot import AccountState, Snapshot

T0 = 1_795_262_400_000  # 2026-11-21T12:00:00Z, the tests' fixed clock

# DOMAIN example 2's book: BTC 40±4, ETH 30±3, ALTS 15±2 (hedged by an alt index, a proxy),
# STABLE 15±3, absolute bands
EXAMPLE_2_CONFIG = """
[portfolio]
band_policy = "absolute"
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.40
band_abs = 0.04
hedges = ["BTC/USDT:USDT"]
[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.30
band_abs = 0.03
hedges = ["ETH/USDT:USDT"]
[[sleeves]]
name = "ALTS"
assets = ["SOL", "AVAX"]
target = 0.15
band_abs = 0.02
hedges = [{ symbol = "ALTIDX/USDT:USDT", proxy = true, ratio = 1.0 }]
[[sleeves]]
name = "STABLE"
assets = ["USDT", "USDC"]
target = 0.15
band_abs = 0.03
"""


def market(symbol: str, *, step: float = 0.001, tick: float = 0.1, min_amount: float | None = None,
           min_cost: float | None = None, contract_size: float | None = None, expiry: int | None = None,
           taker: float = 0.0005, maker: float = 0.0002, active: bool = True) -> dict[str, Any]:
    base, _, rest = symbol.partition("/")
    quote, _, settle_part = rest.partition(":")
    settle = settle_part.split("-")[0] or None
    contract = settle is not None
    inverse = contract and settle == base
    dated = contract and "-" in settle_part
    mtype = "future" if dated else ("swap" if contract else "spot")
    return {
        "id": symbol.replace("/", "").split(":")[0] + (("_" + settle_part.split("-")[1]) if dated else ""),
        "symbol": symbol, "base": base, "quote": quote, "settle": settle,
        "baseId": base, "quoteId": quote, "settleId": settle,
        "type": mtype, "spot": not contract, "margin": False, "swap": mtype == "swap",
        "future": dated, "option": False, "active": active, "contract": contract,
        "linear": (not inverse) if contract else None, "inverse": inverse if contract else None,
        "contractSize": (contract_size if contract_size is not None else (100.0 if inverse else 1.0)) if contract else None,
        "expiry": expiry, "expiryDatetime": None, "strike": None, "optionType": None,
        "taker": taker, "maker": maker,
        "precision": {"amount": step, "price": tick},
        "limits": {
            "amount": {"min": min_amount if min_amount is not None else step, "max": None},
            "cost": {"min": min_cost, "max": None},
            "price": {"min": None, "max": None},
            "leverage": {"min": None, "max": None},
        },
        "info": {},
    }


def ticker(symbol: str, price: float, *, mark: float | None = None, spread_bps: float = 1.0) -> dict[str, Any]:
    half = price * spread_bps / 20_000
    out: dict[str, Any] = {"symbol": symbol, "timestamp": T0, "last": price, "close": price,
                           "bid": price - half, "ask": price + half}
    if ":" in symbol:
        out["markPrice"] = mark if mark is not None else price
        out["indexPrice"] = price
    return out


def position(symbol: str, contracts: float, *, mark: float, entry: float | None = None,
             contract_size: float = 1.0, upnl: float = 0.0, leverage: float = 2.0,
             margin_mode: str = "cross", liquidation: float | None = None) -> dict[str, Any]:
    return {
        "symbol": symbol, "contracts": abs(contracts), "contractSize": contract_size,
        "side": "short" if contracts < 0 else "long", "markPrice": mark,
        "entryPrice": entry if entry is not None else mark, "unrealizedPnl": upnl,
        "leverage": leverage, "marginMode": margin_mode, "liquidationPrice": liquidation,
        "timestamp": T0, "info": {},
    }


def account(name: str, exchange: str, *, markets: list[dict[str, Any]] | None = None,
            balance: dict[str, float] | None = None, tickers: list[dict[str, Any]] | None = None,
            positions: list[dict[str, Any]] | None = None, funding: list[dict[str, Any]] | None = None,
            at: int = T0) -> AccountState:
    total = dict(balance or {})
    return AccountState(
        name=name, exchange=exchange,
        markets={m["symbol"]: m for m in markets or []},
        balance={"total": total, "free": dict(total), "used": {k: 0.0 for k in total}, "timestamp": at},
        positions=tuple(positions or []),
        tickers={t["symbol"]: t for t in tickers or []},
        funding_rates={f["symbol"]: f for f in funding or []},
        fetched_at={p: at for p in ("markets", "balance", "positions", "tickers", "funding_rates")},
    )


def snapshot(*accounts: AccountState, at: int = T0) -> Snapshot:
    return Snapshot(timestamp=at, accounts={a.name: a for a in accounts})


def config(toml: str) -> Config:
    return parse_config(toml, "test config")
