"""build_spread with an instrument per leg (sell_instrument / buy_instrument)."""

from __future__ import annotations

import pytest

from console.core import planner
from console.core.errors import UserError
from tests import factories as f
from tests.planner.world import DATED, world


def legs(t):
    return [(tl.leg.symbol, tl.leg.side, tl.leg.contracts, tl.leg.reduce_only) for tl in t.legs]


def test_auto_picks_the_cheapest_per_leg():
    cfg, snap = world()  # the dated BTC future is cheaper than the perp for the 13,000 short
    t = planner.build_spread(cfg, snap, "BTC", "ETH")
    assert legs(t) == [(DATED, "sell", 0.212, False), ("ETH/USDT:USDT", "buy", 4.333, False)]


def test_sell_instrument_by_symbol_overrides_the_choice_and_keeps_the_size():
    # 13,000 / 60,000 = 0.21666 → 0.216 in the perp, asked for although the dated future is cheaper
    cfg, snap = world()
    t = planner.build_spread(cfg, snap, "BTC", "ETH", sell_instrument="BTC/USDT:USDT")
    assert legs(t) == [("BTC/USDT:USDT", "sell", 0.216, False), ("ETH/USDT:USDT", "buy", 4.333, False)]
    assert "BTC/USDT:USDT as asked" in t.reasons[0]
    assert t.note.startswith("spread: sell BTC / buy ETH")


def test_instrument_objects_per_leg():
    cfg, snap = world()
    perp = next(h for h in cfg.sleeve("BTC").hedges if h.symbol == "BTC/USDT:USDT")
    eth = cfg.sleeve("ETH").hedges[0]
    t = planner.build_spread(cfg, snap, "BTC", "ETH", sell_instrument=perp, buy_instrument=eth)
    assert [x[0] for x in legs(t)] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_a_chosen_instrument_still_reduces_first():
    # a long 0.1 dated BTC (6,120) is sold reduce-only first; the rest opens in the perp as asked
    cfg, snap = world(positions=[f.position(DATED, 0.1, mark=61_200)])
    t = planner.build_spread(cfg, snap, "BTC", "ETH", sell_instrument="BTC/USDT:USDT")
    first = legs(t)[0]
    assert first[0] == DATED and first[1] == "sell" and first[3] is True
    assert any(s == "BTC/USDT:USDT" and side == "sell" and not ro for s, side, _, ro in legs(t))


def test_an_instrument_outside_the_sleeves_hedges_is_refused():
    cfg, snap = world()
    with pytest.raises(UserError, match="not one of ETH's hedges"):
        planner.build_spread(cfg, snap, "BTC", "ETH", buy_instrument="BTC/USDT:USDT")
