"""`rebal-tui plan`: the allocation table and the overlay legs, headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from console.allocation import compute_allocation
from console.cmd_config import config_path
from console.config import Goal, load_config
from console.errors import UserError
from console.overlay import Scope, plan_overlay
from console.report import allocation_table, legs_table, plan_dict
from console.snapshot import load_snapshot


def cmd_plan(args: argparse.Namespace) -> int:
    cfg = load_config(config_path(args))
    if args.state is None:
        raise UserError("plan needs --state PATH (a state.json from `rebal-tui snapshot --out PATH`)")
    snap = load_snapshot(args.state)
    alloc = compute_allocation(cfg, snap)
    if alloc.missing_prices:
        raise UserError(
            f"{args.state}: no price for {', '.join(alloc.missing_prices)}; the state needs a ticker "
            f"such as {alloc.missing_prices[0]}/{cfg.portfolio.quote} to value it"
        )
    if alloc.nav <= 0:
        raise UserError(f"{args.state}: the portfolio's NAV is {alloc.nav:,.2f}; nothing to weigh")
    goal = Goal(args.to)
    plan = plan_overlay(cfg, snap, alloc, goal, Scope(args.scope))
    if args.json:
        json.dump(plan_dict(alloc, plan), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    con = Console()
    con.print(allocation_table(alloc, goal))
    if plan.legs or plan.skipped:
        con.print(legs_table(plan))
    else:
        con.print(f"no overlay legs: no sleeve in scope '{args.scope}' needs one")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="print the allocation and the overlay legs that close the drift")
    p.add_argument("--state", type=Path, help="state.json to plan on")
    p.add_argument("--to", choices=[g.value for g in Goal], default=Goal.TARGET.value,
                   help="size legs to the target or to the band edge (default: target)")
    p.add_argument("--scope", choices=[s.value for s in Scope], default=Scope.BREACH.value,
                   help="which sleeves get legs: breach (default), warn, or all")
    p.add_argument("--json", action="store_true", help="print rows and legs as JSON")
    p.set_defaults(func=cmd_plan)
