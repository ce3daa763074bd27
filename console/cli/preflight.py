"""`rebal-tui preflight [--account NAME]`: the checklist per account, before any trading.

Exit 0 when nothing failed, 1 when a check failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from console.cli.config import add_demo_flag, load_portfolio
from console.cli.keys import demo_emulator, start_command
from console.core.config import Config, Mode
from console.core.errors import UserError
from console.core.redact import redact
from console.venues import keys
from console.venues.modes import require_paper_venue
from console.venues.preflight import AccountChecks, run_preflight
from widgets.capability_table import capability_table


async def preflight(cfg: Config, names: list[str], prompt: keys.Prompt | None, *,
                    emulator_url: str | None = None,
                    demo_credentials: dict[str, str] | None = None) -> list[AccountChecks]:
    """Credentials per account (the emulator's for demo ones), then the checks."""
    creds: dict[str, dict[str, str] | None] = {}
    setup_errors: dict[str, str] = {}
    for a in cfg.accounts:
        if a.name not in names:
            continue
        if a.mode is Mode.DEMO:  # the demo emulator's own pair for this venue's dialect
            from console.venues.demo import demo_pair

            creds[a.name] = demo_pair(a.exchange, demo_credentials) if demo_credentials else {}
            continue
        try:
            if a.mode is Mode.PAPER:
                require_paper_venue(a)
            creds[a.name] = dict(keys.load_credentials(a.name, prompt=prompt))
        except UserError as exc:
            setup_errors[a.name] = str(exc)
    return await run_preflight(cfg, creds, accounts=names, setup_errors=setup_errors, emulator_url=emulator_url)


def checks_table(ac: AccountChecks) -> Table:
    label, style = ac.badge
    title = Text.assemble((f" {label} ", style), f" {ac.account} ({ac.exchange})")
    t = Table(title=title, title_justify="left", show_header=False, expand=False)
    t.add_column("", width=1)
    t.add_column("check", style="bold")
    t.add_column("detail", overflow="fold")
    colour = {True: "green", False: "red", None: "yellow"}
    for r in ac.results:
        t.add_row(Text(r.mark, style=colour[r.ok]), r.name, r.detail)
    return t


def checks_dict(results: list[AccountChecks]) -> list[dict[str, object]]:
    return [{"account": ac.account, "exchange": ac.exchange, "mode": ac.mode.value, "passed": ac.passed,
             "checks": [{"name": r.name, "ok": r.ok, "detail": r.detail} for r in ac.results],
             "paper_capabilities": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in ac.capabilities]}
            for ac in results]


def cmd_preflight(args: argparse.Namespace) -> int:
    start_command(args)
    cfg, path = load_portfolio(args)
    if not cfg.accounts:
        raise UserError(f"{path}: no [[accounts]] configured; add one (see `rebal-tui init`) to check it")
    names = [cfg.account(args.account).name] if args.account else [a.name for a in cfg.accounts]
    try:
        needs_demo = any(a.mode is Mode.DEMO for a in cfg.accounts if a.name in names)
        with demo_emulator(needs_demo) as (url, demo_creds):
            results = asyncio.run(preflight(cfg, names, keys.cli_prompt(), emulator_url=url,
                                            demo_credentials=demo_creds))
    except UserError:
        raise
    except Exception as exc:  # never a traceback, never a key in the message
        raise UserError(redact(f"preflight: {type(exc).__name__}: {exc}")) from None
    if args.json:
        json.dump(checks_dict(results), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        con = Console(highlight=False)
        for ac in results:
            con.print(checks_table(ac))
            if ac.capabilities:
                con.print(capability_table(ac.capabilities))
        failed = [ac.account for ac in results if not ac.passed]
        if failed:
            con.print(f"[red]preflight failed[/] for {', '.join(failed)}: fix the ✘ rows before trading")
        else:
            con.print("[green]preflight passed[/] (? rows are unknown or worth a look; they do not block)")
    return 0 if all(ac.passed for ac in results) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("preflight", help="check each account is fit to trade (keys, mode, leverage, hedges)")
    p.add_argument("--account", metavar="NAME", help="check only this account (default: every account in the config)")
    p.add_argument("--json", action="store_true", help="print the checklist as JSON")
    add_demo_flag(p, "check the shipped demo portfolio's accounts on the embedded emulator")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="log every request at DEBUG level (keys are masked)")
    p.set_defaults(func=cmd_preflight)
