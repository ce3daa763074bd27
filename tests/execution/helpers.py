"""Shared builders for the execution tests: a two-account config, snapshots, tickets."""

from __future__ import annotations

from console.core.overlay import Leg
from console.core.snapshot import Snapshot
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from tests import factories as f

CONFIG_TOML = """
[portfolio]
quote = "USDT"

[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.5
hedges = ["BTC/USDT:USDT"]

[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.3
hedges = ["ETH/USDT:USDT"]

[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.2

[[accounts]]
name = "spot"
exchange = "binance"
markets = ["spot"]

[[accounts]]
name = "futures"
exchange = "binanceusdm"
markets = ["swap"]
"""

PRICES = {"BTC/USDT:USDT": 60_000.0, "ETH/USDT:USDT": 3_000.0}


def config(extra: str = ""):
    return f.config(CONFIG_TOML + extra)


def snapshot(at: int = f.T0, positions: list | None = None) -> Snapshot:
    fut = f.account(
        "futures", "binanceusdm",
        markets=[f.market(s) for s in PRICES],
        balance={"USDT": 200_000.0},
        tickers=[f.ticker(s, p) for s, p in PRICES.items()],
        positions=positions or [], at=at)
    spot = f.account("spot", "binance", markets=[f.market("BTC/USDT"), f.market("ETH/USDT")],
                     balance={"BTC": 1.0, "ETH": 10.0, "USDT": 20_000.0},
                     tickers=[f.ticker("BTC/USDT", 60_000.0), f.ticker("ETH/USDT", 3_000.0)], at=at)
    return f.snapshot(fut, spot, at=at)


def leg(symbol: str, side: str, contracts: float, *, account: str = "futures", reduce_only: bool = False) -> Leg:
    return Leg(sleeve=symbol.split("/")[0], account=account, symbol=symbol, side=side, contracts=contracts,
               contract_size=1.0, linear=True, price=PRICES.get(symbol, 100.0), reduce_only=reduce_only,
               purpose="reduce" if reduce_only else "open")


def spread_ticket(btc: float = 0.25, eth: float = 5.0, *, limit: bool = False) -> Ticket:
    style = OrderStyle(type=OrderType.LIMIT) if limit else OrderStyle()
    return Ticket(kind=TicketKind.SPREAD, snapshot_ts=f.T0, note="short BTC, long ETH",
                  legs=(TicketLeg(leg("BTC/USDT:USDT", "sell", btc), style=style,
                                  limit_price=59_990.0 if limit else None),
                        TicketLeg(leg("ETH/USDT:USDT", "buy", eth), style=style,
                                  limit_price=3_001.0 if limit else None)))


def hedge_ticket(contracts: float = 0.25, side: str = "sell", symbol: str = "BTC/USDT:USDT") -> Ticket:
    return Ticket(kind=TicketKind.HEDGE, snapshot_ts=f.T0, legs=(TicketLeg(leg(symbol, side, contracts)),))
