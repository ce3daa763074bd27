"""The `rebal-tui` command: subcommands are registered by small modules, one each.

Every user error exits 2 with one clear message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from console.core.errors import UserError

# Each module has register(subparsers) and sets `func` on the parsers it adds.
COMMAND_MODULES = (
    "console.cli.config",
    "console.cli.plan",
    "console.cli.emulator",
    "console.cli.snapshot",
    "console.cli.journal",
    "console.cli.keys",
    "console.cli.preflight",
    "console.cli.flows",
)
# The commands each module registers: a command line imports only its own command's module,
# and the console (no command) none of them. tests/cli checks this table against register().
COMMANDS = {
    "init": "console.cli.config", "check-config": "console.cli.config", "plan": "console.cli.plan",
    "emulator": "console.cli.emulator", "snapshot": "console.cli.snapshot", "journal": "console.cli.journal",
    "keys": "console.cli.keys", "preflight": "console.cli.preflight", "flows": "console.cli.flows",
}

# commands where `rebal-tui --demo COMMAND` would be silently ignored: refuse instead
NO_DEMO = frozenset({"init", "journal", "keys"})


def modules_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The command modules a command line needs: its command's, none for the console, every one
    for ``--help`` or a word that is not a command (so argparse can list the choices)."""
    if argv is None:
        return COMMAND_MODULES
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)  # its value, whatever it looks like
        elif arg in ("-h", "--help"):
            return COMMAND_MODULES
        elif not arg.startswith("-"):
            return (COMMANDS[arg],) if arg in COMMANDS else COMMAND_MODULES
    return ()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv`` (None: with every command registered), built once per set of
    commands: parse_args leaves it unchanged, and building it costs more than most commands."""
    return _parser(modules_for(argv))


@functools.cache
def _parser(modules: tuple[str, ...]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rebal-tui",
        description="Keep a crypto portfolio at its target weights with a futures overlay.",
    )
    p.add_argument("--config", type=Path, metavar="PATH",
                   help="portfolio TOML, before or after the command (default: the user config folder)")
    p.add_argument("--demo", action="store_true",
                   help="use the shipped demo portfolio on the embedded emulator (the console, snapshot, plan, "
                        "preflight, check-config, flows)")
    p.add_argument("--live", action="store_true", help="allow accounts marked live = true to trade")
    p.add_argument("--debug", action="store_true", help="DEBUG logging to stderr; keys are masked")
    p.add_argument("--journal", metavar="URL",
                   help="a desk's shared PostgreSQL journal, postgresql://USER@HOST:PORT/DATABASE (default: the "
                        "config's [journal] url, else the SQLite journal in the user data folder)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        if importlib.util.find_spec(name) is None:  # being built; see the issue that owns it
            continue
        importlib.import_module(name).register(sub)
    for sp in sub.choices.values():  # `rebal-tui plan --config P` as well as `rebal-tui --config P plan`
        if not any("--config" in a.option_strings for a in sp._actions):
            sp.add_argument("--config", type=Path, metavar="PATH", default=argparse.SUPPRESS,
                            help="portfolio TOML (default: the user config folder)")
    return p


# Options whose value may look like an option: argparse reads `--horizon -3d` as two options
# and answers "expected one argument". Joined as `--horizon=-3d`, the value reaches the
# command's own check, which names the flag and the fix (the horizon must be positive).
DASH_VALUE_OPTIONS = frozenset({"--horizon", "--offset-bps", "--max-cost-bps", "--spx-return", "--agg-return", "--since"})
_NEGATIVE_LOOKING = re.compile(r"^-\d")


def join_dash_values(argv: Sequence[str]) -> list[str]:
    """``[..., "--horizon", "-3d", ...]`` → ``[..., "--horizon=-3d", ...]``; else unchanged."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in DASH_VALUE_OPTIONS and i + 1 < len(argv) and _NEGATIVE_LOOKING.match(argv[i + 1]):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def check_named_config(args: argparse.Namespace) -> None:
    """Refuse a ``--config`` file a command cannot use, whether or not the command reads it.

    flows and the emulator do not read the portfolio, nor does a --demo run (the console's
    too), ``journal --db`` or ``keys set --exchange``: a file named on the command line would
    be ignored and the command exit 0, so a broken file (or the wrong path) would go unnoticed
    until the console or a cron job used it. ``init`` writes the file rather than reading it; the console
    without --demo reads it itself (``choose_startup``), before it takes the terminal."""
    path = getattr(args, "config", None)
    demo = bool(getattr(args, "demo", False))
    if path is None or args.command == "init" or (args.command is None and not demo):
        return
    from console.core.config import load_config

    load_config(path)  # raises the UserError that names the line or the field and the fix


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C at any point, start-up imports included: no traceback
        print("rebal-tui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _interrupted(exc):
            raise
        print("rebal-tui: interrupted", file=sys.stderr)
        return 130


def _interrupted(exc: BaseException) -> bool:
    """Whether Ctrl-C is behind ``exc``: Python reraises a KeyboardInterrupt that lands while a
    class is being built (``__set_name__``: every pydantic model of the config, at import) as
    a RuntimeError caused by it."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _main(argv: Sequence[str] | None) -> int:
    from console.core.redact import configure_debug_logging, install_redaction, redact

    install_redaction()  # before anything can log or raise: ccxt logs its key header at DEBUG
    argv = join_dash_values(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    if getattr(args, "debug", False):
        configure_debug_logging()
    try:
        if getattr(args, "demo", False) and args.command in NO_DEMO:
            raise UserError(f"--demo does not apply to `{args.command}`; it selects the demo portfolio for the "
                            "console, snapshot, plan, preflight, check-config and flows")
        check_named_config(args)
        if args.command is None:
            from console.cli.launch import launch

            return launch(args)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"rebal-tui: {redact(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `rebal-tui plan --json | head`: the reader left; stop quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # a bug, not bad input: one line, and the traceback only with --debug
        if getattr(args, "debug", False):
            raise
        print(f"rebal-tui: internal error: {redact(f'{type(exc).__name__}: {exc}')}; run again with --debug "
              "for the traceback and report it", file=sys.stderr)
        return 70  # EX_SOFTWARE: neither a failed check (1) nor bad input (2)

if __name__ == "__main__":
    sys.exit(main())
