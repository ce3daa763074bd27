"""`rebal-tui snapshot`: fetch every account the config names and write the state file."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from console.cli.config import config_path
from console.core.config import Config, Mode, load_config
from console.core.errors import UserError
from console.core.snapshot import Snapshot, save_snapshot, snapshot_to_dict


def account_credentials(config: Config, *, demo_defaults: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str] | None]:
    """ccxt credentials per account: the emulator's key for demo accounts, the keyring's for others."""
    out: dict[str, dict[str, str] | None] = {}
    for acct in config.accounts:
        if acct.mode is Mode.DEMO:
            out[acct.name] = dict(demo_defaults.get(acct.name) or {})
            continue
        if importlib.util.find_spec("console.venues.keys") is None:
            raise UserError(f"account {acct.name!r} needs API keys, and this build has no key store yet; "
                            "use mode = \"demo\" for now")
        from console.venues import keys

        out[acct.name] = dict(keys.load_credentials(acct.name, prompt=keys.cli_prompt()))
    return out


async def take_snapshot(
    config: Config,
    *,
    emulator_url: str | None = None,
    seed: int | None = None,
    speed: float = 1.0,
    start_ms: int | None = None,
    live_allowed: bool = False,
    read_only: bool = True,
    retries: int = 2,
) -> Snapshot:
    """One Snapshot of every account; starts an in-process emulator when a demo account needs
    one and no ``emulator_url`` is given. ``read_only`` (the default) opens live accounts
    without the live gate, since nothing here can trade."""
    from console.core.clock import wall_ms
    from console.venues.demo import DEMO_SEED, needs_emulator, start_emulator_in_loop
    from console.venues.venue import VenueSet

    session = None
    clock = wall_ms
    demo_keys: dict[str, dict[str, str]] = {}
    if needs_emulator(config):
        if emulator_url is None:
            session = await start_emulator_in_loop(
                config, seed=DEMO_SEED if seed is None else seed, speed=speed, start_ms=start_ms)
            emulator_url = session.url
            demo_keys = session.credentials
            clock = session.now_ms or clock  # its own time: funding and expiry read right against it
        else:
            from console.venues.demo import demo_credentials

            demo_keys = demo_credentials(config)
    try:
        creds = account_credentials(config, demo_defaults=demo_keys)
        if read_only:
            # a snapshot only reads, so a live account may be read before the live gate, as
            # preflight and `keys test` do; these exchange objects are closed before returning
            from console.venues.preflight import read_only_account

            config = config.model_copy(update={"accounts": tuple(read_only_account(a) for a in config.accounts)})
            live_allowed = True
        async with VenueSet.from_config(config, creds, emulator_url=emulator_url,
                                        live_allowed=live_allowed, clock=clock) as venues:
            return await venues.snapshot(retries=retries)
    finally:
        if session is not None:
            await session.close()


def check_usable(snap: Snapshot) -> list[str]:
    """Raise when an account has nothing to plan on; return warnings for partial failures."""
    dead = [n for n, a in snap.accounts.items() if "balance" not in a.fetched_at]
    if dead:
        details = "; ".join(f"{n}: {snap.accounts[n].error or 'no data'}" for n in dead)
        raise UserError(f"could not read account(s) {', '.join(dead)} ({details}); "
                        "check the venue is reachable and the keys are valid, then run snapshot again")
    return [f"account {n}: {a.error}" for n, a in snap.accounts.items() if a.error]


def cmd_snapshot(args: argparse.Namespace) -> int:
    if getattr(args, "demo", False):
        from console.venues.demo import demo_config

        cfg = demo_config()
    else:
        cfg = load_config(config_path(args))
    if not cfg.accounts:
        raise UserError("the config names no [[accounts]]; add one (see `rebal-tui init`) or pass --demo")
    if args.emulator_url and not args.emulator_url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise UserError(f"--emulator-url {args.emulator_url}: the emulator runs on this host; "
                        "give an http://127.0.0.1:PORT address")
    from console.cli.emulator import check_speed

    check_speed(args.speed)
    start_ms = args.start_ms
    if start_ms is not None and start_ms < 0:
        raise UserError(f"--start-ms {start_ms}: write epoch milliseconds from 0 (e.g. 1795262400000), "
                        "or --start ISO (2026-11-21T12:00:00Z)")
    if args.start is not None:
        from console.cli.emulator import _start_ms

        start_ms = _start_ms(args.start)
    snap = asyncio.run(take_snapshot(
        cfg, emulator_url=args.emulator_url, seed=args.seed, speed=args.speed, start_ms=start_ms,
    ))
    warnings = check_usable(snap)
    if args.out is None:
        json.dump(snapshot_to_dict(snap), sys.stdout, indent=1, sort_keys=True, default=str)
        sys.stdout.write("\n")
    else:
        try:
            save_snapshot(snap, args.out)
        except OSError as exc:
            raise UserError(f"{args.out}: cannot write ({exc.strerror}); choose another --out path") from None
        counts = ", ".join(f"{n}: {len(a.total_balance())} balances, {len(a.open_positions())} positions, "
                           f"{len(a.tickers)} tickers" for n, a in snap.accounts.items())
        print(f"wrote {args.out} ({counts})", file=sys.stderr)
    for w in warnings:
        print(f"rebal-tui: warning: {w}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshot", help="fetch balances, positions and prices of every account into a state file")
    p.add_argument("--out", type=Path, metavar="PATH", help="where to write the state JSON (default: stdout)")
    # SUPPRESS: without it the subcommand's default False would hide `rebal-tui --demo snapshot`
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                   help="snapshot the shipped demo portfolio on the embedded emulator")
    p.add_argument("--emulator-url", metavar="URL",
                   help="use an emulator already running at URL (e.g. from `rebal-tui emulator`) for demo accounts")
    p.add_argument("--seed", type=int, metavar="N", help="price-path seed of an emulator started here (default 7)")
    p.add_argument("--speed", type=float, default=1.0, metavar="X",
                   help="emulated seconds per real second of an emulator started here (default 1; 0 freezes it)")
    t = p.add_mutually_exclusive_group()
    t.add_argument("--start", metavar="ISO", help="emulator start instant, ISO 8601, as `rebal-tui emulator --start` "
                   "(default: the demo's fixed start, 2026-11-21T12:00:00Z)")
    t.add_argument("--start-ms", type=int, metavar="MS", help="emulator start time, epoch ms (default: the demo's fixed start, 2026-11-21T12:00Z)")
    p.set_defaults(func=cmd_snapshot)
