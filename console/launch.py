"""Plain `rebal-tui` (no subcommand): choose the config, pass the live gate, run the console.

Start-up order: the config (``console.demo.choose_startup``: ``--demo``, ``--config``, the
user's file, or the demo on a first run); the live gate for every account in live mode
(``console.modes.live_gate``: ``live = true`` + ``--live`` + the account name typed here,
before the full-screen UI takes the terminal); then a service loop on its own thread that
runs the demo emulator (demo accounts), the venues, the executor and its journal; then the
Textual app, whose feed worker streams the venues' snapshots.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from console.config import Config, Mode
from console.errors import UserError

POLL_S = 2.0  # venue refresh interval; the emulator is local, real venues rate-limit themselves


def _live_gate(config: Config, args: argparse.Namespace) -> None:
    from console.modes import live_confirmation_prompt, live_gate

    for acct in config.accounts:
        if Mode(acct.mode) is not Mode.LIVE:
            continue
        if not getattr(args, "live", False):
            # without --live the venue layer refuses live trading; say so before starting
            raise UserError(f"account {acct.name!r} is in live mode: start with --live (and type its name "
                            "when asked), or set mode = \"paper\" to practise")
        if not sys.stdin.isatty():
            raise UserError(f"account {acct.name!r} is live: its name must be typed at a terminal to go live")
        typed = input(live_confirmation_prompt(acct))
        live_gate(acct, True, typed)


def _credentials(config: Config, demo_creds: dict[str, dict[str, str]]) -> dict[str, Any]:
    from console import keys

    out: dict[str, Any] = {}
    for a in config.accounts:
        if Mode(a.mode) is Mode.DEMO:
            out[a.name] = demo_creds.get(a.name)
        else:
            # keep the Credentials object: a dict for ccxt, whose repr masks the values
            out[a.name] = keys.load_credentials(a.name, prompt=keys.cli_prompt())
    return out


def build_services(config: Config, args: argparse.Namespace, services: Any, *, seed: int | None = None,
                   journal_path: Path | None = None) -> Any:
    """Fill ``services`` for ``config``: the emulator if any account is demo, venues, journal,
    all on its ServiceLoop; returns the feed. The caller stops them with ``close_services``."""
    from console.app import wall_ms
    from console.demo import DEMO_SEED, needs_emulator, start_emulator_in_loop
    from console.execution import Journal
    from console.venue import VenueSet

    loop = services.loop
    url, demo_creds = None, {}
    if needs_emulator(config):
        # the emulator's clock starts now, so its timestamps and the console's clock agree
        session = loop.run(start_emulator_in_loop(config, seed=DEMO_SEED if seed is None else seed,
                                                  start_ms=wall_ms()), timeout=30)
        services.extra["demo_session"] = session
        url, demo_creds = session.url, session.credentials
    creds = _credentials(config, demo_creds)
    services.extra["credentials"] = creds
    services.extra["emulator_url"] = url

    async def make() -> Any:  # ccxt objects are born on the loop that will use them
        return VenueSet.from_config(config, creds, emulator_url=url, live_allowed=bool(getattr(args, "live", False)))

    venues = loop.run(make(), timeout=30)
    services.venues = venues
    if journal_path is None and needs_emulator(config):
        # each demo starts a fresh emulator: its orders belong in a fresh journal
        journal_path = Path(tempfile.mkdtemp(prefix="rebal-demo-")) / "journal.sqlite3"
    services.journal = Journal.open(journal_path)
    services.extra["journal_path"] = str(services.journal.path)

    def feed() -> Any:
        return venues.updates(POLL_S)

    return feed


def attach_executor(services: Any, config: Config, app: Any) -> None:
    """The executor needs the app (for its events and the latest snapshot): made once both exist."""
    from console.execution.executor import Executor

    venues = services.venues

    async def make() -> Any:
        return Executor(services.journal, {n: v.exchange for n, v in venues.venues.items()}, config,
                        snapshot_provider=venues.refresh, on_event=app.exec_event)

    services.executor = services.loop.run(make(), timeout=30)


def close_services(services: Any) -> None:
    loop = services.loop
    if loop is None:
        return
    try:
        stop_watching = getattr(services.executor, "stop_watching", None)
        if stop_watching is not None:  # its watchers stop before the exchanges close under them
            loop.run(stop_watching(), timeout=10)
        if services.venues is not None:
            loop.run(services.venues.close(), timeout=10)
        session = services.extra.get("demo_session")
        if session is not None:
            loop.run(session.close(), timeout=10)
    except Exception:  # noqa: BLE001 - shutting down: report nothing the user can act on
        pass
    finally:
        if services.journal is not None:
            services.journal.close()
        loop.stop()


def launch(args: argparse.Namespace) -> int:
    from console.app import RebalApp, ServiceLoop, Services
    from console.demo import choose_startup

    config, is_demo = choose_startup(args)
    _live_gate(config, args)  # before the full-screen UI takes the terminal
    services = Services(loop=ServiceLoop())

    def connect(app: RebalApp) -> Any:  # runs in a worker thread once the first frame is drawn
        feed = build_services(config, args, services)
        attach_executor(services, config, app)
        return feed

    try:
        app = RebalApp(config, services=services, connect=connect, bell=bool(os.environ.get("REBAL_BELL")))
        app.run()
        rc = app.return_code
    finally:
        close_services(services)
    if is_demo and services.extra.get("journal_path"):
        _keep_or_drop_demo_journal(Path(services.extra["journal_path"]))
    return int(rc or 0)


def _keep_or_drop_demo_journal(path: Path) -> None:
    """A demo session that recorded tickets keeps its journal and says where (`rebal-tui
    journal --db PATH` reads it); one that recorded none leaves no temporary folder behind."""
    import shutil

    from console.execution import Journal

    try:
        j = Journal.open(path)
        try:
            n = len(j.tickets())
        finally:
            j.close()
    except Exception:  # noqa: BLE001 - unreadable: keep it and say where, rather than delete
        n = -1
    if n == 0 and path.parent.name.startswith("rebal-demo-"):
        shutil.rmtree(path.parent, ignore_errors=True)
        return
    print(f"demo journal: {path} (rebal-tui journal --db {path})", file=sys.stderr)
