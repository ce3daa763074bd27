"""Two venues listing the same perp: every leg is priced on its own venue's book, fee tier and
leverage brackets, and the instrument choice weighs whether the venue can carry the leg.

World (tests/planner/world.py plus a Bybit account): BTC/USDT:USDT at 60,000 on both "fut"
(binanceusdm, taker 0.05 %) and "bybit" (taker 0.055 %). fut's book: 5 either side of mid, deep;
bybit's: 20 either side of mid, deep. Sell 0.2 on fut, buy 0.1 on bybit.
"""

from __future__ import annotations

import pytest

from console.core import planner
from console.core.overlay import Leg
from console.core.preview import preview
from console.core.risk import maintenance_margin, tiers_from_ccxt
from console.core.ticket import Ticket, TicketKind, TicketLeg
from tests import factories as f
from tests.planner.world import book, funding, world

SYM = "BTC/USDT:USDT"


def two_venues(*, bybit_margin: float = 10_000, fut_margin: float = 10_000, bybit_taker: float = 0.00055,
               bybit_funding: float = 0.0001, dated_px: float = 61_200):
    cfg, snap = world(margin=fut_margin, dated_px=dated_px)
    cfg = cfg.model_validate({**cfg.model_dump(), "accounts": [
        *(a.model_dump() for a in cfg.accounts), {"name": "bybit", "exchange": "bybit", "markets": ["swap"]}]})
    bybit = f.account("bybit", "bybit", markets=[f.market(SYM, min_cost=5, taker=bybit_taker, maker=0.0002)],
                      balance={"USDT": bybit_margin}, tickers=[f.ticker(SYM, 60_000)],
                      funding=[funding(SYM, bybit_funding)])
    return cfg, f.snapshot(*snap.accounts.values(), bybit)


BOOKS = {"fut": {SYM: book(60_000, half_spread=5, levels=[(0, 100)])},
         "bybit": {SYM: book(60_000, half_spread=20, levels=[(0, 100)])}}


def leg(account: str, side: str, q: float) -> Leg:
    return Leg("BTC", account, SYM, side, q, 1.0, True, 60_000.0, False, "open")


def test_each_leg_pays_its_own_venues_slippage_and_fee() -> None:
    cfg, snap = two_venues()
    t = Ticket(TicketKind.SPREAD, (TicketLeg(leg("fut", "sell", 0.2)), TicketLeg(leg("bybit", "buy", 0.1))), f.T0)
    # fut's own fee tier (fetch_trading_fees) is 0.04 %; bybit has none: its market's 0.055 %
    fees = {"fut": {SYM: {"taker": 0.0004, "maker": 0.0002}}}
    pv = preview(cfg, snap, t, books=BOOKS, trading_fees=fees, now_ms=f.T0, horizon_days=7)
    fut, byb = pv.legs
    # a market sell of 0.2 fills at 60,000 − 5: 0.2 × 5 = 1.00; a buy of 0.1 at 60,000 + 20: 0.1 × 20 = 2.00
    assert fut.item("slippage").amount == pytest.approx(0.2 * 5)
    assert byb.item("slippage").amount == pytest.approx(0.1 * 20)
    assert fut.item("fee").amount == pytest.approx(0.2 * 60_000 * 0.0004)
    assert byb.item("fee").amount == pytest.approx(0.1 * 60_000 * 0.00055)


def test_each_pool_reads_its_own_venues_leverage_tiers() -> None:
    cfg, snap = two_venues()
    t = Ticket(TicketKind.SPREAD, (TicketLeg(leg("fut", "sell", 0.2)), TicketLeg(leg("bybit", "buy", 0.1))), f.T0)
    tiers = {"fut": {SYM: [{"minNotional": 0, "maxNotional": 1e9, "maintenanceMarginRate": 0.004, "maxLeverage": 125}]},
             "bybit": {SYM: [{"minNotional": 0, "maxNotional": 1e9, "maintenanceMarginRate": 0.01, "maxLeverage": 100}]}}
    pv = preview(cfg, snap, t, books=BOOKS, tiers=tiers, now_ms=f.T0, horizon_days=7)
    after = {a.account: a for a in pv.what_if.after}
    assert after["fut"].maintenance == pytest.approx(0.2 * 60_000 * 0.004)
    assert after["bybit"].maintenance == pytest.approx(0.1 * 60_000 * 0.01)
    assert after["bybit"].maintenance == pytest.approx(
        maintenance_margin(0.1 * 60_000, tiers_from_ccxt(tiers["bybit"][SYM])))


def test_the_choice_prices_each_venue_on_its_own_book() -> None:
    # equal fees and funding: only the books differ. Selling 0.2 (12,000 of BTC exposure):
    # fut costs 0.2 × 5 = 1.00 of slippage, bybit 0.2 × 20 = 4.00; fut is chosen, by 3.00
    cfg, snap = two_venues(bybit_taker=0.0005)
    ctx = planner._Ctx(cfg, snap, None, BOOKS, 7, None, None)
    hedge = cfg.sleeve("BTC").model_copy(update={"hedges": [h for h in cfg.sleeve("BTC").hedges if h.symbol == SYM]})
    ch = planner.choose_instrument(ctx, hedge, "sell", 12_000)
    assert ch is not None and ch.instrument.account == "fut"
    by = {c.account: c for c in ch.candidates}
    funding_7d = -0.0001 * 12_000 * 21  # a short receives 0.01 % per 8 h, 21 times in 7 days
    assert by["fut"].cost == pytest.approx(12_000 * 0.0005 + 0.2 * 5 + funding_7d)
    assert by["bybit"].cost == pytest.approx(12_000 * 0.0005 + 0.2 * 20 + funding_7d)
    assert "slippage +1.00" in by["fut"].why and "slippage +4.00" in by["bybit"].why
    assert "by 3.00" in ch.reason


def _btc_perp_only(cfg):
    return cfg.sleeve("BTC").model_copy(update={"hedges": [h for h in cfg.sleeve("BTC").hedges if h.symbol == SYM]})


def test_a_venue_without_the_margin_is_passed_over_and_the_reason_says_why() -> None:
    # bybit is cheaper (taker 0.04 % vs 0.05 %, same book) but holds 1,000 USDT: selling 12,000
    # of BTC at the checks' 5x needs 12,000 / 5 = 2,400 of initial margin there. fut (10,000) carries it.
    cfg, snap = two_venues(bybit_margin=1_000, bybit_taker=0.0004)
    assert cfg.limits.max_leverage == 5
    same = {"fut": BOOKS["fut"], "bybit": BOOKS["fut"]}
    ctx = planner._Ctx(cfg, snap, None, same, 7, None, None)
    ch = planner.choose_instrument(ctx, _btc_perp_only(cfg), "sell", 12_000)
    assert ch is not None and ch.instrument.account == "fut"
    assert "bybit: not enough margin (needs 2,400.00, has 1,000.00)" in ch.reason
    # with the margin, bybit's lower fee wins: 12,000 × (0.05 % − 0.04 %) = 1.20 cheaper
    cfg, snap = two_venues(bybit_margin=2_400 + 1, bybit_taker=0.0004)
    ch = planner.choose_instrument(planner._Ctx(cfg, snap, None, same, 7, None, None), _btc_perp_only(cfg),
                                   "sell", 12_000)
    assert ch is not None and ch.instrument.account == "bybit"
    assert "by 1.20" in ch.reason and "margin" not in ch.reason


def test_when_no_venue_can_carry_the_leg_the_cheapest_stays_and_the_check_refuses() -> None:
    # 12,000 at 5x needs 2,400; fut holds 2,000 and bybit 1,000: neither can, so the cheaper (fut,
    # 5 vs 20 from mid) is kept and the pre-trade check refuses the ticket on leverage
    from console.core.checks import pretrade_checks

    cfg, snap = two_venues(fut_margin=2_000, bybit_margin=1_000, bybit_taker=0.0005)
    ch = planner.choose_instrument(planner._Ctx(cfg, snap, None, BOOKS, 7, None, None), _btc_perp_only(cfg),
                                   "sell", 12_000)
    assert ch is not None and ch.instrument.account == "fut" and "margin" not in ch.reason
    t = Ticket(TicketKind.HEDGE, (TicketLeg(leg("fut", "sell", 0.2)),), f.T0)
    fails = pretrade_checks(cfg, snap, t, f.T0)
    assert [str(c.code) for c in fails] == ["leverage"]
    assert f"{12_000 / 2_000:.2f}x" in fails[0].message  # 12,000 of contracts on 2,000 of margin


def test_the_planner_sends_the_hedge_where_it_can_be_carried() -> None:
    # the whole path: BTC is 13,000 over target; bybit's perp prices cheapest (taker 0.01 %; the
    # dated future at the perp's price earns no basis) but bybit holds 500 USDT (13,000 / 5 =
    # 2,600 needed at most), so the open leg goes to fut and the reason says why
    cfg, snap = two_venues(bybit_margin=500, bybit_taker=0.0001, dated_px=60_000)
    t = planner.build_hedge(cfg, snap, "BTC", books={"fut": BOOKS["fut"], "bybit": BOOKS["fut"]},
                            instrument=None)
    (open_leg,) = [tl.leg for tl in t.legs if not tl.leg.reduce_only]
    assert open_leg.account == "fut"
    # the open leg: 12,775 of exposure left / 60,000 = 0.21292, down to the 0.001 lot: 0.212
    assert open_leg.contracts == pytest.approx(0.212)
    needs = 0.212 * 60_000 / 5
    assert f"passed over bybit: not enough margin (needs {needs:,.2f}, has 500.00)" in t.reasons[-1]


def test_a_venue_that_delists_the_perp_is_no_longer_weighed() -> None:
    # which accounts list an instrument is kept while their markets mappings live: the next
    # snapshot with the same markets weighs the same venues, and one whose bybit markets no
    # longer list the perp (a new mapping) weighs fut alone
    cfg, snap = two_venues()
    s = cfg.sleeve("BTC")
    perp = next(h for h in s.hedges if h.symbol == SYM)
    both = planner._Ctx(cfg, snap, None, BOOKS, 7, f.T0, None)
    assert both.listing(perp) == ["fut", "bybit"]  # the config's account order
    same = f.snapshot(*snap.accounts.values())
    assert planner._Ctx(cfg, same, None, BOOKS, 7, f.T0, None).listing(perp) == ["fut", "bybit"]
    bybit = snap.accounts["bybit"]
    gone = type(bybit)(**{**{k: getattr(bybit, k) for k in bybit.__dataclass_fields__}, "markets": {}})
    later = f.snapshot(*(a for n, a in snap.accounts.items() if n != "bybit"), gone)
    ctx = planner._Ctx(cfg, later, None, BOOKS, 7, f.T0, None)
    assert ctx.listing(perp) == ["fut"]
    choice = planner.choose_instrument(ctx, s, "sell", 6_000.0)
    assert choice is not None and {c.account for c in choice.candidates} == {"fut"}
