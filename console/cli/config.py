"""`rebal-tui init` and `rebal-tui check-config`."""

from __future__ import annotations

import argparse
import functools
import shlex
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from console.core.config import (
    Config,
    Mode,
    default_config_path,
    expired_hedges,
    load_config,
    sample_config_text,
    unknown_exchanges,
)
from console.core.errors import UserError
from console.core.snapshot import write_atomic


def config_path(args: argparse.Namespace, positional: Path | None = None) -> Path:
    return positional or getattr(args, "config", None) or default_config_path()


def load_portfolio(args: argparse.Namespace, positional: Path | None = None) -> tuple[Config, Path]:
    """The config a command works on: the shipped demo portfolio with ``--demo``, else the file."""
    if getattr(args, "demo", False):
        from console.venues.demo import DEMO_SOURCE, demo_config

        return demo_config(), Path(DEMO_SOURCE)
    path = config_path(args, positional)
    if positional is None and getattr(args, "config", None) is None and not path.exists():
        raise UserError(f"no config at {path} (the default); run `rebal-tui init` to write a sample there, "
                        "pass --config PATH, or --demo for the shipped demo portfolio")
    return load_config(path), path


def add_demo_flag(p: argparse.ArgumentParser, help: str = "use the shipped demo portfolio instead of --config") -> None:
    # SUPPRESS: without it the subcommand's default False would hide `rebal-tui --demo COMMAND`
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help=help)


def cmd_init(args: argparse.Namespace) -> int:
    path = config_path(args, args.path)
    if path.exists() and not args.force:
        raise UserError(f"{path} already exists; pass --force to overwrite it")
    try:
        write_atomic(path, sample_config_text())
    except OSError as exc:  # a folder at the path, a parent that is a file, no permission
        raise UserError(f"{path}: cannot write ({exc.strerror or exc}); pass another path, "
                        "e.g. rebal-tui init ./portfolio.toml") from None
    print(f"wrote a commented sample portfolio to {path}")
    # the exact command, path included (quoted for the shell): it checks the file just written
    # wherever it went, not only at the default location
    print(f"edit it, then run: rebal-tui check-config {shlex.quote(str(path))}")
    return 0


def summary(cfg: Config, path: Path) -> Table:
    # every name comes from the user's file: escaped, so "[/]" is shown, not read as markup
    t = Table(title=escape(f"{cfg.portfolio.name} — {path}"), title_justify="left")
    for col in ("sleeve", "assets", "target", "band", "hedges"):
        t.add_column(col)
    for s in cfg.sleeves:
        hw = cfg.band_halfwidth(s)
        kind = " (cash)" if cfg.is_cash(s) else ""
        t.add_row(escape(s.name) + kind, escape(", ".join(s.assets)), f"{s.target:.2%}", f"±{hw * 100:.2f} pp",
                  escape(", ".join(h.symbol + (f" ×{h.ratio:g}" if h.ratio != 1 else "") for h in s.hedges)) or "—")
    return t


@functools.cache
def ccxt_exchange_ids() -> frozenset[str]:
    """ccxt's exchange ids. Imported here, not when a config is parsed: ccxt takes ~0.5 s to
    import, and the console parses its config before its first frame."""
    import ccxt

    return frozenset(ccxt.exchanges)


def paper_venue_problems(cfg: Config) -> list[str]:
    """One line per paper account the console cannot switch to a paper venue (no paper venue
    for its exchange, or an unknown paper_venue): found here rather than at the first connect."""
    from console.venues.modes import account_route

    out = []
    for a in cfg.accounts:
        if a.mode is not Mode.PAPER:
            continue
        try:
            account_route(a)
        except UserError as exc:
            out.append(f"accounts[{a.name}].mode: {exc}")
    return out


def utc_now() -> datetime:
    return datetime.now(UTC)


def cmd_check(args: argparse.Namespace, *, now: datetime | None = None) -> int:
    cfg, path = load_portfolio(args, args.path)
    problems = unknown_exchanges(cfg, ccxt_exchange_ids()) + paper_venue_problems(cfg)
    if problems:  # laid out as a validation error: the same exit 2, one line per field
        raise UserError("\n".join([f"{path}: the configuration is not valid:", *(f"  {p}" for p in problems)]))
    con = Console()
    con.print(summary(cfg, path))
    for a in cfg.accounts:
        con.print(f"account [bold]{escape(a.name)}[/]: {a.exchange}, mode {a.mode.value}, markets {', '.join(a.markets)}")
    for h in cfg.manual:
        con.print(escape(f"manual holding: {h.quantity:g} {h.asset} ({h.label})"))
    lim = cfg.limits
    con.print(f"limits: max order {lim.max_order_notional:,.0f} {cfg.portfolio.quote}, leverage ≤ {lim.max_leverage:g}, "
              f"margin ratio ≤ {lim.max_margin_ratio:.0%}, collar ±{lim.price_collar:.1%}, "
              f"data age ≤ {lim.max_data_age_s:g}s, min trade {lim.min_trade_notional:,.0f}")
    # warnings, not errors: the file is still a valid config, only its contract list has aged
    warnings = expired_hedges(cfg, now or utc_now())
    for w in warnings:
        con.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)  # one line, to grep
    tail = f" ({len(warnings)} warning{'s' if len(warnings) > 1 else ''})" if warnings else ""
    con.print(f"[green]config is valid[/]{tail}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="write a commented sample portfolio config")
    p.add_argument("path", nargs="?", type=Path, help="where to write it (default: --config or the user config folder)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)
    p = sub.add_parser("check-config", help="validate a portfolio config and print a summary")
    p.add_argument("path", nargs="?", type=Path, help="the config to check (default: --config or the user config folder)")
    add_demo_flag(p, "check the shipped demo portfolio")
    p.set_defaults(func=cmd_check)
