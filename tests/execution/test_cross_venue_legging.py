"""The legging rule across two venues, against the emulator in both dialects (Binance USDⓈ-M's
fapi and Bybit's v5), through unmodified ccxt: a spread short BTC on Binance and long ETH on
Bybit where one leg fills and the other rests, is refused by its venue, or has an ambiguous
send raises the legging alert and offers chase / unwind / leave, as on one venue; the chase
and the unwind land on the leg's own venue."""

from __future__ import annotations

import pytest

from console.core.ticket import OrderStyle, OrderType, Ticket, TicketKind, TicketLeg
from console.execution.executor import LeggingAlert
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
    """Close the demo's ETH short on Bybit: the spread's long ETH then opens a position (so its
    venue checks its margin, and its unwind is a reduce-only close)."""
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
    await flat_eth_on_bybit(by)
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
    # unwind: what filled on the other venue is undone there, at market, reduce-only
    plan = await ex.plan_follow_up(tid, "unwind")
    (terms,) = plan.orders
    assert terms.account == OTHER[refused] and terms.reduce_only and terms.price is None
    await ex.unwind(tid, expect=plan)
    assert position(h, OTHER[refused]) == pytest.approx(before[OTHER[refused]])
    assert position(h, refused) == pytest.approx(before[refused])


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
