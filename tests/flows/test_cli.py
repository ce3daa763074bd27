"""`rebal-tui flows` through console.cli.main.main, with a fixed --date (never today)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli.main import main
from console.core.snapshot import save_snapshot
from tests import factories as f

BASKET = """
[basket]
name = "hand example"
[[funds]]
name = "A"
aum_at_rebalance = 1_000_000_000   # value ON 2026-09-30; grown by the portfolio return
last_rebalance = 2026-09-30
targets = { SPX = 0.60, AGG = 0.38, BTC = 0.02 }

[[funds]]
name = "B"
aum_at_rebalance = 500_000_000
last_rebalance = 2026-09-30
targets = { SPX = 0.55, AGG = 0.40, BTC = 0.03, ETH = 0.02 }
"""
LEVELS = """date,SPX,AGG,BTC,ETH
2026-09-30,100,100,60000,2500
2026-11-20,110,95,90000,2000
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    b, lv = tmp_path / "funds.toml", tmp_path / "levels.csv"
    b.write_text(BASKET, encoding="utf-8")
    lv.write_text(LEVELS, encoding="utf-8")
    return b, lv


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["flows", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_sample_json(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--date", "2026-11-20")
    assert out["illustrative"] is True
    assert any("ILLUSTRATIVE" in n for n in out["notes"])
    assert out["date"] == "2026-11-20" and len(out["funds"]) == 7
    assert out["quarter"]["window_start"] == "2026-12-24" and out["quarter"]["trading_days_left"] == 28
    btc = out["assets"][0]
    assert btc["asset"] == "BTC" and btc["flow"] < 0 and btc["action"] == "must buy"
    assert btc["coins"] == pytest.approx(btc["flow"] / 91_800)
    held = [fund for fund in out["funds"] if not fund["trades"]]
    assert [h["name"] for h in held] == ["Aldergrove Risk-Parity Digital (fictional)"]
    assert out["sources"]["crypto_now"].endswith("index_levels.sample.csv")


def test_hand_example_through_the_cli(capsys: pytest.CaptureFixture[str], files: tuple[Path, Path]) -> None:
    basket, levels = files
    out = run_json(capsys, "--funds", str(basket), "--levels", str(levels), "--date", "2026-11-20")
    assert out["illustrative"] is False and not any("ILLUSTRATIVE" in n for n in out["notes"])
    a = out["funds"][0]
    assert a["aum_now"] == pytest.approx(1_051_000_000)  # 1e9 × 1.051
    assert a["crypto_flow"] == pytest.approx(8_980_000)
    # 8,980,000 (A) + 6,810,000 (B), see test_formula.py for the arithmetic
    assert out["assets"][0]["flow"] == pytest.approx(15_790_000)
    assert out["assets"][1]["flow"] == pytest.approx(-2_460_000)
    assert out["assets"][1]["coins"] == pytest.approx(-1_230)


def test_typed_returns_and_prices(capsys: pytest.CaptureFixture[str], files: tuple[Path, Path]) -> None:
    basket, levels = files
    out = run_json(capsys, "--funds", str(basket), "--levels", str(levels), "--date", "2026-11-20",
                   "--spx-return", "0%", "--agg-return", "0", "--prices", "BTC=120000,ETH=2500")
    a = out["funds"][0]
    # BTC 60,000 -> 120,000 = +100 %, others flat: g = 0.98 + 0.04 = 1.02
    # flow = 0.04e9 − 0.02 × 1.02e9 = 19,600,000; coins = 19.6e6 / 120,000
    btc = next(s for s in a["sleeves"] if s["sleeve"] == "BTC")
    assert btc["flow"] == pytest.approx(19_600_000)
    assert btc["coins"] == pytest.approx(19_600_000 / 120_000)
    assert btc["return_source"].endswith("→ --prices")
    assert out["sources"]["typed_returns"] == "SPX +0.00%, AGG +0.00%"


def test_state_gives_prices_and_date(capsys: pytest.CaptureFixture[str], files: tuple[Path, Path],
                                     tmp_path: Path) -> None:
    basket, levels = files
    state = tmp_path / "state.json"
    save_snapshot(f.snapshot(f.account("spot", "binance", tickers=[f.ticker("BTC/USDT", 90_000),
                                                                   f.ticker("ETH/USDT", 2_000)])), state)
    out = run_json(capsys, "--funds", str(basket), "--levels", str(levels), "--state", str(state))
    assert out["date"] == "2026-11-21"  # the snapshot's (factories.T0), not today
    assert out["assets"][0]["flow"] == pytest.approx(15_790_000)
    assert out["sources"]["crypto_now"] == f"snapshot {state}"


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "--date", "2026-11-20"]) == 0
    text = capsys.readouterr().out
    for piece in ("ILLUSTRATIVE", "Fund flows on 2026-11-20", "must buy", "Aggregate flow by asset",
                  "window opens 2026-12-24", "threshold rule", "held"):
        assert piece in text, piece


@pytest.mark.parametrize("argv, message", [
    (["--date", "20-11-2026"], "--date: '20-11-2026' is not a date; write YYYY-MM-DD"),
    (["--date", "2026-11-20", "--prices", "BTC:9"], "--prices: 'BTC:9' is not ASSET=PRICE"),
    (["--date", "2026-11-20", "--spx-return", "lots"], "--spx-return: 'lots' is not a return"),
    (["--date", "2026-11-20", "--prices", "SOL=150"], "--prices: SOL is not a crypto asset of the basket"),
    (["--date", "2026-09-01"], "last_rebalance 2026-09-30 is after the date 2026-09-01"),
    (["--date", "2026-12-15"], "more than 7 days before 2026-12-15; extend the --levels CSV"),
    (["--funds", "/nonexistent/funds.toml"], "no such fund basket"),
])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(["flows", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rebal-tui: ") and message in err
    assert "Traceback" not in err


def test_bad_csv_and_missing_levels_exit_2(capsys: pytest.CaptureFixture[str], files: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    basket, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("date,SPX,AGG\n2026-09-30,100,1o0\n", encoding="utf-8")
    assert main(["flows", "--funds", str(basket), "--levels", str(bad), "--date", "2026-11-20"]) == 2
    assert f"{bad}: line 2, column AGG: '1o0' is not a number" in capsys.readouterr().err
    # own basket, no levels: the error says which flag supplies the missing series
    assert main(["flows", "--funds", str(basket), "--date", "2026-11-20"]) == 2
    err = capsys.readouterr().err
    assert "no SPX level on the last rebalance date 2026-09-30" in err and "--spx-return" in err


def _emulator_ready() -> bool:
    from console.cli.flows import _emulator_available

    return _emulator_available()


@pytest.mark.skipif(not _emulator_ready(), reason="console.emulator is not in this build")
def test_demo_takes_crypto_from_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    # The emulator's clock is frozen at its start instant (2026-11-21 12:00 UTC), so the date
    # and the figures are the same on every run.
    out = run_json(capsys, "--demo")
    assert out["date"] == "2026-11-21"
    assert out["sources"]["crypto_now"] == "demo emulator"
    assert out["sources"]["crypto_start"] == "demo emulator"  # every rebalance date has a candle
    btc = next(s for s in out["funds"][0]["sleeves"] if s["sleeve"] == "BTC")
    assert btc["return_source"].startswith("demo emulator")
    assert btc["price"] == out["assets"][0]["price"] > 0
    # equities and bonds still come from the (sample) CSV
    spx = next(s for s in out["funds"][0]["sleeves"] if s["sleeve"] == "SPX")
    assert spx["return_source"].endswith("index_levels.sample.csv")
    again = run_json(capsys, "--demo")
    assert again["assets"] == out["assets"]


def test_readme_example_negative_percent_return(capsys: pytest.CaptureFixture[str], files: tuple[Path, Path]) -> None:
    """The README's own example, `--spx-return 2.1% --agg-return -0.4%`: a value that starts
    with a dash is a return, not an option."""
    basket, levels = files
    out = run_json(capsys, "--funds", str(basket), "--levels", str(levels), "--date", "2026-11-20",
                   "--spx-return", "2.1%", "--agg-return", "-0.4%", "--prices", "BTC=120000,ETH=2500")
    # fund A: g = 0.60 × 1.021 + 0.38 × 0.996 + 0.02 × 2 = 1.03108
    g = 0.60 * 1.021 + 0.38 * 0.996 + 0.02 * 2
    btc = next(s for s in out["funds"][0]["sleeves"] if s["sleeve"] == "BTC")
    # flow = BTC value now − target × AUM now = 0.04e9 − 0.02 × g × 1e9
    assert btc["flow"] == pytest.approx(0.04e9 - 0.02 * g * 1e9)
    assert out["sources"]["typed_returns"] == "SPX +2.10%, AGG -0.40%"
