"""Benchmark: a full plan (allocation, propose, and the preview of every ticket with costs,
what-if margin, stress and checks) on a seeded book of N sleeves on 3 accounts (spot + two
USDⓈ-M accounts listing every perp; dated futures on the first, ~30 % of perps held there).
Run on demand:

    python tests/bench/bench_plan.py [--runs N] [--sleeves 500] [--small 50]

It prints, for the large book, which part takes what (allocation, propose and its roll scan,
the previews split into costs + margin + checks and the stress table), the same full plan for the small book in
the same run (the ratio shows whether time is linear in sleeves), and one ticket's preview
against the large pool as the builder runs it per keystroke: warm (the snapshot's pools
already summed) and cold (the first preview on a new snapshot). Each figure is the median
over the runs, in CPU ms of this process (the machine is shared, so wall time, also shown,
carries other processes' load); a per-ticket figure also gives its p99. The previews run
as `plan` runs them, with the cyclic collector paused (propose pauses it itself). The last
line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.core import risk  # noqa: E402
from console.core.allocation import compute_allocation  # noqa: E402
from console.core.config import Config  # noqa: E402
from console.core.gcpause import gc_paused  # noqa: E402
from console.core.planner import propose  # noqa: E402
from console.core.preview import preview  # noqa: E402
from console.core.snapshot import Snapshot  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.planner.bigbook import build  # noqa: E402


def clocked(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """fn's result, its CPU ms and its wall ms."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000


def fresh(snap: Snapshot) -> Snapshot:
    """The same data as new objects: what a new streamed snapshot looks like to the caches."""
    return Snapshot(snap.timestamp, {n: type(a)(**{k: getattr(a, k) for k in a.__dataclass_fields__})
                                     for n, a in snap.accounts.items()})


def plan_parts(cfg: Config, snap: Snapshot, books: dict) -> dict[str, float]:
    """One full plan on a new snapshot, timed by part (CPU ms), and wall ms of the whole."""
    snap = fresh(snap)
    w0 = time.perf_counter()
    alloc, t_alloc, _ = clocked(lambda: compute_allocation(cfg, snap))
    tickets, t_prop, _ = clocked(lambda: propose(cfg, snap, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc))
    # propose's share for the roll scan (every perp hedge weighed against its dated twin):
    # the same proposal without it, on a new snapshot of its own
    snap_nr = fresh(snap)
    _, t_norolls, _ = clocked(lambda: propose(cfg, snap_nr, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc,
                                              rolls=False))
    with gc_paused():  # the parts run as `plan` runs its previews
        _, t_nostress, _ = clocked(lambda: [preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7,
                                                    alloc=alloc, stress=False) for t in tickets])

    def what_ifs(moves: tuple[float, ...]) -> list[risk.WhatIf]:
        with gc_paused():
            return [risk.what_if(snap, [tl.leg for tl in t.legs], tiers=None, quote=cfg.portfolio.quote,
                                 default_leverage=cfg.limits.max_leverage, spot_values=alloc.spot_values(),
                                 stress_moves=moves) for t in tickets]

    # the stress tables' share: every ticket's what-if with them, less without
    _, t_with, _ = clocked(lambda: what_ifs(risk.STRESS_MOVES))
    _, t_without, _ = clocked(lambda: what_ifs(()))
    t_stress = t_with - t_without
    wall = (time.perf_counter() - w0) * 1000
    # the full plan as the CLI runs it (stress included), timed on its own new snapshot
    snap2 = fresh(snap)

    def full() -> int:
        a = compute_allocation(cfg, snap2)
        ts = propose(cfg, snap2, books=books, now_ms=f.T0, horizon_days=7, alloc=a)
        with gc_paused():  # as `plan` previews its tickets
            return sum(len(preview(cfg, snap2, t, books=books, now_ms=f.T0, horizon_days=7, alloc=a).legs)
                       for t in ts)

    legs, t_full, w_full = clocked(full)
    return {"alloc": t_alloc, "propose": t_prop, "rolls": t_prop - t_norolls, "previews_without_stress": t_nostress, "stress": t_stress,
            "full": t_full, "full_wall": w_full, "parts_wall": wall, "tickets": len(tickets), "legs": legs}


def keystroke(cfg: Config, snap: Snapshot, books: dict) -> dict[str, float]:
    """One ticket's preview against the large pool, per ticket: warm (pools summed) and cold."""
    alloc = compute_allocation(cfg, snap)
    tickets = propose(cfg, snap, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)
    tickets = [t for t in tickets if any(tl.leg.account == "futA" for tl in t.legs)]
    warm = []
    for t in tickets:
        _, c, _ = clocked(lambda t=t: preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc))
        warm.append(c)
    cold = []
    for t in tickets[:20]:
        s = fresh(snap)
        _, c, _ = clocked(lambda t=t, s=s: preview(cfg, s, t, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc))
        cold.append(c)
    return {"pool": len(risk.account_positions(snap, "futA", cfg.limits.max_leverage)),
            "warm_p50": statistics.median(warm), "warm_p99": p99(warm), "cold_p50": statistics.median(cold),
            "cold_max": max(cold), "n": len(warm)}


def p99(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


def med(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sleeves", type=int, default=500)
    ap.add_argument("--small", type=int, default=50)
    a = ap.parse_args()
    big, small = build(a.sleeves), build(a.small)
    plan_parts(*big)  # warm: ccxt import and per-account exchange objects
    plan_parts(*small)
    rows_big, rows_small, keys = [], [], []
    for _ in range(a.runs):  # interleaved, so both books see the same machine load
        rows_big.append(plan_parts(*big))
        rows_small.append(plan_parts(*small))
        keys.append(keystroke(*big))
    r0 = rows_big[0]
    full_big, full_small = med(rows_big, "full"), med(rows_small, "full")
    out = {
        "sleeves": a.sleeves, "tickets": r0["tickets"], "legs": r0["legs"],
        "full_plan_ms": round(full_big, 1), "full_plan_wall_ms": round(med(rows_big, "full_wall"), 1),
        "alloc_ms": round(med(rows_big, "alloc"), 1), "propose_ms": round(med(rows_big, "propose"), 1),
        "propose_rolls_ms": round(med(rows_big, "rolls"), 1),
        "previews_without_stress_ms": round(med(rows_big, "previews_without_stress"), 1),
        "stress_ms": round(med(rows_big, "stress"), 1),
        "small_sleeves": a.small, "small_full_plan_ms": round(full_small, 1),
        "linear_ratio": round(full_big / full_small, 2), "sleeve_ratio": a.sleeves / a.small,
        "pool_positions": keys[0]["pool"],
        "preview_warm_p50_ms": round(statistics.median(k["warm_p50"] for k in keys), 3),
        "preview_warm_p99_ms": round(statistics.median(k["warm_p99"] for k in keys), 3),
        "preview_cold_p50_ms": round(statistics.median(k["cold_p50"] for k in keys), 3),
        "runs": a.runs,
    }
    print(f"{a.sleeves} sleeves on 3 accounts: {out['tickets']} tickets, {out['legs']} legs; "
          f"medians over {a.runs} runs, CPU ms of this process")
    print(f"full plan (allocation + propose + every preview with costs, what-if, stress, checks): "
          f"{out['full_plan_ms']:,.1f} ms (wall {out['full_plan_wall_ms']:,.1f} ms)")
    print(f"  allocation {out['alloc_ms']:,.1f} ms; propose() {out['propose_ms']:,.1f} ms "
          f"(of which the roll scan {out['propose_rolls_ms']:,.1f} ms); "
          f"previews without stress (costs, margin before/after, checks) {out['previews_without_stress_ms']:,.1f} ms; "
          f"of the full plan, the stress tables {out['stress_ms']:,.1f} ms")
    print(f"{a.small} sleeves, same run: full plan {out['small_full_plan_ms']:,.1f} ms; "
          f"{a.sleeves}/{a.small} = {out['linear_ratio']:.2f}x for {out['sleeve_ratio']:g}x the sleeves")
    print(f"one ticket's preview against the {out['pool_positions']}-position pool (per keystroke in the builder): "
          f"p50 {out['preview_warm_p50_ms']:.3f} ms, p99 {out['preview_warm_p99_ms']:.3f} ms; first on a new "
          f"snapshot {out['preview_cold_p50_ms']:.3f} ms")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
