"""Benchmark: ms per full plan (propose + preview of every ticket, with what-if and stress)
for 500 sleeves on 3 accounts (spot + two USDⓈ-M accounts listing every perp; dated futures
on the first). Run on demand:  python tests/bench/bench_plan.py [--runs N] [--sleeves N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.core.allocation import compute_allocation  # noqa: E402
from console.core.config import Config  # noqa: E402
from console.core.planner import propose  # noqa: E402
from console.core.preview import preview  # noqa: E402
from console.core.snapshot import Snapshot  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.planner.bigbook import build  # noqa: E402


def full_plan(cfg: Config, snap: Snapshot, books: dict) -> tuple[int, int, float]:
    """Returns tickets, legs, and the ms propose() alone took."""
    t0 = time.perf_counter()
    alloc = compute_allocation(cfg, snap)
    tickets = propose(cfg, snap, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)
    t_propose = (time.perf_counter() - t0) * 1000
    legs = 0
    for t in tickets:
        pv = preview(cfg, snap, t, books=books, now_ms=f.T0, horizon_days=7, alloc=alloc)
        legs += len(pv.legs)
    return len(tickets), legs, t_propose


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sleeves", type=int, default=500)
    a = ap.parse_args()
    cfg, snap, books = build(a.sleeves)
    full_plan(cfg, snap, books)  # warm: ccxt import and per-account exchange objects
    times, props = [], []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        n_t, n_l, t_p = full_plan(cfg, snap, books)
        times.append((time.perf_counter() - t0) * 1000)
        props.append(t_p)
    med = statistics.median(times)
    print(f"{a.sleeves} sleeves on 3 accounts: {n_t} tickets, {n_l} legs")
    print(f"full plan (allocation + propose + preview of every ticket with costs, what-if, stress, checks): "
          f"median {med:,.0f} ms over {a.runs} runs (min {min(times):,.0f} ms)")
    print(f"  of which propose(): median {statistics.median(props):,.0f} ms; "
          f"preview: {(med - statistics.median(props)) / max(n_t, 1):,.1f} ms per ticket")


if __name__ == "__main__":
    main()
