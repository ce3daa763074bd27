"""Config and state files: bad input names the field and the fix; exit 2, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from console.cli.config import ccxt_exchange_ids, cmd_check
from console.cli.main import main
from console.core.config import expired_hedges, parse_config, sample_config_text, unknown_exchanges
from console.core.errors import UserError

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
     ["sleeves[BTC]:", "is on ETH", "proxy = true"]),
    (GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = ["BTCUSDT"]'),
     ["sleeves[BTC].hedges[0].symbol", "BASE/QUOTE:SETTLE"]),
    (GOOD + "[portfolio]\nbnad_policy = 'both'\n", ["portfolio.bnad_policy", "unknown field"]),
    (GOOD + "[[accounts]]\nname = 'a'\nexchange = 'Binance!'\n", ["accounts[a].exchange", "ccxt exchange id"]),
    # range errors: the sleeve by its name, the whole allowed range, the unit and the fix
    (GOOD + "band_abs = -0.05\n",
     ["sleeves[STABLE].band_abs: must be from 0 to 1", "±5 pp", "got -0.05", "set a value in that range"]),
    (GOOD.replace("target = 0.6", "target = 45"),
     ["sleeves[BTC].target: must be from 0 to 1", "got 45", "a fraction, not a percentage", "write 0.45"]),
    (GOOD + "[limits]\nlegging_s = 0\n", ["limits.legging_s: must be more than 0 and at most 86400", "seconds", "got 0"]),
    (GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = [{ symbol = "BTC/USDT:USDT", ratio = -1 }]'),
     ["sleeves[BTC].hedges[0].ratio: must be more than 0", "got -1"]),
    # nan / inf switch a guard off (every age is under inf; every comparison with nan is false)
    (GOOD + "[limits]\nmax_data_age_s = inf\n", ["limits.max_data_age_s: must be a finite number", "inf"]),
    (GOOD + "[limits]\nmax_order_notional = nan\n", ["limits.max_order_notional: must be a finite number"]),
    (GOOD.replace("target = 0.6", "target = nan"), ["sleeves[BTC].target: must be a finite number"]),
    # one rule for a hedge ratio: an own-asset contract counts at face value, so its ratio is 1
    (GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = [{ symbol = "BTC/USDT:USDT", ratio = 0.9 }]'),
     ["sleeves[BTC]:", "ratio = 0.9", "face value", "remove ratio", "proxy = true"]),
    (GOOD + "[[manual]]\nasset = 'BTC'\nquantity = -1\n", ["manual[0].quantity: must be at least 0", "got -1"]),
    (GOOD.replace('name = "BTC"\n', ""), ["sleeves[0].name: required field is missing"]),  # no name: its index
    # a zero half-width the band policy uses: every band ±0.00 pp, every sleeve always in breach
    (GOOD + "[portfolio]\nband_rel = 0\n",
     ["portfolio.band_rel", "±0.00 pp", 'band_policy = "both"', "set band_rel above 0", "0.25"]),
    (GOOD + "[portfolio]\nband_policy = 'absolute'\nband_abs = 0\n",
     ["portfolio.band_abs", 'band_policy = "absolute"', "set band_abs above 0", 'band_policy = "relative"']),
    (GOOD + "band_abs = 0\n", ["sleeves[STABLE].band_abs = 0", "±0.00 pp", "the sleeve is always in breach"]),
    (GOOD.replace("target = 0.6", "target = 0.6\nband_rel = 0"), ["sleeves[BTC].band_rel = 0", "set band_rel above 0"]),
    ("[[sleeves]\nname=", ["not valid TOML"]),
    (GOOD.replace('assets = ["USDT"]', 'assets = ["BTC"]'), ["asset BTC is in sleeves"]),
    # a wrong type names what to write, not only what pydantic expected
    (GOOD.replace("target = 0.6", 'target = "high"'),
     ["sleeves[BTC].target:", "got 'high'", "write a number", "0.45 = 45 %"]),
    (GOOD + "[limits]\nmax_leverage = 'five'\n", ["limits.max_leverage:", "got 'five'", "write a number", "times equity"]),
    (GOOD + "[portfolio]\nband_policy = 'tight'\n",
     ["portfolio.band_policy:", "got 'tight'", "write one of 'absolute', 'relative' or 'both'"]),
    (GOOD + "[[accounts]]\nname = 'a'\nexchange = 'binance'\nmode = 'prod'\n",
     ["accounts[a].mode:", "got 'prod'", "write one of 'demo', 'paper' or 'live'"]),
    # true/false is not a quantity: TOML's `true` must not read as 1 BTC held, nor `false` as 0
    (GOOD + "[[manual]]\nasset = 'BTC'\nquantity = true\n",
     ["manual[0].quantity:", "got true", "write a number", "units of the asset"]),
    (GOOD + "[limits]\nconfirm_typed_notional = false\n", ["limits.confirm_typed_notional:", "got false"]),
    (GOOD.replace("target = 0.6", "target = true"), ["sleeves[BTC].target:", "got true", "write a number"]),
    (GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = "BTC/USDT:USDT"'),
     ["sleeves[BTC].hedges:", "got 'BTC/USDT:USDT'", 'write a list in brackets: ["BTC/USDT:USDT"]']),
])
def test_bad_config_names_the_field_and_the_fix(toml, words):
    with pytest.raises(UserError) as err:
        parse_config(toml, "p.toml")
    for w in words:
        assert w in str(err.value)


# whether real money moves (live) or a contract counts as a proxy hedge: only TOML's true or
# false decides it; pydantic's lax parsing would read live = "yes", "1" or 1 as true
BOOL_FIELDS = {
    "live": GOOD + "[[accounts]]\nname = 'a'\nexchange = 'binance'\nlive = {v}\n",
    "proxy": GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = [{{ symbol = "BTC/USDT:USDT", proxy = {v} }}]'),
}


@pytest.mark.parametrize("field", sorted(BOOL_FIELDS))
@pytest.mark.parametrize(("value", "got"), [('"yes"', "got 'yes'"), ('"true"', "got 'true'"), ('"1"', "got '1'"),
                                            ("1", "got 1"), ("0", "got 0"), ("1.0", "got 1.0")])
def test_a_bool_field_takes_only_true_or_false(field, value, got):
    with pytest.raises(UserError) as err:
        parse_config(BOOL_FIELDS[field].format(v=value), "p.toml")
    place = "accounts[a].live" if field == "live" else "sleeves[BTC].hedges[0].proxy"
    msg = str(err.value)
    assert f"{place}: {got}" in msg, msg
    assert f"write {field} = true or {field} = false" in msg, msg


@pytest.mark.parametrize("field", sorted(BOOL_FIELDS))
@pytest.mark.parametrize("value", [True, False])
def test_a_bool_field_takes_true_and_false(field, value):
    cfg = parse_config(BOOL_FIELDS[field].format(v=str(value).lower()), "p.toml")
    got = cfg.accounts[0].live if field == "live" else cfg.sleeves[0].hedges[0].proxy
    assert got is value


@pytest.mark.parametrize(("policy", "field"), [("absolute", "band_rel"), ("relative", "band_abs")])
def test_a_zero_band_the_policy_does_not_use_is_fine(policy, field):
    cfg = parse_config(GOOD + f"[portfolio]\nband_policy = '{policy}'\n{field} = 0\n", "p.toml")
    assert all(cfg.band_halfwidth(s) > 0 for s in cfg.sleeves)


def test_shipped_sample_is_valid():
    cfg = parse_config(sample_config_text(), "sample")
    assert [s.name for s in cfg.sleeves] == ["BTC", "ETH", "ALTS", "STABLE"]
    assert cfg.is_cash(cfg.sleeve("STABLE"))


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_init_where_no_file_can_be_written_exits_2_naming_the_path(tmp_path, capsys, where):
    # a folder at the path (even with --force), or a path under a plain file: no "internal error"
    blocker = tmp_path / "taken"
    if where == "folder":
        blocker.mkdir()
        target = blocker
    else:
        blocker.write_text("x")
        target = blocker / "portfolio.toml"
    assert main(["init", str(target), "--force"]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err
    assert f"{target}: cannot write" in err and "pass another path" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing half-written left behind


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


# ------------------------------------------------------------------------------ check-config only

ACCOUNTS = """
[[accounts]]
name = "spot"
exchange = "binance"
[[accounts]]
name = "futures"
exchange = "{ex}"
markets = ["swap"]
"""


def test_unknown_exchange_names_the_account_and_the_nearest_id():
    cfg = parse_config(GOOD + ACCOUNTS.format(ex="binanceusdmm"), "p.toml")  # parsing stays ccxt-free
    known = {"binance", "binanceusdm", "okx"}
    assert unknown_exchanges(cfg, known) == [
        "accounts[futures].exchange: 'binanceusdmm' is not a ccxt exchange id; did you mean binanceusdm?"]
    far = parse_config(GOOD + ACCOUNTS.format(ex="zzqqxx"), "p.toml")
    assert "use an id from ccxt.exchanges, e.g. binance" in unknown_exchanges(far, known)[0]
    assert unknown_exchanges(parse_config(GOOD + ACCOUNTS.format(ex="okx"), "p.toml"), known) == []


def test_check_config_refuses_an_exchange_ccxt_does_not_have(tmp_path, capsys):
    assert {"binance", "binanceusdm"} <= ccxt_exchange_ids()  # the ids the demo and the tests use
    path = tmp_path / "p.toml"
    path.write_text(GOOD + ACCOUNTS.format(ex="binanceusdmm"))
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "accounts[futures].exchange" in err and "did you mean binanceusdm?" in err and "Traceback" not in err
    path.write_text(GOOD + ACCOUNTS.format(ex="binanceusdm"))
    assert main(["check-config", str(path)]) == 0


DATED = GOOD.replace('hedges = ["BTC/USDT:USDT"]', 'hedges = ["BTC/USDT:USDT", "BTC/USDT:USDT-250328"]')


def test_expired_hedges_deliver_at_0800_utc():
    cfg = parse_config(DATED, "p.toml")
    assert cfg.sleeve("BTC").hedges[1].expiry == datetime(2025, 3, 28, 8, tzinfo=UTC)
    assert cfg.sleeve("BTC").hedges[0].expiry is None  # a perp never expires
    assert expired_hedges(cfg, datetime(2025, 3, 28, 7, 59, tzinfo=UTC)) == []
    assert expired_hedges(cfg, datetime(2025, 3, 28, 8, tzinfo=UTC)) == [
        "sleeves[BTC].hedges: BTC/USDT:USDT-250328 expired 2025-03-28; pick a later contract"]


def test_check_config_warns_of_an_expired_contract_and_exits_0(tmp_path, capsys, monkeypatch):
    path = tmp_path / "p.toml"
    path.write_text(DATED)
    args = type("Args", (), {"path": path, "config": None})()
    assert cmd_check(args, now=datetime(2025, 1, 1, tzinfo=UTC)) == 0  # not yet: no warning
    out = capsys.readouterr().out
    assert "warning" not in out and "config is valid" in out
    monkeypatch.setattr("console.cli.config.utc_now", lambda: datetime(2025, 6, 1, tzinfo=UTC))
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: sleeves[BTC].hedges: BTC/USDT:USDT-250328 expired 2025-03-28; pick a later contract" in out
    assert "config is valid (1 warning)" in out
