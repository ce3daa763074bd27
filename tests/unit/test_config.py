"""Config and state files: bad input names the field and the fix; exit 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from console.cmd_config import sample_config_text
from console.config import parse_config
from console.errors import UserError

GOOD = """
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.6
hedges = ["BTC/USDT:USDT"]
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.4
"""


@pytest.mark.parametrize(("toml", "words"), [
    (GOOD.replace("0.4", "0.5"), ["targets add up to 1.1000", "adjust the targets"]),
    (GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = ["ETH/USDT:USDT"]'),
     ["sleeves.0", "is on ETH", "proxy = true"]),
    (GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = ["BTCUSDT"]'), ["sleeves.0.hedges.0.symbol", "BASE/QUOTE:SETTLE"]),
    (GOOD + "band_abs = -0.05\n", ["sleeves.1.band_abs", "greater than or equal to 0"]),
    (GOOD + "[portfolio]\nbnad_policy = 'both'\n", ["portfolio.bnad_policy", "unknown field"]),
    (GOOD + "[[accounts]]\nname = 'a'\nexchange = 'Binance!'\n", ["accounts.0.exchange", "ccxt exchange id"]),
    ("[[sleeves]\nname=", ["not valid TOML"]),
    (GOOD.replace('assets = ["USDT"]', 'assets = ["BTC"]'), ["asset BTC is in sleeves"]),
])
def test_bad_config_names_the_field_and_the_fix(toml, words):
    with pytest.raises(UserError) as err:
        parse_config(toml, "p.toml")
    for w in words:
        assert w in str(err.value)


def test_shipped_sample_is_valid():
    cfg = parse_config(sample_config_text(), "sample")
    assert [s.name for s in cfg.sleeves] == ["BTC", "ETH", "ALTS", "STABLE"]
    assert cfg.is_cash(cfg.sleeve("STABLE"))


def test_init_writes_the_sample_and_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "sub" / "portfolio.toml"
    assert main(["init", str(path)]) == 0
    assert path.read_text() == sample_config_text()
    path.write_text("# mine\n")
    assert main(["init", str(path)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert path.read_text() == "# mine\n"
    assert main(["init", str(path), "--force"]) == 0
    assert path.read_text() == sample_config_text()


def test_check_config_exit_codes(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert main(["check-config", str(good)]) == 0
    assert "config is valid" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("0.4", "0.3"))
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "targets add up to 0.9000" in err and "Traceback" not in err
    assert main(["check-config", str(tmp_path / "missing.toml")]) == 2
    assert "rebal-tui init" in capsys.readouterr().err


@pytest.mark.parametrize(("state", "words"), [
    ("{", ["not valid JSON", "line 1"]),
    ("[]", ["expected a JSON object"]),
    ('{"timestamp": "x", "accounts": {}}', ["'timestamp' must be epoch milliseconds"]),
    ('{"timestamp": 1, "accounts": {"a": {"exchange": "binance", "positions": {}}}}', ["accounts.a.positions", "array"]),
    ('{"timestamp": 1, "accounts": {"a": {"markets": {}}}}', ["accounts.a.exchange"]),
    ('{"timestamp": 1, "accounts": {"a": {"exchange": "binance", "positions": [{"contracts": 1}]}}}',
     ["accounts.a.positions[0]", "'symbol'"]),
])
def test_bad_state_file_is_refused_with_its_field(tmp_path, capsys, state, words):
    cfg = tmp_path / "p.toml"
    cfg.write_text(GOOD)
    path = tmp_path / "state.json"
    path.write_text(state)
    assert main(["plan", "--config", str(cfg), "--state", str(path)]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
    assert "Traceback" not in err


def test_plan_refuses_to_guess_a_missing_price(tmp_path, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text(GOOD)
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"timestamp": 1, "accounts": {"s": {"exchange": "binance",
                                                                  "balance": {"total": {"BTC": 1, "USDT": 5}}}}}))
    assert main(["plan", "--config", str(cfg), "--state", str(path)]) == 2
    assert "no price for BTC" in capsys.readouterr().err
