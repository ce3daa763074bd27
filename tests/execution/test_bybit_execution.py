"""The executor's safety paths on a Bybit account (the emulator's v5 dialect, unmodified
ccxt): the kill switch cancels console orders and flattens positions on Binance and Bybit
alike, and startup reconciliation finds an order by its client id on Bybit (``orderLinkId``)."""

import dataclasses

import pytest

from console.emulator.testing import bybit_client, ccxt_client
from console.execution.clientid import client_order_id, new_ticket_id
from console.execution.executor import Executor
from console.execution.journal import Journal
from console.execution.lifecycle import TicketState
from console.execution.ports import CcxtPort
from console.execution.reconcile import reconcile
from tests import factories as f
from tests.execution.emu import EMU_POLICY as _BASE
from tests.execution.emu import emu_snapshot
from tests.execution.helpers import config, spread_ticket

EMU_POLICY = dataclasses.replace(_BASE, not_found_grace_s=0.4)
BYBIT_ACCOUNT = """
[[accounts]]
name = "bybit"
exchange = "bybit"
markets = ["spot", "swap"]
"""


@pytest.fixture
async def setup(emulator, tmp_path):
    fut = ccxt_client(emulator, "usdm", timeout=600)
    by = bybit_client(emulator, timeout=600, types=("spot", "linear"))
    j = Journal.open(tmp_path / "journal.sqlite3")
    binance = await emu_snapshot(emulator, {"futures": fut})
    await by.load_markets()
    tick = await by.fetch_ticker("ETH/USDT:USDT")
    bybit = f.account("bybit", "bybit", markets=[by.markets["ETH/USDT:USDT"]], balance={"USDT": 8_000.0},
                      tickers=[tick], at=binance.timestamp)
    snap = f.snapshot(*binance.accounts.values(), bybit, at=binance.timestamp)
    cfg = config(BYBIT_ACCOUNT)
    ex = Executor(j, {"futures": fut, "bybit": by}, cfg, lambda: snap, clock=emulator.emulator.now_ms,
                  policy=EMU_POLICY)
    ex.allow_trading(await ex.reconcile())
    yield emulator, ex, j, fut, by, cfg
    j.close()
    await fut.close()
    await by.close()


async def test_port_finds_and_cancels_a_bybit_order_by_client_id(setup):
    _h, _ex, _j, _fut, by, _cfg = setup
    port = CcxtPort("bybit", by)
    await port.prepare()
    cid = client_order_id(new_ticket_id(), 0, 1)
    await by.create_order("ETH/USDT", "limit", "buy", 0.1, 3000.0, {"clientOrderId": cid})
    found = await port.lookup("ETH/USDT", cid)
    assert found is not None and found.status == "open"
    # open orders of every category: the spot order is there though ccxt reads one at a time
    assert cid in {o.client_id for o in await port.open_orders()}
    await port.cancel("ETH/USDT", cid)  # Bybit answers ids only: the port then looks it up
    after = await port.lookup("ETH/USDT", cid)
    assert after is not None and after.status == "canceled"
    assert cid not in {o.client_id for o in await port.open_orders()}
    assert await port.lookup("ETH/USDT", "rbtnosuchorder0101") is None


async def test_kill_switch_covers_both_venues(setup):
    h, ex, _j, fut, by, _cfg = setup
    cid = client_order_id(new_ticket_id(), 0, 1)  # a console order the journal does not know
    await by.create_order("ETH/USDT:USDT", "limit", "buy", 0.1, 3000.0, {"clientOrderId": cid})
    rep = await ex.kill(confirmed=True)
    assert cid in rep.cancelled
    assert await by.fetch_open_orders("ETH/USDT:USDT") == []
    for venue in (fut, by):
        held = [p for p in await venue.fetch_positions() if float(p["contracts"] or 0) != 0]
        assert held == [], venue.id
    assert {(o.account, o.symbol) for o in rep.flatten.orders} >= {("bybit", "ETH/USDT:USDT"),
                                                                   ("futures", "BTC/USDT:USDT")}
    assert h.emulator.accounts["bybit"].positions["ETHUSDT"].amt == 0


async def test_reconcile_adopts_an_order_placed_on_bybit_elsewhere(setup):
    _h, _ex, j, fut, by, cfg = setup
    await by.create_order("ETH/USDT:USDT", "limit", "buy", 0.1, 3000.0, {"clientOrderId": "web_bybit_1"})
    rep = await reconcile(j, {"futures": fut, "bybit": by}, cfg, policy=EMU_POLICY)
    assert rep.complete
    assert [a.client_id for a in rep.adopted] == ["web_bybit_1"]
    assert j.order("web_bybit_1").external


def _cross_venue_spread(btc: float, eth: float):
    """Short BTC on Binance USDⓈ-M, long ETH on Bybit: one ticket, two venues."""
    t = spread_ticket(btc, eth)
    eth_leg = dataclasses.replace(t.legs[1], leg=dataclasses.replace(t.legs[1].leg, account="bybit"))
    return dataclasses.replace(t, legs=(t.legs[0], eth_leg))


async def test_a_spread_across_two_venues_is_one_ticket(setup):
    h, ex, j, _fut, _by, _cfg = setup
    ticket = _cross_venue_spread(0.01, 0.2)
    tid = j.record_ticket(ticket, {}, {}, legging_s=1.0)
    j.confirm(tid, "y", ticket.snapshot_ts, ts=ticket.snapshot_ts)
    res = await ex.submit(tid)
    assert res.state is TicketState.FILLED
    assert {(o.account, o.symbol) for o in res.orders} == {("futures", "BTC/USDT:USDT"), ("bybit", "ETH/USDT:USDT")}
    # each leg landed on its own venue, under the client id the journal wrote first
    bybit_orders = {o["clientOrderId"]: o for o in h.emulator.orders("bybit")}
    binance_orders = {o["clientOrderId"]: o for o in h.emulator.orders("default")}
    for o in res.orders:
        venue = bybit_orders if o.account == "bybit" else binance_orders
        assert venue[o.client_id]["status"] == "FILLED"
        assert venue[o.client_id]["executedQty"] == pytest.approx(o.filled)
    assert len(j.fills(tid)) == 2
