"""The kill switch's flatten plan: close the futures overlay, never touch spot.

Pure: given each contract account's open positions (ccxt unified position dicts, fetched
fresh by the executor), return one reduce-only market leg per position. Reduce-only means
the venue itself refuses to turn a close into a new position if our numbers are stale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from console.core.config import Config, symbol_base
from console.core.numbers import num
from console.core.overlay import Leg
from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg


def _f(v: Any) -> float:
    """A position's figure, 0 when it is missing; one that is there but unreadable stays NaN, so
    the flatten plan carries it and the executor's checks refuse that leg by name."""
    if v is None:
        return 0.0
    out = num(v)
    return float("nan") if out is None else out


def _sleeve_of(config: Config, symbol: str) -> str:
    base = symbol_base(symbol)
    for s in config.sleeves:
        if base in s.assets or any(h.symbol == symbol for h in s.hedges):
            return s.name
    return ""


def flatten_legs(config: Config, positions: Mapping[str, Sequence[dict[str, Any]]]) -> tuple[Leg, ...]:
    """One reduce-only leg per open futures position of every configured contract account.

    Accounts that hold no contracts (spot) are skipped even if positions are passed for them;
    so are positions with no size and anything that is not a contract (no ``contracts``)."""
    legs: list[Leg] = []
    for acct in config.accounts:
        if not acct.holds_contracts:
            continue
        for p in positions.get(acct.name, ()):
            n = abs(_f(p.get("contracts")))
            if n == 0 or p.get("side") not in ("long", "short"):
                continue
            symbol = str(p["symbol"])
            settle = symbol.split(":", 1)[1].split("-")[0] if ":" in symbol else ""
            linear = settle != symbol_base(symbol)
            legs.append(Leg(
                sleeve=_sleeve_of(config, symbol), account=acct.name, symbol=symbol,
                side="sell" if p["side"] == "long" else "buy", contracts=n,
                contract_size=_f(p.get("contractSize")) or 1.0, linear=linear,
                price=_f(p.get("markPrice")), reduce_only=True, purpose="flatten"))
    return tuple(legs)


def flatten_ticket(legs: Sequence[Leg], now_ms: int) -> Ticket:
    market = OrderStyle(type=OrderType.MARKET)
    return Ticket(kind=TicketKind.FLATTEN, legs=tuple(TicketLeg(leg=leg, style=market) for leg in legs),
                  snapshot_ts=now_ms, horizon_days=0.0,
                  note="kill switch: close every futures position with reduce-only market orders")
