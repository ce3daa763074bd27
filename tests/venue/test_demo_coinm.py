"""The demo portfolio's COIN-M account: the console sees the emulator's inverse position
(through ccxt's binancecoinm, inverse markets only) and counts it by the README's inverse
rule, with the coin held as margin counted as spot."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from console.core import risk
from console.core.alerts import risk_view
from console.core.allocation import compute_allocation
from console.core.config import Config
from console.core.overlay import Leg
from console.emulator.testing import EmulatorHandle
from console.venues.venue import VenueSet
from widgets.risk_panel import render_risk

# the emulator's COIN-M demo book (console/emulator/scenario.py): 200 BTCUSD_PERP of 100 USD,
# short from 96,400, against 0.5 BTC of margin; BTCUSD's first bracket (coin notional < 5 BTC)
# has a 0.4 % maintenance rate and a maintenance amount of 0 (Binance's COIN-M table)
Q = 200 * 100.0
EP = 96_400.0
MMR, CUM = 0.004, 0.0


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


def _coin_row(emulator: EmulatorHandle, path: str) -> Any:
    """The emulator's own /dapi answer for the demo key, read without ccxt."""
    import hashlib
    import hmac
    import json
    import urllib.request

    query = f"timestamp={emulator.emulator.now_ms()}"
    sig = hmac.new(emulator.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{emulator.url}{path}?{query}&signature={sig}",
                                 headers={"X-MBX-APIKEY": emulator.api_key})
    with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - the loopback emulator
        return json.loads(r.read())


def _venue_agrees(emulator: EmulatorHandle, cfg: Config, snap: Any, ratio: float | None) -> None:
    """The venue's own account answer, BTC row (8 decimals): the same maintenance margin and
    margin balance as the console's BTC pool, whose ratio the panel shows."""
    [row] = [a for a in _coin_row(emulator, "/dapi/v1/account")["assets"] if a["asset"] == "BTC"]
    [pool] = risk.account_risk(snap, "coinm", quote=cfg.portfolio.quote, default_leverage=cfg.limits.max_leverage)
    assert pool.settle == "BTC" and pool.inverse
    assert pool.maintenance == pytest.approx(float(row["maintMargin"]), abs=1e-8)
    assert pool.margin_balance == pytest.approx(float(row["marginBalance"]), abs=1e-8)
    assert ratio == pool.maintenance / pool.margin_balance


def _set_coin_wallet(emulator: EmulatorHandle, btc: float) -> None:
    emu = emulator.emulator
    for acct in emu.accounts.values():
        if acct.coinm_positions.get("BTCUSD_PERP") and acct.coinm_positions["BTCUSD_PERP"].amt:
            acct.coinm_wallet["BTC"] = btc


def _panel_text(view: Any, now_ms: int) -> str:
    console = Console(width=60, record=True)
    console.print(render_risk(view, now_ms, 0.8, width=56))
    return console.export_text()


async def test_the_coinm_risk_panel_shows_the_inverse_margin_ratio_and_no_liquidation_for_a_covered_short(
        venues: VenueSet, cfg: Config, emulator: EmulatorHandle) -> None:
    snap = await venues.refresh()
    coinm = snap.accounts["coinm"]
    assert "BTC/USD:BTC" in coinm.leverage_tiers  # the venue's brackets, read with the position
    view = risk_view(cfg, snap, compute_allocation(cfg, snap), snap.timestamp)
    [acct] = [a for a in view.accounts if a.account == "coinm"]
    mark = float(coinm.positions[0]["markPrice"])
    # by hand, in BTC: notional Q/P, maintenance Q/P × mmr − cum, uPnL Side × Q × (1/EP − 1/P)
    maintenance = Q / mark * MMR - CUM
    balance = 0.5 + -1 * Q * (1 / EP - 1 / mark)
    assert acct.margin_ratio == pytest.approx(maintenance / balance, rel=1e-12)
    _venue_agrees(emulator, cfg, snap, acct.margin_ratio)
    # LP = Q × (mmr + Side) / (WB + cum + Side × Q / EP): the denominator 0.5 − Q/EP > 0, so
    # the short is backed by its own coin and no rally liquidates it (LP < 0)
    assert 0.5 + CUM - Q / EP > 0
    [pos] = [p for p in view.positions if p.account == "coinm"]
    assert pos.liquidation_price is None and pos.liq_state == "none"
    # the emulator finds none either: Binance's "0" (shown as "--") for no liquidation price
    [venue_row] = [r for r in _coin_row(emulator, "/dapi/v1/positionRisk") if r["symbol"] == "BTCUSD_PERP"]
    assert float(venue_row["liquidationPrice"]) == 0
    text = _panel_text(view, snap.timestamp)
    line = next(ln for ln in text.splitlines() if ln.startswith("coinm"))
    assert f"{acct.margin_ratio * 100:.2f}%" in line  # two decimals, as every percentage there
    assert "none" in next(ln for ln in text.splitlines() if ln.startswith("BTCUSD-PERP") and "-19,722" in ln)


async def test_a_thin_coinm_short_shows_its_liquidation_price_by_the_inverse_formula(
        venues: VenueSet, cfg: Config, emulator: EmulatorHandle) -> None:
    wallet = 0.1  # under Q/EP ≈ 0.2075 BTC: a rally can liquidate the short
    _set_coin_wallet(emulator, wallet)
    snap = await venues.refresh()
    view = risk_view(cfg, snap, compute_allocation(cfg, snap), snap.timestamp)
    [pos] = [p for p in view.positions if p.account == "coinm"]
    lp = Q * (MMR - 1) / (wallet + CUM - Q / EP)  # Side = −1, the pool's only position
    assert Q / lp < 5  # the coin notional at LP is in the first bracket: the formula's tier
    assert pos.liquidation_price == pytest.approx(lp, rel=1e-12)
    assert pos.liq_distance == pytest.approx(lp / pos.mark - 1, rel=1e-12)
    [acct] = [a for a in view.accounts if a.account == "coinm"]
    _venue_agrees(emulator, cfg, snap, acct.margin_ratio)
    # at LP the pool's margin balance equals its maintenance margin (the formula plugged back)
    assert wallet - Q * (1 / EP - 1 / lp) == pytest.approx(Q / lp * MMR - CUM, rel=1e-9)
    # the console's own figure (risk.py's closed form on the venue's brackets) and the
    # emulator's (positionRisk: a root found numerically on its brackets) agree with it
    [pool] = risk.account_risk(snap, "coinm", quote=cfg.portfolio.quote, default_leverage=cfg.limits.max_leverage)
    assert pool.positions[0].liquidation_price == pytest.approx(lp, rel=1e-12)
    [venue_row] = [r for r in _coin_row(emulator, "/dapi/v1/positionRisk") if r["symbol"] == "BTCUSD_PERP"]
    assert float(venue_row["liquidationPrice"]) == pytest.approx(lp, abs=1e-6)
    text = _panel_text(view, snap.timestamp)
    assert f"{lp:,.0f}" in next(ln for ln in text.splitlines() if ln.startswith("BTCUSD-PERP") and "-19,722" in ln)


async def test_the_what_if_of_an_inverse_leg_uses_the_panels_rule(
        venues: VenueSet, cfg: Config, emulator: EmulatorHandle) -> None:
    wallet = 0.1
    _set_coin_wallet(emulator, wallet)
    snap = await venues.refresh()
    coinm = snap.accounts["coinm"]
    mark = float(coinm.positions[0]["markPrice"])
    view = risk_view(cfg, snap, compute_allocation(cfg, snap), snap.timestamp)
    [panel] = [p for p in view.positions if p.account == "coinm"]
    # sell 100 more contracts at the mark: Q' = 30,000 USD, entry the harmonic mean
    leg = Leg("BTC", "coinm", "BTC/USD:BTC", "sell", 100, 100.0, False, mark, False, "open")
    wi = risk.what_if(snap, [leg], tiers=coinm.leverage_tiers, quote=cfg.portfolio.quote,
                      default_leverage=cfg.limits.max_leverage, stress_moves=())
    [before] = [a for a in wi.before if a.account == "coinm"]
    [after] = [a for a in wi.after if a.account == "coinm"]
    assert before.positions[0].liquidation_price == pytest.approx(panel.liquidation_price, rel=1e-12)
    q2 = Q + 100 * 100.0
    ep2 = q2 / (Q / EP + 100 * 100.0 / mark)
    lp2 = q2 * (MMR - 1) / (wallet + CUM - q2 / ep2)
    assert q2 / lp2 < 5
    assert after.positions[0].liquidation_price == pytest.approx(lp2, rel=1e-9)
    assert after.margin_ratio == pytest.approx(
        (q2 / mark * MMR - CUM) / (wallet - q2 * (1 / ep2 - 1 / mark)), rel=1e-9)


async def test_the_builders_tiers_for_a_coinm_ticket_are_the_ones_the_panel_used(
        venues: VenueSet, cfg: Config) -> None:
    """The preview's leverage tiers (BookSource) for a COIN-M ticket are those the venue read
    with the account's positions, not a second request: before → after starts from the
    panel's figures."""
    from console.core.ticket import OrderStyle, Ticket, TicketKind, TicketLeg
    from console.venues.books import BookSource

    snap = await venues.refresh()
    ex: Any = venues.venues["coinm"].exchange

    async def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the tiers were read with the positions already")

    ex.fetch_leverage_tiers = refuse

    async def direct(coro: Any) -> Any:
        return await coro

    mark = float(snap.accounts["coinm"].positions[0]["markPrice"])
    leg = Leg("BTC", "coinm", "BTC/USD:BTC", "buy", 50, 100.0, False, mark, True, "reduce short")
    ticket = Ticket(TicketKind.HEDGE, (TicketLeg(leg, OrderStyle(), None),), snap.timestamp)
    tiers, errors = await BookSource(lambda: venues, direct).tiers(ticket, snap)
    # by account, then symbol: the COIN-M account's own brackets
    assert errors == [] and tiers == {"coinm": {"BTC/USD:BTC": snap.accounts["coinm"].leverage_tiers["BTC/USD:BTC"]}}
