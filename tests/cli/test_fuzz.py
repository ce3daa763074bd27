"""Fuzzed configs and state files through the CLI entry, in-process: every outcome is a
result (exit 0 or 1) or bad input refused (exit 2, one line naming the field and the fix);
never an internal error (exit 70), a traceback, a NaN shown as a figure, or invalid JSON.

Each example mutates a valid file: leaves replaced by junk (NaN, ∞, text where a number goes,
Rich markup, deep nesting, wrong types), keys dropped, undecodable bytes, truncation."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli.main import main
from console.core.snapshot import snapshot_to_dict
from tests.planner.world import TOML, world

JUNK: tuple[Any, ...] = (
    math.nan, math.inf, -math.inf, "NaN", "abc", "[/]", "[bold red]x", "", None, True, False, [], {},
    -1, 0, 1e-320, 10**30, -1e300, 3.5, "1.5", {"a": [1, {"b": None}]}, [[[[[]]]]],
)
TOML_JUNK = ("nan", "inf", "-inf", '"[/]"', '"abc"', "-1", "0", "1e400", "[]", "{}", "true", '""', "1.5",
             '"[bold]x"', "[[[[1]]]]", "{ a = { b = 1 } }", "10000000000000000000000000")


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def assert_clean(rc: int, out: str, err: str, *, json_out: bool) -> None:
    assert rc in (0, 1, 2), (rc, err)
    assert "internal error" not in err and "Traceback" not in err, err
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("rebal-tui: hint")]
        assert lines and lines[0].startswith("rebal-tui: "), err
    elif json_out:
        # valid JSON (no NaN / Infinity tokens), and no non-finite figure anywhere in it
        json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in --json output"))
    else:
        assert not re.search(r"\bnan\b|\binf\b", out, re.IGNORECASE), out


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def mutate(data: Any, picks: list[tuple[int, int, int]]) -> Any:
    """Apply each (where, what, how) to a copy: replace the leaf/branch at ``where`` with JUNK
    ``what`` (how 0), delete it (how 1), or rename its key to junk (how 2)."""
    data = json.loads(json.dumps(data))
    for where, what, how in picks:
        ps = [p for p in paths(data) if p]
        if not ps:
            break
        p = ps[where % len(ps)]
        parent = data
        for k in p[:-1]:
            parent = parent[k]
        key = p[-1]
        if how == 1 and isinstance(parent, dict):
            del parent[key]
        elif how == 2 and isinstance(parent, dict):
            parent[str(JUNK[what % len(JUNK)])] = parent.pop(key)
        else:
            # a copy: the same junk list put in twice would let a later pick write it into itself
            parent[key] = copy.deepcopy(JUNK[what % len(JUNK)])
    return data


picks = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**3), st.integers(0, 2)), min_size=1, max_size=3)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "p.toml").write_text(TOML, encoding="utf-8")
    return folder, snapshot_to_dict(world()[1])


def _state_text(data: Any, raw: int) -> bytes:
    text = json.dumps(data, default=str).encode()
    if raw == 1:
        return text[: len(text) // 2]  # truncated
    if raw == 2:
        return b"\xff\xfe" + text  # undecodable
    if raw == 3:
        return b"[" * 1_000 + b"]" * 1_000  # nesting 1,000 deep
    if raw == 4:
        return text.replace(b'"timestamp": ', b'"timestamp": NaN, "x": ', 1)
    return text


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(picks=picks, raw=st.sampled_from([0] * 12 + [1, 2, 3, 4]), as_json=st.booleans())
def test_fuzzed_state_files_never_reach_an_internal_error(base, picks, raw, as_json):
    folder, data = base
    state = folder / "state.json"
    state.write_bytes(_state_text(mutate(data, picks), raw))
    argv = ["plan", "--config", str(folder / "p.toml"), "--state", str(state), "--scope", "all"]
    rc, out, err = run([*argv, "--json"] if as_json else argv)
    assert_clean(rc, out, err, json_out=as_json)


def _toml_lines() -> list[str]:
    return TOML.strip().splitlines()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**3), st.integers(0, 3)),
                      min_size=1, max_size=3), raw=st.sampled_from([0] * 12 + [1, 2, 3]))
def test_fuzzed_configs_never_reach_an_internal_error(base, edits, raw):
    folder, _ = base
    lines = _toml_lines()
    for where, what, how in edits:
        i = where % len(lines)
        key, eq, _ = lines[i].partition("=")
        junk = TOML_JUNK[what % len(TOML_JUNK)]
        if how == 0 and eq:
            lines[i] = f"{key.strip()} = {junk}"  # a value replaced
        elif how == 1:
            del lines[i]  # a line dropped
            if not lines:
                lines = ["x = 1"]
        elif how == 2:
            lines.insert(i, f"{('limits', 'portfolio')[what % 2]}_junk = {junk}")
        else:
            lines.insert(i, "[limits]\n" + ("max_data_age_s", "max_order_notional", "max_margin_ratio",
                                            "min_trade_notional", "legging_s")[what % 5] + f" = {junk}")
    text = "\n".join(lines).encode()
    if raw == 1:
        text = b"\xff\xfe" + text
    elif raw == 2:
        text = b"x = " + b"[" * 1_000 + b"]" * 1_000
    elif raw == 3:
        text = text.replace(b'name = "fut"', b'name = "[/]"')
    cfg = folder / "fuzz.toml"
    cfg.write_bytes(text)
    rc, out, err = run(["check-config", str(cfg)])
    assert_clean(rc, out, err, json_out=False)


@pytest.mark.parametrize(("edit", "words"), [
    (lambda d: d["accounts"]["fut"]["balance"]["total"].update(USDT=math.nan),
     ["accounts.fut.balance.total.USDT", "not a finite number"]),
    (lambda d: d["accounts"]["fut"]["tickers"]["BTC/USDT:USDT"].update(markPrice=math.inf),
     ["accounts.fut.tickers.BTC/USDT:USDT.markPrice"]),
    (lambda d: d["accounts"]["fut"]["fetched_at"].update(tickers="soon"), ["accounts.fut.fetched_at.tickers", "epoch"]),
    (lambda d: d["accounts"]["fut"]["markets"]["BTC/USDT:USDT"].pop("spot"), ["markets.BTC/USDT:USDT.spot"]),
    (lambda d: d["accounts"]["fut"]["markets"]["BTC/USDT:USDT"]["precision"].update(amount=-1),
     ["precision.amount", "lot step"]),
])
def test_a_non_finite_or_mistyped_state_field_is_named(base, edit, words):
    folder, data = base
    data = json.loads(json.dumps(data))
    edit(data)
    state = folder / "named.json"
    state.write_text(json.dumps(data), encoding="utf-8")  # NaN / Infinity tokens, as Python writes them
    rc, out, err = run(["plan", "--config", str(folder / "p.toml"), "--state", str(state), "--json"])
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and all(w in err for w in words), err


def test_a_nan_position_never_shows_a_weight(base):
    folder, data = base
    data = json.loads(json.dumps(data))
    pos = {"symbol": "BTC/USDT:USDT", "contracts": math.nan, "side": "short", "contractSize": 1,
           "entryPrice": 60_000, "markPrice": 60_000}
    data["accounts"]["fut"]["positions"] = [pos]
    state = folder / "nanpos.json"
    state.write_text(json.dumps(data), encoding="utf-8")
    for argv in (["plan", "--json"], ["plan"]):
        rc, out, err = run([*argv, "--config", str(folder / "p.toml"), "--state", str(state)])
        assert rc == 2 and "ok" not in out and "accounts.fut.positions[0].contracts" in err


def test_names_that_look_like_rich_markup_are_shown_not_parsed(base):
    folder, data = base
    data = json.loads(json.dumps(data))
    data["accounts"]["[/]"] = data["accounts"].pop("fut")
    state = folder / "markup.json"
    state.write_text(json.dumps(data), encoding="utf-8")
    cfg = folder / "markup.toml"
    cfg.write_text(TOML.replace('name = "fut"', 'name = "[/]"').replace('name = "BTC"', 'name = "[bold]B[/]"'),
                   encoding="utf-8")
    for argv in (["plan", "--what-if", "--stress", "--state", str(state)], ["check-config"]):
        rc, out, err = run([*argv, "--config", str(cfg)])
        assert rc == 0, err
        assert "[bold]B[/]" in out.replace("\n", "")  # the sleeve's own name, as typed


def test_json_safe_turns_every_non_finite_figure_into_null():
    from console.cli.report import json_safe

    out = json_safe({"a": math.nan, "b": [math.inf, 1.5, {"c": -math.inf}], "d": (2, "x")})
    assert out == {"a": None, "b": [None, 1.5, {"c": None}], "d": [2, "x"]}
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(("text", "words"), [
    (b"\xff\xfe" + TOML.encode(), ["not UTF-8 text", "save it as UTF-8"]),
    (b"x = " + b"[" * 1_000 + b"]" * 1_000, ["nested", "fix"]),
    (TOML.encode() + b"[limits]\nmax_data_age_s = inf\n", ["limits.max_data_age_s", "finite number"]),
    (TOML.encode() + b"[limits]\nmax_order_notional = nan\n", ["limits.max_order_notional", "finite number"]),
])
def test_a_config_that_cannot_be_used_exits_2_naming_the_field(base, text, words):
    folder, _ = base
    cfg = folder / "named.toml"
    cfg.write_bytes(text)
    rc, out, err = run(["check-config", str(cfg)])
    assert rc == 2 and out == "" and "Traceback" not in err
    assert all(w in err for w in words), err
