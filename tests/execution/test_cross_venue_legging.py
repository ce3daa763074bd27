"""The legging rule across two venues, against the emulator in both dialects (Binance USDⓈ-M's
fapi and Bybit's v5), through unmodified ccxt: a spread short BTC on Binance and long ETH on
Bybit where one leg fills and the other rests, is refused by its venue, or has an ambiguous
send raises the legging alert and offers chase / unwind / leave, as on one venue; the chase
and the unwind land on the leg's own venue. An unwind is reduce-only only where it reduces
the position it meets (read fresh): undoing a buy that shrank a short goes plain and restores
the short, undoing a leg that opened a position is a reduce-only close, and a position that
cannot be read refuses it."""

from __future__ import annotations

import pytest

from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.executor import ExecutionRefused, LeggingAlert
from console.execution.lifecycle import OrderState, TicketState
from tests import factories as f
from tests.execution.helpers import leg
from tests.execution.test_bybit_execution import setup  # noqa: F401 - the two-venue fixture

# account → (symbol, side, contracts, the emulator's id for the symbol, the emulator's account)
LEGS = {"futures": ("BTC/USDT:USDT", "sell", 0.01, "BTCUSDT", "default"),
        "bybit": ("ETH/USDT:USDT", "buy", 0.2, "ETHUSDT", "bybit")}
CREATE = {"futures": "POST /fapi/v1/order", "bybit": "POST /v5/order/create"}
OTHER = {"futures": "bybit", "bybit": "futures"}


def cross_spread(waiting: str, limit: float | None = None) -> Ticket:
    """Leg 0 short BTC on Binance, leg 1 long ETH on Bybit; the ``waiting`` account's leg as a
    limit at ``limit`` when given (else both at market)."""
    legs = []
    for acct, (sym, side, q, _, _) in LEGS.items():
        rest = acct == waiting and limit is not None
        legs.append(TicketLeg(leg(sym, side, q, account=acct), style=OrderStyle(OrderType.LIMIT) if rest else OrderStyle(),
                              limit_price=limit if rest else None))
    return Ticket(kind=TicketKind.SPREAD, snapshot_ts=f.T0, note="short BTC on Binance, long ETH on Bybit",
                  legs=tuple(legs))


async def flat_eth_on_bybit(by) -> None:
    """Close the demo's ETH short on Bybit: the spread's long ETH then opens a position, so its
    venue checks its margin (a buy that only shrank the short would need none)."""
    held = [p for p in await by.fetch_positions(["ETH/USDT:USDT"]) if float(p["contracts"] or 0)]
    for p in held:
        await by.create_order("ETH/USDT:USDT", "market", "buy" if p["side"] == "short" else "sell",
                              float(p["contracts"]), None, {"reduceOnly": True})


def confirm(j, ticket: Ticket, legging_s: float) -> str:
    tid = j.record_ticket(ticket, {}, {}, legging_s=legging_s)
    j.confirm(tid, "y", ticket.snapshot_ts, ts=ticket.snapshot_ts)
    return tid


def position(h, acct: str) -> float:
    _, _, _, sid, emu_acct = LEGS[acct]
    p = h.emulator.accounts[emu_acct].positions.get(sid)
    return p.amt if p is not None else 0.0


def signed(acct: str) -> float:
    _, side, q, _, _ = LEGS[acct]
    return q if side == "buy" else -q


async def mark(venue, symbol: str) -> float:
    t = await venue.fetch_ticker(symbol)
    return float(t.get("markPrice") or (t.get("info") or {}).get("markPrice") or t["last"])


def leg_index(acct: str) -> int:
    return list(LEGS).index(acct)


def assert_alert(res, j, tid: str, waiting: str) -> None:
    w, d = leg_index(waiting), leg_index(OTHER[waiting])
    assert isinstance(res.alert, LeggingAlert), res
    assert res.alert.done_legs == (d,) and res.alert.waiting_legs == (w,)
    assert res.alert.options == ("chase", "unwind", "leave")
    (note,) = [e for e in j.events(tid) if e.kind == "legging_alert"]
    left = {r.leg: r.remaining for r in res.residual}
    assert left[w] == pytest.approx(signed(waiting)) and left[d] == pytest.approx(0.0)
    assert note.detail["waiting"] == [w]


@pytest.mark.parametrize("waiting", ["bybit", "futures"])
async def test_a_resting_leg_on_one_venue_is_chased_there(setup, waiting):  # noqa: F811
    h, ex, j, fut, by, _cfg = setup
    venue = {"futures": fut, "bybit": by}[waiting]
    sym, side, *_ = LEGS[waiting]
    px = await mark(venue, sym)
    far = px * (0.985 if side == "buy" else 1.015)  # 1.5 % on the passive side: it rests
    before = {a: position(h, a) for a in LEGS}
    tid = confirm(j, cross_spread(waiting, limit=float(venue.price_to_precision(sym, far))), legging_s=0.5)
    res = await ex.submit(tid)
    assert res.state is TicketState.WORKING
    assert_alert(res, j, tid, waiting)
    assert position(h, OTHER[waiting]) == pytest.approx(before[OTHER[waiting]] + signed(OTHER[waiting]))
    # the chase re-prices the waiting leg at its own venue's touch: the ticket completes there
    plan = await ex.plan_follow_up(tid, "chase")
    (terms,) = plan.orders
    assert (terms.account, terms.symbol, terms.side) == (waiting, sym, side)
    done = await ex.chase(tid, expect=plan)
    assert done.state is TicketState.FILLED
    (chased,) = [o for o in done.orders if o.purpose == "chase"]
    assert chased.account == waiting and chased.state is OrderState.FILLED
    assert position(h, waiting) == pytest.approx(before[waiting] + signed(waiting))


@pytest.mark.parametrize("refused", ["bybit", "futures"])
async def test_a_leg_its_venue_refuses_raises_the_alert_and_the_fill_is_unwound(setup, refused):  # noqa: F811
    h, ex, j, _fut, by, _cfg = setup
    if refused == "bybit":
        await flat_eth_on_bybit(by)  # its long ETH must open a position to meet the margin check
    # the venue refuses the leg for margin (the console's snapshot still showed enough)
    wallet = h.emulator.accounts[LEGS[refused][4]].futures_wallet
    wallet["USDT"] = 1.0
    before = {a: position(h, a) for a in LEGS}
    tid = confirm(j, cross_spread(refused), legging_s=0.5)
    res = await ex.submit(tid)
    (rejected,) = [o for o in res.orders if o.account == refused]
    assert rejected.state is OrderState.REJECTED
    assert res.state is TicketState.PARTLY_FILLED
    assert_alert(res, j, tid, refused)
    # unwind: what filled on the other venue is undone there, at market. Reduce-only only where
    # it reduces the position it meets: the short BTC grew the demo's BTC short on Binance, so
    # buying it back reduces it; the long ETH shrank the demo's ETH short of 2.0 on Bybit, so
    # selling it back grows that short again, which a reduce-only order cannot do
    plan = await ex.plan_follow_up(tid, "unwind")
    (terms,) = plan.orders
    assert terms.account == OTHER[refused] and terms.price is None
    assert terms.reduce_only is {"bybit": True, "futures": False}[refused]
    await ex.unwind(tid, expect=plan)
    assert position(h, OTHER[refused]) == pytest.approx(before[OTHER[refused]])
    assert position(h, refused) == pytest.approx(before[refused])


# the leg that fills, a buy of 0.2 ETH, and the other venue's leg (by the venue that refuses
# it for margin): a sell that grows a position there
SHRINK = ("ETH/USDT:USDT", "buy", 0.2)
REFUSED_LEG = {"bybit": ("ETH/USDT:USDT", "sell", 0.2), "futures": ("BTC/USDT:USDT", "sell", 0.01)}
EMU = {"futures": ("default", "ETHUSDT"), "bybit": ("bybit", "ETHUSDT")}  # the emulator's account, ETH perp id


def spread_on(filled: str) -> Ticket:
    """Leg 0 buys 0.2 ETH on ``filled``; leg 1 sells on the other venue (refused there)."""
    other = OTHER[filled]
    legs = (TicketLeg(leg(*SHRINK, account=filled)), TicketLeg(leg(*REFUSED_LEG[other], account=other)))
    return Ticket(kind=TicketKind.SPREAD, snapshot_ts=f.T0, note="long ETH, short on the other venue", legs=legs)


def eth(h, acct: str) -> float:
    emu_acct, sid = EMU[acct]
    p = h.emulator.accounts[emu_acct].positions.get(sid)
    return p.amt if p is not None else 0.0


async def leg_once(h, ex, j, venues, filled: str, eth_before: float) -> str:
    """Hold ``eth_before`` ETH perp on ``filled``, then send the spread with the other venue's
    margin at 1 USDT: leg 0 fills, leg 1 is refused, the ticket legs."""
    venue = venues[filled]
    held = eth(h, filled)
    if held:
        await venue.create_order("ETH/USDT:USDT", "market", "buy" if held < 0 else "sell", abs(held), None,
                                 {"reduceOnly": True})
    if eth_before:
        await venue.create_order("ETH/USDT:USDT", "market", "buy" if eth_before > 0 else "sell", abs(eth_before))
    assert eth(h, filled) == pytest.approx(eth_before)
    other = OTHER[filled]
    h.emulator.accounts[EMU[other][0]].futures_wallet["USDT"] = 1.0
    tid = confirm(j, spread_on(filled), legging_s=0.5)
    res = await ex.submit(tid)
    assert [o.state for o in res.orders] == [OrderState.FILLED, OrderState.REJECTED]
    assert isinstance(res.alert, LeggingAlert) and res.alert.options == ("chase", "unwind", "leave")
    assert eth(h, filled) == pytest.approx(eth_before + 0.2)
    return tid


def unwind_order(h, filled: str, client_ids: set[str]) -> dict:
    (o,) = [o for o in h.emulator.orders(EMU[filled][0]) if o["clientOrderId"] in client_ids]
    return o


@pytest.mark.parametrize("filled", ["futures", "bybit"])
async def test_an_unwind_that_grows_a_short_back_is_sent_plain_and_restores_it(setup, filled):  # noqa: F811
    """The buy of 0.2 ETH shrank a short of 2.0 to 1.8: undoing it is a sell that grows the short
    back, which the venue would refuse reduce-only (Binance -2022, Bybit 110017). It goes as a
    plain market sell of exactly 0.2, and the short is 2.0 again."""
    h, ex, j, fut, by, _cfg = setup
    tid = await leg_once(h, ex, j, {"futures": fut, "bybit": by}, filled, eth_before=-2.0)
    plan = await ex.plan_follow_up(tid, "unwind")
    (terms,) = plan.orders
    assert (terms.leg, terms.account, terms.side, terms.amount, terms.price, terms.reduce_only) == \
        (0, filled, "sell", 0.2, None, False)
    done = await ex.unwind(tid, expect=plan)
    (sent,) = [o for o in done.orders if o.purpose == "unwind"]
    assert sent.state is OrderState.FILLED
    o = unwind_order(h, filled, {sent.client_id})
    assert (o["side"].lower(), o["origQty"], o["reduceOnly"]) == ("sell", pytest.approx(0.2), False)
    assert eth(h, filled) == pytest.approx(-2.0)


@pytest.mark.parametrize("filled", ["futures", "bybit"])
async def test_an_unwind_of_a_leg_that_opened_a_position_is_reduce_only(setup, filled):  # noqa: F811
    """From flat, the buy opened a long of 0.2: selling it back only closes it, reduce-only,
    so the venue itself keeps it from opening a short."""
    h, ex, j, fut, by, _cfg = setup
    tid = await leg_once(h, ex, j, {"futures": fut, "bybit": by}, filled, eth_before=0.0)
    plan = await ex.plan_follow_up(tid, "unwind")
    (terms,) = plan.orders
    assert (terms.side, terms.amount, terms.reduce_only) == ("sell", 0.2, True)
    done = await ex.unwind(tid, expect=plan)
    (sent,) = [o for o in done.orders if o.purpose == "unwind"]
    o = unwind_order(h, filled, {sent.client_id})
    assert (o["origQty"], o["reduceOnly"]) == (pytest.approx(0.2), True)
    assert eth(h, filled) == pytest.approx(0.0)


POSITIONS = {"futures": "/fapi/v2/positionRisk", "bybit": "/v5/position/list"}


@pytest.mark.parametrize("filled", ["futures", "bybit"])
async def test_an_unwind_whose_position_cannot_be_read_is_refused_and_can_be_retried(setup, filled):  # noqa: F811
    """Whether the unwind may go reduce-only is judged on the position it meets; when that
    cannot be read, nothing is sent on a guess: refused with the reason, the ticket still
    legged (the trader can retry or leave)."""
    h, ex, j, fut, by, _cfg = setup
    tid = await leg_once(h, ex, j, {"futures": fut, "bybit": by}, filled, eth_before=-2.0)
    emu_acct = EMU[filled][0]
    sent_before = len(h.emulator.orders(emu_acct))
    h.emulator.set_fault(POSITIONS[filled], "5xx", count=1)
    with pytest.raises(ExecutionRefused, match=f"account {filled}: its positions could not be read"):
        await ex.plan_follow_up(tid, "unwind")
    # confirmed, then the read fails just before the send: still nothing sent
    plan = await ex.plan_follow_up(tid, "unwind")
    h.emulator.set_fault(POSITIONS[filled], "5xx", count=1)
    with pytest.raises(ExecutionRefused, match="positions could not be read"):
        await ex.unwind(tid, expect=plan)
    assert len(h.emulator.orders(emu_acct)) == sent_before
    assert not j.ticket(tid).residual_accepted
    (refusal,) = [e for e in j.events(tid) if e.kind == "refused"]  # the send's, in the journal
    assert refusal.detail["action"] == "unwind" and f"account {filled}" in refusal.detail["reasons"][0]
    assert eth(h, filled) == pytest.approx(-1.8)
    # once the venue answers again, the same unwind goes through
    await ex.unwind(tid, expect=plan)
    assert eth(h, filled) == pytest.approx(-2.0)


@pytest.mark.parametrize("ambiguous", ["bybit", "futures"])
async def test_an_ambiguous_leg_raises_the_alert_and_is_left(setup, ambiguous):  # noqa: F811
    h, ex, j, *_ = setup
    # the connection drops on the send: the outcome is unknown, so the order is looked up by
    # its client id (never blindly re-sent) and, not found after the grace, never reached the
    # venue; the other leg filled: legging
    h.emulator.set_fault(CREATE[ambiguous], "drop", count=1)
    before = {a: position(h, a) for a in LEGS}
    tid = confirm(j, cross_spread(ambiguous), legging_s=0.5)
    res = await ex.submit(tid)
    assert_alert(res, j, tid, ambiguous)
    (unknown,) = [o for o in res.orders if o.account == ambiguous]
    assert unknown.state is OrderState.NEVER_SEEN
    sent = [o for o in h.emulator.orders(LEGS[ambiguous][4]) if o["clientOrderId"] == unknown.client_id]
    assert sent == []  # not re-sent
    # L accepts the residual: nothing more is sent
    left = await ex.leave(tid)
    assert left.state is TicketState.PARTLY_FILLED and all(r.accepted for r in left.residual)
    assert position(h, ambiguous) == pytest.approx(before[ambiguous])
    assert position(h, OTHER[ambiguous]) == pytest.approx(before[OTHER[ambiguous]] + signed(OTHER[ambiguous]))
