"""`rebal-tui keys set|list|delete|test`: API keys per account, never shown, never in a file
in plaintext. See console/keys.py for where they are kept."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from console.cli.config import config_path
from console.core.config import Account, Config, Mode, load_config, mode_badge
from console.core.errors import UserError
from console.core.redact import configure_debug_logging, install_redaction, redact
from console.venues import keys
from console.venues.modes import require_paper_venue


def start_command(args: argparse.Namespace) -> None:
    """Every keys/preflight command: scrub logs and tracebacks; --debug turns DEBUG logging on."""
    install_redaction()
    if getattr(args, "debug", False):
        configure_debug_logging()


def _config_or_none(args: argparse.Namespace) -> Config | None:
    """The config when there is one (an explicit --config must exist)."""
    path: Path = config_path(args)
    if getattr(args, "config", None) is None and not path.exists():
        return None
    return load_config(path)


def _configured(cfg: Config | None, name: str) -> Account | None:
    if cfg is None:
        return None
    return next((a for a in cfg.accounts if a.name == name), None)


@contextlib.contextmanager
def demo_emulator(needed: bool) -> Iterator[tuple[str | None, dict[str, str]]]:
    """(URL, credentials) of a loopback emulator started for demo accounts, stopped on exit.

    It runs on its own thread, so the command's event loop only talks to it over 127.0.0.1,
    as it would to a venue. (None, {}) when no demo account is involved.
    """
    if not needed:
        yield None, {}
        return
    try:
        from console.emulator import start_emulator
        from console.venues.demo import DEMO_SEED
    except ImportError:
        raise UserError("the demo emulator is not in this build; use a paper account") from None
    handle = start_emulator(seed=DEMO_SEED)
    try:
        yield handle.url, {"apiKey": handle.api_key, "secret": handle.secret}
    finally:
        handle.stop()


@contextlib.asynccontextmanager
async def opened_exchange(account: Account, *, emulator_url: str | None, demo_credentials: dict[str, str],
                          prompt: keys.Prompt | None) -> AsyncIterator[Any]:
    """An async ccxt exchange for a read-only look at ``account``: the emulator with its own
    key for demo mode, else the stored keys on the paper or live venue."""
    from console.venues.preflight import read_only_account
    from console.venues.venue import make_exchange

    if account.mode is Mode.DEMO:  # the demo emulator's own pair for this venue's dialect
        from console.venues.demo import demo_pair

        creds: dict[str, str] = demo_pair(account.exchange, demo_credentials) if demo_credentials else {}
    else:
        if account.mode is Mode.PAPER:
            require_paper_venue(account)
        creds = keys.load_credentials(account.name, prompt=prompt)
    ex = make_exchange(read_only_account(account), creds, emulator_url=emulator_url, live_allowed=True)
    try:
        yield ex
    finally:
        await ex.close()


# ----------------------------------------------------------------------------- commands


def read_secret(prompt: str) -> str:
    """A secret from the user: getpass (no echo) on a terminal; one line of stdin when piped,
    so automation can feed keys without a terminal and without getpass's echo warning."""
    if sys.stdin is not None and sys.stdin.isatty():
        return keys.getpass_prompt(prompt)
    sys.stderr.write(prompt + "\n")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def cmd_set(args: argparse.Namespace) -> int:
    start_command(args)
    name: str = args.account
    cfg = None if args.exchange else _config_or_none(args)
    acct = _configured(cfg, name)
    exchange = args.exchange or (acct.exchange if acct else None)
    if exchange is None:
        where = "the config" if cfg is not None else "a config (none found)"
        raise UserError(f"account {name!r} is not in {where}; add it under [[accounts]], or pass "
                        "--exchange ID (e.g. --exchange binanceusdm) so the right fields are asked for")
    fields = keys.required_fields(exchange)
    # open (and unlock) the store before asking for keys, so a locked store fails first
    store = keys.get_store(prompt=keys.cli_prompt(), create=True)
    if store.notice:
        Console(stderr=True).print(f"[yellow]note:[/] {store.notice}", highlight=False)
    creds: dict[str, str] = {}
    for f in fields:
        value = read_secret(f"{keys.LABELS[f]} for account {name} ({exchange}): ").strip()
        if not value:
            raise UserError(f"the {keys.LABELS[f]} is empty; nothing was stored for account {name!r}")
        creds[f] = value
    store = keys.store_credentials(name, creds, prompt=keys.cli_prompt())
    print(f"stored {', '.join(keys.LABELS[f] for f in fields)} for account {name!r} in the {store.description}")
    if acct is not None and acct.mode is Mode.DEMO:
        print(f"account {name!r} is in demo mode, which uses the emulator's own key; these keys are used "
              "once you set mode = \"paper\" or \"live\"")
    else:
        print(f"check them with: rebal-tui keys test {name}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    start_command(args)
    cfg = _config_or_none(args)
    stored = keys.list_accounts(prompt=keys.cli_prompt())
    rows: list[tuple[str, str]] = []
    for a in cfg.accounts if cfg else ():
        if a.mode is Mode.DEMO:
            src = "demo: uses the emulator's key"
        else:
            src = keys.credential_source(a.name, prompt=keys.cli_prompt()) or "missing: run rebal-tui keys set " + a.name
        rows.append((a.name, src))
    known = {r[0] for r in rows}
    rows += [(n, "stored (not in the config)") for n in stored if n not in known]
    if not rows:
        print("no keys stored; add some with: rebal-tui keys set ACCOUNT")
        return 0
    width = max(len(n) for n, _ in rows)
    for n, src in rows:
        print(f"{n:<{width}}  {src}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    start_command(args)
    if keys.delete_credentials(args.account, prompt=keys.cli_prompt()):
        print(f"deleted the keys of account {args.account!r}")
    else:
        print(f"no keys stored for account {args.account!r}; nothing to delete")
    return 0


async def key_test(cfg: Config, account: Account, *, emulator_url: str | None = None,
                   demo_credentials: dict[str, str] | None = None,
                   prompt: keys.Prompt | None = None) -> list[str]:
    """The lines `keys test` prints: the venue, what the key sees, whether it may trade."""
    from console.venues.preflight import (
        AUTH,
        TRADE,
        check_auth,
        check_can_trade,
        check_venue,
        fetch_facts,
    )

    async with opened_exchange(account, emulator_url=emulator_url, demo_credentials=demo_credentials or {},
                               prompt=prompt) as ex:
        facts = await fetch_facts(ex, account, cfg)
    lines: list[str] = []
    venue = check_venue(facts)
    lines.append(f"{venue.mark} venue: {venue.detail}")
    if venue.ok is False:
        return lines
    checks = [check_auth(facts)]
    if facts.auth_error is None:
        checks.append(check_can_trade(facts))
    for r in checks:
        label = {AUTH: "authenticated", TRADE: "can trade"}[r.name]
        lines.append(f"{r.mark} {label}: {r.detail}")
    return lines


def cmd_test(args: argparse.Namespace) -> int:
    start_command(args)
    cfg = _config_or_none(args)
    if cfg is None:
        raise UserError(f"no config found; `keys test` needs account {args.account!r} in one "
                        "(rebal-tui init writes a sample, or pass --config PATH)")
    account = cfg.account(args.account)
    label, style = mode_badge(account.mode)
    con = Console(highlight=False)
    con.print(Text.assemble((f" {label} ", style), f" {account.name} on {account.exchange}"))
    try:
        with demo_emulator(account.mode is Mode.DEMO) as (url, demo_creds):
            lines = asyncio.run(key_test(cfg, account, emulator_url=url, demo_credentials=demo_creds,
                                         prompt=keys.cli_prompt()))
    except UserError:
        raise
    except Exception as exc:  # never a traceback, never a key in the message
        raise UserError(redact(f"keys test {account.name}: {type(exc).__name__}: {exc}")) from None
    for line in lines:
        con.print(line)
    return 0 if all(not line.startswith("✘") for line in lines) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="store, list, delete and test API keys per account")
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        # SUPPRESS: a top-level --debug or --config added later is not overwritten by these
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="log every request at DEBUG level (keys are masked)")
        sp.add_argument("--config", type=Path, metavar="PATH", default=argparse.SUPPRESS,
                        help="portfolio TOML (default: the user config folder)")

    sp = ks.add_parser("set", help="prompt (no echo) for an account's key, secret and passphrase and store them")
    sp.add_argument("account")
    sp.add_argument("--exchange", metavar="ID", help="ccxt exchange id, when the account is not in the config yet")
    common(sp)
    sp.set_defaults(func=cmd_set)
    sp = ks.add_parser("list", help="accounts and where their keys come from (names only)")
    common(sp)
    sp.set_defaults(func=cmd_list)
    sp = ks.add_parser("delete", help="forget an account's keys")
    sp.add_argument("account")
    common(sp)
    sp.set_defaults(func=cmd_delete)
    sp = ks.add_parser("test", help="an authenticated read: what the key can see, and whether it can trade")
    sp.add_argument("account")
    common(sp)
    sp.set_defaults(func=cmd_test)
