"""Money is exact decimal strings: every figure has at most 8 decimals, and the USDⓈ-M
account adds up to the last digit (availableBalance + initialMargin = marginBalance with
every position cross, which is ccxt's free + used = total) through trades, resting orders
and moving prices."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from console.emulator.testing import EmulatorHandle

MONEY = re.compile(r"^-?[0-9]+\.[0-9]{8}$")


def _adds_up(row: dict[str, Any], free: str, used: str, total: str) -> None:
    for k in (free, used, total):
        assert MONEY.match(row[k]), (k, row[k])
    assert Decimal(row[free]) + Decimal(row[used]) == Decimal(row[total]), row


async def _check(usdm: Any, spot: Any) -> None:
    acct = await usdm.fapiPrivateV2GetAccount()
    _adds_up(acct, "availableBalance", "totalInitialMargin", "totalMarginBalance")
    for row in acct["assets"]:
        _adds_up(row, "availableBalance", "initialMargin", "marginBalance")
    bal = await usdm.fetch_balance()
    for code in ("USDT", "BTC"):
        b = bal[code]
        assert Decimal(repr(b["free"])) + Decimal(repr(b["used"])) == Decimal(repr(b["total"])), (code, b)
    for row in (await spot.privateGetAccount())["balances"]:
        assert re.match(r"^[0-9]+\.[0-9]{8}$", row["free"]) and re.match(r"^[0-9]+\.[0-9]{8}$", row["locked"]), row


async def test_balances_add_up_exactly_through_trading(emulator: EmulatorHandle, usdm: Any, spot: Any) -> None:
    await usdm.load_markets()
    await spot.load_markets()
    await _check(usdm, spot)
    await usdm.create_order("ETH/USDT:USDT", "market", "buy", 1.234)
    await spot.create_order("SOL/USDT", "market", "sell", 3.21)
    await _check(usdm, spot)
    inst = emulator.emulator.fut_ids["BTCUSDT"]
    price = float(inst.fmt_price(emulator.emulator.book(inst).best_bid * 0.97))
    await usdm.create_order("BTC/USDT:USDT", "limit", "buy", 0.013, price)  # open-order margin
    await _check(usdm, spot)
    emulator.emulator.advance(4 * 3_600)  # prices move, funding is paid (16:00 UTC)
    await _check(usdm, spot)
