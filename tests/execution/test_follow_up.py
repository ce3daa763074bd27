"""Chase, unwind and leave answer a ticket that is still legging, and send exactly what the
trader confirmed. QA found `U` on a filled spread reversed the whole trade with market orders,
from one keystroke and without a confirmation: the executor now refuses a follow-up on a
ticket that is done, and `expect` (what the confirmation showed) refuses anything else."""

from __future__ import annotations

import dataclasses

import pytest

from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.executor import ExecutionRefused, FollowUp, OrderTerms, reduces_position
from console.execution.lifecycle import TicketState
from tests import factories as f
from tests.execution.helpers import leg, spread_ticket
from tests.execution.test_executor import confirmed, journal, make  # noqa: F401 - the journal fixture


async def _legging(journal, *, limit: bool = False):  # noqa: F811
    ex, venue = make(journal)
    venue.rest.add("ETH/USDT:USDT")  # BTC (leg 1) fills, ETH (leg 2) rests
    tid = confirmed(journal, spread_ticket(limit=limit), legging_s=0.05)
    res = await ex.submit(tid)
    assert res.alert is not None and res.alert.waiting_legs == (1,)
    return ex, venue, tid


@pytest.mark.parametrize("action", ["chase", "unwind", "leave"])
async def test_a_filled_ticket_has_nothing_to_follow_up(journal, action: str) -> None:  # noqa: F811
    ex, venue = make(journal)
    tid = confirmed(journal, spread_ticket())
    assert (await ex.submit(tid)).state is TicketState.FILLED
    sent = dict(venue.place_calls)
    with pytest.raises(ExecutionRefused, match=f"nothing left to {action}: every leg is done"):
        await getattr(ex, action)(tid)
    if action != "leave":
        with pytest.raises(ExecutionRefused, match="every leg is done"):
            await ex.plan_follow_up(tid, action)
    assert dict(venue.place_calls) == sent and venue.positions_["BTC/USDT:USDT"] == pytest.approx(-0.25)
    assert journal.ticket(tid).state is TicketState.FILLED and not journal.ticket(tid).residual_accepted


async def test_unwind_needs_something_filled(journal) -> None:  # noqa: F811
    ex, venue = make(journal)
    venue.rest.update({"BTC/USDT:USDT", "ETH/USDT:USDT"})
    tid = confirmed(journal, spread_ticket(), legging_s=0.05)
    await ex.submit(tid)
    with pytest.raises(ExecutionRefused, match="nothing .* has filled, so there is nothing to unwind"):
        await ex.plan_follow_up(tid, "unwind")
    assert not journal.ticket(tid).residual_accepted


async def test_unwind_sends_what_was_shown(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging(journal)
    fu = await ex.plan_follow_up(tid, "unwind")
    # BTC sold 0.25 and filled: undo it with a reduce-only market buy; ETH did nothing
    assert fu.orders == (OrderTerms(0, "futures", "BTC/USDT:USDT", "buy", 0.25, None, True),)
    assert not fu.reasons
    res = await ex.unwind(tid, expect=fu)
    sent = [(o.leg, o.side, o.amount, o.purpose) for o in res.orders if o.purpose == "unwind"]
    assert sent == [(0, "buy", 0.25, "unwind")]
    assert venue.positions_["BTC/USDT:USDT"] == pytest.approx(0.0)


async def test_chase_shows_the_touch_and_sends_it(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging(journal, limit=True)
    fu = await ex.plan_follow_up(tid, "chase")
    (o,) = fu.orders
    assert (o.leg, o.side, o.amount) == (1, "buy", 5.0)
    assert o.price == pytest.approx(3_000.2)  # the ask, as the chase will send it
    venue.rest.clear()
    res = await ex.chase(tid, expect=fu)
    assert res.state is TicketState.FILLED
    (chased,) = [x for x in res.orders if x.purpose == "chase"]
    assert (chased.leg, chased.side, chased.amount, chased.price) == (1, "buy", 5.0, pytest.approx(3_000.2))


async def test_a_fill_after_the_confirmation_refuses_the_send(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging(journal)
    fu = await ex.plan_follow_up(tid, "unwind")
    venue.fill_resting("ETH/USDT:USDT")  # ETH fills while the trader reads the confirmation
    await ex.resolve(next(o.client_id for o in journal.orders(tid) if o.leg == 1), timeout_s=0)
    before = dict(venue.place_calls)
    with pytest.raises(ExecutionRefused, match="nothing left to unwind: every leg is done"):
        await ex.unwind(tid, expect=fu)  # the spread completed: undoing leg 1 now would leg it again
    assert dict(venue.place_calls) == before
    assert not journal.ticket(tid).residual_accepted


async def test_other_terms_than_those_shown_are_refused(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging(journal)
    fu = await ex.plan_follow_up(tid, "unwind")
    shown = FollowUp(tid, "unwind", (dataclasses.replace(fu.orders[0], amount=0.2),))
    await _unwind_refused(ex, venue, journal, tid, shown)


async def _unwind_refused(ex, venue, journal, tid: str, shown: FollowUp) -> None:  # noqa: F811
    """The unwind of ``shown`` is refused as not what the trader confirmed: nothing sent, the
    residual still open."""
    before = dict(venue.place_calls)
    with pytest.raises(ExecutionRefused, match="changed since it was shown"):
        await ex.unwind(tid, expect=shown)
    assert dict(venue.place_calls) == before and not journal.ticket(tid).residual_accepted


async def test_an_expectation_for_another_action_is_refused(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging(journal)
    fu = await ex.plan_follow_up(tid, "unwind")
    before = dict(venue.place_calls)
    with pytest.raises(ExecutionRefused, match="changed since it was shown"):
        await ex.chase(tid, expect=FollowUp(tid, "unwind", fu.orders))
    assert dict(venue.place_calls) == before


async def test_chase_prices_from_the_book_when_the_ticker_has_no_touch(journal) -> None:  # noqa: F811
    # Binance's futures tickers (24 h statistics) have no bid or ask: a chase priced from them
    # fell back to the mark and rested instead of crossing. The book's best ask is the price.
    ex, venue, tid = await _legging(journal, limit=True)
    venue.book_spread = 2.0  # ETH book: 2,999 / 3,001
    fu = await ex.plan_follow_up(tid, "chase")
    assert fu.orders[0].price == pytest.approx(3_001.0)
    venue.rest.clear()
    res = await ex.chase(tid, expect=fu)
    (chased,) = [x for x in res.orders if x.purpose == "chase"]
    assert chased.price == pytest.approx(3_001.0) and res.state is TicketState.FILLED


async def test_chase_sends_the_price_that_was_confirmed(journal) -> None:  # noqa: F811
    # QA: the touch was read again at send time, so the order went at 95,452.0 after the
    # trader confirmed 95,453.3. The confirmed limit is what goes out.
    ex, venue, tid = await _legging(journal, limit=True)
    venue.book_spread = 2.0
    fu = await ex.plan_follow_up(tid, "chase")
    assert fu.orders[0].price == pytest.approx(3_001.0)
    venue.book_spread = 6.0  # the book moved while the confirmation was open: ask 3,003
    venue.rest.clear()
    res = await ex.chase(tid, expect=fu)
    (chased,) = [x for x in res.orders if x.purpose == "chase"]
    assert chased.price == pytest.approx(3_001.0)


async def test_a_confirmed_price_the_market_left_behind_is_refused_by_the_collar(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging(journal, limit=True)
    fu = await ex.plan_follow_up(tid, "chase")
    far = FollowUp(tid, "chase", (dataclasses.replace(fu.orders[0], price=fu.orders[0].price * 1.05),))
    before = dict(venue.place_calls)
    with pytest.raises(ExecutionRefused, match="outside the ±2% collar"):
        await ex.chase(tid, expect=far)
    assert dict(venue.place_calls) == before



def _closing_spread() -> Ticket:
    """Short 0.25 BTC at market (fills) and a reduce-only buy of 5 ETH that closes a short, as a
    limit at 3,001 (rests while the venue's fake rests ETH)."""
    return Ticket(kind=TicketKind.SPREAD, snapshot_ts=f.T0, note="short BTC, close the ETH short",
                  legs=(TicketLeg(leg("BTC/USDT:USDT", "sell", 0.25)),
                        TicketLeg(leg("ETH/USDT:USDT", "buy", 5.0, reduce_only=True),
                                  style=OrderStyle(type=OrderType.LIMIT), limit_price=3_001.0)))


async def _legging_close(journal):  # noqa: F811
    ex, venue = make(journal)
    venue.positions_["ETH/USDT:USDT"] = -5.0
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, _closing_spread(), legging_s=0.05)
    res = await ex.submit(tid)
    assert res.alert is not None and res.alert.waiting_legs == (1,)
    return ex, venue, tid


async def test_a_chase_of_a_close_stays_reduce_only_while_the_position_is_there(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging_close(journal)
    fu = await ex.plan_follow_up(tid, "chase")
    (o,) = fu.orders
    assert (o.leg, o.side, o.amount, o.reduce_only) == (1, "buy", 5.0, True) and not fu.reasons
    venue.rest.clear()
    res = await ex.chase(tid, expect=fu)
    (chased,) = [x for x in res.orders if x.purpose == "chase"]
    assert venue.orders[chased.client_id]["reduce_only"] is True
    assert venue.positions_["ETH/USDT:USDT"] == pytest.approx(0.0)


async def test_a_chase_of_a_close_whose_position_is_gone_is_refused_not_sent_plain(journal) -> None:  # noqa: F811
    # the ETH short was closed elsewhere while the leg rested: a plain buy of 5 would open a
    # long the trader never confirmed, and a reduce-only one would be rejected
    ex, venue, tid = await _legging_close(journal)
    venue.positions_["ETH/USDT:USDT"] = 0.0
    fu = await ex.plan_follow_up(tid, "chase")
    assert any("leg 2 ETH/USDT:USDT: planned as a close, but its position is now +0" in r for r in fu.reasons)
    before = dict(venue.place_calls)
    with pytest.raises(ExecutionRefused, match="planned as a close"):
        await ex.chase(tid)
    assert dict(venue.place_calls) == before


async def test_an_unwind_whose_position_moved_since_it_was_shown_is_refused(journal) -> None:  # noqa: F811
    # shown: buy back the 0.25 BTC short reduce-only; then the short is closed elsewhere, so the
    # same buy would now open a long and could only go plain: not what was confirmed
    ex, venue, tid = await _legging(journal)
    fu = await ex.plan_follow_up(tid, "unwind")
    assert fu.orders[0].reduce_only
    venue.positions_["BTC/USDT:USDT"] = 0.0
    await _unwind_refused(ex, venue, journal, tid, fu)


async def test_an_unwind_on_a_venue_that_reports_no_positions_is_refused(journal) -> None:  # noqa: F811
    ex, venue, tid = await _legging(journal)
    venue.positions = _no_positions  # type: ignore[method-assign]  # a venue that lists none
    with pytest.raises(ExecutionRefused, match="account futures: the venue reports no positions"):
        await ex.plan_follow_up(tid, "unwind")


async def _no_positions():
    return None


@pytest.mark.parametrize(("side", "amount", "position", "expected"), [
    ("buy", 0.2, -2.0, True),    # buys back part of a short
    ("sell", 0.2, -1.8, False),  # would grow the short
    ("sell", 0.2, 0.2, True),    # closes the whole long, no more
    ("sell", 0.3, 0.2, False),   # more than the long: would open a short
    ("buy", 0.1, 0.0, False),    # nothing to reduce
])
def test_reduce_only_only_where_the_order_reduces_the_position(side, amount, position, expected) -> None:
    assert reduces_position(side, amount, position) is expected


async def test_two_unwinds_on_one_symbol_are_judged_on_what_the_first_leaves(journal) -> None:  # noqa: F811
    # from a long of 0.1, two sells of 0.15 BTC fill (the position is then -0.2) and ETH rests.
    # Buying back the first (0.15 ≤ 0.2) reduces the short to -0.05; the second buy of 0.15
    # would then pass zero, so it goes plain, not as a reduce-only order the venue would cut
    ex, venue = make(journal)
    venue.positions_["BTC/USDT:USDT"] = 0.1
    venue.rest.add("ETH/USDT:USDT")
    sells = tuple(TicketLeg(leg("BTC/USDT:USDT", "sell", 0.15)) for _ in range(2))
    ticket = Ticket(kind=TicketKind.SPREAD, snapshot_ts=f.T0, note="two BTC sells, long ETH",
                    legs=(*sells, TicketLeg(leg("ETH/USDT:USDT", "buy", 5.0))))
    tid = confirmed(journal, ticket, legging_s=0.05)
    await ex.submit(tid)
    assert venue.positions_["BTC/USDT:USDT"] == pytest.approx(0.1 - 0.3)
    fu = await ex.plan_follow_up(tid, "unwind")
    assert [(o.leg, o.side, o.amount, o.reduce_only) for o in fu.orders] == [(0, "buy", 0.15, True),
                                                                              (1, "buy", 0.15, False)]
    await ex.unwind(tid, expect=fu)
    assert venue.positions_["BTC/USDT:USDT"] == pytest.approx(0.1)
