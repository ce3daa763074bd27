"""Inputs of the flows: the basket TOML, the level CSV, typed flags, the venue (a fake exchange)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from console.core.errors import UserError
from console.core.flows_data import (
    SAMPLE_BASKET,
    SAMPLE_LEVELS,
    fetch_daily_closes,
    load_basket,
    load_levels,
    parse_basket,
    parse_levels,
    parse_prices,
    parse_return,
    prices_from_snapshot,
    sample_path,
    venue_crypto_inputs,
)
from tests import factories as f

D = dt.date

GOOD_CSV = """\
# a comment line
date,SPX,AGG,BTC
2026-09-30,6690.10,2318.20,114300
2026-10-03,,,118000.5

2026-11-20,6610.35,2331.05,91800
"""


def test_levels_parse_with_comments_blank_lines_and_empty_cells() -> None:
    t = parse_levels(GOOD_CSV, "l.csv")
    assert t.series["SPX"] == ((D(2026, 9, 30), 6690.10), (D(2026, 11, 20), 6610.35))
    assert t.series["BTC"][1] == (D(2026, 10, 3), 118000.5)
    assert t.as_of("SPX", D(2026, 10, 3)) == (D(2026, 9, 30), 6690.10)
    assert t.as_of("SPX", D(2026, 9, 29)) is None
    assert t.last_date() == D(2026, 11, 20)


@pytest.mark.parametrize("text, message", [
    ("", "l.csv: empty; expected a header such as date,SPX,AGG"),
    ("# only a comment\n", "l.csv: empty"),
    ("day,SPX\n2026-01-02,1\n", "l.csv: line 1: the first column must be 'date', not 'day'"),
    ("date\n2026-01-02\n", "line 1: the header has no series"),
    ("date,SPX,spx\n", "line 1: column SPX appears twice"),
    ("date,S&P\n", "line 1, column 2: 'S&P' is not a series name"),
    ("date,SPX\n", "the header has no rows under it"),
    ("# note\ndate,SPX,AGG\n2026-01-02,1,2\n2026-01-05,1\n",
     "l.csv: line 4: 2 cells, but the header has 3 columns (DATE, SPX, AGG)"),
    ("date,SPX\n02/01/2026,1\n", "line 2, column date: '02/01/2026' is not a date; write YYYY-MM-DD"),
    ("date,SPX\n2026-01-05,1\n2026-01-02,1\n",
     "line 3, column date: 2026-01-02 does not come after the previous row's 2026-01-05"),
    ("date,SPX\n2026-01-05,1\n2026-01-05,1\n", "line 3, column date: 2026-01-05 does not come after"),
    ("date,SPX,AGG\n2026-01-05,6000,abc\n", "line 2, column AGG: 'abc' is not a number"),
    ('date,SPX\n2026-01-05,"6,000"\n', "line 2, column SPX: '6,000' is not a number; write a level such as 2291.40 (no thousands"),
    ("date,SPX\n2026-01-05,-3\n", "line 2, column SPX: '-3' must be a positive level"),
    ("date,SPX\n2026-01-05,0\n", "line 2, column SPX: '0' must be a positive level"),
    ("date,SPX\n2026-01-05,nan\n", "line 2, column SPX: 'nan' must be a positive level"),
])
def test_level_csv_messages_name_line_and_column(text: str, message: str) -> None:
    with pytest.raises(UserError) as e:
        parse_levels(text, "l.csv")
    assert message in str(e.value)


def test_the_shipped_sample_levels() -> None:
    path = sample_path(SAMPLE_LEVELS)
    assert "ILLUSTRATIVE" in path.read_text(encoding="utf-8").splitlines()[0]
    t = load_levels(path)
    assert set(t.series) == {"SPX", "AGG", "BTC", "ETH"}
    for rows in t.series.values():
        assert rows[0][0] == D(2026, 6, 30) and rows[-1][0] == D(2026, 11, 20)
    # index levels exist on NYSE sessions only: none on the observed July 4th
    assert t.as_of("SPX", D(2026, 7, 3))[0] == D(2026, 7, 2)
    assert t.as_of("BTC", D(2026, 7, 3))[0] == D(2026, 7, 3)


def test_the_shipped_sample_basket() -> None:
    b = load_basket(sample_path(SAMPLE_BASKET))
    text = sample_path(SAMPLE_BASKET).read_text(encoding="utf-8")
    assert b.illustrative and "ILLUSTRATIVE" in text and "FICTIONAL" in text and "AUM BASIS" in text
    assert 5 <= len(b.funds) <= 10
    assert all("fictional" in fund.name for fund in b.funds)
    for fund in b.funds:
        crypto = sum(w for s, w in fund.targets.items() if s in b.crypto)
        assert 0.01 <= crypto <= 0.05, fund.name
        assert 1e8 <= fund.aum_at_rebalance <= 1e10
    assert {fund.rule.value for fund in b.funds} == {"calendar", "threshold"}


GOOD_TOML = """
[basket]
name = "mine"
[[funds]]
name = "F"
aum_at_rebalance = 1e9
last_rebalance = 2026-09-30
targets = { spx = 0.6, agg = 0.38, btc = 0.02 }
"""


def test_basket_parses_and_upper_cases_sleeves() -> None:
    b = parse_basket(GOOD_TOML, "b.toml")
    assert b.funds[0].targets == {"SPX": 0.6, "AGG": 0.38, "BTC": 0.02}
    assert b.funds[0].last_rebalance == D(2026, 9, 30) and not b.illustrative


@pytest.mark.parametrize("text, message", [
    ("[basket\n", "b.toml: not valid TOML"),
    ("[other]\nx = 1\n", "unknown top-level table(s) ['other']"),
    ("[basket]\nname = 'x'\n", "funds: required field is missing; add it"),
    (GOOD_TOML.replace("targets", "colour = 'red'\ntargets"), "funds[0] (F).colour: unknown field"),
    (GOOD_TOML.replace("0.38", "0.48"), "funds[0] (F): Value error, fund 'F': targets add up to 1.1000, not 1"),
    (GOOD_TOML.replace("last_rebalance = 2026-09-30", "last_rebalance = 'soon'"), "funds[0] (F).last_rebalance:"),
    (GOOD_TOML + GOOD_TOML.split("[basket]\nname = \"mine\"")[1], "fund names must be unique; 'F' appears twice"),
    # the rules of the portfolio config hold here too: a yes-or-no is true or false, a number
    # is a number (TOML's true would be an AUM of 1), and inf is no AUM
    (GOOD_TOML.replace('name = "mine"', 'illustrative = "yes"'),
     "illustrative: got 'yes' (text in quotes); write illustrative = true or illustrative = false"),
    (GOOD_TOML.replace("aum_at_rebalance = 1e9", "aum_at_rebalance = true"),
     "funds[0] (F).aum_at_rebalance: got true; write a number"),
    (GOOD_TOML.replace("aum_at_rebalance = 1e9", "aum_at_rebalance = inf"),
     "funds[0] (F).aum_at_rebalance: must be a finite number, got inf"),
])
def test_basket_messages_name_the_field(text: str, message: str) -> None:
    with pytest.raises(UserError) as e:
        parse_basket(text, "b.toml")
    assert message.replace("Value error, ", "") in str(e.value)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such fund basket; copy the sample"):
        load_basket(tmp_path / "nope.toml")
    with pytest.raises(UserError, match="no such level CSV"):
        load_levels(tmp_path / "nope.csv")


def test_typed_returns_and_prices() -> None:
    assert parse_return("0.031", "--spx-return") == pytest.approx(0.031)
    assert parse_return("3.1%", "--spx-return") == pytest.approx(0.031)
    assert parse_return("-2%", "--agg-return") == pytest.approx(-0.02)
    with pytest.raises(UserError, match="--spx-return: 'x' is not a return"):
        parse_return("x", "--spx-return")
    with pytest.raises(UserError, match="above -100 %"):
        parse_return("-100%", "--agg-return")
    assert parse_prices("btc=95000, ETH=3400") == {"BTC": 95000.0, "ETH": 3400.0}
    for bad, msg in (("BTC", "is not ASSET=PRICE"), ("BTC=abc", "'abc' is not a number"),
                     ("BTC=-1", "must be positive"), ("", "no prices given")):
        with pytest.raises(UserError, match=msg):
            parse_prices(bad)


def test_prices_from_snapshot() -> None:
    snap = f.snapshot(f.account("spot", "binance", tickers=[f.ticker("BTC/USDT", 95_000), f.ticker("ETH/USDT", 3_400)]))
    assert prices_from_snapshot(snap, ("BTC", "ETH", "SOL"), "USDT") == {"BTC": 95_000, "ETH": 3_400}


class FakeExchange:
    """Just what the venue functions use of a ccxt async exchange; pages of 3 candles."""

    def __init__(self, closes: dict[dt.date, float], symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")) -> None:
        self.markets = {s: {"symbol": s} for s in symbols}
        self.candles = sorted(closes.items())
        self.calls: list[tuple[str, str, int | None, int | None]] = []

    async def load_markets(self) -> dict:
        return self.markets

    async def fetch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None,
                          limit: int | None = None, params: object = None) -> list[list[float]]:
        self.calls.append((symbol, timeframe, since, limit))
        out = []
        for d, c in self.candles:
            ts = int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)
            if since is None or ts >= since:
                out.append([ts, c, c, c, c, 1.0])
        return out[:3]


async def test_fetch_daily_closes_pages_and_picks_the_dates() -> None:
    days = [D(2026, 9, 28) + dt.timedelta(days=i) for i in range(10)]
    ex = FakeExchange({d: 100.0 + i for i, d in enumerate(days)})
    got = await fetch_daily_closes(ex, "BTC/USDT", [D(2026, 9, 30), D(2026, 10, 6), D(2026, 12, 1)])
    assert got == {D(2026, 9, 30): 102.0, D(2026, 10, 6): 108.0}  # 12-01 has no candle: left out
    assert len(ex.calls) >= 3 and ex.calls[0][1] == "1d"


async def test_venue_crypto_inputs() -> None:
    from console.core.flows_data import parse_basket

    basket = parse_basket(GOOD_TOML)
    ex = FakeExchange({D(2026, 9, 30): 114_300.0, D(2026, 11, 20): 91_800.0})
    base, now = await venue_crypto_inputs(ex, basket, D(2026, 11, 20), need_now=True)
    assert base == {"BTC": {D(2026, 9, 30): 114_300.0}}
    assert now == {"BTC": 91_800.0}
    with pytest.raises(UserError, match="lists neither BTC/USDT nor BTC/USDT:USDT"):
        await venue_crypto_inputs(FakeExchange({}, symbols=()), basket, D(2026, 11, 20), need_now=False)
