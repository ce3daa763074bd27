"""End to end: canary credentials through the console, the CLI and every file they write.

A canary key/secret is planted the way automation supplies keys (``REBAL_TUI_<ACCOUNT>_API_KEY``
/ ``_SECRET``, read by ``console.venues.keys.load_credentials``) and used against a loopback emulator
that accepts only that pair. Demo mode hands every demo account the emulator's published key
and ignores supplied credentials, and paper/live refuse a loopback URL, so the smallest honest
route is the demo venue route (``make_exchange(account, credentials, emulator_url=...)`` via
``VenueSet.from_config``) with ``console.venues.demo.demo_credentials`` replaced by
``keys.load_credentials``: the keys come from the environment exactly as for a real account,
and the bytes only go to 127.0.0.1.

Exercised: the app under Pilot (reconcile, builder, confirm with ``y``, fill, blotter, ``K``
then cancel, an SVG screenshot of each screen), a failing authenticated call (the wrong secret,
loaded the same way: shown in a toast and journaled), ``rebal-tui --debug snapshot`` (ccxt logs
its key header at DEBUG), ``snapshot --out``, ``journal --json``, ``journal show``. Searched:
stdout/stderr, every log record, the toasts, and every file under tmp_path (HOME and XDG
folders, journal.sqlite3 and its -wal while the console holds it open, SVGs, state.json).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from textual.pilot import Pilot

from console.app.screens.blotter import BlotterScreen
from console.app.screens.builder import BuilderScreen
from console.app.screens.confirm import ConfirmScreen
from console.app.screens.reconcile import ReconcileScreen
from console.cli.main import main
from console.core import redact
from console.core.config import Config, Mode
from console.emulator.bybit import open_account
from console.emulator.clock import DEFAULT_START_MS
from console.emulator.testing import start_emulator
from console.execution import TicketState
from console.venues import demo, keys
from tests.app.conftest import SIZE, Rig, read_through
from tests.app.test_journeys_emulator import until
from tests.keys.conftest import MemoryKeyring

_ALNUM = string.ascii_letters + string.digits  # the emulator (as Binance) takes alphanumeric keys


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


CANARY_KEY = "CANARYKEY" + _rand(20)
CANARY_SECRET = "CANARYSECRET" + _rand(40)
WRONG_SECRET = "CANARYSECRET" + _rand(40)  # a stored secret that is wrong: a canary too
CANARIES = (CANARY_KEY, CANARY_SECRET, WRONG_SECRET)
ACCOUNTS = ("spot", "futures", "bybit", "coinm")  # the demo portfolio's accounts, which the emulator's scenario holds


def _forms(s: str) -> set[bytes]:
    raw = s.encode()
    return {raw, quote(s, safe="").encode(), quote_plus(s).encode(), base64.b64encode(raw),
            base64.urlsafe_b64encode(raw).rstrip(b"="), base64.b64encode(raw).rstrip(b"=")}


def _set_env(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    for name in ACCOUNTS:
        monkeypatch.setenv(keys.env_var(name, "apiKey"), CANARY_KEY)
        monkeypatch.setenv(keys.env_var(name, "secret"), secret)


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tmp HOME and XDG folders, no REBAL_TUI_* variables, an in-memory keyring, --debug undone."""
    import os

    import keyring
    import keyring.core

    home = tmp_path / "home"
    for sub in ("config", "data", "cache", "state"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for sub in ("config", "data", "cache", "state"):
        monkeypatch.setenv(f"XDG_{sub.upper()}_HOME", str(home / sub))
    for name in list(os.environ):
        if name.startswith("REBAL_TUI_") or name == "PYTHON_KEYRING_BACKEND":
            monkeypatch.delenv(name)
    saved = keyring.core._keyring_backend  # noqa: SLF001
    keyring.set_keyring(MemoryKeyring())
    keys.forget_unlocked()
    redact.forget_secrets()
    root = logging.getLogger()
    level = root.level
    yield home
    for h in list(root.handlers):
        if getattr(h, "_rebal_debug", False):
            root.removeHandler(h)
    root.setLevel(level)
    keyring.core._keyring_backend = saved  # noqa: SLF001
    keys.forget_unlocked()
    redact.forget_secrets()


def _env_credentials(config: Config) -> dict[str, dict[str, str]]:
    """Demo accounts' keys loaded as a real account's are: ``keys.load_credentials``."""
    return {a.name: dict(keys.load_credentials(a.name)) for a in config.accounts if a.mode is Mode.DEMO}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _blotter_state(app: Any, tid: str) -> str | None:
    if not isinstance(app.screen, BlotterScreen) or app.screen.data is None:
        return None
    try:
        return str(app.screen.query_one("#bl-tickets").get_cell(tid, "state"))
    except Exception:  # noqa: BLE001 - the row is not there yet
        return None


async def _shot(pilot: Pilot, shots: Path, name: str) -> None:
    await pilot.pause(0.1)
    pilot.app.save_screenshot(filename=f"{name}.svg", path=str(shots))


async def _drive_app(rig: Rig, shots: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Everything the console does with keys; returns what it showed and what it wrote."""
    app = rig.app
    seen: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        for n in app.screen.query("Input"):
            n.cursor_blink = False
        await until(pilot, lambda: app.services.executor.trading_allowed, what="trading to open (a clean start)")
        await until(pilot, lambda: app.state is not None, what="the first snapshot")
        await _shot(pilot, shots, "dashboard")
        await pilot.press("R")  # the report, on request
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen), what="the reconciliation report")
        await _shot(pilot, shots, "reconcile")
        await pilot.press("enter")
        await until(pilot, lambda: app.services.executor.trading_allowed, what="trading to open")

        # a ticket confirmed after the stored secret went wrong: every signed call fails
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled
                    and app.screen.ticket is not None and app.screen.ticket.legs, what="the proposal's ticket")
        await _shot(pilot, shots, "builder")
        _set_env(monkeypatch, WRONG_SECRET)  # stored and loaded as a real (wrong) secret would be
        for name, venue in rig.venues.venues.items():
            venue.exchange.secret = keys.load_credentials(name)["secret"]
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
        await _shot(pilot, shots, "confirm")
        await read_through(pilot)
        await pilot.press("y")
        await until(pilot, lambda: app.last_ticket_id is not None, what="the confirm")
        bad = seen["failed"] = app.last_ticket_id
        await until(pilot, lambda: any(bad in n.message and "sending" not in n.message
                                       for n in app._notifications)  # noqa: SLF001
                    and bad not in app.submitting, what="the failed ticket's toast")
        await pilot.pause(0.2)
        await _shot(pilot, shots, "auth-error")  # toasts left on: their text is in the SVG
        seen["toasts"] = [f"{n.title} {n.message}" for n in app._notifications]  # noqa: SLF001
        seen["journal_errors"] = [o.error or "" for o in rig.journal.orders(bad)] + [
            str(e.detail or "") for e in rig.journal.events(bad)]

        # the right secret again: propose → confirm with y → fill → blotter
        _set_env(monkeypatch, CANARY_SECRET)
        for name, venue in rig.venues.venues.items():
            venue.exchange.secret = keys.load_credentials(name)["secret"]
        await pilot.press("1")
        await until(pilot, lambda: not isinstance(app.screen, BlotterScreen | ConfirmScreen), what="the dashboard")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BuilderScreen) and app.screen.settled
                    and app.screen.ticket is not None and app.screen.ticket.legs, what="the proposal again")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
        await read_through(pilot)
        await pilot.press("y")
        await until(pilot, lambda: app.last_ticket_id not in (None, bad), what="the confirm")
        tid = seen["filled"] = app.last_ticket_id
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the fill")
        await until(pilot, lambda: _blotter_state(app, tid) == "filled", what="the blotter's filled ticket")
        await _shot(pilot, shots, "blotter")

        # the kill switch, cancelled at its own confirmation
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown
                    and app.screen.title_text == "KILL SWITCH", what="the kill modal")
        await _shot(pilot, shots, "kill")
        await pilot.press("n")
        await until(pilot, lambda: any("kill switch: cancelled" in n.message for n in app._notifications),  # noqa: SLF001
                    what="the kill switch cancelled")
        await _shot(pilot, shots, "after-kill")
        seen["toasts"] += [f"{n.title} {n.message}" for n in app._notifications]  # noqa: SLF001
        seen["files_open"] = _files(shots.parent)  # journal.sqlite3-wal exists while the journal is open
    return seen


def test_canary_credentials_reach_no_artefact(isolated_home: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # ccxt logs each request's headers (the API key) at DEBUG
    redact.install_redaction()  # as `rebal-tui` does first thing, before it launches the console
    _set_env(monkeypatch, CANARY_SECRET)
    monkeypatch.setattr(demo, "demo_credentials", _env_credentials)
    shots = tmp_path / "shots"
    shots.mkdir()
    handle = start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS, api_key=CANARY_KEY, secret=CANARY_SECRET,
                            bybit=False)
    open_account(handle.emulator, CANARY_KEY, CANARY_SECRET)  # Bybit's headers carry the canary too
    try:
        rig = Rig(handle, tmp_path)
        assert rig.venues.venues["futures"].exchange.apiKey == CANARY_KEY  # the canary is what is used
        try:
            seen = asyncio.run(_drive_app(rig, shots, monkeypatch))
        finally:
            rig.close()
        db = tmp_path / "journal.sqlite3"
        assert any(name.endswith("journal.sqlite3-wal") for name in seen["files_open"])
        assert any("-1022" in t or "Signature" in t for t in seen["journal_errors"] + seen["toasts"]), seen

        # the CLI, on the same emulator, keys from the environment
        _set_env(monkeypatch, CANARY_SECRET)
        url = handle.url
        codes = {
            "snapshot --out": main(["--debug", "snapshot", "--demo", "--emulator-url", url,
                                    "--out", str(tmp_path / "state.json")]),
            "snapshot stdout": main(["--debug", "snapshot", "--demo", "--emulator-url", url]),
            "journal --json": main(["journal", "--json", "--since", "2000-01-01", "--db", str(db)]),
            "journal show": main(["journal", "show", seen["filled"], "--db", str(db)]),
            "journal show --json": main(["journal", "show", seen["failed"], "--json", "--db", str(db)]),
        }
        _set_env(monkeypatch, WRONG_SECRET)
        codes["snapshot wrong secret"] = main(["--debug", "snapshot", "--demo", "--emulator-url", url])
    finally:
        handle.stop()

    out = capfd.readouterr()
    assert codes == {"snapshot --out": 0, "snapshot stdout": 0, "journal --json": 0, "journal show": 0,
                     "journal show --json": 0, "snapshot wrong secret": 2}, (codes, out.err[-3000:])
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    # the checks were real: the canary key went out in ccxt's logged header, masked
    assert "'X-MBX-APIKEY': '***'" in logs or "'X-MBX-APIKEY': '***'" in out.err
    assert "-1022" in out.err  # the wrong secret's failure was printed
    assert seen["filled"] in out.out and (tmp_path / "state.json").exists()

    artefacts: dict[str, bytes] = {"stdout": out.out.encode(), "stderr": out.err.encode(),
                                   "log records": logs.encode(), "caplog text": caplog.text.encode(),
                                   "toasts": "\n".join(seen["toasts"]).encode(),
                                   **{f"{k} (journal open)": v for k, v in seen["files_open"].items()},
                                   **_files(tmp_path)}
    svgs = [n for n in artefacts if n.endswith(".svg")]
    assert len(svgs) >= 6, svgs
    leaks = [(name, c[:12]) for name, data in artefacts.items() for c in CANARIES
             if any(form in data for form in _forms(c))]
    assert not leaks, f"canary found in: {leaks}"
