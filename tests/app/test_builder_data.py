"""The builder on the emulator: real order books and leverage tiers reach the preview, a
failure to fetch them is said (never a silent n/a), the preview's "margin before" agrees with
the dashboard's venue-reported ratio, and `s` opens the spread the drift calls for."""

from __future__ import annotations

from textual.pilot import Pilot

from console.app.screens.builder import BuilderScreen
from console.app.screens.confirm import ConfirmScreen
from console.core.preview import TIERS_FALLBACK_NOTE
from console.core.ticket import TicketKind
from tests.app.conftest import SIZE, Rig
from tests.app.test_journeys_emulator import clean_start, open_builder, until


def preview_words(b: BuilderScreen) -> str:
    pv = b.preview
    return " | ".join([*pv.unknown_costs, *pv.assumptions, *(it.reason for lc in pv.legs for it in lc.items)])


async def edit_horizon(pilot: Pilot, b: BuilderScreen, digit: str) -> None:
    b.query_one("#b-horizon").focus()
    await pilot.press("backspace", digit)
    await until(pilot, lambda: b.settled and b.inputs.horizon_days == float(digit), what="the recompute")


async def test_s_opens_the_spread_selling_the_most_overweight_and_buying_the_most_underweight(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        b = await open_builder(pilot)
        await until(pilot, lambda: b.settled, what="the spread")
        rows = [r for r in app.state.alloc.rows if r.drift is not None and not r.is_cash]
        assert max(rows, key=lambda r: r.drift).name == "ALTS"  # the most overweight (in breach)
        assert min(rows, key=lambda r: r.drift).name == "BTC"  # the most underweight
        assert next(r for r in rows if r.name == "ALTS").status.value == "breach"
        assert (b.inputs.kind, b.inputs.sell, b.inputs.buy) == ("spread", "ALTS", "BTC")
        assert b.ticket.kind is TicketKind.SPREAD
        assert {tl.leg.sleeve for tl in b.ticket.legs} == {"ALTS", "BTC"}
        assert b.banner == ""


async def test_live_books_and_tiers_price_the_preview_and_margin_before_matches_the_dashboard(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        b = await open_builder(pilot)
        await until(pilot, lambda: b.settled, what="the preview")
        pv = b.preview
        assert pv.unknown_costs == ()
        assert all(lc.item("slippage").known for lc in pv.legs)
        assert TIERS_FALLBACK_NOTE not in pv.assumptions
        assert all(a.tiers_note == "venue tiers" for a in (*pv.what_if.before, *pv.what_if.after))
        assert "pass --" not in preview_words(b)
        # the same snapshot: the dashboard shows the venue's ratio, the preview recomputes it
        dash = app.state.risk.margin_ratios()["futures"]
        before = next(a for a in pv.what_if.before if a.account == "futures").margin_ratio
        assert abs(before - dash) < 1e-6, (before, dash)
        assert not any(a.startswith("margin before") for a in pv.assumptions)
        # the modal shows the very same preview
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
        assert app.screen.preview is pv
        await pilot.press("n")


async def test_a_failed_fetch_is_said_in_the_preview_and_retried(rig: Rig) -> None:
    faults = rig.emulator.emulator.faults
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await clean_start(pilot)
        await until(pilot, lambda: app.state is not None, what="the first snapshot")
        faults.set("/fapi/v1/depth", "5xx")
        faults.set("/v5/market/orderbook", "5xx")  # the demo's Bybit account lists the same perps
        faults.set("/fapi/v1/leverageBracket", "5xx")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled, what="the preview")
        b = app.screen
        pv = b.preview
        slips = [lc.item("slippage") for lc in pv.legs]
        assert slips and all(not s.known and s.reason.startswith("n/a (no order book from ") for s in slips)
        assert all("503" in s.reason and "http" not in s.reason for s in slips)
        assert any(a.startswith("no leverage tiers from futures: ") for a in pv.assumptions)
        assert TIERS_FALLBACK_NOTE in pv.assumptions
        assert "pass --" not in preview_words(b)
        # the venue recovers: the next recompute fetches again (a failure is not remembered)
        faults.clear()
        await edit_horizon(pilot, b, "3")
        pv = b.preview
        assert pv.unknown_costs == ()
        assert TIERS_FALLBACK_NOTE not in pv.assumptions
        assert not any(a.startswith("no leverage tiers") for a in pv.assumptions)

