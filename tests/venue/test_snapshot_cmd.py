"""`rebal-tui snapshot` against the emulator, and `plan` on what it wrote; demo start-up rules."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

import console
from console.cli.main import main
from console.cli.snapshot import check_usable
from console.core.allocation import compute_allocation
from console.core.config import Config
from console.core.errors import UserError
from console.core.snapshot import AccountState, Snapshot, load_snapshot
from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import EmulatorHandle
from console.venues.demo import (
    choose_startup,
    demo_config,
    demo_credentials,
    needs_emulator,
    start_demo,
)
from console.venues.venue import VenueSet

SAMPLE = Path(console.__file__).parent / "data" / "portfolio.sample.toml"


async def _live_picture(cfg: Config, url: str) -> Snapshot:
    async with VenueSet.from_config(cfg, demo_credentials(cfg), emulator_url=url, rate_limit=False) as vs:
        return await vs.refresh()


def test_snapshot_then_plan_agrees_with_the_live_venue_layer(
        tmp_path: Path, emulator: EmulatorHandle, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.json"
    # its own in-process emulator, same seed, start and frozen clock as the fixture's
    assert main(["snapshot", "--demo", "--speed", "0", "--start-ms", str(DEFAULT_START_MS),
                 "--out", str(state)]) == 0
    assert "wrote" in capsys.readouterr().err
    snap = load_snapshot(state)
    assert set(snap.accounts) == {"spot", "futures", "bybit", "coinm"}  # the demo spans Binance and Bybit
    assert all(a.error is None for a in snap.accounts.values())

    assert main(["plan", "--config", str(SAMPLE), "--state", str(state), "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)

    cfg = demo_config()
    live = compute_allocation(cfg, asyncio.run(_live_picture(cfg, emulator.url)))
    assert planned["nav"] == pytest.approx(live.nav, rel=1e-9)
    rows = {r["sleeve"]: r for r in planned["rows"]}
    assert set(rows) == {r.name for r in live.rows}
    for r in live.rows:
        assert rows[r.name]["weight"] == pytest.approx(r.weight, abs=1e-9)
        assert rows[r.name]["status"] == r.status.value
    assert rows["ALTS"]["status"] == "breach"  # the demo starts drifted
    assert any(leg["sleeve"] == "ALTS" for leg in planned["legs"])


def test_snapshot_to_stdout_on_a_running_emulator(
        emulator: EmulatorHandle, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "snapshot", "--emulator-url", emulator.url]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == 1
    fut = data["accounts"]["futures"]
    assert fut["balance"]["total"]["USDT"] == pytest.approx(60_000.0)  # the wallet, not the margin balance
    assert {p["symbol"] for p in fut["positions"] if p["contracts"]} == {"BTC/USDT:USDT", "ETH/USDT:USDT-261225"}


def test_snapshot_user_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", "--config", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert "missing.toml: no such file" in err and "Traceback" not in err
    assert main(["snapshot", "--demo", "--emulator-url", "https://api.binance.com"]) == 2
    assert "127.0.0.1" in capsys.readouterr().err
    no_accounts = tmp_path / "p.toml"
    no_accounts.write_text('[[sleeves]]\nname = "BTC"\nassets = ["BTC"]\ntarget = 1.0\n')
    assert main(["snapshot", "--config", str(no_accounts)]) == 2
    assert "no [[accounts]]" in capsys.readouterr().err


def test_an_account_without_a_balance_is_an_error_not_a_file() -> None:
    snap = Snapshot(0, {"spot": AccountState("spot", "binance", error="markets: ExchangeNotAvailable: down")})
    with pytest.raises(UserError, match="could not read account.*spot.*ExchangeNotAvailable"):
        check_usable(snap)
    ok = AccountState("futures", "binanceusdm", fetched_at={"balance": 1}, error="funding_rates: RequestTimeout")
    assert check_usable(Snapshot(0, {"futures": ok})) == ["account futures: funding_rates: RequestTimeout"]


# ------------------------------------------------------------------------------- demo start-up


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"demo": False, "config": None, **kw})


def test_choose_startup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "cfgdir" / "portfolio.toml"
    monkeypatch.setattr("console.core.config.default_config_path", lambda: default)
    cfg, is_demo = choose_startup(_args())  # first run: no config yet
    assert is_demo and cfg.portfolio.name == "Demo book" and needs_emulator(cfg)
    assert choose_startup(_args(demo=True))[1]
    with pytest.raises(UserError, match="no such file"):  # an explicit path is never replaced by the demo
        choose_startup(_args(config=tmp_path / "nope.toml"))
    default.parent.mkdir()
    default.write_text(SAMPLE.read_text().replace('name = "Demo book"', 'name = "Mine"'))
    cfg, is_demo = choose_startup(_args())
    assert not is_demo and cfg.portfolio.name == "Mine"
    assert choose_startup(_args(demo=True))[0].portfolio.name == "Demo book"  # --demo wins


async def test_start_demo_in_the_running_loop() -> None:
    session = await start_demo(speed=0.0)
    try:
        assert session.url.startswith("http://127.0.0.1:")
        assert set(session.credentials) == {"spot", "futures", "bybit", "coinm"}
        async with VenueSet.from_config(session.config, session.credentials, emulator_url=session.url,
                                        rate_limit=False) as vs:
            alloc = compute_allocation(session.config, await vs.refresh())
        assert alloc.row("ALTS").status.value == "breach"
        assert 900_000 < alloc.nav < 1_100_000
    finally:
        await session.close()
