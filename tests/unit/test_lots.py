"""Lot rounding without ccxt's decimal_to_precision on the hot path: the amount a plan sizes a
leg to is the one ccxt's own ``amount_to_precision`` gives, on many seeded amounts and steps."""

from __future__ import annotations

import random

import ccxt
import pytest
from ccxt.base.decimal_to_precision import (
    DECIMAL_PLACES,
    NO_PADDING,
    TICK_SIZE,
    TRUNCATE,
    decimal_to_precision,
)

from console.core import lots
from console.core.lots import Lots, truncate_to_lot
from tests import factories as f

TICKS = (0.1, 0.001, 5, 0.5, 5.0, 1, 10, 100, 0.01, 0.25, 0.0001, 1e-05, 2.5e-05, 0.002, 0.3, 7e-08)
DIGITS = (0, 1, 2, 3, 4, 5, 8)


def amounts(seed: int, step: float, n: int = 300) -> list[float]:
    """Seeded amounts around the step's grid: random magnitudes, exact multiples, multiples
    reached through float arithmetic (0.1 × 3), and a hair either side of a multiple."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(0, 5_000)
        out += [rng.uniform(0, 10) ** rng.uniform(-3, 4), k * step, step * 3 * k / 3, k * step * (1 - 1e-12),
                k * step * (1 + 1e-12), k * step + step * rng.random()]
    out += [1e-9, 3.3e-7, 123_456_789.123456, 1e9 + 0.123, 0.1 + 0.2, 2.675, 1 - 1e-16]
    return [x for x in out if x >= 0]


def ccxt_tick(x: float, step: float) -> float:
    """ccxt's truncation of an amount to a tick, as amount_to_precision applies it (0 under one lot)."""
    return float(decimal_to_precision(lots._clean(x), TRUNCATE, step, TICK_SIZE, NO_PADDING))


@pytest.mark.parametrize("step", TICKS)
def test_tick_size_truncation_is_ccxts(step):
    for x in amounts(hash(step) % 1000, step):
        assert truncate_to_lot(x, step, lots.TICK_SIZE) == ccxt_tick(x, step), (x, step)


@pytest.mark.parametrize("digits", DIGITS)
def test_decimal_places_truncation_is_ccxts(digits):
    step = 10.0 ** -digits
    for x in amounts(digits, step):
        want = float(decimal_to_precision(lots._clean(x), TRUNCATE, digits, DECIMAL_PLACES, NO_PADDING))
        assert truncate_to_lot(x, digits, lots.DECIMAL_PLACES) == want, (x, digits)


def test_the_modes_are_ccxts_own_numbers():
    assert (lots.TICK_SIZE, lots.DECIMAL_PLACES) == (TICK_SIZE, DECIMAL_PLACES)


def test_a_mode_it_does_not_cover_is_left_to_ccxt():
    assert truncate_to_lot(1.23456, 3, 3) is None  # SIGNIFICANT_DIGITS
    assert truncate_to_lot(1.23456, 2.0, lots.DECIMAL_PLACES) is None  # digits given as a float


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "bitfinex"])
def test_lots_sizes_every_amount_as_the_venues_ccxt_object_would(exchange):
    # through Lots, on each venue's own precision mode (bitfinex counts significant digits,
    # which only ccxt rounds): the amount, or 0 with a reason where ccxt refuses it
    steps = (0.001, 0.1, 5, 0.5, 1e-05) if exchange != "bitfinex" else (3, 5, 8)
    mkts = [f.market(f"C{i}/USDT:USDT", step=s, min_amount=s if exchange != "bitfinex" else 1e-08)
            for i, s in enumerate(steps)]
    acct = f.account("a", exchange, markets=mkts)
    lot = Lots(acct)
    ex = getattr(ccxt, exchange)({"enableRateLimit": False})
    ex.set_markets(mkts)
    for m in mkts:
        step = m["precision"]["amount"]
        for x in amounts(7, step if exchange != "bitfinex" else 0.001, 60):
            try:
                want = float(ex.amount_to_precision(m["symbol"], lots._clean(x)))
            except ccxt.InvalidOrder:
                want = 0.0
            if want < m["limits"]["amount"]["min"] - 1e-15:
                want = 0.0
            got = lot.amount(m["symbol"], x)
            assert got.amount == want, (exchange, m["symbol"], x)
            assert (got.reason is None) == (want > 0)


def test_under_one_lot_says_the_lot():
    lot = Lots(f.account("a", "binanceusdm", markets=[f.market("BTC/USDT:USDT", step=0.001)]))
    r = lot.amount("BTC/USDT:USDT", 0.0009)
    assert r.amount == 0 and r.reason == "under one lot of 0.001"
    assert lot.amount("BTC/USDT:USDT", 0.1 * 3).amount == 0.3  # 0.30000000000000004 keeps its lot


@pytest.mark.parametrize("x", [float("inf"), float("-inf"), float("nan")])
def test_a_size_that_is_not_a_number_is_refused_in_words_not_printed(x):
    """A snapshot figure out of range can overflow a size: nothing is sent, and the reason
    names the contract and the fix without printing inf or nan as if it were a size."""
    lot = Lots(f.account("a", "binanceusdm", markets=[f.market("BTC/USDT:USDT", step=0.001)]))
    r = lot.amount("BTC/USDT:USDT", x)
    assert r.amount == 0
    assert r.reason is not None and "BTC/USDT:USDT" in r.reason and "fresh snapshot" in r.reason
    assert "inf" not in r.reason.lower().replace("finite", "") and "nan" not in r.reason.lower()


def test_a_new_markets_mapping_is_read_afresh_and_the_same_one_reused():
    # the lot fields are kept per markets mapping: a stream of snapshots hands the same one on
    # (same rounding), and a venue that changes a step or a minimum sends a new mapping, which
    # must be read, not the old step reused because the account or symbol is the same
    sym = "X/USDT:USDT"
    fine = f.account("fut", "binanceusdm", markets=[f.market(sym, step=0.001, min_cost=5.0)])
    again = f.account("fut", "binanceusdm")  # a new snapshot's state, the same markets mapping
    again = type(again)(**{**{k: getattr(again, k) for k in again.__dataclass_fields__}, "markets": fine.markets})
    coarse = f.account("fut", "binanceusdm", markets=[f.market(sym, step=0.01, min_cost=50.0)])
    amount = 1.23456
    assert Lots(fine).amount(sym, amount).amount == 1234 * 0.001  # floor(1.23456 / 0.001) lots
    assert Lots(again).amount(sym, amount).amount == 1234 * 0.001
    assert Lots(coarse).amount(sym, amount).amount == 123 * 0.01  # floor(1.23456 / 0.01) lots
    assert (Lots(fine).min_cost(sym), Lots(coarse).min_cost(sym)) == (5.0, 50.0)
    with pytest.raises(KeyError):  # an unlisted symbol is not silently given defaults
        Lots(fine).amount("Y/USDT:USDT", 1.0)
