"""Ticket builders and instrument choice against hand computations (world: tests/planner/world.py)."""

from __future__ import annotations

import pytest

from console.core import planner
from console.core.config import Goal
from console.core.errors import UserError
from console.core.preview import preview
from console.core.ticket import TicketKind
from tests import factories as f
from tests.planner.world import DATED, world


def legs(t):
    return [(tl.leg.symbol, tl.leg.side, tl.leg.contracts, tl.leg.reduce_only) for tl in t.legs]


def test_spread_sizes_each_leg_to_its_goal_and_picks_dated_when_basis_beats_funding():
    # BTC 58 % vs 45 % → −13,000; ETH 32 % vs 45 % → +13,000.
    # Short 13,000 of BTC over 7 d:
    #   perp : fee 13,000 × 0.05 % = 6.50; funding −1 × 0.01 % × 13,000 × 21 = −27.30 → −20.80
    #   dated: fee 6.50; premium (F − S)/F = 1,200 / 61,200 of 13,000 = 254.90, 7/34 of it = −52.48;
    #          no roll (34 d > 7 d) → −45.98  ← cheaper
    # dated size: 13,000 / 61,200 = 0.21242 → 0.212 (lot 0.001)
    cfg, snap = world()
    t = planner.build_spread(cfg, snap, "BTC", "ETH")
    assert t.kind is TicketKind.SPREAD
    assert legs(t) == [(DATED, "sell", 0.212, False), ("ETH/USDT:USDT", "buy", 4.333, False)]
    assert "dated" in t.reasons[0] and "cheaper than BTC/USDT:USDT" in t.reasons[0]
    ctx = planner._Ctx(cfg, snap, None, None, 7, None, None)
    ch = planner.choose_instrument(ctx, cfg.sleeve("BTC"), "sell", 13_000)
    assert ch.instrument.symbol == DATED and ch.instrument.account == "fut"
    # each candidate is priced on the contracts it would send: dated 0.212 × 61,200 = 12,974.40
    assert ch.cost == pytest.approx(12_974.4 * 0.0005 - 1_200 / 61_200 * 12_974.4 * 7 / 34)
    perp = next(c for c in ch.candidates if c.symbol == "BTC/USDT:USDT")
    assert perp.cost == pytest.approx(6.48 - 0.0001 * 12_960 * 21)  # perp 0.216 × 60,000 = 12,960


def test_high_funding_makes_the_perp_cheaper_for_a_short():
    # funding +0.05 %/8 h: perp = 6.50 − 0.0005 × 13,000 × 21 = −130.00 < dated −45.98
    cfg, snap = world(btc_funding=0.0005)
    t = planner.build_spread(cfg, snap, "BTC", "ETH")
    assert legs(t)[0] == ("BTC/USDT:USDT", "sell", 0.216, False)  # 13,000 / 60,000 = 0.21666 → 0.216


def test_instrument_choice_weighs_every_account():
    # a second futures account lists the BTC perp with a 0.02 % taker: 13,000 × 0.02 % = 2.60 instead of 6.50
    cfg, snap = world(btc_funding=0.0005)
    fut2 = f.account("fut2", "binanceusdm", markets=[f.market("BTC/USDT:USDT", taker=0.0002)],
                     balance={"USDT": 5_000}, tickers=[f.ticker("BTC/USDT:USDT", 60_000)],
                     funding=[{"symbol": "BTC/USDT:USDT", "fundingRate": 0.0005, "interval": "8h"}])
    snap = snap.with_account(fut2)
    ctx = planner._Ctx(cfg, snap, None, None, 7, None, None)
    ch = planner.choose_instrument(ctx, cfg.sleeve("BTC"), "sell", 13_000)
    assert (ch.instrument.symbol, ch.instrument.account) == ("BTC/USDT:USDT", "fut2")
    assert ch.cost == pytest.approx(2.592 - 136.08)  # on 0.216 contracts = 12,960
    assert "by 3.89" in ch.reason  # 12,960 × (0.05 % − 0.02 %)


def test_existing_overlay_is_reduced_before_a_new_one_opens():
    # a long 0.05 BTC perp (3,000) adds to BTC's overweight: net 61,000 → −16,000 to target.
    # First reduce-only: sell the whole 0.05 long (3,000); then open the remaining 13,000 short.
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", 0.05, mark=60_000)])
    t = planner.build_hedge(cfg, snap, "BTC")
    assert legs(t)[0] == ("BTC/USDT:USDT", "sell", 0.05, True)
    assert legs(t)[1][:2] == (DATED, "sell") and not legs(t)[1][3]
    assert "reduce-only" in t.reasons[0]


def test_hedge_to_band_edge():
    # band 45 ± 5: BTC 58 % → 50 %: −8,000 → dated 8,000 / 61,200 = 0.1307 → 0.130
    cfg, snap = world()
    t = planner.build_hedge(cfg, snap, "BTC", goal=Goal.BAND)
    assert legs(t) == [(DATED, "sell", 0.13, False)]


def test_spread_refuses_a_pair_the_wrong_way_round():
    cfg, snap = world()
    with pytest.raises(UserError, match="not overweight"):
        planner.build_spread(cfg, snap, "ETH", "BTC")


def test_roll_perp_to_dated_same_notional_and_its_costs_by_hand():
    # short 0.2 BTC perp (12,000) → buy it back reduce-only; sell 12,000 / 61,200 = 0.19608 → 0.196 dated
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", -0.2, mark=60_000)])
    t = planner.build_roll(cfg, snap, "BTC")
    assert t.kind is TicketKind.ROLL
    assert legs(t) == [("BTC/USDT:USDT", "buy", 0.2, True), (DATED, "sell", 0.196, False)]
    pv = preview(cfg, snap, t, now_ms=f.T0, horizon_days=7)
    # close: fee 12,000 × 0.05 % = 6.00; funding given up +0.01 % × 12,000 × 21 = +25.20
    # open : fee 0.196 × 61,200 = 11,995.20 × 0.05 % = 5.9976; basis: the short earns 0.196 × (61,200 −
    #        60,000) = 235.20 by expiry, 7/34 of it = −48.4235
    # total = 6 + 25.2 + 5.9976 − 48.4235 = −11.2259 → the roll saves 11.23
    assert pv.legs[0].total == pytest.approx(31.2)
    assert pv.legs[1].total == pytest.approx(5.9976 - 0.196 * 1_200 * 7 / 34)
    assert pv.total_cost == pytest.approx(6 + 25.2 + 5.9976 - 0.196 * 1_200 * 7 / 34)
    assert pv.verdict.worth_it and "saves 11.23" in pv.verdict.reason
    assert pv.spot_alternative is None


def test_roll_past_expiry_counts_a_roll_and_all_the_basis():
    # horizon 40 d > 34 d to expiry: basis 0.196 × (61,200 − 60,000) = −235.20 (all of it); one roll
    # = 2 × (fee 5.9976 + slippage 0) = 11.9952, plus the next contract's carry for the 6 d after
    # expiry at the same premium per day: −235.20 × 6/34 = −41.5059 → roll −29.5107;
    # funding given up +0.01 % × 12,000 × 120 = +144 (over all 40 d, like the dated side now)
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", -0.2, mark=60_000)])
    t = planner.build_roll(cfg, snap, "BTC", horizon_days=40)
    pv = preview(cfg, snap, t, now_ms=f.T0, horizon_days=40)
    assert pv.legs[1].item("roll").amount == pytest.approx(11.9952 - 235.2 * 6 / 34)
    assert pv.legs[1].item("basis").amount == pytest.approx(-235.2)
    assert pv.totals["funding"] == pytest.approx(144)
    assert pv.total_cost == pytest.approx(6 + 144 + 5.9976 - 235.2 + 11.9952 - 235.2 * 6 / 34)


def test_roll_dated_back_to_perp():
    cfg, snap = world(positions=[f.position(DATED, -0.2, mark=61_200)])
    t = planner.build_roll(cfg, snap, "BTC")
    assert legs(t)[0] == (DATED, "buy", 0.2, True)
    assert legs(t)[1][:2] == ("BTC/USDT:USDT", "sell")
    # same notional: 0.2 × 61,200 = 12,240 → 12,240 / 60,000 = 0.204
    assert legs(t)[1][2] == pytest.approx(0.204)


def test_a_roll_stays_on_its_underlying() -> None:
    # QA: rolling the BTC hedge "into" ETH/USDT:USDT closed 12,000 of BTC hedge and opened a
    # 12,000 ETH short, labelled a BTC roll "perp → dated": a spread in disguise. Refused.
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", -0.2, mark=60_000)])
    with pytest.raises(UserError, match=r"cannot roll BTC/USDT:USDT into ETH/USDT:USDT: a roll stays on BTC"):
        planner.build_roll(cfg, snap, "BTC", to_symbol="ETH/USDT:USDT")
    # another BTC contract is a roll, and its label says what it is
    t = planner.build_roll(cfg, snap, "BTC", to_symbol=DATED)
    assert legs(t)[1][:2] == (DATED, "sell") and "(perp → dated)" in t.note


ALTS = f.EXAMPLE_2_CONFIG


def alts_world():
    # DOMAIN example 2: NAV 500,000, ALTS 20 % vs 15 % → −25,000
    cfg = f.config(ALTS)
    snap = f.snapshot(
        f.account("spot", "binance", balance={"BTC": 2, "ETH": 50, "SOL": 250, "AVAX": 2_000, "USDT": 50_000},
                  tickers=[f.ticker("BTC/USDT", 100_000), f.ticker("ETH/USDT", 3_000),
                           f.ticker("SOL/USDT", 200), f.ticker("AVAX/USDT", 25)]),
        f.account("fut", "binanceusdm", markets=[f.market("ALTIDX/USDT:USDT", step=1, min_cost=5)],
                  tickers=[f.ticker("ALTIDX/USDT:USDT", 100)]),
    )
    return cfg, snap


def series(returns, start=100.0, t0=f.T0, step=3_600_000):
    rows, px = [[t0, start, start, start, start, 0]], start
    for i, r in enumerate(returns, 1):
        px *= 1 + r
        rows.append([t0 + i * step, px, px, px, px, 0])
    return rows


RX = [0.01, -0.02, 0.015, 0.005, -0.01, 0.02, -0.005, 0.0, 0.012, -0.008, 0.004, -0.015]


def test_proxy_hedge_sized_by_beta_with_r2():
    # SOL and AVAX both move exactly 1.5 × the index → the basket's beta is 1.5, R² 1.
    # −25,000 of ALTS × 1.5 = 37,500 of ALTIDX at 100 = 375 contracts
    cfg, snap = alts_world()
    ry = [1.5 * r for r in RX]
    ohlcv = {"ALTIDX/USDT:USDT": series(RX), "SOL/USDT": series(ry, 200), "AVAX/USDT": series(ry, 25)}
    t = planner.build_proxy_hedge(cfg, snap, "ALTS", "ALTIDX/USDT:USDT", ohlcv=ohlcv, lookback=30)
    assert t.kind is TicketKind.PROXY
    assert legs(t) == [("ALTIDX/USDT:USDT", "sell", 375, False)]
    assert "beta of ALTS on ALTIDX/USDT:USDT = 1.500 (R² 1.00)" in t.note
    # the config counts ALTIDX at ratio 1: after the fill ALTS shows 37,500 / 1 moved, and the
    # ticket claims that, not 25,000, and says how to count it as it is sized
    assert t.legs[0].leg.sleeve_exposure == pytest.approx(-37_500 / 1.0)
    assert any("ratio = 1.500" in w and "37,500.00 moved" in w for w in t.warnings)
    # with the config's ratio at the beta, the claimed move is the drift: 37,500 / 1.5
    cfg15 = f.config(ALTS.replace("proxy = true, ratio = 1.0", "proxy = true, ratio = 1.5"))
    t = planner.build_proxy_hedge(cfg15, snap, "ALTS", "ALTIDX/USDT:USDT", ohlcv=ohlcv, lookback=30)
    assert t.legs[0].leg.sleeve_exposure == pytest.approx(-37_500 / 1.5)
    assert not any("sized by beta" in w for w in t.warnings)


def test_a_proxy_the_sleeve_does_not_list_is_refused():
    cfg, snap = alts_world()
    ohlcv = {"OTHERIDX/USDT:USDT": series(RX), "SOL/USDT": series(RX, 200), "AVAX/USDT": series(RX, 25)}
    with pytest.raises(UserError, match=r"not a proxy hedge of ALTS.*proxy = true, ratio = 1.000"):
        planner.build_proxy_hedge(cfg, snap, "ALTS", "OTHERIDX/USDT:USDT", ohlcv=ohlcv, lookback=30)


def test_proxy_hedge_refuses_without_enough_history():
    cfg, snap = alts_world()
    ohlcv = {"ALTIDX/USDT:USDT": series(RX[:3]), "SOL/USDT": series(RX[:3], 200)}
    with pytest.raises(UserError, match="too few"):
        planner.build_proxy_hedge(cfg, snap, "ALTS", "ALTIDX/USDT:USDT", ohlcv=ohlcv)


def test_beta_neutral_core_satellite():
    # ETH moves 1.2 × BTC: β = 1.2. Core BTC 58,000 + β × ETH 32,000 = 58,000 + 38,400 = 96,400
    # → move BTC futures by −96,400 (dated chosen: 96,400 / 61,200 = 1.5751 → 1.575 contracts)
    cfg, snap = world()
    ohlcv = {"BTC/USDT": series(RX, 60_000), "ETH/USDT": series([1.2 * r for r in RX], 3_000)}
    t = planner.build_beta_neutral(cfg, snap, "BTC", "ETH", ohlcv=ohlcv)
    assert t.kind is TicketKind.BETA
    assert "= +96,400.00" in t.note
    assert legs(t) == [(DATED, "sell", 1.575, False)]
    assert sum(tl.leg.sleeve_exposure for tl in t.legs) == pytest.approx(-96_400, abs=61.2)


def test_beta_neutral_within_tolerance_says_so():
    # already hedged: short 1.6067 BTC perp ≈ 96,400 → net ≈ 0, inside 10 % of β × E_sat
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", -1.6, mark=60_000)])
    ohlcv = {"BTC/USDT": series(RX, 60_000), "ETH/USDT": series([1.2 * r for r in RX], 3_000)}
    t = planner.build_beta_neutral(cfg, snap, "BTC", "ETH", ohlcv=ohlcv)
    assert any("within tolerance" in w for w in t.warnings)


def test_propose_pairs_over_with_under_and_proposes_a_worthwhile_roll():
    # the short 0.2 BTC perp (12,000) brings BTC to 46 %: inside its band, so only ETH breaches
    cfg, snap = world(positions=[f.position("BTC/USDT:USDT", -0.2, mark=60_000)])
    ts = planner.propose(cfg, snap)
    assert [t.kind for t in ts] == [TicketKind.HEDGE, TicketKind.ROLL]
    assert "saves" in ts[1].note
    # every sleeve off target: BTC −1,000 pairs with ETH +13,000 in one spread
    ts = planner.propose(cfg, snap, scope=planner.Scope.ALL)
    assert [t.kind for t in ts] == [TicketKind.SPREAD, TicketKind.ROLL]
    assert [tl.leg.side for tl in ts[0].legs] == ["sell", "buy"]


def test_propose_leftover_sleeve_gets_a_single_hedge():
    cfg, snap = alts_world()
    ts = planner.propose(cfg, snap)
    # only ALTS breaches (STABLE is the residual cash sleeve and is never hedged)
    assert [t.kind for t in ts] == [TicketKind.HEDGE]
    assert legs(ts[0]) == [("ALTIDX/USDT:USDT", "sell", 250, False)]


def test_spread_puts_every_reduce_only_leg_first():
    # a short ETH perp (0.5 × 3,000 = 1,500) works against ETH's underweight,
    # so the spread buys it back (reduce-only) before BTC's short opens and ETH's long opens
    cfg, snap = world(positions=[f.position("ETH/USDT:USDT", -0.5, mark=3_000)])
    t = planner.build_spread(cfg, snap, "BTC", "ETH")
    assert [tl.leg.reduce_only for tl in t.legs] == [True, False, False]
    assert legs(t)[0] == ("ETH/USDT:USDT", "buy", 0.5, True)
    assert t.reasons[0].startswith("ETH: reduce short")


def test_tax_is_mentioned_only_when_the_spot_route_sells() -> None:
    # QA: a hedge that only buys said "before tax on a spot sale"
    cfg, snap = world()
    buy = preview(cfg, snap, planner.build_hedge(cfg, snap, "ETH"))
    assert "tax" not in buy.spot_alternative.reason
    spread = preview(cfg, snap, planner.build_spread(cfg, snap, "BTC", "ETH"))
    assert "before tax on a spot sale" in spread.spot_alternative.reason


def test_a_reloaded_market_or_funding_answer_is_read_afresh_not_remembered():
    # the planner keeps what it reads of an account's markets and funding rates per mapping
    # (a stream of snapshots hands the same one on); a new answer from the venue is a new mapping
    # and is read again. BTC short of 13,000 picks the dated future (−45.98 vs −20.80, see the
    # first test); with the future delisted it must pick the perp, and with the perp's funding at
    # +0.05 %/8 h the perp: 6.48 − 0.0005 × 12,960 × 21 = −129.60 (on 0.216 contracts = 12,960)
    from dataclasses import replace

    cfg, snap = world()
    assert legs(planner.build_spread(cfg, snap, "BTC", "ETH"))[0] == (DATED, "sell", 0.212, False)
    fut = snap.accounts["fut"]
    delisted = replace(fut, markets={**fut.markets, DATED: {**fut.markets[DATED], "active": False}})
    t = planner.build_spread(cfg, snap.with_account(delisted), "BTC", "ETH")
    assert legs(t)[0] == ("BTC/USDT:USDT", "sell", 0.216, False)
    rates = {**fut.funding_rates, "BTC/USDT:USDT": {**fut.funding_rates["BTC/USDT:USDT"], "fundingRate": 0.0005}}
    ctx = planner._Ctx(cfg, snap.with_account(replace(fut, funding_rates=rates)), None, None, 7, None, None)
    ch = planner.choose_instrument(ctx, cfg.sleeve("BTC"), "sell", 13_000)
    assert ch.instrument.symbol == "BTC/USDT:USDT"
    assert ch.cost == pytest.approx(12_960 * 0.0005 - 0.0005 * 12_960 * 21)
    # and the first snapshot, asked again, still reads its own
    assert legs(planner.build_spread(cfg, snap, "BTC", "ETH"))[0] == (DATED, "sell", 0.212, False)
