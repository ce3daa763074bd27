"""DOMAIN.md's worked examples 1–3, reproduced exactly through `rebal-tui plan --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli.main import main
from console.core.snapshot import save_snapshot
from tests import factories as f


def run_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, snap, *extra: str) -> dict:
    cfg = tmp_path / "portfolio.toml"
    cfg.write_text(toml)
    state = tmp_path / "state.json"
    save_snapshot(snap, state)
    capsys.readouterr()
    assert main(["plan", "--config", str(cfg), "--state", str(state), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def row(out: dict, name: str) -> dict:
    return next(r for r in out["rows"] if r["sleeve"] == name)


def test_example_1_btc_58_vs_50_breach_short_8000(tmp_path, capsys):
    # TPV $100,000, BTC 58 % vs 50 % ± 5 → breach; reduce BTC by $8,000 with a BTC futures short
    toml = """
[portfolio]
band_policy = "absolute"
band_abs = 0.05
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.50
hedges = ["BTC/USDT:USDT"]
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.50
"""
    snap = f.snapshot(
        f.account("spot", "binance", markets=[f.market("BTC/USDT")], balance={"BTC": 1.16, "USDT": 42_000},
                  tickers=[f.ticker("BTC/USDT", 50_000)]),
        f.account("fut", "binanceusdm", markets=[f.market("BTC/USDT:USDT", min_cost=100)],
                  tickers=[f.ticker("BTC/USDT:USDT", 50_000)]),
    )
    out = run_plan(tmp_path, capsys, toml, snap)
    assert out["nav"] == pytest.approx(100_000)
    btc = row(out, "BTC")
    assert btc["weight"] == pytest.approx(0.58)
    assert btc["status"] == "breach"
    assert btc["delta"] == pytest.approx(-8_000)
    assert out["legs"] == [{
        "sleeve": "BTC", "account": "fut", "symbol": "BTC/USDT:USDT", "side": "sell", "contracts": 0.16,
        "notional": 8_000.0, "price": 50_000, "reduce_only": False, "purpose": "open",
    }]


def test_example_2_alts_20_vs_15_short_25000_of_index(tmp_path, capsys):
    # TPV $500,000; BTC 40±4, ETH 30±3, ALTS 15±2, STABLE 15±3; ALTS at 20 % > 17 % → breach;
    # excess 5 % = $25,000 → short $25,000 notional of an alt index future (a proxy)
    toml = f.EXAMPLE_2_CONFIG
    snap = f.snapshot(
        f.account("spot", "binance", balance={"BTC": 2, "ETH": 50, "SOL": 250, "AVAX": 2_000, "USDT": 50_000},
                  tickers=[f.ticker("BTC/USDT", 100_000), f.ticker("ETH/USDT", 3_000),
                           f.ticker("SOL/USDT", 200), f.ticker("AVAX/USDT", 25)]),
        f.account("fut", "binanceusdm", markets=[f.market("ALTIDX/USDT:USDT", step=1, min_cost=5)],
                  tickers=[f.ticker("ALTIDX/USDT:USDT", 100)]),
    )
    out = run_plan(tmp_path, capsys, toml, snap)
    assert out["nav"] == pytest.approx(500_000)
    alts = row(out, "ALTS")
    assert alts["weight"] == pytest.approx(0.20)
    assert alts["band"] == pytest.approx([0.13, 0.17])
    assert alts["status"] == "breach"
    assert alts["delta"] == pytest.approx(-25_000)
    assert [r["status"] for r in out["rows"]] == ["ok", "ok", "breach", "breach"]  # cash is the residual
    assert len(out["legs"]) == 1
    leg = out["legs"][0]
    assert (leg["symbol"], leg["side"], leg["contracts"], leg["notional"]) == ("ALTIDX/USDT:USDT", "sell", 250, 25_000)


EXAMPLE_3 = """
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.5
hedges = ["BTC/USDT:USDT"]
[[sleeves]]
name = "ETH"
assets = ["ETH"]
target = 0.5
hedges = ["ETH/USDT:USDT"]
"""


def example_3_snapshot():
    return f.snapshot(
        f.account("spot", "binance", balance={"BTC": 65_000 / 60_000, "ETH": 35_000 / 3_000},
                  tickers=[f.ticker("BTC/USDT", 60_000), f.ticker("ETH/USDT", 3_000)]),
        f.account("fut", "binanceusdm",
                  markets=[f.market("BTC/USDT:USDT", min_cost=100), f.market("ETH/USDT:USDT", tick=0.01, min_cost=20)],
                  tickers=[f.ticker("BTC/USDT:USDT", 60_000), f.ticker("ETH/USDT:USDT", 3_000)]),
    )


def test_example_3_spread_short_025_btc_long_5_eth(tmp_path, capsys):
    # $100,000 = BTC $65,000 + ETH $35,000, target 50/50, BTC $60,000, ETH $3,000
    # → short $15,000 BTC perp = 0.25 BTC, long $15,000 ETH perp = 5 ETH
    out = run_plan(tmp_path, capsys, EXAMPLE_3, example_3_snapshot())
    legs = [(leg["symbol"], leg["side"], leg["contracts"], leg["notional"]) for leg in out["legs"]]
    assert legs == [("BTC/USDT:USDT", "sell", 0.25, 15_000), ("ETH/USDT:USDT", "buy", 5, 15_000)]


def test_example_3_after_the_legs_exposure_is_50_50_and_spot_untouched():
    from console.core.allocation import compute_allocation
    from console.core.overlay import apply_legs, plan_overlay

    cfg = f.config(EXAMPLE_3)
    snap = example_3_snapshot()
    before = compute_allocation(cfg, snap)
    after_snap = apply_legs(snap, plan_overlay(cfg, snap, before).legs)
    after = compute_allocation(cfg, after_snap)
    assert after.row("BTC").weight == pytest.approx(0.5)
    assert after.row("ETH").weight == pytest.approx(0.5)
    assert after_snap.accounts["spot"].balance == snap.accounts["spot"].balance
    assert [a.spot_value for a in after.row("BTC").assets] == pytest.approx([65_000])


def test_plan_to_band_edge_sizes_to_the_nearest_edge(tmp_path, capsys):
    out = run_plan(tmp_path, capsys, EXAMPLE_3, example_3_snapshot(), "--to", "band")
    # band 50 ± 5 (5/25 rule: min(5 pp, 12.5 pp)); BTC 65 % → 55 %: short $10,000 = 0.1666… → 0.166 BTC
    legs = [(leg["symbol"], leg["side"], leg["contracts"]) for leg in out["legs"]]
    assert legs == [("BTC/USDT:USDT", "sell", 0.166), ("ETH/USDT:USDT", "buy", 3.333)]
