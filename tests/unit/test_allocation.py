"""NAV, net exposure (linear, inverse, perps, dated, proxies), cash sleeve, bands and Δ."""

from __future__ import annotations

import pytest

from console.core.allocation import OTHER, Status, band_status, compute_allocation
from console.core.config import Goal
from console.core.overlay import Leg, Scope, apply_legs, plan_overlay
from tests import factories as f

BTC_ETH = """
[portfolio]
band_policy = "absolute"
band_abs = 0.05
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.4
hedges = ["BTC/USDT:USDT", "BTC/USDT:USDT-261225", "BTC/USD:BTC"]
[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.4
hedges = ["ETH/USDT:USDT"]
[[sleeves]]
name = "STABLE"
assets = ["USDT", "USDC"]
target = 0.2
[[manual]]
asset = "BTC"
quantity = 0.5
"""


def test_nav_counts_every_wallet_manual_holdings_and_upnl_once():
    cfg = f.config(BTC_ETH)
    snap = f.snapshot(
        f.account("spot", "binance", balance={"BTC": 1.0, "ETH": 10, "USDT": 5_000, "USDC": 1_000},
                  tickers=[f.ticker("BTC/USDT", 50_000), f.ticker("ETH/USDT", 3_000)]),
        f.account("fut", "binanceusdm", balance={"USDT": 20_000},
                  markets=[f.market("BTC/USDT:USDT")], tickers=[f.ticker("BTC/USDT:USDT", 50_100)],
                  positions=[f.position("BTC/USDT:USDT", -0.2, mark=50_100, entry=49_000, upnl=-220)]),
    )
    a = compute_allocation(cfg, snap)
    # spot 50,000 + 25,000 (cold) + 30,000 + 5,000 + 1,000 + futures wallet 20,000 + UPnL −220
    assert a.nav == pytest.approx(130_780)
    btc = a.row("BTC")
    assert btc.spot_value == pytest.approx(75_000)
    assert btc.futures_notional == pytest.approx(-0.2 * 50_100)  # the contract's own mark
    assert btc.net == pytest.approx(75_000 - 10_020)
    assert sum(r.weight for r in a.rows) == pytest.approx(1.0)
    cash = a.row("STABLE")
    assert cash.is_cash and cash.net == pytest.approx(a.nav - btc.net - a.row("ETH").net)


def test_inverse_contract_notional_is_contracts_times_usd_size_and_coin_margin_is_spot():
    cfg = f.config(BTC_ETH)
    snap = f.snapshot(
        f.account("spot", "binance", balance={"ETH": 10, "USDT": 10_000},
                  tickers=[f.ticker("BTC/USDT", 50_000), f.ticker("ETH/USDT", 3_000)]),
        f.account("coinm", "binancecoinm", balance={"BTC": 1.0},
                  markets=[f.market("BTC/USD:BTC", step=1, contract_size=100)],
                  tickers=[f.ticker("BTC/USD:BTC", 50_050)],
                  positions=[f.position("BTC/USD:BTC", -200, mark=50_050, contract_size=100, upnl=0.001)]),
    )
    a = compute_allocation(cfg, snap)
    btc = a.row("BTC")
    assert btc.spot_value == pytest.approx(1.5 * 50_000)  # margin coin + cold storage
    assert btc.futures_notional == pytest.approx(-20_000)  # 200 × $100, whatever the price
    assert a.upnl == pytest.approx(0.001 * 50_000)  # inverse PnL is in BTC: valued at BTC's price
    assert a.nav == pytest.approx(75_000 + 30_000 + 10_000 + 50)


def test_dated_future_counts_at_its_own_mark_and_is_flagged_dated():
    cfg = f.config(BTC_ETH)
    snap = f.snapshot(
        f.account("spot", "binance", balance={"USDT": 100_000}, tickers=[f.ticker("BTC/USDT", 50_000),
                                                                        f.ticker("ETH/USDT", 3_000)]),
        f.account("fut", "binanceusdm", markets=[f.market("BTC/USDT:USDT-261225", expiry=1_798_185_600_000)],
                  tickers=[f.ticker("BTC/USDT:USDT-261225", 51_000)],
                  positions=[f.position("BTC/USDT:USDT-261225", 0.5, mark=51_000)]),
    )
    a = compute_allocation(cfg, snap)
    (p,) = a.row("BTC").positions
    assert p.dated and p.linear and p.notional == pytest.approx(25_500)
    assert a.prices["BTC"] == 50_000  # a dated future never prices the asset: it carries basis


def test_multi_asset_sleeve_and_unassigned_assets():
    cfg = f.config("""
[[sleeves]]
name = "ALTS"
assets = ["SOL", "AVAX"]
target = 0.5
hedges = ["SOL/USDT:USDT"]
[[sleeves]]
name = "CASH"
assets = ["USDT"]
target = 0.5
""")
    snap = f.snapshot(f.account("spot", "binance", balance={"SOL": 100, "AVAX": 400, "DOGE": 1_000, "USDT": 10_000},
                                tickers=[f.ticker("SOL/USDT", 150), f.ticker("AVAX/USDT", 25),
                                         f.ticker("DOGE/USDT", 0.2)]))
    a = compute_allocation(cfg, snap)
    alts = a.row("ALTS")
    assert [x.asset for x in alts.assets] == ["SOL", "AVAX"]
    assert alts.net == pytest.approx(25_000)
    other = a.row(OTHER)
    assert other.status is Status.NONE and other.net == pytest.approx(200)
    assert a.nav == pytest.approx(35_200)


def test_missing_price_is_reported_not_guessed():
    cfg = f.config(BTC_ETH)
    snap = f.snapshot(f.account("spot", "binance", balance={"BTC": 1, "ETH": 1, "XYZ": 5},
                                tickers=[f.ticker("BTC/USDT", 1), f.ticker("ETH/USDT", 1)]))
    assert compute_allocation(cfg, snap).missing_prices == ("XYZ",)


@pytest.mark.parametrize(("drift", "status"), [(0.0, Status.OK), (0.039, Status.OK), (0.0401, Status.WARN),
                                               (-0.05, Status.WARN), (0.0501, Status.BREACH), (-0.06, Status.BREACH)])
def test_band_status_warns_at_80_percent_and_breaches_past_the_edge(drift, status):
    assert band_status(drift, 0.05, 0.8) is status


def test_five_twenty_five_rule_takes_the_tighter_band():
    cfg = f.config("""
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.6
[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.1
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.3
""")
    assert cfg.band_halfwidth(cfg.sleeve("BTC")) == pytest.approx(0.05)  # 5 pp < 25 % × 60 %
    assert cfg.band_halfwidth(cfg.sleeve("ETH")) == pytest.approx(0.025)  # 25 % × 10 % < 5 pp


def test_existing_opposite_position_is_reduced_reduce_only_before_opening():
    cfg = f.config(BTC_ETH)
    # BTC underweight while a BTC perp short is open: buy back the short first
    snap = f.snapshot(
        f.account("spot", "binance", balance={"BTC": 0.3, "ETH": 12, "USDT": 30_000},
                  tickers=[f.ticker("BTC/USDT", 50_000), f.ticker("ETH/USDT", 3_000)]),
        f.account("fut", "binanceusdm", balance={"USDT": 10_000},
                  markets=[f.market("BTC/USDT:USDT"), f.market("ETH/USDT:USDT")],
                  tickers=[f.ticker("BTC/USDT:USDT", 50_000), f.ticker("ETH/USDT:USDT", 3_000)],
                  positions=[f.position("BTC/USDT:USDT", -0.1, mark=50_000)]),
    )
    a = compute_allocation(cfg, snap)
    btc = a.row("BTC")
    assert btc.status is Status.BREACH and btc.delta_target > 5_000
    plan = plan_overlay(cfg, snap, a, Goal.TARGET, Scope.BREACH)
    legs = [(leg.symbol, leg.side, leg.contracts, leg.reduce_only) for leg in plan.legs if leg.sleeve == "BTC"]
    # NAV = 15,000 + 25,000 cold + 36,000 + 30,000 + 10,000 = 116,000; BTC net 40,000 − 5,000 = 35,000
    # target 46,400 → buy 11,400 = close the 0.1 short (5,000) + open 6,400 / 50,000 = 0.128 long
    assert a.nav == pytest.approx(116_000)
    assert legs == [("BTC/USDT:USDT", "buy", 0.1, True), ("BTC/USDT:USDT", "buy", 0.128, False)]


def test_leg_under_min_cost_is_skipped_with_its_reason():
    cfg = f.config("""
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.5
band_abs = 0.001
hedges = ["BTC/USDT:USDT"]
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.5
""")
    snap = f.snapshot(
        f.account("spot", "binance", balance={"BTC": 1.01, "USDT": 49_500}, tickers=[f.ticker("BTC/USDT", 50_000)]),
        f.account("fut", "binanceusdm", markets=[f.market("BTC/USDT:USDT", min_cost=1_000)],
                  tickers=[f.ticker("BTC/USDT:USDT", 50_000)]),
    )
    a = compute_allocation(cfg, snap)
    assert a.row("BTC").status is Status.BREACH and a.row("BTC").delta_target == pytest.approx(-500)
    plan = plan_overlay(cfg, snap, a)
    assert plan.legs == ()
    (skip,) = plan.skipped
    assert skip.symbol == "BTC/USDT:USDT" and "under BTC/USDT:USDT's minimum order cost 1,000.00" in skip.reason


# BTC hedged only through the COIN-M perp, at 15 %; STABLE 45 %; no cold storage
INVERSE = (BTC_ETH.replace('target = 0.4\nhedges = ["BTC/USDT:USDT", "BTC/USDT:USDT-261225", "BTC/USD:BTC"]',
                           'target = 0.15\nhedges = ["BTC/USD:BTC"]')
           .replace("target = 0.2", "target = 0.45").split("[[manual]]")[0])


def inverse_world(mark: float, *, entry: float = 50_000, contracts: float = -200, coin: float = 0.4):
    """A COIN-M short of 200 × $100 (Q = 20,000) opened at 50,000: 0.4 BTC at entry, with 0.4
    BTC of margin; plus 10 ETH at 3,000 and 30,000 USDT. Coin uPnL = −Q × (1/EP − 1/P)."""
    upnl = contracts * 100 * (1 / entry - 1 / mark)
    return f.snapshot(
        f.account("spot", "binance", balance={"ETH": 10, "USDT": 30_000},
                  tickers=[f.ticker("BTC/USDT", mark), f.ticker("ETH/USDT", 3_000)]),
        f.account("coinm", "binancecoinm", balance={"BTC": coin},
                  markets=[f.market("BTC/USD:BTC", step=1, contract_size=100)],
                  tickers=[f.ticker("BTC/USD:BTC", mark)],
                  positions=[f.position("BTC/USD:BTC", contracts, mark=mark, entry=entry, contract_size=100,
                                        upnl=upnl)]))


@pytest.mark.parametrize("mark", [25_000, 50_000, 60_000, 90_000])
def test_an_inverse_short_sized_to_hedge_its_coin_stays_a_perfect_hedge(mark):
    # exposure = side × Q × mark / entry = −20,000 × mark / 50,000 = −0.4 BTC × mark, the margin
    # coin's exact opposite: BTC net is 0 at every price (counting Q would leave 0.4 × mark − 20,000)
    a = compute_allocation(f.config(INVERSE), inverse_world(mark))
    btc = a.row("BTC")
    assert btc.futures_notional == pytest.approx(-20_000 * mark / 50_000)
    assert btc.spot_value == pytest.approx(0.4 * mark)
    assert btc.net == pytest.approx(0, abs=1e-6)


def test_reducing_an_inverse_short_lands_the_sleeve_on_its_target():
    cfg = f.config(INVERSE)
    snap = inverse_world(60_000)
    a = compute_allocation(cfg, snap)
    # uPnL = −20,000 × (1/50,000 − 1/60,000) = −1/15 BTC = −4,000; NAV = 24,000 + 30,000 + 30,000
    # − 4,000 = 80,000; BTC net 0, target 15 % = 12,000 → buy 12,000
    assert a.nav == pytest.approx(80_000)
    assert a.row("BTC").delta_target == pytest.approx(12_000)
    plan = plan_overlay(cfg, snap, a, Goal.TARGET, Scope.ALL)
    # closing c contracts moves exposure by c × $100 (the closed Q): the exposure falls by
    # c × 100 × 60,000 / 50,000 and the realised coin PnL −c × 100 × (1/50,000 − 1/60,000) BTC
    # joins the wallet at 60,000: 120 − 20 = 100 per contract → 12,000 / 100 = 120 contracts
    assert [(leg.symbol, leg.side, leg.contracts, leg.reduce_only) for leg in plan.legs] == [
        ("BTC/USD:BTC", "buy", 120, True)]
    after = compute_allocation(cfg, apply_legs(snap, plan.legs))
    assert after.nav == pytest.approx(80_000)
    # wallet 0.4 − 0.04 = 0.36 BTC = 21,600; 80 contracts left: −8,000 × 60,000 / 50,000 = −9,600
    assert after.row("BTC").net == pytest.approx(21_600 - 9_600)
    assert after.row("BTC").net == pytest.approx(0.15 * after.nav)


def test_growing_an_inverse_position_keeps_the_harmonic_entry():
    # sell 100 more contracts at 60,000: entry = 30,000 / (20,000 / 50,000 + 10,000 / 60,000)
    # (Binance COIN-M), so the exposure is −24,000 − 10,000 = −34,000
    snap = inverse_world(60_000)
    leg = Leg("BTC", "coinm", "BTC/USD:BTC", "sell", 100, 100, False, 60_000, False, "open")
    after = apply_legs(snap, [leg])
    pos = after.account("coinm").positions[0]
    assert pos["entryPrice"] == pytest.approx(30_000 / (20_000 / 50_000 + 10_000 / 60_000))
    btc = compute_allocation(f.config(INVERSE), after).row("BTC")
    assert btc.futures_notional == pytest.approx(-34_000)
