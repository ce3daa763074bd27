"""The legging rule from the trader's keys, against the emulator: one leg fills, the other
rests; the blotter says which leg waits and what C / U / L do; U and C each open a
confirmation of exactly what they will send (n sends nothing); the chase crosses the spread
and completes the ticket; once it is done, U is refused instead of reversing the trade."""

from __future__ import annotations

import dataclasses

from console.app.screens.blotter import BlotterScreen
from console.app.screens.confirm import ConfirmScreen
from console.core.ticket import OrderStyle, OrderType
from console.execution import TicketState
from tests.app.conftest import SIZE, Rig
from tests.app.test_journeys_emulator import answer_yes, open_builder, until
from tests.app.test_money_path_journeys import notes, venue_cids

# where each venue's positions are read (ccxt's fetch_positions on the emulator)
POSITIONS = {"futures": "/fapi/v2/positionRisk", "bybit": "/v5/position/list", "coinm": "/dapi/v1/positionRisk"}


def side_text(app) -> str:  # noqa: ANN001
    return str(app.screen.query_one("#bl-side").render())


async def test_a_waiting_leg_is_chased_through_a_confirmation(rig: Rig) -> None:
    app = rig.app
    limits = app.config.limits.model_copy(update={"legging_s": 1.0})  # the trader's limits.legging_s
    app.config = app.config.model_copy(update={"limits": limits})
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await until(pilot, lambda: builder.settled, what="the builder")
        t = builder.ticket
        # the opening leg as a limit 150 bp on the passive side of the mark: it rests
        i = next(i for i, tl in enumerate(t.legs) if not tl.leg.reduce_only)
        tl = t.legs[i]
        far = tl.leg.price * (1.015 if tl.leg.side == "sell" else 0.985)
        legs = list(t.legs)
        legs[i] = dataclasses.replace(tl, style=OrderStyle(type=OrderType.LIMIT), limit_price=far)
        app.review(dataclasses.replace(t, legs=tuple(legs)), builder.preview)
        tid = await answer_yes(pilot)
        assert rig.journal.ticket(tid).legging_s == 1.0
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                    and app.screen.data.selected == tid and "waiting: leg" in side_text(app),
                    timeout=30, what="the blotter's waiting leg")
        side = side_text(app)
        assert f"waiting: leg {i + 1} (left {-tl.leg.contracts if tl.leg.side == 'sell' else tl.leg.contracts:+g})" in side
        assert "C chase · U unwind · L leave" in side
        # after limits.legging_s, an alert like the others (panel, toast, journal), legs counted from 1
        await until(pilot, lambda: any(a.alert.kind == "legging" for a in app.alerts), what="the legging alert")
        (item,) = [a for a in app.alerts if a.alert.kind == "legging"]
        assert item.alert.subject == tid and f"leg {2 - i} done" in item.alert.message
        assert f"leg {i + 1} (left" in item.alert.message

        # U: the unwind's confirmation shows the reversal of the leg that filled; n sends nothing
        sent = venue_cids(rig)
        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the unwind's confirmation")
        modal = app.screen
        assert modal.title_text == f"UNWIND ticket {tid}"
        (undo,) = modal.ticket.legs
        filled = t.legs[1 - i].leg
        assert (undo.leg.symbol, undo.leg.contracts, undo.limit_price) == (filled.symbol, filled.contracts, None)
        assert undo.leg.side != filled.side and undo.leg.reduce_only is (not filled.reduce_only)
        # priced with the venue's tiers, like the dashboard: no fallback, no drift verdict
        pv = modal.preview
        assert not any("fallback" in a for a in pv.assumptions), pv.assumptions
        assert pv.spot_alternative is None and pv.verdict.reason.startswith(f"unwind: undoes what filled of ticket {tid}")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BlotterScreen), what="back on the blotter")
        assert venue_cids(rig) == sent and not rig.journal.ticket(tid).residual_accepted

        # U while the filled leg's venue cannot tell its position: whether the unwind may be
        # reduce-only is unknown, so no confirmation opens, nothing is sent, the trader is told why
        rig.emulator.emulator.set_fault(POSITIONS[filled.account], "5xx", count=1)
        await pilot.press("U")
        await until(pilot, lambda: any(f"account {filled.account}: its positions could not be read" in n
                                       for n in notes(app)), what="the unwind's refusal")
        assert isinstance(app.screen, BlotterScreen) and venue_cids(rig) == sent
        assert not rig.journal.ticket(tid).residual_accepted

        # C: the chase's confirmation shows the remainder at the book's touch; y sends it
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the chase's confirmation")
        (chase,) = app.screen.ticket.legs
        assert (chase.leg.symbol, chase.leg.side, chase.leg.contracts) == (tl.leg.symbol, tl.leg.side, tl.leg.contracts)
        mark = tl.leg.price
        # at the touch: across the spread from the resting order, within a few ticks of the mark
        assert chase.limit_price is not None and abs(chase.limit_price / mark - 1) < 0.005
        await answer_yes(pilot, new_ticket=False)
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the chase's fill")
        kinds = [e.kind for e in rig.journal.events(tid)]
        assert kinds.count("follow_up_cancelled") == 1 and kinds.count("follow_up_confirmed") == 1
        (chased,) = [o for o in rig.journal.orders(tid) if o.purpose == "chase"]
        assert chased.price == chase.limit_price and chased.client_id in venue_cids(rig)

        # done: U is refused, nothing is sent, no confirmation opens
        await until(pilot, lambda: "waiting: leg" not in side_text(app), what="the blotter to catch up")
        sent = venue_cids(rig)
        await pilot.press("U")
        await until(pilot, lambda: any("nothing left to unwind" in n for n in notes(app)), what="the refusal")
        assert isinstance(app.screen, BlotterScreen) and venue_cids(rig) == sent
