"""`rebal-tui journal`: the execution journal, headless.

``rebal-tui journal [--since 24h|2026-11-20] [--csv|--json]`` lists tickets (one line each:
state, legs, filled vs asked, residual). ``rebal-tui journal show TICKET [--json]`` replays
one ticket: the snapshot it was planned on, the plan, the confirmation, every order with its
client id, every fill, every transition in order, and the residual after.

Which journal: ``--journal postgresql://...`` (a desk's shared journal), else ``--db PATH``
(a SQLite file), else the config's ``[journal] url``, else the SQLite journal in the user
data folder. ``rebal-tui journal migrate`` brings a journal's schema up to date;
``rebal-tui journal copy --to URL`` moves every row of it into a new, empty journal.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.core.clock import wall_ms
from console.core.errors import UserError
from console.core.ticket import leg_number

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_since(text: str, now_ms: int | None = None) -> int:
    """'24h' / '7d' / '30m' / '2w' ago, or an ISO date/time (UTC unless it says otherwise)."""
    now_ms = wall_ms() if now_ms is None else now_ms
    m = _DURATION.match(text or "")
    if m:
        return now_ms - int(float(m.group(1)) * _UNIT_MS[m.group(2)])
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--since {text!r}: write a duration (24h, 7d, 30m) or a date (2026-11-20 or "
                        "2026-11-20T08:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def checked_url(url: str, flag: str) -> str:
    """A PostgreSQL journal URL from the command line, or a message naming the flag and the fix."""
    from console.core.config import check_journal_url

    try:
        return check_journal_url(url, flag)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def journal_url(args: argparse.Namespace) -> str | None:
    """The PostgreSQL journal the command names: ``--journal URL``, else (without ``--db``) the
    config's ``[journal] url``; None means a SQLite file."""
    from console.core.config import default_config_path, load_config

    url = getattr(args, "journal", None)
    if url:
        return checked_url(url, "--journal")
    if getattr(args, "db", None) is not None:
        return None
    path = getattr(args, "config", None) or default_config_path()
    if getattr(args, "config", None) is None and not path.exists():
        return None
    return load_config(path).journal.url


def _open(db: Path | None, url: str | None = None, *, create: bool = False):
    """The journal to read; ``create``: `journal migrate`, which may create it and migrates it itself."""
    from console.execution.journal import Journal, default_journal_path

    if url is not None:
        return Journal.open(url, migrate=not create)
    path = db or default_journal_path()
    if create and not Path(path).is_dir():
        return Journal.open(path, migrate=False)
    if not Path(path).exists():
        raise UserError(f"no journal at {path} yet; the console creates it when it records its first ticket. "
                        "A --demo session keeps its own journal in a temporary folder, printed when it exits "
                        "('demo journal: PATH'): pass it with --db PATH")
    if Path(path).is_dir():
        raise UserError(f"--db {path}: is a folder; pass the journal file (journal.sqlite3)")
    try:
        return Journal.open(path)
    except sqlite3.DatabaseError as exc:  # e.g. --db pointing at a state.json
        raise UserError(f"{path}: not a journal ({exc}); pass --db the journal.sqlite3 the console writes") from None


def ticket_summary(journal: Any, t: Any) -> dict[str, Any]:
    orders = journal.orders(t.id)
    residual = journal.residual(t.id)
    return {
        "ticket": t.id, "created": _iso(t.created_ms), "kind": t.kind, "state": t.state.value,
        "confirmed": _iso(t.confirmed_ms), "confirm_key": t.confirm_key or "",
        "legs": "; ".join(f"{tl.leg.side} {tl.leg.contracts:g} {tl.leg.symbol}@{tl.leg.account}"
                          for tl in t.ticket.legs),
        "orders": len(orders), "fills": len(journal.fills(t.id)),
        "done": "; ".join(f"{r.done:+g}/{r.target:+g}" for r in residual),
        "residual": "; ".join(f"{r.remaining:+g}" for r in residual),
        "residual_accepted": t.residual_accepted, "note": t.note,
    }


def replay(journal: Any, ticket_id: str) -> dict[str, Any]:
    """Everything the journal knows about one ticket, in a JSON-ready dict."""
    from dataclasses import asdict

    from console.execution.journal import ticket_to_dict

    t = journal.ticket(ticket_id)
    snap = journal.snapshot_json(ticket_id)
    return {
        "ticket": t.id, "kind": t.kind, "state": t.state.value, "note": t.note,
        "created": _iso(t.created_ms),
        "snapshot": {"ts": _iso(t.snapshot_ts), "data": snap},
        "plan": {"ticket": ticket_to_dict(t.ticket), "preview": t.preview, "legging_s": t.legging_s},
        "confirmation": {"at": _iso(t.confirmed_ms), "keystroke": t.confirm_key,
                         "snapshot_ts": _iso(t.confirm_snapshot_ts),
                         "by": f"{t.confirmed_by}/{t.confirmed_console}" if t.confirmed_by else None},
        "orders": [{**asdict(o), "state": o.state.value} for o in journal.orders(ticket_id)],
        "fills": [asdict(f) for f in journal.fills(ticket_id)],
        "events": [{"ts": _iso(e.ts), "kind": e.kind, "client_id": e.client_id, "from": e.src, "to": e.dst,
                    "detail": e.detail} for e in journal.events(ticket_id)],
        "residual": [{"leg": r.leg, "account": r.account, "symbol": r.symbol, "target": r.target,
                      "done": r.done, "remaining": r.remaining, "accepted": r.accepted}
                     for r in journal.residual(ticket_id)],
    }


def render_replay(d: dict[str, Any]) -> str:
    out: list[str] = []
    w = out.append
    w(f"Ticket {d['ticket']}  {d['kind']}  {d['state']}")
    if d["note"]:
        w(f"  {d['note']}")
    w("")
    snap = d["snapshot"]["data"] or {}
    accts = sorted((snap.get("accounts") or {}).keys()) if isinstance(snap, dict) else []
    w(f"Snapshot  {d['snapshot']['ts']}" + (f"  accounts: {', '.join(accts)}" if accts else ""))
    w("Plan")
    for i, tl in enumerate(d["plan"]["ticket"]["legs"]):
        leg = tl["leg"]
        price = f" limit {tl['limit_price']:g}" if tl.get("limit_price") is not None else ""
        w(f"  leg {leg_number(i)}: {leg['side']} {leg['contracts']:g} {leg['symbol']} on {leg['account']} "
          f"({tl['style']['type']}{price}{', reduce-only' if leg['reduce_only'] else ''}; {leg['purpose']})")
    c = d["confirmation"]
    w(f"Confirmation  {c['at'] or 'not confirmed'}" + (f"  key {c['keystroke']!r} on snapshot {c['snapshot_ts']}"
                                                       if c["at"] else "")
      + (f"  by {c['by']}" if c.get("by") else ""))
    w("Orders")
    for o in d["orders"]:
        px = f" @ {o['average']:g}" if o["average"] else ""
        n = "—" if o["leg"] is None else leg_number(o["leg"])
        w(f"  {o['client_id']}  leg {n} try {o['attempt']} {o['purpose']}: {o['side']} {o['amount']:g} "
          f"{o['symbol']} {o['type']}  {o['state']}  filled {o['filled']:g}{px}"
          + (f"  ({o['error']})" if o["error"] else "") + (f"  by {o['origin']}" if o.get("origin") else ""))
    w("Fills")
    for f in d["fills"]:
        w(f"  {_iso(f['ts'])}  {f['client_id']}  {f['side']} {f['amount']:g} {f['symbol']} @ {f['price'] or 0:g}")
    if not d["fills"]:
        w("  none")
    w("Timeline")
    for e in d["events"]:
        move = f"{e['from'] or ''} → {e['to']}" if e["to"] else ""
        detail = "" if e["detail"] is None else " " + json.dumps(e["detail"], sort_keys=True)[:160]
        w(f"  {e['ts']}  {e['kind']}{' ' + e['client_id'] if e['client_id'] else ''}  {move}{detail}")
    w("Residual")
    for r in d["residual"]:
        w(f"  leg {leg_number(r['leg'])} {r['symbol']}: asked {r['target']:+g}, done {r['done']:+g}, "
          f"left {r['remaining']:+g}{' (accepted)' if r['accepted'] else ''}")
    return "\n".join(out)


def cmd_migrate(args: argparse.Namespace) -> int:
    journal = _open(args.db, journal_url(args), create=True)
    try:
        before, now = journal.migrate()
        print(f"journal {journal.where}: schema {now}" + (" (up to date)" if before == now else f" (was {before})"))
        return 0
    finally:
        journal.close()


def cmd_copy(args: argparse.Namespace) -> int:
    """`journal copy --to URL`: every row of the journal into a new, empty one."""
    from console.execution.journal import Journal

    to = checked_url(args.to, "--to")
    src = _open(args.db, journal_url(args))
    try:
        dst = Journal.open(to)
        try:
            counts = src.copy_to(dst)
        finally:
            dst.close()
    finally:
        src.close()
    print(f"copied {src.where} to {dst.where}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    print(f"point the console at it with [journal] url = \"{dst.where}\" in the config")
    return 0


def cmd_journal(args: argparse.Namespace) -> int:
    words = list(args.words or [])
    fmt = "csv" if args.csv else "json" if args.json else "text"
    if words == ["migrate"]:
        return cmd_migrate(args)
    if words == ["copy"]:
        if not args.to:
            raise UserError("usage: rebal-tui journal copy --to postgresql://USER@HOST/DATABASE")
        return cmd_copy(args)
    if args.to:
        raise UserError("--to belongs to `rebal-tui journal copy --to URL`")
    journal = _open(args.db, journal_url(args))
    try:
        if words[:1] == ["show"]:
            if len(words) != 2:
                raise UserError("usage: rebal-tui journal show TICKET")
            from console.execution.journal import JournalError

            try:
                d = replay(journal, words[1])
            except JournalError as exc:
                raise UserError(str(exc)) from None
            if fmt == "json":
                print(json.dumps(d, indent=1, default=str))
            elif fmt == "csv":
                raise UserError("journal show prints text or --json; --csv is for the list")
            else:
                print(render_replay(d))
            return 0
        if words:
            raise UserError(f"unknown journal command {' '.join(words)!r}; use `rebal-tui journal`, "
                            "`rebal-tui journal show TICKET`, `rebal-tui journal migrate` or "
                            "`rebal-tui journal copy --to URL`")
        since = parse_since(args.since) if args.since else None
        rows = [ticket_summary(journal, t) for t in journal.tickets(since)]
        if fmt == "json":
            print(json.dumps(rows, indent=1))
        elif fmt == "csv":
            buf = io.StringIO()
            fields = ["created", "ticket", "kind", "state", "confirmed", "confirm_key", "legs", "orders", "fills",
                      "done", "residual", "residual_accepted", "note"]
            wr = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
            wr.writeheader()
            wr.writerows(rows)
            sys.stdout.write(buf.getvalue())
        else:
            if not rows:
                print("no tickets" + (" since then" if since else ""))
            for r in rows:
                print(f"{r['created']}  {r['ticket']}  {r['kind']:<9} {r['state']:<13} {r['legs']}  "
                      f"done {r['done']}  left {r['residual']}")
        return 0
    finally:
        journal.close()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("journal", help="list executed tickets, or replay one: journal show TICKET; "
                                       "journal migrate; journal copy --to URL")
    p.add_argument("words", nargs="*", metavar="show TICKET | migrate | copy",
                   help="replay one ticket; bring the schema up to date; copy every row to --to")
    p.add_argument("--since", metavar="WHEN", help="only tickets since a duration ago (24h, 7d) or a date (2026-11-20)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--csv", action="store_true", help="CSV, one row per ticket")
    g.add_argument("--json", action="store_true", help="JSON: the list, or with show the full replay")
    p.add_argument("--db", type=Path, metavar="PATH", help="journal file (default: the user data folder's journal.sqlite3)")
    p.add_argument("--journal", metavar="URL", default=argparse.SUPPRESS,
                   help="a shared PostgreSQL journal, postgresql://USER@HOST:PORT/DATABASE (default: the "
                        "config's [journal] url, else the SQLite file); the password goes in ~/.pgpass")
    p.add_argument("--to", metavar="URL", help="with copy: the new, empty PostgreSQL journal to copy into")
    p.set_defaults(func=cmd_journal)
