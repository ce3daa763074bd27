"""The kill switch retries until every account is done; the trader watches it round by round
and can stop it (esc on its progress modal, or K again), and the report says what was left.
Driven by keys against the seeded emulator, whose positions endpoint fails for good here."""

from __future__ import annotations

from dataclasses import replace

from console.app.screens.confirm import ConfirmScreen
from console.app.screens.kill import KillProgressScreen
from console.app.screens.reconcile import ReconcileScreen
from tests.app.conftest import SIZE, Rig, read_through
from tests.app.test_journeys_emulator import until

POSITIONS = ("GET /fapi/v2/positionRisk", "GET /fapi/v3/positionRisk", "GET /dapi/v1/positionRisk")


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]  # noqa: SLF001 - what the trader was told


async def test_a_kill_that_cannot_finish_shows_its_rounds_and_stops_on_esc_or_K(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        # a clean start opens trading by itself; the kill switch does not look at the gate anyway
        await until(pilot, lambda: app.services.executor.trading_allowed, what="trading to open")
        assert not isinstance(app.screen, ReconcileScreen)
        await until(pilot, lambda: app.state is not None, what="the first snapshot")
        snap = rig.loop.run(rig.venues.refresh())
        held = {n: snap.accounts[n].open_positions() for n in ("futures", "coinm")}
        assert all(held.values())  # the demo book holds an overlay (linear and inverse) the kill would close
        # a long wait between rounds, which the stop cuts short: no round can start between the
        # progress the test reads and the stop key, however loaded the machine
        ex = app.services.executor
        ex.policy = replace(ex.policy, kill_backoff_s=60.0, kill_backoff_max_s=60.0)
        for endpoint in POSITIONS:  # a read that fails is never "no positions": the kill retries
            rig.emulator.emulator.set_fault(endpoint, "5xx")
        for stop_key in ("escape", "K"):  # esc on its modal, or K from anywhere
            await pilot.press("K")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown,
                        what="the kill modal")
            await read_through(pilot)
            await pilot.press("y")
            # a round's report shows only when another round follows: the kill is retrying
            await until(pilot, lambda: isinstance(app.screen, KillProgressScreen) and app.screen.rounds >= 1,
                        what="the first round's report on the kill's progress modal")
            progress = app.screen
            assert progress.lines[0].startswith(f"after round {progress.rounds} (next round in ")
            assert "futures: NOT done: positions could not be read" in progress.lines
            assert "coinm: NOT done: positions could not be read" in progress.lines
            assert "spot: done (no console order working, no futures position)" in progress.lines
            rounds_at_stop = progress.rounds
            await pilot.press(stop_key)
            await until(pilot, lambda: not app.killing, what="the kill to stop")
            assert not isinstance(app.screen, KillProgressScreen)
            reports = [m for m in notes(app) if m.startswith("kill switch: ") and "cancelled; flatten" in m]
            report = reports[-1]  # the newest: this kill's
            assert "futures: NOT done: positions could not be read" in report
            assert "stopped by you after" in report
            rounds = int(report.split("stopped by you after ")[1].split(" round")[0])
            assert rounds_at_stop <= rounds <= rounds_at_stop + 1  # the round in progress, no more
        # nothing was flattened blind: no flatten leg on an account whose positions could not be
        # read (the Bybit account answered, so its overlay may be closed), the positions still there
        blind = {"futures", "coinm"}
        assert not [tl for t in rig.journal.tickets() if t.kind == "flatten"
                    for tl in t.ticket.legs if tl.leg.account in blind]
        rig.emulator.emulator.clear_faults()
        after = rig.loop.run(rig.venues.refresh())
        for n, ps in held.items():
            assert {p["symbol"] for p in after.accounts[n].open_positions()} == {p["symbol"] for p in ps}
