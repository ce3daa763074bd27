"""The overlay P&L screen (7), driven by keys on the console wired to the emulator: a hedge
confirmed and filled, then its fees and entry on the P&L screen and the overlay total in the
header, each figure worked out here from the venue's own trade records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from console.app.screens.pnl import PnlScreen
from console.core.numbers import money
from tests.app.conftest import SIZE, Rig
from tests.app.test_export import palette_run, read
from tests.app.test_journeys_emulator import (
    clean_start,
    confirm,
    open_builder,
    to_hedge,
    until,
)
from widgets.header import HeaderBar


async def test_a_filled_hedge_shows_its_fees_and_pnl_on_the_pnl_screen(
        rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        builder = await open_builder(pilot)
        await to_hedge(pilot, builder)
        leg = builder.ticket.legs[0].leg
        tid = await confirm(pilot, builder)
        await until(pilot, lambda: app.services.journal.ticket(tid).state.value == "filled", what="the fill")
        fills = [t for t in rig.emulator.emulator.accounts["default"].trades if t.venue == "futures"]
        assert fills, "the hedge must have filled on the venue"
        await until(pilot, lambda: app.pnl is not None and any(
            p.symbol == leg.symbol and p.fees > 0 for p in app.pnl.positions), what="the P&L to see the fill")

        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, PnlScreen), what="the P&L screen")
        await pilot.pause(0.1)
        table = app.screen.query_one("#pnl-positions", DataTable)
        venue_id = rig.venues.venues[leg.account].exchange.markets[leg.symbol]["id"]
        mine = [t for t in fills if t.symbol == venue_id]
        fees = sum(t.commission for t in mine)  # every fill on it is within the history
        row = table.get_row(f"{leg.account}|{leg.symbol}")
        cols = [str(c.key.value) for c in table.ordered_columns]
        assert str(row[cols.index("fees")]) == money(fees)
        pos = next(p for p in app.pnl.positions if p.symbol == leg.symbol)
        # the net figure is the sum of its parts, as the README's formula says
        assert pos.net == pytest.approx(pos.upnl + pos.realised + pos.funding - pos.fees)
        header = str(app.screen.query_one(HeaderBar).render())
        assert f"overlay P&L {'+' if app.pnl.totals.net > 0 else ''}{money(app.pnl.totals.net)}" in header

        # and out: the P&L export holds the same figures, in full
        await palette_run(pilot, "export p&l")
        (path,) = (tmp_path / "data" / "rebal-tui" / "exports").glob("pnl-*.csv")
        rows = read(path)
        got = next(r for r in rows if r["row"] == "position" and r["symbol_or_sleeve"] == leg.symbol)
        assert float(got["fees"]) == pytest.approx(fees)
        total = next(r for r in rows if r["row"] == "total")
        assert float(total["net"]) == pytest.approx(
            float(total["unrealised"]) + float(total["realised"]) + float(total["funding"]) - float(total["fees"]))


async def test_a_restarted_console_shows_the_same_pnl(emulator: Any, tmp_path: Path) -> None:
    emulator.emulator.advance(9 * 3600)  # past a funding time: the seeded BTC short paid or got funding
    seen: list[tuple[Any, ...]] = []
    for run in range(2):  # the console, then the console again on the same folder
        rig = Rig(emulator, tmp_path)
        try:
            async with rig.app.run_test(size=SIZE) as pilot:
                app = rig.app
                if run == 1:  # before any venue read: the stored history and its last total in the header
                    await until(pilot, lambda app=app: app.pnl_history, what="the stored history")
                    last = sum(u + r + f - fee for _, u, r, f, fee in seen[0])
                    assert app.pnl is None and app.pnl_total() == pytest.approx(last)
                await clean_start(pilot)  # the figures are read once trading is open
                await until(pilot, lambda app=app: app.pnl is not None, what="the P&L")
                seen.append(tuple((p.symbol, p.upnl, p.realised, p.funding, p.fees) for p in app.pnl.positions))
        finally:
            rig.close()
    assert seen[0] == seen[1]
    paid = sum(i.amount for i in emulator.emulator.accounts["default"].income
               if i.income_type == "FUNDING_FEE" and i.symbol == "BTCUSDT")
    btc = next(p for p in seen[1] if p[0] == "BTC/USDT:USDT")
    assert paid and btc[3] == pytest.approx(paid, abs=1e-6)
