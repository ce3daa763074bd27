"""Issue 11: the ways the order path could still lose or double money, each made impossible.

Each test drives the executor (or the reconciler) through the fake ``VenuePort`` with a fake
wall clock where a grace period is measured, so nothing really waits.
"""

from __future__ import annotations

import pytest

from console.execution import executor as executor_mod
from console.execution import journal as journal_mod
from console.execution import reconcile as reconcile_mod
from console.execution.clientid import client_order_id
from console.execution.executor import ExecPolicy, ExecutionRefused
from console.execution.lifecycle import OrderState, TicketState
from console.execution.ports import Ambiguous, LookupFailed, OrderRequest, VenueOrder
from console.execution.reconcile import reconcile
from tests.execution.fakes import FakeVenue
from tests.execution.helpers import config, hedge_ticket
from tests.execution.test_executor import FAST, confirmed, journal, make  # noqa: F401 - the journal fixture


class WallClock:
    """The journal's and the executor's wall clock, moved by hand."""

    def __init__(self, t: int = 1_000_000) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def wall(monkeypatch) -> WallClock:
    clock = WallClock()
    for mod in (journal_mod, executor_mod, reconcile_mod):
        monkeypatch.setattr(mod, "now_ms", clock)
    return clock


GRACE = ExecPolicy(lookup_backoff_s=0.001, lookup_backoff_max_s=0.002, lookup_timeout_s=2.0,
                   not_found_grace_s=2.0, poll_s=0.001)


class HeldPost(FakeVenue):
    """The order's POST is held in the network: the venue applies it at ``+2.3 s`` while the
    client gives up at ``+1.8 s`` and looks it up at once; that lookup's "not found" (true
    when the venue processed it) reaches the client only at ``+3.25 s``."""

    def __init__(self, wall: WallClock) -> None:
        super().__init__()
        self.wall = wall
        self.held: OrderRequest | None = None
        self.sent_at = 0

    async def place(self, req: OrderRequest) -> VenueOrder:
        self.place_calls[req.client_id] += 1
        self.held, self.sent_at = req, self.wall.t
        self.wall.t = self.sent_at + 1_800  # the client's timeout
        raise Ambiguous("RequestTimeout: no answer in 1.8 s")

    async def lookup(self, symbol: str, client_id: str) -> VenueOrder | None:
        answer = await super().lookup(symbol, client_id)  # the venue's view when it got the lookup
        if self.held is not None and self.wall.t >= self.sent_at + 1_800:
            self.wall.t = self.sent_at + 3_250  # the answer is slow to come back
            self._apply(self.held)  # meanwhile (at +2.3 s) the held POST arrived and filled
            self.held = None
        return answer


async def test_a_late_not_found_does_not_bury_an_order_that_filled(journal, wall):  # noqa: F811
    venue = HeldPost(wall)
    ex, _ = make(journal, venue, policy=GRACE)
    tid = confirmed(journal, hedge_ticket(0.25))
    res = await ex.submit(tid)
    (order,) = res.orders
    assert order.state is OrderState.FILLED and order.filled == 0.25
    assert res.state is TicketState.FILLED
    assert venue.place_calls[order.client_id] == 1


def sent_unknown(journal, wall: WallClock, venue: FakeVenue, ticket=None) -> OrderRequest:  # noqa: F811
    """A ticket whose one order was sent (at ``wall``) with an ambiguous outcome, as a crash
    or an exhausted lookup budget leaves it for the reconciler."""
    tid = confirmed(journal, ticket or hedge_ticket(0.25))
    t = journal.ticket(tid).ticket
    req = OrderRequest(client_id=client_order_id(tid, 0, 1, venue.exchange_id), symbol=t.legs[0].leg.symbol,
                       side=t.legs[0].leg.side, type="market", amount=t.legs[0].leg.contracts)
    journal.begin_sending(tid, [executor_mod._new_order("futures", req, purpose="leg")])
    journal.mark_sent([req.client_id])
    journal.update_order(req.client_id, OrderState.UNKNOWN, error="RequestTimeout")
    return req


async def test_reconcile_judges_not_found_on_when_the_lookup_was_sent(journal, wall):  # noqa: F811
    venue = HeldPost(wall)
    req = sent_unknown(journal, wall, venue)
    venue.held, venue.sent_at = req, wall.t
    wall.t += 1_800  # the reconciliation's lookup leaves inside the grace period
    report = await reconcile(journal, {"futures": venue}, config(), policy=GRACE)
    assert not report.never_seen
    assert journal.order(req.client_id).state is OrderState.FILLED
    assert report.complete


# ----------------------------------------------------------------------------- 4. malformed answers


class GarbledExchange:
    """Just enough of a ccxt exchange for ``CcxtPort``; each method answers from a queue, and
    an answer that is an exception is raised. Garbled answers are what ccxt hands back for a
    200 whose body is not JSON or not the shape expected."""

    id = "binanceusdm"

    def __init__(self, **answers: list) -> None:
        self.options: dict = {"maxRetriesOnFailure": 0}
        self.markets = {"BTC/USDT:USDT": {"contract": True, "type": "swap", "settle": "USDT"}}
        self.has = {"createOrders": True, "fetchPositions": True}
        self.answers = answers
        self.calls: dict[str, int] = {}

    def market(self, symbol: str) -> dict:
        return self.markets[symbol]

    def amount_to_precision(self, symbol: str, amount: float) -> str:
        return f"{amount:.3f}"

    def price_to_precision(self, symbol: str, price: float) -> str:
        return f"{price:.1f}"

    async def load_markets(self) -> dict:
        return self.markets

    def _next(self, name: str):
        self.calls[name] = self.calls.get(name, 0) + 1
        a = self.answers[name].pop(0) if len(self.answers[name]) > 1 else self.answers[name][0]
        if isinstance(a, BaseException):
            raise a
        return a

    async def create_order(self, *a, **k):
        return self._next("create_order")

    async def fetch_order(self, *a, **k):
        return self._next("fetch_order")

    async def cancel_order(self, *a, **k):
        return self._next("cancel_order")

    async def fetch_positions(self, *a, **k):
        return self._next("fetch_positions")


def _closed(cid: str, amount: float) -> dict:
    return {"id": "77", "clientOrderId": cid, "symbol": "BTC/USDT:USDT", "side": "sell", "type": "market",
            "amount": amount, "filled": amount, "average": 60_000.0, "price": None, "status": "closed",
            "info": {}}


async def test_a_garbled_create_and_lookup_are_ambiguous_and_the_order_is_looked_up(journal):  # noqa: F811
    from console.execution.clientid import client_order_id as cid_of
    from console.execution.ports import CcxtPort

    tid = confirmed(journal, hedge_ticket(0.25))
    cid = cid_of(tid, 0, 1, "binanceusdm")
    exchange = GarbledExchange(create_order=["<html>502 Bad Gateway</html>"],
                               fetch_order=[{"info": "not json"}, ["not", "an", "order"], _closed(cid, 0.25)])
    ex, _ = make(journal, CcxtPort("futures", exchange))
    res = await ex.submit(tid)  # no exception escapes
    assert exchange.calls["create_order"] == 1  # looked up, never resent
    assert exchange.calls["fetch_order"] == 3
    assert res.state is TicketState.FILLED and res.orders[0].filled == 0.25


async def test_an_unreadable_positions_answer_is_a_failed_read_not_no_positions() -> None:
    from console.execution.ports import CcxtPort, LookupFailed

    for garbled in ("<html>ok</html>", [{"contracts": "1"}], ["x"], {"code": -1007}):
        port = CcxtPort("futures", GarbledExchange(fetch_positions=[garbled]))
        with pytest.raises(LookupFailed, match="positions"):
            await port.positions()


# ----------------------------------------------------------------------------- 2, 3. reconciliation


async def test_reconcile_neither_adopts_our_trades_nor_counts_a_late_fill_twice(journal, wall):  # noqa: F811
    venue = FakeVenue()
    once = ExecPolicy(lookup_timeout_s=0.0, not_found_grace_s=2.0)  # one lookup per reconciliation
    first = await reconcile(journal, {"futures": venue}, config(), policy=once)
    assert first.clean and journal.position_baseline("futures")[0] == {}  # flat, baseline taken
    wall.t += 1_000
    req = sent_unknown(journal, wall, venue)  # sell 0.25: it reached the venue and filled
    venue._apply(req)  # its trade carries the venue's order id, no client id (as Binance's)
    wall.t += 5_000
    venue.fail("lookup", "fail")  # the reconciliation cannot learn its fate this time
    second = await reconcile(journal, {"futures": venue}, config(), policy=once)
    assert second.unresolved == (req.client_id,) and not second.complete
    assert not second.adopted  # the trade is ours, not an external order
    assert not second.position_mismatches
    wall.t += 1_000
    third = await reconcile(journal, {"futures": venue}, config(), policy=once)
    assert journal.order(req.client_id).state is OrderState.FILLED
    assert not third.adopted and not third.position_mismatches and third.complete
    assert journal.position_baseline("futures")[0] == {"BTC/USDT:USDT": 0.0 - 0.25}  # flat, then sold 0.25
    fourth = await reconcile(journal, {"futures": venue}, config(), policy=once)
    assert fourth.clean


# ----------------------------------------------------------------------------- 5. the kill switch


class Flaky(FakeVenue):
    """Reads of open orders and positions fail while their counters last."""

    def __init__(self, open_fail: int = 0, positions_fail: int = 0) -> None:
        super().__init__()
        self.open_fail, self.positions_fail = open_fail, positions_fail

    async def open_orders(self, symbols=None):
        if self.open_fail:
            self.open_fail -= 1
            raise LookupFailed("RequestTimeout: open orders")
        return await super().open_orders(symbols)

    async def positions(self):
        if self.positions_fail:
            self.positions_fail -= 1
            raise LookupFailed("ExchangeNotAvailable: 503")
        return await super().positions()


def fake_sleeps(ex, then=None) -> list[float]:
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)
        if then is not None:
            then(len(waits))

    ex._sleep = sleep
    return waits


async def test_the_kill_switch_keeps_going_until_orders_are_cancelled_and_the_overlay_is_flat(journal):  # noqa: F811
    venue = Flaky(open_fail=1, positions_fail=2)
    policy = ExecPolicy(lookup_backoff_s=0.001, lookup_backoff_max_s=0.002, lookup_timeout_s=0.05,
                        not_found_grace_s=0.01, poll_s=0.001, kill_backoff_s=1.0, kill_backoff_max_s=4.0)
    ex, _ = make(journal, venue, policy=policy)
    waits = fake_sleeps(ex)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, hedge_ticket(1.0, "buy", "ETH/USDT:USDT"), legging_s=0.01)
    await ex.submit(tid)  # rests at the venue
    venue.positions_ = {"BTC/USDT:USDT": -0.5}
    venue.fail("cancel", "fail", "fail")  # its first two cancels time out
    report = await ex.kill(confirmed=True)
    assert report.done and not report.stopped and not report.skipped_accounts
    assert [o["status"] for o in venue.orders.values() if o["symbol"] == "ETH/USDT:USDT"] == ["canceled"]
    assert not any(venue.positions_.values())  # flat
    assert waits[:2] == [1.0, 2.0]  # backoff doubles from kill_backoff_s
    assert report.lines() == ["futures: done (no console order working, no futures position)"]


async def test_a_kill_the_trader_stops_says_what_is_not_done(journal):  # noqa: F811
    venue = Flaky(positions_fail=10**6)
    ex, _ = make(journal, venue)
    venue.positions_ = {"BTC/USDT:USDT": -0.5}
    waits = fake_sleeps(ex, then=lambda n: ex.stop_kill() if n == 3 else None)
    report = await ex.kill(confirmed=True)
    assert report.stopped and not report.done and len(waits) == 3
    assert report.skipped_accounts == ("futures",)
    assert report.lines()[0] == "futures: NOT done: positions could not be read"
    assert venue.positions_ == {"BTC/USDT:USDT": -0.5}  # nothing guessed, nothing sent


# ----------------------------------------------------------------------------- 7. a chase takes liquidity


def _styled(style):
    import dataclasses

    from tests.execution.helpers import spread_ticket

    t = spread_ticket()
    return dataclasses.replace(t, legs=tuple(dataclasses.replace(
        tl, style=style, limit_price=(tl.leg.price if style.type.value != "market" else None)) for tl in t.legs))


@pytest.mark.parametrize("style", ["post_only", "market"])
async def test_a_chase_is_a_limit_at_the_far_touch_whatever_the_style(journal, style: str) -> None:  # noqa: F811
    from console.core.ticket import OrderStyle, OrderType

    ex, venue = make(journal)
    venue.book_spread = 2.0  # the ETH book: 2_999 bid, 3_001 ask
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, _styled(OrderStyle(OrderType(style))), legging_s=0.01)
    assert (await ex.submit(tid)).alert is not None  # BTC done, ETH (a buy) waiting
    fu = await ex.plan_follow_up(tid, "chase")
    (o,) = fu.orders
    assert (o.side, o.amount, o.price) == ("buy", 5.0, 3_000.0 + 2.0 / 2)  # the ask: it takes
    assert "far touch that take liquidity" in fu.as_ticket(journal.ticket(tid).ticket).note
    venue.rest.clear()
    res = await ex.chase(tid, expect=fu)
    (sent,) = [venue.orders[x.client_id] for x in res.orders if x.purpose == "chase"]
    assert (sent["type"], sent["price"]) == ("limit", 3_001.0)
    assert res.state is TicketState.FILLED


async def test_a_chase_pays_no_more_than_the_collar(journal) -> None:  # noqa: F811
    from console.core.ticket import OrderStyle, OrderType

    ex, venue = make(journal)
    venue.book_spread = 600.0  # a dislocated book: the ask 3_300, 10 % over the mark
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, _styled(OrderStyle(OrderType.LIMIT)), legging_s=0.01)
    await ex.submit(tid)
    (o,) = (await ex.plan_follow_up(tid, "chase")).orders
    assert o.price == pytest.approx(3_000.0 * (1 + config().limits.price_collar))


# ----------------------------------------------------------------------------- 8. the blotter says why

MAKER = ('binanceusdm {"code":-5022,"msg":"Due to the order could not be executed as maker, the Post Only '
         'order will be rejected. The order will not be recorded in the order history"}')


class RefusesMaker(FakeVenue):
    async def place(self, req: OrderRequest) -> VenueOrder:
        import ccxt

        from console.execution.ports import classify_send_error

        self.place_calls[req.client_id] += 1
        raise classify_send_error(ccxt.ExchangeError(MAKER))  # as ccxt raises it off binance.com


async def test_a_rejected_order_shows_the_venues_reason_on_the_blotter(journal) -> None:  # noqa: F811
    from console.app.screens.blotter import read_blotter, refusals

    ex, _ = make(journal, RefusesMaker())
    tid = confirmed(journal, hedge_ticket(0.25))
    assert (await ex.submit(tid)).state is TicketState.FAILED
    d = read_blotter(journal, tid)
    assert refusals(d.orders) == ["leg 1 sell 0.25 BTC-PERP rejected by the venue: -5022: Due to the order could not "
                                  "be executed as maker, the Post Only order will be rejected"]


def test_status_labels_say_what_is_true_now() -> None:
    from types import SimpleNamespace as O

    from console.app.screens.blotter import status_line

    def orders(*states: str):
        return [O(state=s) for s in states]

    # acknowledged by the venue: working, even while the console is still busy with the ticket
    assert status_line("working", orders("open", "filled"), True) == (
        "working: the venue has the orders; watched until each is final")
    assert status_line("sending", orders("partial"), True).startswith("working")
    assert status_line("sending", orders("new", "open"), True) == "sending: being sent now"
    assert "looking the order up" in status_line("sending", orders("unknown"), True)
    assert status_line("confirmed", [], False) == "confirmed, never sent: X abandons it"
    assert status_line("filled", orders("filled"), False) is None


# ----------------------------------------------------------------------------- 6. watched to the end


async def _until(pred, timeout_s: float = 2.0) -> None:
    import asyncio

    async def spin() -> None:
        while not pred():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(spin(), timeout_s)


async def test_a_leg_that_fills_after_the_legging_alert_shows_at_once(journal) -> None:  # noqa: F811
    from tests.execution.helpers import spread_ticket

    events: list = []
    ex, venue = make(journal, events=events)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(), legging_s=0.02)
    res = await ex.submit(tid)
    assert res.alert is not None and res.alert.waiting_legs == (1,)
    venue.fill_resting("ETH/USDT:USDT")  # the waiting leg fills later, with nobody pressing anything
    await _until(lambda: journal.ticket(tid).state is TicketState.FILLED)  # within a few polls (0.01 s)
    (eth,) = [o for o in journal.orders(tid) if o.leg == 1]
    assert eth.state is OrderState.FILLED and [f.amount for f in journal.fills(tid) if f.leg == 1] == [5.0]
    assert any(getattr(e, "client_id", None) == eth.client_id and e.state is OrderState.FILLED for e in events)
    with pytest.raises(ExecutionRefused, match="nothing left to chase"):
        await ex.plan_follow_up(tid, "chase")  # the options act on the true remainder
    await ex.stop_watching()


async def test_a_chase_is_planned_on_a_fill_the_last_poll_had_not_seen(journal) -> None:  # noqa: F811
    import dataclasses

    from tests.execution.helpers import spread_ticket

    slow = dataclasses.replace(FAST, poll_s=60.0)  # the watcher will not poll in time
    ex, venue = make(journal, policy=slow)
    venue.rest.add("ETH/USDT:USDT")
    tid = confirmed(journal, spread_ticket(), legging_s=0.0)
    assert (await ex.submit(tid)).alert is not None
    eth = venue.orders[next(o.client_id for o in journal.orders(tid) if o.leg == 1)]
    eth["filled"] = 2.0  # 2 of the 5 ETH filled meanwhile
    fu = await ex.plan_follow_up(tid, "chase")
    assert [(o.leg, o.amount) for o in fu.orders] == [(1, 5.0 - 2.0)]
    await ex.stop_watching()


class NoTradeHistory(FakeVenue):
    async def trades(self, symbol: str, since_ms: int | None):
        return []


async def test_no_position_baseline_is_taken_while_an_order_is_unresolved(journal, wall):  # noqa: F811
    venue = NoTradeHistory()  # positions only: the fill can count twice only through the baseline
    once = ExecPolicy(lookup_timeout_s=0.0, not_found_grace_s=2.0)
    assert (await reconcile(journal, {"futures": venue}, config(), policy=once)).clean
    wall.t += 1_000
    req = sent_unknown(journal, wall, venue)
    venue._apply(req)  # filled at the venue: its position is -0.25 already
    wall.t += 5_000
    venue.fail("lookup", "fail")
    assert (await reconcile(journal, {"futures": venue}, config(), policy=once)).unresolved == (req.client_id,)
    wall.t += 1_000
    third = await reconcile(journal, {"futures": venue}, config(), policy=once)  # learns the fill now
    assert not third.position_mismatches, third.lines()
