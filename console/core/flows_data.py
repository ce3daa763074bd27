"""Inputs of the quarter-end flows: the fund basket TOML, the index-level CSV, crypto prices.

Every problem with user input is a :class:`UserError` naming the file, the line and the
column (or the field) and the fix. ccxt is imported by the caller, never here: the venue
functions take an already built (async) exchange object, so tests hand in a fake one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from console.core.config import format_validation_error
from console.core.errors import UserError
from console.core.flows import SLEEVE_RE, Basket, LevelTable
from console.core.snapshot import Snapshot

SAMPLE_BASKET = "data/funds.sample.toml"
SAMPLE_LEVELS = "data/index_levels.sample.csv"
DAY_MS = 86_400_000


# --------------------------------------------------------------------------- basket TOML


def sample_path(name: str) -> Path:
    return Path(str(resources.files("console").joinpath(name)))


def _format_errors(err: ValidationError, source: str, data: Any) -> str:
    def where(loc: tuple[Any, ...]) -> str | None:
        # name the fund as well as its index: "funds[2] (Northwind ...).targets"
        if len(loc) >= 2 and loc[0] == "funds" and isinstance(loc[1], int):
            try:
                name = data["funds"][loc[1]].get("name")
            except (KeyError, IndexError, TypeError, AttributeError):
                name = None
            if name:
                return f"funds[{loc[1]}] ({name})" + "".join(f".{p}" for p in loc[2:])
        return None

    return format_validation_error(err, source, what="the fund basket", reference="funds.sample.toml", where=where)


def parse_basket(text: str, source: str = "basket") -> Basket:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not valid TOML ({exc}); fix the syntax at that line") from None
    # [basket] holds the basket's own fields, [[funds]] the funds; merge them for the model
    top = dict(data.pop("basket", {}) or {})
    funds = data.pop("funds", None)
    if data:
        raise UserError(f"{source}: unknown top-level table(s) {sorted(data)}; only [basket] and [[funds]] are read")
    if funds is not None:
        top["funds"] = funds
    try:
        return Basket.model_validate(top)
    except ValidationError as exc:
        raise UserError(_format_errors(exc, source, top)) from None


def load_basket(path: Path) -> Basket:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such fund basket; copy the sample ({sample_path(SAMPLE_BASKET)}) and edit it") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_basket(text, str(path))


# --------------------------------------------------------------------------- level CSV


def parse_levels(text: str, source: str = "levels") -> LevelTable:
    """A CSV of daily levels: a header ``date,SPX,AGG[,BTC,ETH,...]`` then one row per day.

    Lines starting with ``#`` and blank lines are skipped (line numbers still count them).
    Dates are YYYY-MM-DD, strictly increasing. A cell may be empty (no level that day, e.g.
    SPX on a Saturday while BTC trades); a filled cell is a positive number.
    """
    header: list[str] | None = None
    columns: dict[str, list[tuple[dt.date, float]]] = {}
    prev: dt.date | None = None
    for lineno, line in enumerate(io.StringIO(text), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([line]))]
        if header is None:
            header = [c.upper() for c in cells]
            if header[0] != "DATE":
                raise UserError(
                    f"{source}: line {lineno}: the first column must be 'date', not {cells[0]!r}; "
                    "the header reads e.g. date,SPX,AGG,BTC,ETH"
                )
            if len(header) < 2:
                raise UserError(f"{source}: line {lineno}: the header has no series; add columns such as SPX,AGG")
            for i, name in enumerate(header[1:], start=2):
                if not SLEEVE_RE.match(name):
                    raise UserError(
                        f"{source}: line {lineno}, column {i}: {cells[i - 1]!r} is not a series name; "
                        "use letters/digits such as SPX, AGG, BTC"
                    )
                if name in columns:
                    raise UserError(f"{source}: line {lineno}: column {name} appears twice; keep one")
                columns[name] = []
            continue
        if len(cells) != len(header):
            raise UserError(
                f"{source}: line {lineno}: {len(cells)} cells, but the header has {len(header)} "
                f"columns ({', '.join(header)}); leave a cell empty rather than dropping it"
            )
        try:
            day = dt.date.fromisoformat(cells[0])
        except ValueError:
            raise UserError(f"{source}: line {lineno}, column date: {cells[0]!r} is not a date; write YYYY-MM-DD") from None
        if prev is not None and day <= prev:
            raise UserError(
                f"{source}: line {lineno}, column date: {day} does not come after the previous row's "
                f"{prev}; sort the rows by date and remove duplicates"
            )
        prev = day
        for name, cell in zip(header[1:], cells[1:], strict=True):
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError:
                raise UserError(
                    f"{source}: line {lineno}, column {name}: {cell!r} is not a number; write a level "
                    "such as 2291.40 (no thousands separators) or leave the cell empty"
                ) from None
            if not math.isfinite(value) or value <= 0:
                raise UserError(f"{source}: line {lineno}, column {name}: {cell!r} must be a positive level")
            columns[name].append((day, value))
    if header is None:
        raise UserError(f"{source}: empty; expected a header such as date,SPX,AGG then one row per day")
    if prev is None:
        raise UserError(f"{source}: the header has no rows under it; add one row per day")
    return LevelTable(source=source, series={k: tuple(v) for k, v in columns.items()})


def load_levels(path: Path) -> LevelTable:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such level CSV; see {sample_path(SAMPLE_LEVELS)} for the format") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_levels(text, str(path))


# --------------------------------------------------------------------------- typed inputs


def parse_return(text: str, flag: str) -> float:
    """A typed return: ``0.031`` or ``3.1%`` (both are +3.1 %), ``-2%`` for a loss."""
    s = text.strip()
    pct = s.endswith("%")
    try:
        v = float(s.removesuffix("%"))
    except ValueError:
        raise UserError(f"{flag}: {text!r} is not a return; write 0.031 or 3.1% for +3.1 %") from None
    v = v / 100 if pct else v
    if not math.isfinite(v) or v <= -1:
        raise UserError(f"{flag}: {text!r} is not a possible return; it must be above -100 %")
    return v


def parse_prices(text: str, flag: str = "--prices") -> dict[str, float]:
    """``BTC=95000,ETH=3400`` -> {"BTC": 95000.0, "ETH": 3400.0}."""
    out: dict[str, float] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        asset, eq, value = item.partition("=")
        asset = asset.strip().upper()
        if not eq or not asset:
            raise UserError(f"{flag}: {item!r} is not ASSET=PRICE; write e.g. {flag} BTC=95000,ETH=3400")
        try:
            px = float(value)
        except ValueError:
            raise UserError(f"{flag}: {item!r}: {value.strip()!r} is not a number; write e.g. BTC=95000") from None
        if not math.isfinite(px) or px <= 0:
            raise UserError(f"{flag}: {item!r}: the price must be positive")
        out[asset] = px
    if not out:
        raise UserError(f"{flag}: no prices given; write e.g. {flag} BTC=95000,ETH=3400")
    return out


def prices_from_snapshot(snap: Snapshot, assets: Iterable[str], quote: str) -> dict[str, float]:
    """Prices now of the basket's crypto assets from a snapshot's tickers (those it has)."""
    from console.core.allocation import asset_prices
    from console.core.config import DEFAULT_STABLECOINS

    px = asset_prices(snap, quote, DEFAULT_STABLECOINS)
    return {a: px[a] for a in assets if a in px}


# --------------------------------------------------------------------------- venue (ccxt)


class OhlcvExchange(Protocol):
    """What the venue functions use of a ccxt async exchange."""

    markets: Mapping[str, Any] | None

    async def load_markets(self) -> Any: ...
    async def fetch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None,
                          limit: int | None = None, params: Any = None) -> list[list[Any]]: ...


def _utc_ms(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


def venue_symbol(exchange: OhlcvExchange, asset: str, quote: str) -> str:
    """Spot ``ASSET/QUOTE`` if the venue lists it, else the linear perp ``ASSET/QUOTE:QUOTE``."""
    markets = exchange.markets or {}
    for sym in (f"{asset}/{quote}", f"{asset}/{quote}:{quote}"):
        if sym in markets:
            return sym
    raise UserError(
        f"the venue lists neither {asset}/{quote} nor {asset}/{quote}:{quote}; put {asset} closes in "
        "the --levels CSV instead"
    )


async def fetch_daily_closes(exchange: OhlcvExchange, symbol: str, dates: Iterable[dt.date],
                             page: int = 500) -> dict[dt.date, float]:
    """Close of the UTC daily candle of each date (the candle that opens at 00:00 UTC that day).

    A US fund trades at the NYSE close (21:00 UTC in winter, 20:00 in summer); the UTC daily
    close is three to four hours later, close enough for an estimate of drift over a quarter.
    Dates with no candle are left out; the caller decides what is missing.
    """
    wanted = sorted(set(dates))
    if not wanted:
        return {}
    since, last = _utc_ms(wanted[0]), _utc_ms(wanted[-1])
    closes: dict[dt.date, float] = {}
    while since <= last:
        candles = await exchange.fetch_ohlcv(symbol, "1d", since=since, limit=page)
        if not candles:
            break
        for ts, _o, _h, _l, close, *_ in candles:
            closes[dt.datetime.fromtimestamp(ts / 1000, dt.UTC).date()] = float(close)
        nxt = int(candles[-1][0]) + DAY_MS
        if nxt <= since:  # a venue that ignores `since` would loop forever
            break
        since = nxt
    return {d: closes[d] for d in wanted if d in closes}


async def venue_crypto_inputs(exchange: OhlcvExchange, basket: Basket, date: dt.date,
                              need_now: bool) -> tuple[dict[str, dict[dt.date, float]], dict[str, float]]:
    """(closes on each fund's last rebalance date, price now) of every crypto asset of the basket.

    The price now is the close of ``date``'s daily candle (the running candle if ``date`` is
    today); asked only when ``need_now`` (no --prices / snapshot gave it).
    """
    await exchange.load_markets()
    base: dict[str, dict[dt.date, float]] = {}
    now: dict[str, float] = {}
    for asset in basket.crypto:
        dates = {f.last_rebalance for f in basket.funds if asset in f.targets}
        if not dates:
            continue
        symbol = venue_symbol(exchange, asset, basket.crypto_quote)
        closes = await fetch_daily_closes(exchange, symbol, dates | ({date} if need_now else set()))
        base[asset] = {d: c for d, c in closes.items() if d in dates}
        if need_now and date in closes:
            now[asset] = closes[date]
    return base, now
