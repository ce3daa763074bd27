"""Unmodified ccxt against the emulator: balances, positions, leverage and every order path."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle

pytestmark = pytest.mark.asyncio


async def test_balances_spot_and_futures_wallets(spot: Any, usdm: Any) -> None:
    sb = await spot.fetch_balance()
    assert sb["total"] == {"AVAX": 2130.0, "BTC": 4.2, "ETH": 60.0, "SOL": 700.0, "USDC": 30000.0, "USDT": 42000.0}
    assert sb["free"]["BTC"] == 4.2 and sb["used"]["BTC"] == 0
    fb = await usdm.fetch_balance()
    asset = fb["info"]["assets"][0]
    assert asset["walletBalance"] == "60000.00000000"
    # ccxt reports the margin balance (wallet + unrealised PnL) as total
    assert fb["total"]["USDT"] == pytest.approx(60_000 + float(asset["unrealizedProfit"]))
    assert fb["used"]["USDT"] == pytest.approx(float(asset["initialMargin"]))
    assert fb["free"]["USDT"] == pytest.approx(fb["total"]["USDT"] - fb["used"]["USDT"])


async def test_positions_unified_fields(usdm: Any) -> None:
    positions = {p["symbol"]: p for p in await usdm.fetch_positions()}
    assert set(positions) == {"BTC/USDT:USDT", "ETH/USDT:USDT-261225"}
    btc = positions["BTC/USDT:USDT"]
    assert btc["side"] == "short" and btc["contracts"] == 0.68 and btc["contractSize"] == 1
    assert btc["entryPrice"] == 97_150.0 and btc["leverage"] == 3 and btc["marginMode"] == "cross"
    assert btc["markPrice"] > 95_000
    assert btc["unrealizedPnl"] == pytest.approx(0.68 * (97_150 - btc["markPrice"]), abs=0.01)
    assert btc["liquidationPrice"] > btc["markPrice"] * 1.5
    assert btc["maintenanceMarginPercentage"] == 0.005  # bracket 2: 50k-600k notional
    assert btc["notional"] == pytest.approx(0.68 * btc["markPrice"], abs=0.01)
    eth = positions["ETH/USDT:USDT-261225"]
    assert eth["side"] == "long" and eth["contracts"] == 19 and eth["entryPrice"] == 3_310.0
    assert eth["markPrice"] > 3_400  # dated: mark carries the basis
    assert eth["liquidationPrice"] is not None and eth["liquidationPrice"] < 1_000
    # the default v3 endpoint works too (no leverage there, as on Binance)
    v3 = await usdm.fetch_positions(params={"useV2": False})
    assert {p["symbol"] for p in v3} == set(positions)
    assert next(p for p in v3 if p["symbol"] == "BTC/USDT:USDT")["marginMode"] == "cross"


async def test_set_leverage_and_margin_mode(usdm: Any) -> None:
    await usdm.load_markets()
    res = await usdm.set_leverage(5, "SOL/USDT:USDT")
    assert res["leverage"] == 5 and res["symbol"] == "SOLUSDT"
    await usdm.set_margin_mode("isolated", "SOL/USDT:USDT")
    # Binance answers -4046 "No need to change margin type."; ccxt raises its own class for it
    with pytest.raises(ccxt.MarginModeAlreadySet):
        await usdm.set_margin_mode("isolated", "SOL/USDT:USDT")
    order = await usdm.create_order("SOL/USDT:USDT", "market", "buy", 10)
    assert order["status"] == "closed"
    pos = (await usdm.fetch_positions(["SOL/USDT:USDT"]))[0]
    assert pos["marginMode"] == "isolated" and pos["leverage"] == 5
    assert pos["collateral"] == pytest.approx(10 * pos["entryPrice"] / 5 + pos["unrealizedPnl"], rel=1e-3)
    assert pos["liquidationPrice"] == pytest.approx(pos["entryPrice"] * (1 - 0.2) / (1 - 0.01), rel=0.01)


async def test_symbol_config_reflects_leverage_and_margin_mode(usdm: Any) -> None:
    """GET /fapi/v1/symbolConfig (ccxt's fetchLeverages, fetchMarginMode(s)) reads the state
    that POST leverage / marginType set, in Binance's shape."""
    await usdm.load_markets()
    await usdm.set_leverage(5, "SOL/USDT:USDT")
    await usdm.set_margin_mode("isolated", "SOL/USDT:USDT")
    levs = await usdm.fetch_leverages(["SOL/USDT:USDT", "BTC/USDT:USDT"])
    sol, btc = levs["SOL/USDT:USDT"], levs["BTC/USDT:USDT"]
    assert (sol["marginMode"], sol["longLeverage"], sol["shortLeverage"]) == ("isolated", 5, 5)
    assert (btc["marginMode"], btc["longLeverage"]) == ("cross", 3)  # the demo scenario's setting
    assert sol["info"] == {"symbol": "SOLUSDT", "marginType": "ISOLATED", "isAutoAddMargin": "false",
                           "leverage": 5, "maxNotionalValue": sol["info"]["maxNotionalValue"]}
    assert float(sol["info"]["maxNotionalValue"]) > 0
    mode = await usdm.fetch_margin_mode("SOL/USDT:USDT")  # the one-symbol form (?symbol=SOLUSDT)
    assert mode["symbol"] == "SOL/USDT:USDT" and mode["marginMode"] == "isolated"
    modes = await usdm.fetch_margin_modes()  # no symbol: every listed contract
    assert set(modes) == {m["symbol"] for m in usdm.markets.values() if m["contract"]}
    assert modes["BTC/USDT:USDT"]["marginMode"] == "cross"
    # set_leverage's maxNotionalValue and symbolConfig's agree
    res = await usdm.set_leverage(2, "SOL/USDT:USDT")
    assert (await usdm.fetch_leverages(["SOL/USDT:USDT"]))["SOL/USDT:USDT"]["info"]["maxNotionalValue"] \
        == res["maxNotionalValue"]


async def test_symbol_config_unknown_symbol_is_rejected(usdm: Any) -> None:
    with pytest.raises(ccxt.BadSymbol):
        await usdm.fapiPrivateGetSymbolConfig({"symbol": "NOPEUSDT"})


async def test_market_order_fills_and_moves_balances(spot: Any) -> None:
    o = await spot.create_order("ETH/USDT", "market", "buy", 2.5, params={"newClientOrderId": "leg-eth-1"})
    assert o["status"] == "closed" and o["filled"] == 2.5 and o["clientOrderId"] == "leg-eth-1"
    assert 3_400 < o["average"] < 3_402 and o["fee"]["currency"] == "ETH"
    assert len(o["trades"]) >= 1
    bal = await spot.fetch_balance()
    assert bal["total"]["ETH"] == pytest.approx(60 + 2.5 * 0.999)
    assert bal["total"]["USDT"] == pytest.approx(42_000 - o["cost"])
    trades = await spot.fetch_my_trades("ETH/USDT")
    assert sum(t["amount"] for t in trades) == pytest.approx(2.5)
    assert all(t["order"] == o["id"] and t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in trades)


async def test_market_buy_by_cost_on_spot(spot: Any) -> None:
    o = await spot.create_market_buy_order_with_cost("SOL/USDT", 1_000)
    assert o["status"] == "closed" and o["cost"] <= 1_000 and o["cost"] > 990
    assert o["amount"] == pytest.approx(o["filled"])


async def test_limit_order_rests_then_fills_as_the_price_moves(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.load_markets()
    ticker = await usdm.fetch_ticker("ETH/USDT:USDT")
    price = round(ticker["last"] * 0.999, 2)
    o = await usdm.create_order("ETH/USDT:USDT", "limit", "buy", 0.5, price, {"clientOrderId": "rest-1"})
    assert o["status"] == "open" and o["filled"] == 0 and o["clientOrderId"] == "rest-1"
    open_orders = await usdm.fetch_open_orders("ETH/USDT:USDT")
    assert [x["id"] for x in open_orders] == [o["id"]]
    by_id = await usdm.fetch_order(o["id"], "ETH/USDT:USDT")
    by_client = await usdm.fetch_order(None, "ETH/USDT:USDT", {"clientOrderId": "rest-1"})
    assert by_id["id"] == by_client["id"] == o["id"] and by_client["price"] == price
    # find an instant at which the seeded path trades through the limit
    emu = emulator.emulator
    for _ in range(48):
        emu.advance(1800)
        done = await usdm.fetch_order(o["id"], "ETH/USDT:USDT")
        if done["status"] == "closed":
            break
    assert done["status"] == "closed" and done["average"] == price
    trades = await usdm.fetch_my_trades("ETH/USDT:USDT")
    assert trades[-1]["takerOrMaker"] == "maker" and trades[-1]["price"] == price


async def test_post_only_limit_rests_and_cancels(usdm: Any, spot: Any) -> None:
    await usdm.load_markets()
    t = await usdm.fetch_ticker("BTC/USDT:USDT")
    o = await usdm.create_order("BTC/USDT:USDT", "limit", "sell", 0.01, round(t["last"] * 1.01, 1),
                                {"postOnly": True})
    assert o["postOnly"] is True and o["timeInForce"] == "PO" and o["status"] == "open"
    c = await usdm.cancel_order(o["id"], "BTC/USDT:USDT")
    assert c["status"] == "canceled"
    so = await spot.create_order("BTC/USDT", "limit", "buy", 0.01, 90_000, {"postOnly": True})
    assert so["type"] == "limit" and so["postOnly"] is True and so["status"] == "open"
    bal = await spot.fetch_balance()
    assert bal["used"]["USDT"] == pytest.approx(900.0)
    cs = await spot.cancel_order(so["id"], "BTC/USDT")
    assert cs["status"] == "canceled"
    assert (await spot.fetch_balance())["used"]["USDT"] == 0


async def test_reduce_only_reduces_the_hedge(usdm: Any) -> None:
    o = await usdm.create_order("BTC/USDT:USDT", "market", "buy", 0.18, params={"reduceOnly": True})
    assert o["reduceOnly"] is True and o["status"] == "closed"
    pos = (await usdm.fetch_positions(["BTC/USDT:USDT"]))[0]
    assert pos["contracts"] == pytest.approx(0.5) and pos["side"] == "short"
    assert pos["entryPrice"] == 97_150.0  # reducing keeps the entry


async def test_create_orders_batch_and_cancel_all(usdm: Any) -> None:
    await usdm.load_markets()
    t = await usdm.fetch_ticker("SOL/USDT:USDT")
    far = round(t["last"] * 0.9, 2)
    orders = await usdm.create_orders([
        {"symbol": "SOL/USDT:USDT", "type": "limit", "side": "buy", "amount": 5, "price": far,
         "params": {"clientOrderId": "b-1"}},
        {"symbol": "SOL/USDT:USDT", "type": "limit", "side": "buy", "amount": 6, "price": far,
         "params": {"clientOrderId": "b-2"}},
        {"symbol": "AVAX/USDT:USDT", "type": "market", "side": "sell", "amount": 40,
         "params": {"clientOrderId": "b-3"}},
    ])
    assert [o["clientOrderId"] for o in orders] == ["b-1", "b-2", "b-3"]
    assert [o["status"] for o in orders] == ["open", "open", "closed"]
    await usdm.cancel_all_orders("SOL/USDT:USDT")
    assert await usdm.fetch_open_orders("SOL/USDT:USDT") == []


async def test_emulator_keeps_every_accepted_order(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.create_order("ETH/USDT:USDT", "market", "sell", 1, params={"clientOrderId": "x-1"})
    rows = emulator.emulator.orders()
    assert rows[-1]["clientOrderId"] == "x-1" and rows[-1]["status"] == "FILLED"
    assert rows[-1]["venue"] == "futures" and rows[-1]["time"] == DEFAULT_START_MS


async def test_funding_payments_every_8h(emulator: EmulatorHandle, usdm: Any) -> None:
    await usdm.load_markets()
    emulator.emulator.advance(24 * 3600)
    paid = await usdm.fetch_funding_history("BTC/USDT:USDT")
    assert [p["timestamp"] for p in paid] == [DEFAULT_START_MS + h * 3_600_000 for h in (4, 12, 20)]
    hist = {h["timestamp"]: h["fundingRate"] for h in
            await usdm.fetch_funding_rate_history("BTC/USDT:USDT", since=DEFAULT_START_MS)}
    for p in paid:  # the short receives when the rate is positive
        rate = hist[p["timestamp"]]
        assert (p["amount"] > 0) == (rate > 0) and p["code"] == "USDT"
    # the dated future pays no funding
    fb = await usdm.fetch_balance()
    assert float(fb["info"]["assets"][0]["walletBalance"]) == pytest.approx(60_000 + sum(p["amount"] for p in paid))


async def test_partial_fill_on_a_thin_book(emulator: EmulatorHandle, usdm: Any) -> None:
    emulator.emulator.set_depth("AVAXUSDT", 0.002)
    o = await usdm.create_order("AVAX/USDT:USDT", "market", "buy", 2_000)
    assert o["status"] == "expired" and 0 < o["filled"] < 2_000
    assert o["remaining"] == 2_000 - o["filled"]


async def test_position_mode_is_one_way(usdm: Any) -> None:
    # preflight reads this: the overlay sends one-way orders
    await usdm.load_markets()
    assert (await usdm.fetch_position_mode("BTC/USDT:USDT"))["hedged"] is False
    with pytest.raises(ccxt.ExchangeError, match="-4059"):
        await usdm.set_position_mode(False)
