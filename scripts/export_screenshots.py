"""Write an SVG of each screen to screenshots/ at 120×36, from the seeded demo venue.

    python scripts/export_screenshots.py [--out screenshots]

The console as ``rebal-tui --demo`` shows it: the embedded exchange emulator (demo scenario,
seed 7) at a frozen clock (speed 0), wired through the real venue layer, executor and journal
(the journey tests' rig, tests/app/conftest.py). One session, driven by keys: a clean start
(trading opens by itself); twelve one-minute snapshots up to 2026-11-21T12:00Z (drift history and
funding plot); the dashboard; propose a spread (builder); review it (confirm, the top of the
ticket); ``y`` — the orders fill on the emulator (blotter); the overlay P&L; then alerts, flows,
targets and help.

Pinned for byte-identical files: the ticket id (the journal draws it from os.urandom), the
journal's own timestamps (the emulator's clock, not the wall clock), the P&L's refresh timer (off:
it reads once trading opens and after the ticket) and PYTHONHASHSEED (the script re-executes
itself with 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from tests.app.conftest import SIZE, Rig, freeze, read_through, settle  # noqa: E402

HISTORY = 12  # one-minute steps of history before the fixed clock: drift and funding plots
TICKET_ID = "demospread"  # the journal draws ids from os.urandom: pinned (10 base32 chars)
NBSP = "&#160;"
SPAN = re.compile(r'(<text [^>]*?x=")([0-9.]+)(" [^>]*?textLength=")([0-9.]+)("[^>]*>)((?:&#160;)*)(.*?)((?:&#160;)*)</text>')


def tighten(svg: str) -> str:
    """Move each text run's leading and trailing blanks into its x offset and textLength.

    Textual writes a cell run as one ``<text textLength=…>`` with its padding as no-break
    spaces; renderers that stretch glyphs to ``textLength`` (rsvg-convert, some viewers) then
    spread a right-aligned number over its whole column. The same pixels in a browser."""

    def fix(m: re.Match[str]) -> str:
        lead, body, trail = m.group(6).count(NBSP), m.group(7), m.group(8).count(NBSP)
        if not (lead or trail):
            return m.group(0)
        cells = lead + trail + len(re.sub(r"&#?\w+;", "x", body))
        if not body or not cells:
            return ""  # blanks only: the background rects already paint them
        w = float(m.group(4)) / cells
        x, length = float(m.group(2)) + lead * w, float(m.group(4)) - (lead + trail) * w
        return f"{m.group(1)}{x:g}{m.group(3)}{length:g}{m.group(5)}{body}</text>"

    return SPAN.sub(fix, svg)


async def until(pilot: Pilot, cond: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            notes = [n.message for n in pilot.app._notifications]  # noqa: SLF001 - the why
            raise RuntimeError(f"timed out waiting for {what} on {pilot.app.screen!r}; notifications: {notes}")
        await pilot.pause(0.05)


class Shots:
    def __init__(self, pilot: Pilot, out: Path) -> None:
        self.pilot, self.out, self.written = pilot, out, []

    async def save(self, name: str, *, wait: bool = True) -> None:
        if wait:
            await settle(self.pilot)
        freeze(self.pilot.app)
        await self.pilot.pause(0.1)
        path = Path(self.pilot.app.save_screenshot(filename=f"{name}.svg", path=str(self.out)))
        path.write_text(tighten(path.read_text()))
        self.written.append(path)


async def tour(rig: Rig, shots: Shots) -> None:
    from console.app.screens.blotter import BlotterScreen
    from console.app.screens.builder import BuilderScreen
    from console.app.screens.confirm import ConfirmScreen
    from console.app.screens.reconcile import ReconcileScreen

    pilot, app = shots.pilot, rig.app
    # a clean start: trading opens by itself, no report and no key
    await until(pilot, lambda: app.services.executor.trading_allowed and app.state is not None, "trading to open")
    assert not isinstance(app.screen, ReconcileScreen)
    await until(pilot, lambda: app.pnl is not None, "the first P&L read")  # at the fixed clock, before it moves
    for _ in range(HISTORY):  # what a minute-by-minute feed would have shown by the fixed clock
        rig.emulator.emulator.advance(60)
        app.ingest(await asyncio.wrap_future(rig.loop.submit(rig.venues.refresh())))
        await settle(pilot, rounds=1)
    await shots.save("dashboard")

    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.ticket is not None
                and app.screen.settled and app.screen.preview is not None, "the proposal")
    await shots.save("builder")

    await pilot.press("ctrl+r")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, "the confirmation")
    await pilot.pause(0.2)
    await shots.save("confirm", wait=False)  # the review worker waits on the modal: not on workers
    await read_through(pilot)
    await pilot.press("y")
    await until(pilot, lambda: app.last_ticket_id is not None, "the confirm")
    tid = app.last_ticket_id
    await until(pilot, lambda: isinstance(app.screen, BlotterScreen) and app.screen.data is not None
                and app.screen.data.selected == tid and app.screen.data.fills
                and all(r.settled for r in app.screen.data.residual)
                and str(app.screen.query_one("#bl-tickets").get_cell(tid, "state")) == "filled", "the fills")
    await shots.save("blotter")

    # the overlay P&L once the fills are read back from the venue (trades, funding, fees)
    await until(pilot, lambda: app.pnl is not None and any(p.fees > 0 for p in app.pnl.positions), "the P&L")
    await pilot.press("7")
    await shots.save("pnl")

    for keys, name in ((("4",), "alerts"), (("5",), "flows"), (("8",), "targets"), (("1", "question_mark"), "help")):
        await pilot.press(*keys)  # help over the dashboard: its keys and the global ones
        await shots.save(name)


async def export(out: Path) -> list[Path]:
    from console.emulator.clock import DEFAULT_START_MS
    from console.emulator.testing import start_emulator
    from console.execution import journal as jmod
    from console.venues.demo import DEMO_SEED

    out.mkdir(parents=True, exist_ok=True)
    handle = start_emulator(seed=DEMO_SEED, speed=0.0, start_ms=DEFAULT_START_MS - HISTORY * 60_000)
    # the journal stamps what the executor does not with the wall clock: the venue's instead
    real_id, jmod.new_ticket_id = jmod.new_ticket_id, lambda: TICKET_ID
    real_now, jmod.now_ms = jmod.now_ms, handle.emulator.now_ms
    # the P&L is read once trading opens and after the ticket; its 30-second timer (wall time)
    # would read it again at a moment that varies from run to run
    import console.app.app as app_mod

    app_mod.PNL_REFRESH_S = 86_400.0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rig = Rig(handle, Path(tmp))
            # the targets screen names where a demo's edits go: a fixed path for the picture
            # (nothing is saved), not this machine's home folder
            from console.core.config import sample_config_text

            rig.app.config_path = Path("~/.config/rebal-tui/demo-portfolio.toml")
            rig.app.config_text, rig.app.config_is_demo = sample_config_text(), True
            try:
                async with rig.app.run_test(size=SIZE) as pilot:
                    shots = Shots(pilot, out)
                    await tour(rig, shots)
            finally:
                rig.close()
    finally:
        jmod.new_ticket_id, jmod.now_ms = real_id, real_now
        handle.stop()
    return shots.written


def main() -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":
        # plotext drops overlapping tick labels in set order, which string hashing randomises
        # per process: the funding plot's axis would differ between runs
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = p.parse_args()
    for path in asyncio.run(export(args.out)):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
