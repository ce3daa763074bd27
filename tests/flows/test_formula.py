"""Quarter-end flow formula against hand computations (DOMAIN worked example 4).

AUM basis used throughout (as documented in console/flows.py and funds.sample.toml):
``aum_at_rebalance`` is the fund's value ON its last rebalance; the AUM that multiplies the
drift is that value grown by the portfolio return, A = aum_at_rebalance × Σ w_j (1 + r_j).
"""

from __future__ import annotations

import datetime as dt

import pytest

from console.core.errors import UserError
from console.core.flows import (
    Basket,
    LevelTable,
    MarketData,
    action,
    compute_flows,
    current_weights,
    flow_money,
    flow_rows,
    portfolio_growth,
    report_dict,
)

SINCE = dt.date(2026, 9, 30)  # a Wednesday, the last session of Q3 2026
DATE = dt.date(2026, 11, 20)  # a Friday


def levels(**series: tuple[float, float]) -> LevelTable:
    """Level on SINCE and on DATE for each series."""
    return LevelTable("test levels", {k: ((SINCE, a), (DATE, b)) for k, (a, b) in series.items()})


# Returns chosen to make the arithmetic easy to follow:
#   SPX 100 -> 110 = +10 %,  AGG 100 -> 95 = -5 %,  BTC 60,000 -> 90,000 = +50 %,
#   ETH 2,500 -> 2,000 = -20 %
LEVELS = levels(SPX=(100.0, 110.0), AGG=(100.0, 95.0), BTC=(60_000.0, 90_000.0), ETH=(2_500.0, 2_000.0))
FUND_A = {"name": "A", "aum_at_rebalance": 1_000_000_000, "last_rebalance": SINCE,
          "targets": {"SPX": 0.60, "AGG": 0.38, "BTC": 0.02}}
FUND_B = {"name": "B", "aum_at_rebalance": 500_000_000, "last_rebalance": SINCE,
          "targets": {"SPX": 0.55, "AGG": 0.40, "BTC": 0.03, "ETH": 0.02}}


def basket(*funds: dict) -> Basket:
    return Basket.model_validate({"funds": list(funds)})


def test_growth_weights_and_flow_by_hand() -> None:
    targets = FUND_A["targets"]
    r = {"SPX": 0.10, "AGG": -0.05, "BTC": 0.50}
    # g = 0.60×1.10 + 0.38×0.95 + 0.02×1.50 = 0.66 + 0.361 + 0.03 = 1.051
    assert portfolio_growth(targets, r) == pytest.approx(1.051)
    w = current_weights(targets, r)
    # w' = w(1+r)/g: BTC 0.03/1.051, SPX 0.66/1.051, AGG 0.361/1.051
    assert w["BTC"] == pytest.approx(0.03 / 1.051)  # 2.854 %
    assert w["SPX"] == pytest.approx(0.66 / 1.051)  # 62.797 %
    assert w["AGG"] == pytest.approx(0.361 / 1.051)  # 34.348 %
    assert sum(w.values()) == pytest.approx(1.0)
    # AUM now = 1,000,000,000 × 1.051 = 1,051,000,000
    # BTC flow = (0.03/1.051 − 0.02) × 1,051,000,000 = 30,000,000 − 21,020,000 = 8,980,000
    assert flow_money(w["BTC"], 0.02, 1_051_000_000) == pytest.approx(8_980_000)


def test_compute_flows_reproduces_the_hand_example() -> None:
    report = compute_flows(basket(FUND_A, FUND_B), MarketData(date=DATE, levels=LEVELS))
    a, b = report.funds
    # Fund A: g = 1.051 (above); AUM now = 1,051,000,000 (AUM basis: at-rebalance value grown)
    assert a.growth == pytest.approx(1.051)
    assert a.aum_now == pytest.approx(1_051_000_000)
    btc_a = a.sleeve("BTC")
    assert btc_a.flow == pytest.approx(8_980_000)  # positive: A must SELL BTC
    # coins = money / price now = 8,980,000 / 90,000 = 99.7777…
    assert btc_a.coins == pytest.approx(8_980_000 / 90_000)
    assert btc_a.action == "must sell"
    # SPX: holds 0.66e9, target 0.60 × 1.051e9 = 630,600,000 -> +29,400,000
    assert a.sleeve("SPX").flow == pytest.approx(29_400_000)
    # AGG: holds 0.361e9, target 0.38 × 1.051e9 = 399,380,000 -> −38,380,000
    assert a.sleeve("AGG").flow == pytest.approx(-38_380_000)
    assert a.sleeve("AGG").coins is None  # not a crypto sleeve
    # a rebalance only moves money between sleeves: 8.98 + 29.40 − 38.38 = 0
    assert sum(s.flow for s in a.sleeves) == pytest.approx(0, abs=1e-3)

    # Fund B: g = 0.55×1.10 + 0.40×0.95 + 0.03×1.50 + 0.02×0.80 = 0.605 + 0.38 + 0.045 + 0.016 = 1.046
    # AUM now = 500,000,000 × 1.046 = 523,000,000
    assert b.aum_now == pytest.approx(523_000_000)
    # BTC holds 0.045 × 5e8 = 22,500,000; target 0.03 × 523e6 = 15,690,000 -> +6,810,000 (sell)
    assert b.sleeve("BTC").flow == pytest.approx(6_810_000)
    # ETH holds 0.016 × 5e8 = 8,000,000; target 0.02 × 523e6 = 10,460,000 -> −2,460,000 (buy)
    eth = b.sleeve("ETH")
    assert eth.flow == pytest.approx(-2_460_000)
    assert eth.coins == pytest.approx(-2_460_000 / 2_000)  # −1,230 ETH
    assert eth.action == "must buy"
    assert eth.drift == pytest.approx(0.016 / 1.046 - 0.02)  # −0.470 pp

    # Aggregate per crypto asset across the funds
    btc, eth_total = report.assets
    assert (btc.asset, eth_total.asset) == ("BTC", "ETH")
    assert btc.flow == pytest.approx(8_980_000 + 6_810_000)  # 15,790,000 must sell
    assert btc.coins == pytest.approx(15_790_000 / 90_000)  # 175.44 BTC
    assert btc.funds_trading == 2 and btc.action == "must sell"
    assert eth_total.flow == pytest.approx(-2_460_000) and eth_total.coins == pytest.approx(-1_230)
    assert report.total_crypto_flow == pytest.approx(15_790_000 - 2_460_000)


def test_the_other_aum_basis_would_give_a_different_number() -> None:
    # Guard against silently switching basis: drift × aum_at_rebalance (not grown) is
    # (0.03/1.051 − 0.02) × 1e9 = 8,544,243.58, which is NOT what the model reports.
    report = compute_flows(basket(FUND_A), MarketData(date=DATE, levels=LEVELS))
    flow = report.funds[0].sleeve("BTC").flow
    assert flow == pytest.approx(8_980_000)
    assert flow != pytest.approx((0.03 / 1.051 - 0.02) * 1e9)


def test_sign_convention_crypto_rally_sells_crash_buys() -> None:
    up = compute_flows(basket(FUND_A), MarketData(date=DATE, levels=levels(
        SPX=(100, 100), AGG=(100, 100), BTC=(100, 120))))
    down = compute_flows(basket(FUND_A), MarketData(date=DATE, levels=levels(
        SPX=(100, 100), AGG=(100, 100), BTC=(100, 80))))
    assert up.assets[0].flow > 0 and up.assets[0].action == "must sell"
    assert down.assets[0].flow < 0 and down.assets[0].action == "must buy"
    # BTC −20 %, rest flat: g = 0.98 + 0.02×0.8 = 0.996; flow = 0.016e9 − 0.02 × 0.996e9 = −3,920,000
    assert down.assets[0].flow == pytest.approx(-3_920_000)
    assert action(0.0) == "no flow" and action(0.004) == "no flow"


def test_no_divergence_no_flow() -> None:
    flat = compute_flows(basket(FUND_A), MarketData(date=DATE, levels=levels(
        SPX=(100, 105), AGG=(100, 105), BTC=(100, 105))))
    assert flat.assets[0].flow == pytest.approx(0, abs=1e-6)
    assert flat.assets[0].action == "no flow"


def test_cash_sleeve_earns_zero_and_prices_override_levels() -> None:
    fund = {"name": "C", "aum_at_rebalance": 100_000_000, "last_rebalance": SINCE,
            "targets": {"SPX": 0.50, "CASH": 0.45, "BTC": 0.05}}
    data = MarketData(date=DATE, levels=levels(SPX=(100, 100), BTC=(50_000, 1)),
                      now_prices={"BTC": 75_000}, now_source="--prices")
    f = compute_flows(basket(fund), data).funds[0]
    # BTC 50,000 -> 75,000 (the price typed in wins over the level 1) = +50 %
    # g = 0.50 + 0.45 + 0.05×1.5 = 1.025; BTC flow = 0.075e8 − 0.05 × 1.025e8 = 7,500,000 − 5,125,000
    assert f.sleeve("CASH").ret.value == 0.0
    assert f.sleeve("BTC").flow == pytest.approx(2_375_000)
    assert f.sleeve("BTC").price == 75_000
    assert f.sleeve("BTC").ret.source == "test levels → --prices"


def test_typed_returns_win_over_levels() -> None:
    data = MarketData(date=DATE, levels=LEVELS, typed_returns={"SPX": 0.0, "AGG": 0.0})
    f = compute_flows(basket(FUND_A), data).funds[0]
    # SPX, AGG flat; BTC +50 %: g = 0.98 + 0.03 = 1.01; flow = 0.03e9 − 0.02 × 1.01e9 = 9,800,000
    assert f.sleeve("SPX").ret.source == "typed in"
    assert f.sleeve("BTC").flow == pytest.approx(9_800_000)


def test_threshold_rule_holds_within_and_trades_past_threshold() -> None:
    # Same returns as fund A. Drifts: SPX 0.66/1.051 − 0.60 = +2.80 pp, AGG −3.65 pp,
    # BTC 0.03/1.051 − 0.02 = +0.854 pp (+42.7 % of its 2 % target).
    held = dict(FUND_A, name="T5", rule="threshold", threshold_abs=0.05)  # ±5 pp: none passes
    rel = dict(FUND_A, name="T25", rule="threshold", threshold_rel=0.25)  # ±25 %: BTC passes
    report = compute_flows(basket(held, rel), MarketData(date=DATE, levels=LEVELS))
    h, t = report.funds
    assert not h.trades
    assert h.sleeve("BTC").flow == 0.0
    assert h.sleeve("BTC").would_flow == pytest.approx(8_980_000)
    assert "within ±5.00 pp" in h.note and "no trade" in h.note
    assert t.trades and t.sleeve("BTC").past_threshold
    assert t.sleeve("BTC").flow == pytest.approx(8_980_000)
    assert "BTC +0.85 pp" in t.note and "past ±25% of target" in t.note
    btc = report.assets[0]
    assert btc.flow == pytest.approx(8_980_000)  # only T25 trades
    assert btc.held_back == pytest.approx(8_980_000)  # T5's would-be flow, reported apart
    assert btc.funds_trading == 1
    assert any("T5" in n for n in report.notes)
    rows = {r.key: r for r in flow_rows(report)}
    assert rows["T5/BTC"].action == "held (threshold)"
    assert rows["T25/BTC"].action == "must sell"


def test_threshold_passes_only_strictly_beyond() -> None:
    # Flat markets: every drift is 0, so even a tiny threshold is not passed.
    fund = dict(FUND_A, rule="threshold", threshold_abs=0.0001)
    f = compute_flows(basket(fund), MarketData(date=DATE, levels=levels(
        SPX=(100, 100), AGG=(100, 100), BTC=(100, 100)))).funds[0]
    assert not f.trades


def test_calendar_fund_notes_its_window() -> None:
    f = compute_flows(basket(FUND_A), MarketData(date=DATE, levels=LEVELS)).funds[0]
    assert f.trades
    assert "Q4 2026 window 2026-12-24 → 2026-12-31" in f.note


def test_divergence_gaps() -> None:
    report = compute_flows(basket(FUND_A, FUND_B), MarketData(date=DATE, levels=LEVELS))
    (d,) = report.divergence
    assert d.since == SINCE and d.funds == ("A", "B")
    gaps = {(c, o): g for c, o, g in d.gaps}
    assert gaps[("BTC", "SPX")] == pytest.approx(0.50 - 0.10)  # +40 pp
    assert gaps[("BTC", "AGG")] == pytest.approx(0.50 + 0.05)  # +55 pp
    assert gaps[("ETH", "SPX")] == pytest.approx(-0.20 - 0.10)  # −30 pp
    crypto, rest = report.funds[1].crypto_vs_rest()
    # B's crypto: (0.03×0.50 + 0.02×(−0.20)) / 0.05 = 0.011/0.05 = +22 %
    # B's rest: (0.55×0.10 + 0.40×(−0.05)) / 0.95 = 0.035/0.95 = +3.684 %
    assert crypto == pytest.approx(0.22)
    assert rest == pytest.approx(0.035 / 0.95)


def test_levels_as_of_skip_weekends_but_not_stale_data() -> None:
    # the rebalance was on Wednesday 2026-09-30; a level on Monday 09-28 is "as of" it
    table = LevelTable("t", {"SPX": ((dt.date(2026, 9, 28), 100.0), (DATE, 110.0)),
                             "AGG": ((SINCE, 100.0), (DATE, 100.0)),
                             "BTC": ((SINCE, 100.0), (DATE, 100.0))})
    f = compute_flows(basket(FUND_A), MarketData(date=dt.date(2026, 11, 22), levels=table)).funds[0]
    assert f.sleeve("SPX").ret.start_date == dt.date(2026, 9, 28)
    assert f.sleeve("SPX").ret.end_date == DATE  # Sunday 11-22 -> Friday 11-20
    with pytest.raises(UserError, match=r"sleeve SPX: the latest SPX level is from 2026-11-20, more than 7 days"):
        compute_flows(basket(FUND_A), MarketData(date=dt.date(2026, 12, 1), levels=table))


def test_missing_data_errors_name_the_fund_and_the_fix() -> None:
    no_btc = LevelTable("t", {"SPX": ((SINCE, 1.0), (DATE, 1.0)), "AGG": ((SINCE, 1.0), (DATE, 1.0))})
    with pytest.raises(UserError, match=r"fund 'A', sleeve BTC: no BTC level on the last rebalance date 2026-09-30; add a BTC column"):
        compute_flows(basket(FUND_A), MarketData(date=DATE, levels=no_btc))
    with pytest.raises(UserError, match=r"sleeve SPX: no SPX level.*--spx-return"):
        compute_flows(basket(FUND_A), MarketData(date=DATE))
    with pytest.raises(UserError, match=r"last_rebalance 2026-09-30 is after the date 2026-09-01"):
        compute_flows(basket(FUND_A), MarketData(date=dt.date(2026, 9, 1), levels=LEVELS))


def test_venue_closes_win_for_crypto_start() -> None:
    data = MarketData(date=DATE, levels=LEVELS, base_closes={"BTC": {SINCE: 45_000.0}}, base_source="venue")
    f = compute_flows(basket(FUND_A), data).funds[0]
    assert f.sleeve("BTC").ret.value == pytest.approx(90_000 / 45_000 - 1)
    assert f.sleeve("BTC").ret.source == "venue → test levels"


def test_report_dict_is_plain_json() -> None:
    import json

    d = report_dict(compute_flows(basket(FUND_A, FUND_B), MarketData(date=DATE, levels=LEVELS)))
    json.dumps(d)
    assert d["quarter"] == {"label": "Q4 2026", "window_start": "2026-12-24", "last_trading_day": "2026-12-31",
                            "inside_window": False, "trading_days_left": 28,
                            "text": "28 trading days left in Q4 2026; window opens 2026-12-24, last trading day 2026-12-31"}
    assert d["assets"][0] == {"asset": "BTC", "flow": 15_790_000.0, "coins": pytest.approx(175.44444444),
                              "price": 90_000.0, "action": "must sell", "funds_trading": 2, "held_back": 0.0}


@pytest.mark.parametrize("fund, message", [
    (dict(FUND_A, targets={"SPX": 0.6, "AGG": 0.3, "BTC": 0.02}), "targets add up to 0.9200, not 1"),
    (dict(FUND_A, rule="threshold"), "has rule = \"threshold\" but no threshold"),
    (dict(FUND_A, threshold_abs=0.05), "remove threshold_abs/threshold_rel or set rule = \"threshold\""),
    (dict(FUND_A, targets={"SPX": 0.6, "AGG": 0.4}), "holds none of the crypto assets"),
    (dict(FUND_A, aum_at_rebalance=0), "greater than 0"),
    (dict(FUND_A, targets={"S&P": 1.0}), "sleeve name 'S&P' must be letters"),
    ({k: v for k, v in dict(FUND_A, aum=1e9).items() if k != "aum_at_rebalance"},
     "write aum_at_rebalance \\(the fund's net assets ON last_rebalance\\), not aum"),
])
def test_fund_validation(fund: dict, message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        basket(fund)
