"""CSV exports from the palette: allocation, tickets and P&L land in the user data folder
(an isolated XDG_DATA_HOME here), the path is shown, and the figures read back add up."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app.app import RebalApp
from console.runtime import Services
from tests.app.conftest import SIZE, loaded, settle
from tests.app.sample import T0, sample_config
from tests.app.scenes import seeded_journal


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "rebal-tui" / "exports"


async def palette_run(pilot: Pilot, words: str) -> None:
    """Open the command palette, type ``words``, run the first hit (as a trader does)."""
    await pilot.press("ctrl+p")
    await settle(pilot, 1)
    await pilot.press(*words)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await settle(pilot)


def messages(app: RebalApp) -> list[str]:
    return [n.message for n in app._notifications]  # noqa: SLF001 - the toasts the trader saw


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


async def test_allocation_export_from_the_palette(data_home: Path) -> None:
    app = RebalApp(sample_config(), now_ms=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await palette_run(pilot, "export allocation")
        files = list(data_home.glob("allocation-*.csv"))
        assert len(files) == 1, messages(app)
        assert any(str(files[0]) in m for m in messages(app))  # the path is shown
        rows = read(files[0])
        nav = float(next(r for r in rows if r["sleeve"] == "NAV")["net"])
        sleeves = [r for r in rows if r["sleeve"] != "NAV"]
        # the sleeves' net exposures add up to NAV (cash is the rest), each weight is net / NAV
        assert sum(float(r["net"]) for r in sleeves) == pytest.approx(nav)
        for r in sleeves:
            assert float(r["weight"]) == pytest.approx(float(r["net"]) / nav)
            if r["target"]:
                assert float(r["drift"]) == pytest.approx(float(r["weight"]) - float(r["target"]))
        assert {r["sleeve"] for r in sleeves} >= {s.name for s in sample_config().sleeves}


async def test_tickets_export_has_one_row_per_leg(data_home: Path) -> None:
    journal = seeded_journal()
    app = RebalApp(sample_config(), now_ms=lambda: T0, services=Services(journal=journal))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await palette_run(pilot, "export tickets")
        (path,) = data_home.glob("tickets-*.csv")
        rows = read(path)
        ticket = journal.ticket("t0demo0001")
        assert [(r["ticket"], int(r["leg"]), r["symbol"], r["side"], float(r["contracts"])) for r in rows] == [
            ("t0demo0001", i, tl.leg.symbol, tl.leg.side, tl.leg.contracts) for i, tl in enumerate(ticket.ticket.legs)]
        assert {r["state"] for r in rows} == {"filled"}
        for r, tl in zip(rows, ticket.ticket.legs, strict=True):
            # contracts × contract size × mark: the leg's notional as the README defines it (linear)
            assert float(r["notional"]) == pytest.approx(tl.leg.contracts * tl.leg.contract_size * tl.leg.price)


async def test_pnl_export_before_any_pnl_says_why_and_writes_nothing(data_home: Path) -> None:
    app = RebalApp(sample_config(), now_ms=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await palette_run(pilot, "export p&l")
        assert not data_home.exists() or not list(data_home.iterdir())
        assert any("pnl not exported: no overlay P&L yet" in m for m in messages(app)), messages(app)


def test_a_second_export_in_the_same_second_does_not_overwrite(tmp_path: Path) -> None:
    from console.app.export import write_export

    a = write_export("pnl", "x\n1\n", T0, tmp_path)
    b = write_export("pnl", "x\n2\n", T0, tmp_path)
    assert a != b and a.read_text() == "x\n1\n" and b.read_text() == "x\n2\n"
