"""`s` on the sample state: the spread the drift calls for, or the planner's proposal and why."""

from __future__ import annotations

from console.app.screens.builder import BuilderScreen
from console.core.allocation import compute_allocation
from console.core.config import Goal
from console.core.planner import spread_pair
from console.core.ticket import TicketKind
from tests.app.conftest import SIZE, loaded, make_app, settle
from tests.app.sample import PRICES, sample_config, sample_snapshot


def test_spread_pair_by_drift_among_hedged_sleeves() -> None:
    cfg = sample_config()
    # ALTS +2.19 pp (breach), BTC −4.78 pp (warn); STABLE (+3.54, warn) has no hedges
    assert spread_pair(cfg, compute_allocation(cfg, sample_snapshot()), Goal.TARGET) == ("ALTS", "BTC")
    # BTC −1.78 pp is only "ok", but ALTS is in breach: one side in warn or breach is enough
    up = sample_snapshot(prices={a: p * 1.6 for a, p in PRICES.items()})
    assert spread_pair(cfg, compute_allocation(cfg, up), Goal.TARGET) == ("ALTS", "BTC")
    # to the band edge nothing hedged is underweight (BTC is inside its band)
    why = spread_pair(cfg, compute_allocation(cfg, sample_snapshot()), Goal.BAND)
    assert why == "no sleeve with hedges is underweight against its band"


async def test_s_builds_the_spread() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await settle(pilot, 5)
        b = app.screen
        assert isinstance(b, BuilderScreen)
        assert (b.inputs.kind, b.inputs.sell, b.inputs.buy) == ("spread", "ALTS", "BTC")
        assert b.ticket is not None and b.ticket.kind is TicketKind.SPREAD
        sides = {tl.leg.sleeve: tl.leg.side for tl in b.ticket.legs if not tl.leg.reduce_only}
        assert sides.get("ALTS") == "sell"


async def test_without_a_pair_s_falls_back_to_the_proposal_and_says_why() -> None:
    app = make_app(goal=Goal.BAND)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await settle(pilot, 5)
        b = app.screen
        assert isinstance(b, BuilderScreen)
        assert b.inputs.kind == "hedge" and b.inputs.sell == "ALTS"
        assert b.banner.startswith("no spread to build (no sleeve with hedges is underweight against its band)")
        note = str(b.query_one("#b-note").render())
        assert "no spread to build" in note and "ALTS" in note
