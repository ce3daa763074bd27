"""BookSource keys books and leverage tiers by account, then symbol: two venues listing the
same perp each answer for their own account (one's book never prices the other's leg)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from console.venues.books import BookSource

SYM = "BTC/USDT:USDT"


class Venues:
    """Two accounts listing SYM, each with its own book and tiers; bybit's book can fail."""

    def __init__(self, bybit_fails: bool = False) -> None:
        self.bybit_fails = bybit_fails
        self.venues = {name: SimpleNamespace(exchange=self._exchange(name)) for name in ("futures", "bybit")}

    @staticmethod
    def _exchange(name: str) -> Any:
        async def fetch_leverage_tiers(symbols: list[str]) -> dict[str, Any]:
            mmr = 0.004 if name == "futures" else 0.01
            return {s: [{"minNotional": 0, "maxNotional": 1e9, "maintenanceMarginRate": mmr, "maxLeverage": 100}]
                    for s in symbols}
        return SimpleNamespace(id=name, has={"fetchLeverageTiers": True}, fetch_leverage_tiers=fetch_leverage_tiers)

    async def order_book(self, account: str, symbol: str) -> dict[str, Any]:
        if account == "bybit" and self.bybit_fails:
            raise RuntimeError("timed out")
        mid, half = 60_000.0, 5.0 if account == "futures" else 20.0
        return {"bids": [[mid - half, 1.0]], "asks": [[mid + half, 1.0]], "timestamp": 0}


def source(venues: Venues) -> BookSource:
    async def call(coro: Any) -> Any:
        return await coro
    return BookSource(lambda: venues, call)  # type: ignore[arg-type]


async def test_each_account_gets_its_own_book() -> None:
    books, errors = await source(Venues()).books([("futures", SYM), ("bybit", SYM)])
    assert errors == {}
    assert books["futures"][SYM]["bids"][0][0] == 60_000 - 5
    assert books["bybit"][SYM]["bids"][0][0] == 60_000 - 20


async def test_a_missing_book_is_said_for_its_account_only() -> None:
    books, errors = await source(Venues(bybit_fails=True)).books([("futures", SYM), ("bybit", SYM)])
    assert list(books) == ["futures"] and SYM in books["futures"]
    assert list(errors) == ["bybit"] and list(errors["bybit"]) == [SYM]
    assert errors["bybit"][SYM].startswith("no order book from bybit: ") and "timed out" in errors["bybit"][SYM]


async def test_each_account_gets_its_own_tiers() -> None:
    from console.core.ticket import Ticket, TicketKind, TicketLeg
    from tests.execution.helpers import leg

    t = Ticket(TicketKind.SPREAD, (TicketLeg(leg(SYM, "sell", 0.1, account="futures")),
                                   TicketLeg(leg(SYM, "buy", 0.1, account="bybit"))), 0)
    tiers, errors = await source(Venues()).tiers(t, None)
    assert errors == []
    assert tiers["futures"][SYM][0]["maintenanceMarginRate"] == 0.004
    assert tiers["bybit"][SYM][0]["maintenanceMarginRate"] == 0.01
