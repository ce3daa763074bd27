"""Margin, tiers, liquidation prices and stress against hand computations.

Liquidation price, Binance USDⓈ-M one-way (FAQ "How to Calculate Liquidation Price of USDⓈ-M
Futures Contracts", binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93):
    LP = (WB − TMM₁ + UPNL₁ + cumB − Side₁ × Position₁ × EP₁) / (Position₁ × MMR_B − Side₁ × Position₁)
Every LP below is also checked by plugging it back: at LP the margin balance equals the
maintenance margin (that is what liquidation means on Binance).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core import risk
from console.core.overlay import Leg
from console.core.risk import (
    DEFAULT_TIERS,
    Tier,
    liquidation_price,
    maintenance_margin,
    tiers_from_ccxt,
)
from tests import factories as f
from tests.planner.world import world


def plug_back(side, size, entry, wallet, lp, tier, other_mm=0.0, other_upnl=0.0):
    """Margin balance − maintenance at LP: zero when LP is right."""
    balance = wallet + other_upnl + side * size * (lp - entry)
    maint = other_mm + size * lp * tier.mmr - tier.cum
    return balance - maint


def test_default_bracket_table_maintenance_amounts_follow_binances_rule():
    # Binance: cum_n = cum_(n−1) + floor_n × (mmr_n − mmr_(n−1)). BTCUSDT's published table:
    # 0 | 50 | 1,300 | 16,300 | 266,300 | 1,266,300 | 2,516,300 | 5,016,300 | 25,016,300 | 100,016,300
    assert [t.cum for t in DEFAULT_TIERS] == pytest.approx(
        [0, 50, 1_300, 16_300, 266_300, 1_266_300, 2_516_300, 5_016_300, 25_016_300, 100_016_300])


def test_maintenance_margin_figures_from_binances_faq_example():
    # FAQ example: "Maintenance Margin of BTCUSDT = 71,200.81144 (3,500,032.458 × 2.50 % − 16,300)"
    assert maintenance_margin(3_500_032.458, DEFAULT_TIERS) == pytest.approx(71_200.81144)
    # and "Maintenance Margin of ETHUSDT = 356,512.508 (4,918,775.081 × 10.00 % − 135,365)", from
    # ETHUSDT's own bracket (10 %, cum 135,365)
    eth = (Tier(0, 2_000_000, 0.05, 10, 0), Tier(2_000_000, 10_000_000, 0.10, 5, 135_365))
    assert maintenance_margin(4_918_775.081, eth) == pytest.approx(356_512.508)


def test_cross_liquidation_with_the_faq_examples_other_contracts():
    # The FAQ's cross example: WB 1,535,443.01, TMM₁ 356,512.508, UPNL₁ −447,482.100, cumB 16,300
    # (BTCUSDT bracket 2.5 %). The BTC position itself (long 300 BTC at 11,666.77, i.e. the FAQ's
    # 3.5 M notional) is ours: LP = (1,535,443.01 − 356,512.508 − 447,482.1 + 16,300 − 300 × 11,666.77)
    #                               / (300 × 0.025 − 300) = (−2,752,282.598) / (−292.5) = 9,409.51
    r = liquidation_price(1, 300, 11_666.77, 1_535_443.01, DEFAULT_TIERS, other_mm=356_512.508,
                          other_upnl=-447_482.100)
    assert r.tier.mmr == 0.025 and r.tier.cum == 16_300
    assert r.price == pytest.approx(2_752_282.598 / 292.5)
    assert r.price == pytest.approx(9_409.51, abs=0.01)
    assert plug_back(1, 300, 11_666.77, 1_535_443.01, r.price, r.tier, 356_512.508, -447_482.1) == pytest.approx(0, abs=1e-6)


def test_isolated_long_and_short_by_hand():
    # long 0.5 BTC at 60,000 with 3,000 isolated (10x), bracket 1 (0.4 %, cum 0):
    # LP = (3,000 − 30,000) / (0.5 × 0.004 − 0.5) = 54,216.87 (notional there 27,108: bracket 1 holds)
    r = liquidation_price(1, 0.5, 60_000, 3_000, DEFAULT_TIERS)
    assert r.price == pytest.approx(27_000 / 0.498)
    assert plug_back(1, 0.5, 60_000, 3_000, r.price, r.tier) == pytest.approx(0, abs=1e-6)
    # short: LP = (3,000 + 30,000) / (0.5 × 0.004 + 0.5) = 65,737.05
    r = liquidation_price(-1, 0.5, 60_000, 3_000, DEFAULT_TIERS)
    assert r.price == pytest.approx(33_000 / 0.502)
    assert plug_back(-1, 0.5, 60_000, 3_000, r.price, r.tier) == pytest.approx(0, abs=1e-6)
    # 1 BTC with 6,000: the notional at LP (~54 k) is past 50,000, so bracket 2 (0.5 %, cum 50):
    # LP = (6,000 + 50 − 60,000) / (0.005 − 1) = 54,221.11
    r = liquidation_price(1, 1, 60_000, 6_000, DEFAULT_TIERS)
    assert r.tier.mmr == 0.005
    assert r.price == pytest.approx(53_950 / 0.995)
    assert plug_back(1, 1, 60_000, 6_000, r.price, r.tier) == pytest.approx(0, abs=1e-6)


def test_bracket_is_the_one_at_the_liquidation_price():
    # long 0.9 BTC at 60,000 = 54,000 notional (bracket 2 now), wallet 10,000.
    # With bracket 1 (0.4 %, cum 0): LP = (10,000 − 54,000) / (0.9 × 0.004 − 0.9) = 49,085.23;
    # its notional 0.9 × 49,085 = 44,177 is inside bracket 1, so bracket 1 is the right one.
    r = liquidation_price(1, 0.9, 60_000, 10_000, DEFAULT_TIERS)
    assert r.tier.mmr == 0.004
    assert r.price == pytest.approx(44_000 / 0.8964)
    assert plug_back(1, 0.9, 60_000, 10_000, r.price, r.tier) == pytest.approx(0, abs=1e-6)


def test_long_with_enough_margin_has_no_liquidation_price():
    # 1x long: wallet 60,000 for 1 BTC at 60,000 → LP ≤ 0 → "--" on Binance's UI
    assert liquidation_price(1, 1, 60_000, 60_000, DEFAULT_TIERS).price is None


def test_ccxt_tiers_parse_with_info_cum_and_derived_cum():
    raw = [{"tier": 1, "minNotional": 0, "maxNotional": 5_000, "maintenanceMarginRate": 0.01, "maxLeverage": 50,
            "info": {"cum": "0.0"}},
           {"tier": 2, "minNotional": 5_000, "maxNotional": 25_000, "maintenanceMarginRate": 0.025,
            "maxLeverage": 20, "info": {}}]
    t = tiers_from_ccxt(raw)
    # derived: 0 + 5,000 × (2.5 % − 1 %) = 75
    assert [x.cum for x in t] == [0, 75]
    assert maintenance_margin(10_000, t) == pytest.approx(10_000 * 0.025 - 75)


def test_what_if_margin_ratio_before_and_after_by_hand():
    cfg, snap = world()
    leg = Leg("BTC", "fut", "BTC/USDT:USDT", "sell", 0.216, 1.0, True, 60_000, False, "open")
    wi = risk.what_if(snap, [leg], tiers=None, quote="USDT", default_leverage=5)
    b, a = wi.before[0], wi.after[0]
    assert b.maintenance == 0 and b.margin_ratio == 0
    # 12,960 × 0.4 % − 0 = 51.84 maintenance; balance 10,000 → 0.5184 %
    assert a.maintenance == pytest.approx(51.84)
    assert a.margin_ratio == pytest.approx(51.84 / 10_000)
    # initial margin at 5x: 12,960 / 5 = 2,592; leverage 12,960 / 10,000 = 1.296x
    assert a.initial == pytest.approx(2_592)
    assert a.leverage == pytest.approx(1.296)
    # LP of the new short (cross, alone): (10,000 + 0.216 × 60,000) / (0.216 × 1.004) = 64,372.72
    p = a.positions[0]
    assert p.liquidation_price == pytest.approx(22_960 / (0.216 * 1.004))
    assert p.distance == pytest.approx(22_960 / (0.216 * 1.004) / 60_000 - 1)
    assert "fallback" in a.tiers_note


def test_short_hedge_is_liquidated_on_a_rally_while_the_spot_gains():
    # seed 004 §6.1: 1,000 of margin behind a 12,960 short. LP = (1,000 + 12,960) / 0.216864 = 64,372.7,
    # 7.29 % above 60,000: the +10 % move liquidates it, while the 58,000 of spot BTC gains 5,800.
    cfg, snap = world(margin=1_000)
    leg = Leg("BTC", "fut", "BTC/USDT:USDT", "sell", 0.216, 1.0, True, 60_000, False, "open")
    wi = risk.what_if(snap, [leg], tiers=None, quote="USDT", default_leverage=20, spot_values={"BTC": 58_000})
    p = wi.after[0].positions[0]
    assert p.liquidation_price == pytest.approx(13_960 / 0.216864)
    rows = {r.move: r for r in wi.stress if r.asset == "BTC"}
    assert rows[0.10].liquidated_after and not rows[0.10].liquidated_before
    assert rows[0.10].spot_pnl == pytest.approx(5_800)
    assert rows[0.10].futures_pnl_after == pytest.approx(-0.216 * 6_000)
    assert not rows[-0.30].liquidated_after  # a fall only helps a short
    # at +10 %: balance 1,000 − 1,296 < 0 → ratio is ∞ (None in the table)
    assert rows[0.10].margin_ratio_after is None


def test_existing_position_reduced_realises_pnl_into_the_wallet():
    # short 0.5 BTC from 50,000, mark 60,000 (uPnL −5,000). Buying back 0.2 realises 0.2 × −10,000 = −2,000.
    pos = [f.position("BTC/USDT:USDT", -0.5, mark=60_000, entry=50_000, upnl=-5_000)]
    cfg, snap = world(positions=pos, margin=20_000)
    leg = Leg("BTC", "fut", "BTC/USDT:USDT", "buy", 0.2, 1.0, True, 60_000, True, "reduce short")
    wi = risk.what_if(snap, [leg], tiers=None, quote="USDT", default_leverage=5)
    b, a = wi.before[0], wi.after[0]
    assert b.upnl == pytest.approx(-5_000)
    assert a.wallet == pytest.approx(18_000)
    assert a.upnl == pytest.approx(-3_000)
    assert a.margin_balance == pytest.approx(b.margin_balance)  # NAV unchanged by a reduction
    assert a.positions[0].entry == 50_000 and a.positions[0].contracts == pytest.approx(0.3)


@settings(max_examples=100, deadline=None)
@given(q1=st.floats(0.001, 50), q2=st.floats(0.001, 50), side=st.sampled_from(["buy", "sell"]),
       existing=st.floats(-5, 5), wallet=st.floats(1_000, 1_000_000))
def test_margin_ratio_after_grows_with_size(q1, q2, side, existing, wallet):
    lo, hi = sorted((q1, q2))
    pos = [f.position("BTC/USDT:USDT", existing, mark=60_000)] if abs(existing) > 1e-3 else []
    cfg, snap = world(positions=pos, margin=wallet)
    signed = existing if abs(existing) > 1e-3 else 0.0
    # only sizes that grow the position in the leg's direction (past any opposite one)
    if (side == "buy" and signed < 0) or (side == "sell" and signed > 0):
        return

    def ratio(q):
        leg = Leg("BTC", "fut", "BTC/USDT:USDT", side, q, 1.0, True, 60_000, False, "open")
        return risk.what_if(snap, [leg], tiers=None, quote="USDT", default_leverage=5, stress_moves=()).after[0].margin_ratio

    r_lo, r_hi = ratio(lo), ratio(hi)
    assert r_lo <= r_hi + 1e-12 or math.isinf(r_hi)


def _isolated_short_account(info: dict, collateral: float | None) -> object:
    # short 1 BTC at 60,000, mark 65,000: uPnL −5,000; 12,000 put in as isolated margin, so
    # ccxt's collateral (Binance's isolatedMargin = wallet + uPnL) is 7,000. Cross: long 10 ETH
    # at 3,000 (mark 3,000). Account wallet 20,000 USDT.
    short = f.position("BTC/USDT:USDT", -1, mark=65_000, entry=60_000, upnl=-5_000, margin_mode="isolated")
    short["info"] = info
    if collateral is not None:
        short["collateral"] = collateral
    eth = f.position("ETH/USDT:USDT", 10, mark=3_000)
    markets = [f.market("BTC/USDT:USDT"), f.market("ETH/USDT:USDT")]
    return f.snapshot(f.account("fut", "binance", markets=markets, balance={"USDT": 20_000},
                                positions=[short, eth]))


FLAT = (Tier(0, math.inf, 0.004, 125, 0),)


@pytest.mark.parametrize(("info", "collateral"), [({}, 7_000.0), ({"isolatedWallet": "12000"}, 7_000.0)])
def test_isolated_wallet_is_the_margin_put_in_not_ccxts_collateral(info, collateral):
    snap = _isolated_short_account(info, collateral)
    pos = risk.account_positions(snap, "fut", 5)
    assert next(p for p in pos if p.base == "BTC").isolated_wallet == pytest.approx(12_000)
    tiers = {"BTC/USDT:USDT": FLAT, "ETH/USDT:USDT": FLAT}
    r = risk.evaluate("fut", 20_000, "USDT", pos, tiers)
    btc = next(p for p in r.positions if p.base == "BTC")
    # LP = (WB − Side·Q·EP) / (Q·mmr − Side·Q) = (12,000 + 60,000) / (0.004 + 1) = 71,713.15;
    # the uPnL is already in −Side·Q·EP: with WB = 7,000 it would show 66,733.07
    assert btc.liquidation_price == pytest.approx(72_000 / 1.004)
    assert btc.liquidation_price == pytest.approx(71_713.15, abs=0.01)
    # cross wallet = 20,000 − 12,000 = 8,000; ETH long alone in it:
    # LP = (8,000 − 10 × 3,000) / (10 × 0.004 − 10) = 22,000 / 9.96
    eth = next(p for p in r.positions if p.base == "ETH")
    assert eth.liquidation_price == pytest.approx(22_000 / 9.96)
