"""`rebal-tui emulator`: the loopback exchange emulator on its own, for ccxt scripts and demos.

``--venue binance`` (the default) prints Binance's endpoints and key; ``--venue bybit`` opens
a Bybit unified account and prints Bybit's (``/v5``). Both dialects are served either way, as
views of one market; the chosen key and secret open the chosen venue's account."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from console.core.errors import UserError


def _start_ms(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--start {text!r} is not an ISO date-time; write e.g. 2026-11-21T12:00:00Z") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    ms = int(dt.timestamp() * 1000)
    if ms < 0:  # the venue layer reads a time before the epoch as no time at all
        raise UserError(f"--start {text!r} is before 1970; write an instant from 1970-01-01T00:00:00Z, "
                        "e.g. 2026-11-21T12:00:00Z")
    return ms


async def _serve(args: argparse.Namespace) -> None:
    from console.emulator.bybit import BYBIT_DEMO_KEY, BYBIT_DEMO_SECRET, open_account
    from console.emulator.clock import DEFAULT_START_MS, Clock
    from console.emulator.engine import Emulator
    from console.emulator.server import EmulatorServer
    from console.emulator.testing import DEMO_API_KEY, DEMO_SECRET

    start = _start_ms(args.start)
    clock = Clock(start_ms=DEFAULT_START_MS if start is None else start, speed=args.speed)
    bybit = args.venue == "bybit"
    key = args.api_key or (BYBIT_DEMO_KEY if bybit else DEMO_API_KEY)
    chosen = emulator_secret(args, os.environ)
    secret = chosen or (BYBIT_DEMO_SECRET if bybit else DEMO_SECRET)
    if bybit:
        emu = Emulator(seed=args.seed, clock=clock, scenario=args.scenario)
        open_account(emu, key, secret)
    else:
        emu = Emulator(seed=args.seed, clock=clock, scenario=args.scenario, api_key=key, secret=secret)
    server = EmulatorServer(emu)
    try:
        url = await server.start(port=args.port)
    except OSError as exc:
        raise UserError(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); pick another --port or 0 for any free one") from None
    # Ctrl-C is taken before the banner that says "Ctrl-C stops" is printed
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows event loops have no add_signal_handler: there Ctrl-C stops it as KeyboardInterrupt
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    start_iso = datetime.fromtimestamp(clock.start_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    if bybit:
        print(f"rebal-tui emulator: Bybit v5 unified account (spot, linear, inverse) on {url}", flush=True)
        print(f"  rest     {url}/v5          websockets  ws://{url.removeprefix('http://')}/stream/v5/...",
              flush=True)
    else:
        print(f"rebal-tui emulator: Binance spot + USDⓈ-M on {url}", flush=True)
        print(f"  spot     {url}/api/v3      futures  {url}/fapi/v1", flush=True)
    print(f"  api key  {key}", flush=True)
    # the secret is printed only when it is the published demo secret, never one the user chose
    print(f"  secret   {secret if not chosen else '(the one you chose: not shown)'}", flush=True)
    print(f"  seed {args.seed}, scenario {args.scenario}, clock from {start_iso} at {args.speed:g}x; Ctrl-C stops",
          flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


SECRET_ENV = "REBAL_EMULATOR_SECRET"


def emulator_secret(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The secret the user chose: ``--secret-file`` (first line), else ``$REBAL_EMULATOR_SECRET``,
    else ``--secret`` (which every local user can read in the process list, so it is warned
    about); None for the published demo pair."""
    if args.secret_file is not None:
        try:
            text = args.secret_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UserError(f"--secret-file {args.secret_file}: cannot read it ({why}); write the secret "
                            "alone on the file's first line") from None
        secret = (text.splitlines() or [""])[0].strip()
        if not secret:
            raise UserError(f"--secret-file {args.secret_file}: the file is empty; write the secret alone on "
                            "its first line")
        return secret
    if environ.get(SECRET_ENV, "").strip():
        return environ[SECRET_ENV].strip()
    if args.secret:
        print(f"rebal-tui emulator: warning: --secret is visible to every local user in the process list; "
              f"set {SECRET_ENV} or pass --secret-file PATH instead", file=sys.stderr)
        return str(args.secret)
    return None


def check_speed(speed: float) -> float:
    """--speed of an emulator's clock: a finite number from 0 (nan and inf would reach its
    integer arithmetic as an internal error)."""
    if not 0 <= speed < math.inf:
        raise UserError("--speed must be 0 or more (1 is real time, 60 makes a minute pass each second), "
                        f"got {speed:g}")
    return speed


def cmd_emulator(args: argparse.Namespace) -> int:
    check_speed(args.speed)
    if not 0 <= args.port <= 65535:
        raise UserError("--port must be between 0 and 65535 (0 picks a free port)")
    has_secret = args.secret_file is not None or bool(args.secret) or bool(os.environ.get(SECRET_ENV, "").strip())
    if bool(args.api_key) != has_secret:
        raise UserError(f"pass --api-key with its secret ({SECRET_ENV}, --secret-file PATH or --secret), or "
                        "neither, for the demo pair")
    from console.emulator.scenario import SCENARIOS

    if args.scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {args.scenario!r}; choose one of {sorted(SCENARIOS)}")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the signal handler was installed
        asyncio.run(_serve(args))
    print("rebal-tui emulator: stopped", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("emulator", help="run the loopback exchange emulator (Binance or Bybit) on 127.0.0.1")
    p.add_argument("--venue", choices=("binance", "bybit"), default="binance",
                   help="whose dialect and account to print and key (default: binance; bybit: Bybit v5)")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one)")
    p.add_argument("--seed", type=int, default=7, help="price-path seed (default: 7)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="emulated seconds per real second (default: 1; 60 shows funding within minutes)")
    p.add_argument("--start", help="emulated start instant, ISO 8601 (default: 2026-11-21T12:00:00Z)")
    p.add_argument("--scenario", default="demo", help="starting book: demo (default), empty, or large (245 spot pairs, 306 perpetuals and dated contracts)")
    p.add_argument("--api-key", help="accept this API key instead of the demo key")
    p.add_argument("--secret-file", type=Path, metavar="PATH",
                   help=f"a file whose first line is the secret for --api-key (or set {SECRET_ENV})")
    p.add_argument("--secret", help=f"the secret itself; visible in the process list, prefer {SECRET_ENV} or "
                                    "--secret-file")
    p.set_defaults(func=cmd_emulator)
