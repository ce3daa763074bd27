"""Endpoints ccxt calls beyond orders and balances: the tape, open interest, fees, batch
cancel, modify, countdown cancel-all, hedge mode on an empty account."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from console.emulator.engine import FUT_MAKER, FUT_TAKER, SPOT_FEE
from console.emulator.testing import EmulatorHandle


async def test_fees_are_the_venues_rates(spot: Any, usdm: Any) -> None:
    await spot.load_markets()
    await usdm.load_markets()
    f = await spot.fetch_trading_fee("BTC/USDT")
    assert (f["maker"], f["taker"]) == (SPOT_FEE, SPOT_FEE)
    f = await usdm.fetch_trading_fee("BTC/USDT:USDT")
    assert (f["maker"], f["taker"]) == (FUT_MAKER, FUT_TAKER)


async def test_agg_trades_are_deterministic_and_at_the_touch(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.load_markets()
    emulator.emulator.advance(600)
    a = await usdm.fetch_trades("BTC/USDT:USDT", limit=20)
    b = await usdm.fetch_trades("BTC/USDT:USDT", limit=20)
    assert a == b and len(a) == 20
    times = [t["timestamp"] for t in a]
    assert times == sorted(times) and all(y - x == 10_000 for x, y in zip(times, times[1:], strict=False))
    assert times[-1] <= emulator.emulator.now_ms()


async def test_open_interest_history_on_the_period_grid(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.load_markets()
    rows = await usdm.fetch_open_interest_history("BTC/USDT:USDT", "1h", limit=5)
    assert len(rows) == 5
    ts = [r["timestamp"] for r in rows]
    assert all(t % 3_600_000 == 0 for t in ts) and all(y - x == 3_600_000 for x, y in zip(ts, ts[1:], strict=False))
    assert all(r["openInterestAmount"] > 0 for r in rows)


async def _resting(usdm: Any, emulator: EmulatorHandle, n: int) -> list[dict[str, Any]]:
    await usdm.load_markets()
    inst = emulator.emulator.fut_ids["ETHUSDT"]
    price = float(inst.fmt_price(emulator.emulator.book(inst).best_bid * 0.97))
    return [await usdm.create_order("ETH/USDT:USDT", "limit", "buy", 0.1, price) for _ in range(n)]


async def test_batch_cancel_each_stands_alone(emulator: EmulatorHandle, usdm: Any) -> None:
    orders = await _resting(usdm, emulator, 2)
    ids = [int(o["id"]) for o in orders] + [123]
    out = await usdm.fapiPrivateDeleteBatchOrders({"symbol": "ETHUSDT", "orderIdList": str(ids).replace(" ", "")})
    assert [o.get("status") for o in out[:2]] == ["CANCELED", "CANCELED"] and out[2]["code"] == -2011


async def test_modify_keeps_the_id_and_reprices(emulator: EmulatorHandle, usdm: Any) -> None:
    (order,) = await _resting(usdm, emulator, 1)
    new_price = order["price"] - 1
    edited = await usdm.edit_order(order["id"], "ETH/USDT:USDT", "limit", "buy", 0.2, new_price)
    assert (edited["id"], edited["price"], edited["amount"]) == (order["id"], new_price, 0.2)


async def test_countdown_cancels_when_not_renewed(emulator: EmulatorHandle, usdm: Any) -> None:
    await _resting(usdm, emulator, 1)
    await usdm.fapiPrivatePostCountdownCancelAll({"symbol": "ETHUSDT", "countdownTime": "120000"})
    emulator.emulator.advance(60)
    assert len(await usdm.fetch_open_orders("ETH/USDT:USDT")) == 1
    emulator.emulator.advance(61)
    assert await usdm.fetch_open_orders("ETH/USDT:USDT") == []


async def test_hedge_mode_switches_only_on_an_empty_account(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.load_markets()
    with pytest.raises(ccxt.ExchangeError, match="-4068"):  # the demo book holds positions
        await usdm.set_position_mode(True)
    emu = emulator.emulator
    acct = emu.accounts["default"]
    for pos in acct.positions.values():
        pos.amt = 0.0
    await usdm.set_position_mode(True)
    assert (await usdm.fetch_position_mode("BTC/USDT:USDT"))["hedged"] is True
    await usdm.set_position_mode(False)
    assert (await usdm.fetch_position_mode("BTC/USDT:USDT"))["hedged"] is False
