"""quick_init: a frozen dataclass built by writing its fields straight into the instance keeps
everything a frozen dataclass promises (the legs a plan builds are shared across threads and
cached by identity: they must not change)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from console.core.frozen import quick_init
from console.core.overlay import Leg
from console.core.ticket import OrderStyle, OrderType, TicketLeg


def _leg(**kw: object) -> Leg:
    base: dict[str, object] = {"sleeve": "BTC", "account": "futA", "symbol": "BTC/USDT:USDT", "side": "sell",
                               "contracts": 0.5, "contract_size": 1.0, "linear": True, "price": 60_000.0,
                               "reduce_only": False, "purpose": "open"}
    return Leg(**{**base, **kw})  # type: ignore[arg-type]


def test_a_leg_reads_compares_and_replaces_as_a_frozen_dataclass() -> None:
    leg = _leg()
    assert leg.ratio == 1.0 and leg.notional == 0.5 * 1.0 * 60_000.0
    assert leg == _leg() and hash(leg) == hash(_leg()) and leg != _leg(contracts=0.4)
    assert dataclasses.replace(leg, side="buy").side == "buy" and leg.side == "sell"
    assert dataclasses.asdict(leg)["purpose"] == "open"
    assert Leg("BTC", "futA", "BTC/USDT:USDT", "sell", 0.5, 1.0, True, 60_000.0, False, "open", 2.0).ratio == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        leg.contracts = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        Leg("BTC", "futA")  # type: ignore[call-arg]  # a missing field is still refused


def test_a_ticket_leg_keeps_its_defaults() -> None:
    tl = TicketLeg(_leg())
    assert tl.style == OrderStyle() and tl.limit_price is None and tl.order_type == "market"
    assert TicketLeg(_leg(), OrderStyle(OrderType.LIMIT, 5.0), 59_990.0).order_type == "limit"


def test_classes_it_cannot_build_faithfully_are_refused() -> None:
    @dataclass
    class Loose:
        a: int

    @dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    for cls in (Loose, Checked, Factory):
        with pytest.raises(TypeError):
            quick_init(cls)
