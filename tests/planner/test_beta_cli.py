"""Beta by hand, and `rebal-tui plan` with the planner flags (text and JSON)."""

from __future__ import annotations

import json

import pytest

from console.cli.main import main
from console.cli.plan import parse_horizon
from console.core.beta import basket, beta_r2, fit_beta
from console.core.errors import UserError
from console.core.snapshot import save_snapshot
from tests import factories as f
from tests.planner.world import TOML, book, world


def test_beta_and_r2_by_hand():
    # rx = [0.01, −0.02, 0.03], ry = [0.02, 0.00, 0.01]; means 0.00667, 0.01
    # dx = [0.00333, −0.02667, 0.02333], dy = [0.01, −0.01, 0]
    # Σdx·dy = 0.0003, Σdx² = 0.00126667, Σdy² = 0.0002
    # beta = 0.0003 / 0.00126667 = 0.236842; R² = 0.0003² / (0.00126667 × 0.0002) = 0.355263
    b, r2 = beta_r2([0.02, 0.0, 0.01], [0.01, -0.02, 0.03])
    assert b == pytest.approx(0.236842, rel=1e-5)
    assert r2 == pytest.approx(0.355263, rel=1e-5)


def test_fit_beta_aligns_timestamps_and_uses_the_lookback():
    x = {i: 100 * (1 + 0.01 * (i % 3)) for i in range(40)}
    y = {i: 50 * (1 + 0.02 * (i % 3)) for i in range(5, 45)}  # starts later, ends later
    fit = fit_beta(y, x, lookback=20)
    assert fit.n == 20
    assert fit.r2 > 0.99


def test_basket_is_value_weighted():
    # two assets, weights 3:1; one doubles, the other is flat → the basket is 1 → 1.75
    s = basket([(3.0, {0: 10, 1: 20}), (1.0, {0: 5, 1: 5})])
    assert s == {0: pytest.approx(1.0), 1: pytest.approx(1.75)}


def test_parse_horizon():
    assert parse_horizon("7d") == 7 and parse_horizon("36h") == 1.5 and parse_horizon("2w") == 14
    assert parse_horizon("3") == 3
    with pytest.raises(UserError):
        parse_horizon("soon")


def run(tmp_path, capsys, *extra, snap=None):
    cfg = tmp_path / "portfolio.toml"
    cfg.write_text(TOML)
    state = tmp_path / "state.json"
    save_snapshot(snap or world()[1], state)
    capsys.readouterr()
    rc = main(["plan", "--config", str(cfg), "--state", str(state), "--now", "snapshot", *extra])
    return rc, capsys.readouterr()


def test_plan_json_keeps_the_old_keys_and_adds_tickets(tmp_path, capsys):
    rc, out = run(tmp_path, capsys, "--json")
    assert rc == 0
    d = json.loads(out.out)
    assert {"nav", "quote", "timestamp", "goal", "unrealized_pnl", "missing_prices", "rows", "legs",
            "skipped"} <= set(d)
    assert [t["kind"] for t in d["tickets"]] == ["spread"]
    assert "what_if" not in d["tickets"][0] or d["tickets"][0]["what_if"] == {}


def test_plan_spread_what_if_stress_json(tmp_path, capsys):
    books = tmp_path / "books.json"
    books.write_text(json.dumps({"BTC/USDT:USDT-261225": book(61_200, half_spread=5, levels=[(0, 1)])}))
    rc, out = run(tmp_path, capsys, "--json", "--spread", "BTC/ETH", "--horizon", "7d", "--what-if", "--stress",
                  "--books", str(books))
    assert rc == 0
    t = json.loads(out.out)["tickets"][0]
    assert t["kind"] == "spread" and len(t["legs"]) == 2
    assert t["legs"][0]["items"][1]["known"]  # slippage walked on the given book
    assert t["what_if"]["after"][0]["positions"][0]["liquidation_price"] > 61_200
    assert len(t["what_if"]["stress"]) == 12
    assert t["verdict"]["worth_it"] and t["ok"]


def test_plan_roll_and_text_output(tmp_path, capsys):
    snap = world(positions=[f.position("BTC/USDT:USDT", -0.2, mark=60_000)])[1]
    rc, out = run(tmp_path, capsys, "--roll", "BTC", "--what-if", "--stress", snap=snap)
    assert rc == 0
    text = out.out
    assert "ROLL" in text and "perp → dated" in text
    assert "What-if" in text and "Stress" in text and "liquidation price" in text
    assert "fallback: Binance BTCUSDT default brackets" in text


def test_plan_tiers_file_is_used(tmp_path, capsys):
    tiers = tmp_path / "tiers.json"
    tiers.write_text(json.dumps({"BTC/USDT:USDT-261225": [
        {"tier": 1, "minNotional": 0, "maxNotional": 1e9, "maintenanceMarginRate": 0.01, "maxLeverage": 50,
         "info": {"cum": "0"}}]}))
    rc, out = run(tmp_path, capsys, "--json", "--hedge", "BTC", "--what-if", "--tiers", str(tiers))
    a = json.loads(out.out)["tickets"][0]["what_if"]["after"][0]
    # 0.212 × 61,200 = 12,974.4 × 1 % = 129.744
    assert a["maintenance"] == pytest.approx(129.744)
    assert a["tiers"] == "venue tiers"


def test_plan_bad_flags_are_user_errors(tmp_path, capsys):
    rc, out = run(tmp_path, capsys, "--spread", "ETH/BTC")
    assert rc == 2 and "not overweight" in out.err
    rc, out = run(tmp_path, capsys, "--slices", "3")
    assert rc == 2 and "over_minutes" in out.err
