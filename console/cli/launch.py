"""Plain `rebal-tui` (no subcommand): choose the config, pass the live gate, run the console.

Start-up order: the config (``console.venues.demo.choose_startup``: ``--demo``, ``--config``, the
user's file, or on a first run the demo's config while the console asks whether to write the
sample (`init`) or run the demo); the live gate for every account in live mode
(``console.venues.modes.live_gate``: ``live = true`` + ``--live`` + the account name typed here,
before the full-screen UI takes the terminal); then the Textual app, which draws its first
frame and only then has ``console.runtime`` start the demo emulator (demo accounts), the
venues, the journal and the executor on a service loop of their own.

``--demo`` (without ``--journal``) has nothing to ask or check before the terminal is taken:
its first frame comes first, and its config (the packaged sample) is read on the app's worker
thread after it (``RebalApp(boot=...)``), so the config models (pydantic) are not imported
before the first frame.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from console.core.errors import UserError
from console.core.mode import Mode

if TYPE_CHECKING:
    from console import runtime
    from console.app.app import Startup
    from console.core.config import Config


def _live_gate(config: Config, args: argparse.Namespace) -> None:
    from console.venues.modes import live_confirmation_prompt, live_gate

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


def user_keymap() -> tuple[dict[str, str], list[str]]:
    """The user's keymap file (``keymap.toml`` in the user config folder): binding id = key.
    None there: the default keys. What cannot be used is said in the console, not fatal."""
    import platformdirs

    from console.app.keymap_ids import all_binding_ids
    from console.core.keymap import KEYMAP_FILENAME, parse_keymap

    path = platformdirs.user_config_path("rebal-tui") / KEYMAP_FILENAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except OSError as exc:
        return {}, [f"{path}: cannot read ({exc.strerror}); the default keys apply"]
    return parse_keymap(text, str(path), all_binding_ids())


def startup(args: argparse.Namespace, services: runtime.Services, *, at_terminal: bool) -> Startup:
    """The config the console runs on and how it reaches the venues. ``at_terminal``: called
    before the full-screen UI, which the live gate needs (it asks for a typed name); else on
    the app's worker thread, where a live account is refused rather than asked about."""
    from console import runtime
    from console.app.app import RebalApp, Startup
    from console.venues.demo import choose_startup, config_file, first_run_path

    config, is_demo = choose_startup(args)
    from console.cli.journal import checked_url

    journal = None if getattr(args, "journal", None) is None else checked_url(args.journal, "--journal")
    config_path, config_text = config_file(args, is_demo)
    first_run = first_run_path(args)  # no config yet: the console asks (init or the demo) before connecting
    if at_terminal:
        _live_gate(config, args)  # before the full-screen UI takes the terminal
    elif any(Mode(a.mode) is Mode.LIVE for a in config.accounts):
        raise UserError("a live account must pass the live gate before the console starts: start without --demo")
    keymap, keymap_problems = user_keymap()

    def connect(app: RebalApp) -> runtime.Feed:  # in a worker thread once the first frame is drawn
        feed = runtime.connect(config, services, live=bool(getattr(args, "live", False)), journal_path=journal)
        runtime.attach_executor(services, config, app.exec_event)
        runtime.watch_journal(services, app.journal_changed, app.journal_health)
        return feed

    return Startup(config, connect, first_run, config_path, config_text,
                   config_is_demo=is_demo,  # a first run's `i` points them at the file it writes
                   keymap=keymap, keymap_problems=keymap_problems)


def config_after_first_frame(args: argparse.Namespace) -> bool:
    """Whether the console can draw its first frame before reading its config: the demo, with
    no ``--journal`` URL to check (its accounts are never live: no live gate to pass)."""
    return bool(getattr(args, "demo", False)) and getattr(args, "journal", None) is None


def launch(args: argparse.Namespace) -> int:
    from console.app.app import RebalApp, collect_less_until_painted

    collect_less_until_painted()
    from console import runtime

    services = runtime.Services(loop=runtime.ServiceLoop())
    bell = bool(os.environ.get("REBAL_BELL"))
    try:
        if config_after_first_frame(args):
            is_demo = True
            app = RebalApp(services=services, bell=bell, boot=lambda: startup(args, services, at_terminal=False))
        else:
            s = startup(args, services, at_terminal=True)  # bad config or a refused gate: before the UI
            is_demo = s.config_is_demo
            app = RebalApp(s.config, services=services, bell=bell, connect=s.connect, first_run=s.first_run,
                           config_path=s.config_path, config_text=s.config_text, config_is_demo=s.config_is_demo,
                           keymap=s.keymap, keymap_problems=s.keymap_problems)
        app.run()
        rc = app.return_code
    finally:
        runtime.close(services)
    if app.boot_error is not None:  # the config could not be read: said as on any start, after the UI
        raise app.boot_error
    if is_demo and services.journal_path is not None:
        _keep_or_drop_demo_journal(services.journal_path)
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
