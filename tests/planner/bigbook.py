"""A seeded large book for planning at scale: the plan benchmark and the scale tests share it."""

from __future__ import annotations

import random

from console.core.config import Config
from console.core.snapshot import Snapshot
from tests import factories as f

DAY = 86_400_000


def build(n: int, seed: int = 7, *, varied: bool = False) -> tuple[Config, Snapshot, dict]:
    """``n`` sleeves on 3 accounts: spot, futA (perps and dated futures, ~30 % of perps held)
    and futB (perps). ``varied``: positions entered off their mark (uPnL) and every third one
    isolated, so the margin figures exercise every term."""
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
                if varied:
                    fa_p.append(f.position(perp, q, mark=px, entry=px * rng.uniform(0.8, 1.2),
                                           margin_mode="isolated" if len(fa_p) % 3 == 0 else "cross"))
                else:
                    fa_p.append(f.position(perp, q, mark=px))
        half = px * 0.0001
        b = {"bids": [[px - half - k * px * 0.0005, rng.uniform(1, 50) * 1000 / px] for k in range(10)],
             "asks": [[px + half + k * px * 0.0005, rng.uniform(1, 50) * 1000 / px] for k in range(10)],
             "timestamp": f.T0}
        for acct in ("futA", "futB"):  # venue data is keyed by account: both list the perp
            books.setdefault(acct, {})[perp] = b
    snap = f.snapshot(
        f.account("spot", "binance", markets=spot_m, balance=spot_bal, tickers=spot_t),
        f.account("futA", "binanceusdm", markets=fa_m, balance={"USDT": 2_000_000}, tickers=fa_t, funding=fa_f,
                  positions=fa_p),
        f.account("futB", "binanceusdm", markets=fb_m, balance={"USDT": 1_000_000}, tickers=fb_t, funding=fb_f),
    )
    return cfg, snap, books
