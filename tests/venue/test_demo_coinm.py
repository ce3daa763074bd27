"""The demo portfolio's COIN-M account: the console sees the emulator's inverse position
(through ccxt's binancecoinm, inverse markets only) and counts it by the README's inverse
rule, with the coin held as margin counted as spot."""

from __future__ import annotations

import pytest

from console.core.allocation import compute_allocation
from console.core.config import Config
from console.venues.venue import VenueSet


async def test_the_demo_has_a_coinm_account_whose_inverse_position_counts_by_the_inverse_rule(
        venues: VenueSet, cfg: Config) -> None:
    acct = cfg.account("coinm")
    assert acct.exchange == "binancecoinm" and acct.holds_contracts
    snap = await venues.refresh()
    coinm = snap.accounts["coinm"]
    [pos] = coinm.open_positions()
    # the emulator's demo book: 200 BTCUSD_PERP contracts of 100 USD, short from 96,400
    assert pos["symbol"] == "BTC/USD:BTC"
    assert pos["side"] == "short" and float(pos["contracts"]) == 200
    assert coinm.markets["BTC/USD:BTC"]["inverse"] and float(pos["contractSize"]) == 100
    assert coinm.total_balance().get("BTC") == pytest.approx(0.5)  # the coin margin

    alloc = compute_allocation(cfg, snap)
    btc = alloc.row("BTC")
    [line] = [p for p in btc.positions if p.account == "coinm"]  # in the BTC sleeve
    assert not line.linear and line.mark > 0
    # inverse: side × Q × mark / entry, Q = contracts × contractSize (USD)
    q = 200 * 100.0
    assert line.notional == pytest.approx(-q * line.mark / float(pos["entryPrice"]), rel=1e-12)
    # the sleeve's futures notional is every BTC contract's, the inverse one included
    assert btc.futures_notional == pytest.approx(sum(p.notional / p.ratio for p in btc.positions), rel=1e-12)
    # the 0.5 BTC of margin is spot BTC: in the sleeve's spot value at BTC's price
    btc_qty = sum(a.total_balance().get("BTC", 0.0) for a in snap.accounts.values()) + sum(
        h.quantity for h in cfg.manual if h.asset == "BTC")
    assert btc.spot_value == pytest.approx(btc_qty * alloc.prices["BTC"], rel=1e-12)
