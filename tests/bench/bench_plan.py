"""Benchmark: ms per full plan (propose + preview of every ticket, with what-if and stress)
for 500 sleeves on 3 accounts (spot + two USDⓈ-M accounts listing every perp; dated futures
on the first). Run on demand:  python tests/bench/bench_plan.py [--runs N] [--sleeves N]
"""

from __future__ import annotations

import argparse
import random
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

DAY = 86_400_000


def build(n: int, seed: int = 7) -> tuple[Config, Snapshot, dict]:
    rng = random.Random(seed)
    target = round(0.9 / n, 8)
    sleeves = []
    for i in range(n):
        a = f"A{i}"
        sleeves.append({"name": a, "assets": [a], "target": target,
                        "hedges": [f"{a}/USDT:USDT", f"{a}/USDT:USDT-261225"]})
    sleeves.append({"name": "STABLE", "assets": ["USDT"], "target": round(1 - target * n, 8)})
    cfg = Config.model_validate({
        "portfolio": {"band_policy": "absolute", "band_abs": target * 0.2, "weight_tolerance": 0.001},
        "sleeves": sleeves,
        "accounts": [{"name": "spot", "exchange": "binance"},
                     {"name": "futA", "exchange": "binanceusdm", "markets": ["swap", "future"]},
                     {"name": "futB", "exchange": "binanceusdm", "markets": ["swap"]}],
        "limits": {"min_trade_notional": 5},
    })
    spot_bal, spot_t, spot_m = {"USDT": 1_000_000.0}, [], []
    fa_m, fa_t, fa_f, fa_p, fb_m, fb_t, fb_f = [], [], [], [], [], [], []
    books = {}
    for i in range(n):
        a = f"A{i}"
        px = rng.uniform(1, 1000)
        nav_share = 9_000_000 / n
        spot_bal[a] = nav_share * rng.uniform(0.6, 1.4) / px
        spot_m.append(f.market(f"{a}/USDT", step=0.0001, tick=0.0001, taker=0.001))
        spot_t.append(f.ticker(f"{a}/USDT", px))
        perp, dated = f"{a}/USDT:USDT", f"{a}/USDT:USDT-261225"
        fa_m += [f.market(perp, step=0.001, tick=0.0001), f.market(dated, step=0.001, tick=0.0001, expiry=f.T0 + 34 * DAY)]
        fb_m.append(f.market(perp, step=0.001, tick=0.0001, taker=rng.choice([0.0004, 0.0005])))
        fa_t += [f.ticker(perp, px), f.ticker(dated, px * rng.uniform(1.0, 1.03))]
        fb_t.append(f.ticker(perp, px))
        rate = rng.uniform(-0.0002, 0.0004)
        fa_f.append({"symbol": perp, "fundingRate": rate, "interval": "8h", "fundingTimestamp": f.T0 + 3_600_000})
        fb_f.append({"symbol": perp, "fundingRate": rate, "interval": "8h", "fundingTimestamp": f.T0 + 3_600_000})
        if rng.random() < 0.3:
            q = round(nav_share * rng.uniform(-0.3, 0.3) / px, 3)
            if q:
                fa_p.append(f.position(perp, q, mark=px))
        half = px * 0.0001
        books[perp] = {"bids": [[px - half - k * px * 0.0005, rng.uniform(1, 50) * 1000 / px] for k in range(10)],
                       "asks": [[px + half + k * px * 0.0005, rng.uniform(1, 50) * 1000 / px] for k in range(10)],
                       "timestamp": f.T0}
    snap = f.snapshot(
        f.account("spot", "binance", markets=spot_m, balance=spot_bal, tickers=spot_t),
        f.account("futA", "binanceusdm", markets=fa_m, balance={"USDT": 2_000_000}, tickers=fa_t, funding=fa_f,
                  positions=fa_p),
        f.account("futB", "binanceusdm", markets=fb_m, balance={"USDT": 1_000_000}, tickers=fb_t, funding=fb_f),
    )
    return cfg, snap, books


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
