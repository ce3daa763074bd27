"""Portfolio configuration: pydantic v2 models for the one TOML file.

Weights and bands are fractions of NAV (0.40 is 40 %, a band of 0.05 is ±5 percentage
points); ``band_rel`` is a fraction of the target (0.25 is ±25 % of the target).
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import tomllib
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from console.core.errors import UserError
from console.core.memo import by_name
from console.core.mode import Mode, mode_badge  # noqa: F401 - defined apart, used from here too
from console.core.simulated import real_symbol

CONFIG_FILENAME = "portfolio.toml"
DEFAULT_STABLECOINS = ("USDT", "USDC", "USD", "FDUSD", "DAI", "BUSD", "TUSD")


class BandPolicy(StrEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    BOTH = "both"  # the 5/25 rule: whichever half-width is tighter


class Goal(StrEnum):
    TARGET = "target"
    BAND = "band"


# allow_inf_nan=False: `inf` in a limit (max_data_age_s, max_order_notional, ...) would switch
# its guard off, and `nan` compares false with everything; both are refused, naming the field
_Model = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
_SYMBOL_RE = re.compile(r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)(:(?P<settle>[A-Z0-9]+)(-(?P<expiry>\d{6}))?)?$")


def _admits_bool(tp: Any) -> bool:
    return tp is bool or any(_admits_bool(a) for a in get_args(tp))


def _is_bool_field(tp: Any) -> bool:
    """``bool`` or ``bool | None``: a yes-or-no setting (not a list or table holding one)."""
    return tp is bool or (bool in get_args(tp) and set(get_args(tp)) <= {bool, type(None)})


class ConfigModel(BaseModel):
    """A config table: frozen, no unknown keys, no nan or inf (``_Model``). TOML's ``true`` /
    ``false`` is refused where a number goes: pydantic would read ``quantity = true`` as 1 BTC
    held and ``confirm_typed_notional = false`` as 0. And only ``true`` / ``false`` goes where
    a yes-or-no goes: pydantic would read ``live = "yes"``, ``"1"`` or ``1`` as true, and
    ``live`` decides whether real money moves."""

    model_config = _Model

    @field_validator("*", mode="before")
    @classmethod
    def _bools_only_where_bools_go(cls, v: object, info: ValidationInfo) -> object:
        name = info.field_name or ""
        field = cls.model_fields.get(name)
        if field is None:
            return v
        if isinstance(v, bool) and not _admits_bool(field.annotation):
            raise PydanticCustomError("bool_not_number", "a number goes here")
        if not isinstance(v, bool) and v is not None and _is_bool_field(field.annotation):
            kind = "text in quotes" if isinstance(v, str) else "not a yes or no"
            raise PydanticCustomError(
                "bool_strict", "got {got} ({kind}); write {name} = true or {name} = false, without quotes",
                {"got": _toml_text(v), "kind": kind, "name": name})
        return v


@functools.lru_cache(maxsize=4096)  # a plan asks it of every candidate instrument of every sleeve
def symbol_base(symbol: str) -> str:
    """Base asset of a ccxt unified symbol (``BTC/USDT:USDT-261225`` -> ``BTC``); a Bitget
    simulated contract's is the real asset it stands for (``SBTC/SUSDT:SUSDT`` -> ``BTC``)."""
    return real_symbol(symbol).split("/", 1)[0]


class Portfolio(ConfigModel):
    name: str = "My portfolio"
    quote: str = "USDT"
    band_policy: BandPolicy = BandPolicy.BOTH
    band_abs: Annotated[float, Field(ge=0, le=1)] = 0.05
    band_rel: Annotated[float, Field(ge=0, le=10)] = 0.25
    warn_fraction: Annotated[float, Field(gt=0, le=1)] = 0.8
    weight_tolerance: Annotated[float, Field(ge=0, le=0.05)] = 0.001
    stablecoins: tuple[str, ...] = DEFAULT_STABLECOINS

    @field_validator("quote")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @field_validator("band_abs", "band_rel")
    @classmethod
    def _band_in_use_is_positive(cls, v: float, info: ValidationInfo) -> float:
        # a zero half-width the policy uses makes every band ±0.00 pp: every sleeve always in breach
        policy = info.data.get("band_policy")  # declared above the bands, so already validated
        field = info.field_name or "band"
        if v == 0 and policy is not None and field in _BAND_FIELDS_USED[policy]:
            raise ValueError(_zero_band_message(field, policy, "every sleeve that does not set its own"))
        return v


# which half-widths each band policy reads (BOTH: the tighter of the two)
_BAND_FIELDS_USED: dict[BandPolicy, tuple[str, ...]] = {
    BandPolicy.ABSOLUTE: ("band_abs",),
    BandPolicy.RELATIVE: ("band_rel",),
    BandPolicy.BOTH: ("band_abs", "band_rel"),
}
_BAND_EXAMPLE = {"band_abs": "0.05 = ±5 pp", "band_rel": "0.25 = ±25 % of the target"}


def _zero_band_message(field: str, policy: BandPolicy, who: str) -> str:
    other = "relative" if field == "band_abs" else "absolute"
    return (f"{field} = 0 makes the band ±0.00 pp under band_policy = \"{policy.value}\", so {who} is always "
            f"in breach; set {field} above 0 (e.g. {_BAND_EXAMPLE[field]}), or band_policy = \"{other}\" to "
            "band by the other width alone")


class HedgeInstrument(ConfigModel):
    """A futures contract that moves a sleeve's exposure.

    ``ratio`` is the hedge ratio: notional of this contract per unit of sleeve exposure. A
    ``proxy`` may have a base asset outside the sleeve (an index future, a correlated coin);
    its positions then count toward this sleeve, divided by the ratio, and its legs are sized
    as the exposure to move × the ratio (the same rule both ways). A hedge on one of the
    sleeve's own assets counts at face value, so its ratio must be 1.
    """

    symbol: str
    account: str | None = None
    ratio: Annotated[float, Field(gt=0)] = 1.0
    proxy: bool = False

    @field_validator("symbol")
    @classmethod
    def _symbol_form(cls, v: str) -> str:
        if not _SYMBOL_RE.match(v) or ":" not in v:
            raise ValueError(
                f"{v!r} is not a ccxt futures symbol; write BASE/QUOTE:SETTLE for a perp "
                "(BTC/USDT:USDT) or BASE/QUOTE:SETTLE-YYMMDD for a dated future"
            )
        return v

    @property
    def base(self) -> str:
        return symbol_base(self.symbol)

    @property
    def expiry(self) -> datetime | None:
        """When a dated contract delivers (08:00 UTC on its YYMMDD date); None for a perp."""
        m = _SYMBOL_RE.match(self.symbol)
        if m is None or m.group("expiry") is None:
            return None
        try:
            day = datetime.strptime(m.group("expiry"), "%y%m%d")
        except ValueError:  # not a calendar date (261399): the venue will not list it either
            return None
        # Binance, OKX and Deribit all deliver at 08:00 UTC; after that the symbol is gone
        return day.replace(hour=8, tzinfo=UTC)


def _coerce_hedge(v: object) -> object:
    return {"symbol": v} if isinstance(v, str) else v


class Sleeve(ConfigModel):
    name: str
    assets: tuple[str, ...]
    target: Annotated[float, Field(ge=0, le=1)]
    band_abs: Annotated[float, Field(ge=0, le=1)] | None = None
    band_rel: Annotated[float, Field(ge=0, le=10)] | None = None
    hedges: tuple[HedgeInstrument, ...] = ()

    @field_validator("assets", mode="before")
    @classmethod
    def _assets(cls, v: object) -> object:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list | tuple):
            return tuple(str(a).upper() for a in v)
        return v

    @field_validator("hedges", mode="before")
    @classmethod
    def _hedges(cls, v: object) -> object:
        if isinstance(v, list | tuple):
            return tuple(_coerce_hedge(h) for h in v)
        return v

    @model_validator(mode="after")
    def _check(self) -> Sleeve:
        if not self.assets:
            raise ValueError(f"sleeve {self.name!r} has no assets; list at least one, e.g. assets = [\"BTC\"]")
        for h in self.hedges:
            if not h.proxy and h.base not in self.assets:
                raise ValueError(
                    f"hedge {h.symbol!r} of sleeve {self.name!r} is on {h.base}, which is not one of "
                    f"its assets {list(self.assets)}; add {h.base} to the sleeve or mark the hedge "
                    "proxy = true with a ratio"
                )
            if not h.proxy and h.ratio != 1:
                # a position counts toward its sleeve as notional / ratio and a leg is sized as
                # Δ × ratio: one rule. A contract on one of the sleeve's own assets counts at
                # face value, like the spot it offsets, so its ratio can only be 1 (else the
                # verdict would claim a move the allocation never shows)
                raise ValueError(
                    f"hedge {h.symbol!r} of sleeve {self.name!r} has ratio = {h.ratio:g}, but it is on "
                    f"{h.base}, one of the sleeve's own assets, whose contracts count at face value like "
                    f"its spot; remove ratio (or set it to 1), or hedge through a proxy instrument "
                    "(proxy = true) on an asset no sleeve holds"
                )
        return self


MarketType = Literal["spot", "swap", "future"]


class Account(ConfigModel):
    name: str
    exchange: str
    mode: Mode = Mode.DEMO
    markets: tuple[MarketType, ...] = ("spot",)
    live: bool = False
    # which paper venue when an exchange has two (bybit: "testnet"; default: its demo trading)
    paper_venue: str | None = None

    @field_validator("name")
    @classmethod
    def _real_name(cls, v: str) -> str:
        # the name is what a trader types to unlock live trading and what the journal, keys and
        # hedges refer to: an empty or blank one could be "confirmed" by pressing Enter
        if not v.strip():
            raise ValueError('an account needs a name to be told apart and confirmed by; write e.g. name = "main"')
        if v != v.strip() or any(not c.isprintable() for c in v):
            raise ValueError(f"{v!r} has spaces at its ends or control characters, which a typed confirmation "
                             f"cannot match; write name = {v.strip()!r}")
        return v

    @field_validator("exchange")
    @classmethod
    def _exchange_id(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+", v):
            raise ValueError(f"{v!r} is not a ccxt exchange id; use a lowercase id such as binance or binanceusdm")
        return v

    @property
    def holds_contracts(self) -> bool:
        return any(m in ("swap", "future") for m in self.markets)


class ManualHolding(ConfigModel):
    asset: str
    quantity: Annotated[float, Field(ge=0)]
    label: str = "cold storage"

    @field_validator("asset")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class Limits(ConfigModel):
    """Pre-trade limits. ``max_margin_ratio`` is Binance's margin ratio (maintenance margin /
    margin balance; 1.0 is liquidation), so lower is safer."""

    max_order_notional: Annotated[float, Field(gt=0)] = 250_000.0
    max_leverage: Annotated[float, Field(ge=1, le=125)] = 5.0
    max_margin_ratio: Annotated[float, Field(gt=0, le=1)] = 0.5
    price_collar: Annotated[float, Field(gt=0, le=0.5)] = 0.02
    max_data_age_s: Annotated[float, Field(gt=0)] = 30.0
    min_trade_notional: Annotated[float, Field(ge=0)] = 50.0
    # a ticket whose expected cost over the horizon exceeds this share of the exposure it
    # moves is flagged "not worth it"
    max_cost_bps: Annotated[float, Field(ge=0)] = 25.0
    # above this gross notional (quote currency) the confirmation modal makes the trader type
    # the notional's digits before `y` sends; 0 = always type them
    confirm_typed_notional: Annotated[float, Field(ge=0)] = 100_000.0
    # the legging rule: once one leg of a ticket is done, how long another may wait before
    # the console asks the trader to chase, unwind or leave it (seconds; kept per ticket)
    legging_s: Annotated[float, Field(gt=0, le=86_400)] = 30.0


def check_journal_url(url: str, where: str) -> str:
    """A shared journal's URL: PostgreSQL, and no password in it (a config file or a
    command line is not a place for a secret: libpq reads it from ~/.pgpass or PGPASSWORD)."""
    from urllib.parse import urlsplit

    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"{where} {url!r} is not a PostgreSQL URL; write postgresql://USER@HOST:PORT/DATABASE "
                         "(leave it out to keep the SQLite journal in the user data folder)")
    try:
        password = urlsplit(url).password
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}; write postgresql://USER@HOST:PORT/DATABASE") from None
    if password is not None:
        raise ValueError(f"{where} carries a password; remove it from the URL and put it in ~/.pgpass "
                         "(HOST:PORT:DATABASE:USER:PASSWORD, mode 600) or the PGPASSWORD environment variable")
    return url


class JournalSettings(ConfigModel):
    """``[journal] url``: a PostgreSQL journal shared by a desk's consoles (default: none,
    the SQLite journal in the user data folder)."""

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_journal_url(v.strip(), "[journal] url")


class Config(ConfigModel):
    portfolio: Portfolio = Portfolio()
    sleeves: tuple[Sleeve, ...]
    accounts: tuple[Account, ...] = ()
    manual: tuple[ManualHolding, ...] = ()
    limits: Limits = Limits()
    journal: JournalSettings = JournalSettings()

    @model_validator(mode="after")
    def _check(self) -> Config:
        names = [s.name for s in self.sleeves]
        if len(set(names)) != len(names):
            raise ValueError(f"sleeve names must be unique; {_dupes(names)} appears twice")
        owners: dict[str, str] = {}
        for s in self.sleeves:
            for a in s.assets:
                if a in owners:
                    raise ValueError(f"asset {a} is in sleeves {owners[a]!r} and {s.name!r}; put it in one sleeve only")
                owners[a] = s.name
        total = sum(s.target for s in self.sleeves)
        tol = self.portfolio.weight_tolerance
        if abs(total - 1.0) > tol:
            raise ValueError(
                f"sleeve targets add up to {total:.4f}, not 1 (within {tol}); adjust the targets "
                "(a stablecoin sleeve such as STABLE = [USDT, USDC] takes the cash share)"
            )
        cash = [s.name for s in self.sleeves if self.is_cash(s)]
        if len(cash) > 1:
            raise ValueError(f"sleeves {cash} are all stablecoin sleeves; merge them into one cash sleeve")
        acct_names = [a.name for a in self.accounts]
        if len(set(acct_names)) != len(acct_names):
            raise ValueError(f"account names must be unique; {_dupes(acct_names)} appears twice")
        proxies: dict[str, str] = {}
        for s in self.sleeves:
            for h in s.hedges:
                if h.account is not None and h.account not in acct_names:
                    raise ValueError(
                        f"hedge {h.symbol!r} of sleeve {s.name!r} names account {h.account!r}, which is "
                        f"not configured; use one of {acct_names}"
                    )
                if h.proxy:
                    if h.symbol in proxies and proxies[h.symbol] != s.name:
                        raise ValueError(f"proxy hedge {h.symbol!r} is used by two sleeves; give it to one")
                    proxies[h.symbol] = s.name
                    if h.base in owners and owners[h.base] != s.name:
                        raise ValueError(
                            f"proxy hedge {h.symbol!r} of sleeve {s.name!r} is on {h.base}, which sleeve "
                            f"{owners[h.base]!r} holds; a proxy must be an instrument no sleeve owns"
                        )
            if self.is_cash(s) and s.hedges:
                raise ValueError(f"cash sleeve {s.name!r} cannot have hedges; remove them")
        policy = self.portfolio.band_policy
        for s in self.sleeves:  # the portfolio's own widths are checked by Portfolio
            for field in _BAND_FIELDS_USED[policy]:
                if getattr(s, field) == 0:
                    raise ValueError(f"sleeves[{s.name}].{_zero_band_message(field, policy, 'the sleeve')}")
        return self

    def is_cash(self, sleeve: Sleeve) -> bool:
        return all(a in self.portfolio.stablecoins for a in sleeve.assets)

    def sleeve(self, name: str) -> Sleeve:
        s = by_name(self.sleeves).get(name)
        if s is not None:
            return s
        raise UserError(f"no sleeve named {name!r}; the sleeves are {[s.name for s in self.sleeves]}")

    def account(self, name: str) -> Account:
        for a in self.accounts:
            if a.name == name:
                return a
        raise UserError(f"no account named {name!r}; the accounts are {[a.name for a in self.accounts]}")

    def band_halfwidth(self, sleeve: Sleeve) -> float:
        """Half-width of the sleeve's band in weight units, by the portfolio's policy."""
        abs_w = sleeve.band_abs if sleeve.band_abs is not None else self.portfolio.band_abs
        rel_w = (sleeve.band_rel if sleeve.band_rel is not None else self.portfolio.band_rel) * sleeve.target
        policy = self.portfolio.band_policy
        if policy is BandPolicy.ABSOLUTE:
            return abs_w
        if policy is BandPolicy.RELATIVE:
            return rel_w
        return min(abs_w, rel_w)



def _dupes(items: Iterable[str]) -> str:
    seen: set[str] = set()
    for i in items:
        if i in seen:
            return repr(i)
        seen.add(i)
    return ""


def unknown_exchanges(cfg: Config, known: Collection[str]) -> list[str]:
    """One line per account whose ``exchange`` is not in ``known`` (ccxt's ids), with the
    nearest id as the fix. The caller loads the ids: importing ccxt takes half a second, which
    parsing a config (the console's start-up) must not pay."""
    out = []
    for a in cfg.accounts:
        if a.exchange in known:
            continue
        near = difflib.get_close_matches(a.exchange, sorted(known), n=1)
        fix = f"did you mean {near[0]}?" if near else "use an id from ccxt.exchanges, e.g. binance or binanceusdm"
        out.append(f"accounts[{a.name}].exchange: {a.exchange!r} is not a ccxt exchange id; {fix}")
    return out


def expired_hedges(cfg: Config, now: datetime) -> list[str]:
    """One line per dated hedge that has delivered by ``now``: the planner would open or roll into it."""
    out = []
    for s in cfg.sleeves:
        for h in s.hedges:
            if h.expiry is not None and h.expiry <= now:
                out.append(f"sleeves[{s.name}].hedges: {h.symbol} expired {h.expiry:%Y-%m-%d}; pick a later contract")
    return out


# entries of these top-level lists are named by their (unique) name, not their index: sleeves[BTC]
_NAMED_LISTS = ("sleeves", "accounts")

# what a number means, said after its allowed range so that the fix names the unit
_UNITS: dict[str, str] = {
    "target": "a fraction of NAV: 0.45 = 45 %",
    "band_abs": "a fraction of NAV: 0.05 = ±5 pp",
    "band_rel": "a fraction of the target: 0.25 = ±25 % of it",
    "warn_fraction": "a share of the band: 0.8 = 80 %",
    "weight_tolerance": "a fraction of NAV: 0.001 = 0.1 pp",
    "max_margin_ratio": "a fraction: 0.5 = 50 %",
    "price_collar": "a fraction of the mark: 0.02 = ±2 %",
    "ratio": "hedge notional per unit of sleeve exposure",
    "quantity": "units of the asset",
    "max_order_notional": "quote currency",
    "min_trade_notional": "quote currency",
    "confirm_typed_notional": "quote currency; 0 = always type",
    "max_leverage": "times equity",
    "max_cost_bps": "basis points",
    "max_data_age_s": "seconds",
    "legging_s": "seconds",
}
def field_unit(field: str) -> str:
    """What a config number means ("a fraction of NAV: 0.45 = 45 %"), for a fix that names the unit."""
    return _UNITS.get(field, "a number")


# fields written as fractions: 45 there almost always means 45 %
_FRACTIONS = frozenset({"target", "band_abs", "band_rel", "warn_fraction", "weight_tolerance",
                        "max_margin_ratio", "price_collar"})
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def _bounds(model: type[BaseModel], loc: tuple[Any, ...]) -> dict[str, float]:
    """The ge/gt/le/lt declared on the field at ``loc`` of ``model``; {} when the walk gets lost."""
    tp: Any = model
    meta: list[Any] = []
    for step in loc:
        if isinstance(step, int):  # an entry of tuple[Sleeve, ...]
            args = [a for a in get_args(tp) if a is not Ellipsis]
            if not args:
                return {}
            tp = args[0]
            continue
        if not (isinstance(tp, type) and issubclass(tp, BaseModel)) or step not in tp.model_fields:
            return {}
        info = tp.model_fields[step]
        tp, meta = info.annotation, list(info.metadata)
        # `Annotated[float, Field(ge=0)] | None`: an optional field's bounds sit inside the union
        for arg in get_args(tp):
            if get_origin(arg) is Annotated:
                meta += [m for f in get_args(arg)[1:] if isinstance(f, FieldInfo) for m in f.metadata]
    return {k: getattr(m, k) for m in meta for k in ("ge", "gt", "le", "lt") if getattr(m, k, None) is not None}


def _range_text(b: dict[str, float]) -> str:
    if "ge" in b and "le" in b:
        return f"from {b['ge']:g} to {b['le']:g}"
    lo = f"at least {b['ge']:g}" if "ge" in b else f"more than {b['gt']:g}" if "gt" in b else ""
    hi = f"at most {b['le']:g}" if "le" in b else f"less than {b['lt']:g}" if "lt" in b else ""
    return " and ".join(p for p in (lo, hi) if p)


def _range_message(e: Any, model: type[BaseModel] | None) -> str:
    """'must be from 0 to 1 (a fraction of NAV: 0.45 = 45 %), got 45; ...' with the fix."""
    loc = tuple(e["loc"])
    field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    b = (_bounds(model, loc) if model else {}) or dict(e.get("ctx") or {})
    unit = f" ({_UNITS[field]})" if field in _UNITS else ""
    v = e.get("input")
    got = f"{v:g}" if isinstance(v, int | float) and not isinstance(v, bool) else repr(v)
    fix = "set a value in that range"
    hi = b.get("le", b.get("lt"))
    if field in _FRACTIONS and isinstance(v, int | float) and hi is not None and v > hi and v / 100 <= hi:
        fix = f"it is a fraction, not a percentage: write {v / 100:g} for {got} %"
    return f"must be {_range_text(b)}{unit}, got {got}; {fix}"


def _config_where(data: Any) -> Callable[[tuple[Any, ...]], str | None]:
    """Name sleeves and accounts by their name (sleeves[BTC].target), other entries by index."""
    def where(loc: tuple[Any, ...]) -> str | None:
        out = ""
        for i, step in enumerate(loc):
            if not isinstance(step, int):
                out += f".{step}" if out else str(step)
                continue
            label: object = step
            if i == 1 and loc[0] in _NAMED_LISTS:
                try:
                    name = data[loc[0]][step].get("name")
                except (KeyError, IndexError, TypeError, AttributeError):
                    name = None
                if isinstance(name, str) and name.strip():  # a blank name is no label: its index
                    label = name
            out += f"[{label}]"
        return out or None

    return where


# pydantic's type errors, and what to write instead
_TYPE_FIXES = {
    **dict.fromkeys(("float_type", "float_parsing", "int_type", "int_parsing", "int_from_float",
                     "bool_not_number"), "number"),
    **dict.fromkeys(("literal_error", "enum"), "choice"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "true or false"),
    "string_type": 'text in quotes, e.g. "BTC"',
    **dict.fromkeys(("tuple_type", "list_type"), 'a list in brackets, e.g. ["BTC"]'),
}


def _toml_text(v: object) -> str:
    """A value as it was written in the TOML file (``true``, not Python's ``True``)."""
    return ("true" if v else "false") if isinstance(v, bool) else repr(v)


def _type_message(e: Any) -> str:
    """'got 'high'; write a number (a fraction of NAV: 0.45 = 45 %)' for a value of the wrong type."""
    field = next((str(p) for p in reversed(tuple(e["loc"])) if isinstance(p, str)), "")
    got = f"got {_toml_text(e.get('input'))}"
    fix = _TYPE_FIXES[e["type"]]
    if fix == "number":
        return f"{got}; write a number" + (f" ({_UNITS[field]})" if field in _UNITS else "")
    if fix == "choice":
        return f"{got}; write one of {(e.get('ctx') or {}).get('expected', 'the values the README lists')}"
    if e["type"] in ("tuple_type", "list_type") and isinstance(e.get("input"), str):
        return f'{got}; write a list in brackets: ["{e["input"]}"]'  # one entry is still a list
    return f"{got}; write {fix}"


def format_validation_error(
    err: ValidationError,
    source: str,
    *,
    what: str = "the configuration",
    reference: str = "the README's config reference",
    where: Callable[[tuple[Any, ...]], str | None] | None = None,
    model: type[BaseModel] | None = None,
) -> str:
    """One line per problem: the field's dotted path, then what is wrong and the fix.

    ``where`` may name a location better than its dotted path (a fund's name, say); ``model``
    (the validated class) lets a range error state the whole allowed range, not one bound.
    """
    lines = [f"{source}: {what} is not valid:"]
    for e in err.errors():
        loc = tuple(e["loc"])
        place = (where(loc) if where else None) or ".".join(str(p) for p in loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown field; remove it or check its spelling against {reference}"
        elif e["type"] == "missing":
            msg = "required field is missing; add it"
        elif e["type"] in _RANGE_ERRORS:
            msg = _range_message(e, model)
        elif e["type"] == "finite_number":
            msg = (f"must be a finite number, got {e.get('input')!r}; write a number (nan and inf would "
                   "switch the check off)")
        elif e["type"] in _TYPE_FIXES:
            msg = _type_message(e)
        lines.append(f"  {place}: {msg}")
    return "\n".join(lines)


def parse_config(text: str, source: str = "config") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not valid TOML ({exc}); fix the syntax at that line") from None
    except RecursionError:
        raise UserError(f"{source}: values nested too deep to read; a portfolio config nests a few "
                        "levels at most, fix the arrays or tables") from None
    problem = shape_problem(data, MAX_DEPTH)
    if problem and "nested" in problem[1]:  # a non-finite number is named by the model's check
        raise UserError(f"{source}: {problem[0]} {problem[1]}; a portfolio config nests a few levels at "
                        "most, fix that value") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, source, where=_config_where(data), model=Config)) from None


def load_config(path: Path) -> Config:
    text = read_text_file(path, "no such file; run `rebal-tui init` to write a sample, or pass --config PATH")
    return parse_config(text, str(path))


MAX_DEPTH = 32  # no config or ccxt state nests deeper; past it a walk could exhaust the stack


def read_text_file(path: Path, missing: str) -> str:
    """A UTF-8 text file, or a UserError that names the file and the fix (``missing`` is what
    to say when it does not exist)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: {missing}") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a file; pass the file's path") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None


def shape_problem(data: Any, limit: int) -> tuple[str, str] | None:
    """The dotted path of the first value nested deeper than ``limit`` levels, or of the first
    number that is not finite (NaN, ±∞), with what is wrong; None when there is neither.
    Iterative: the point is not to recurse on a hostile file."""
    stack: list[tuple[Any, str, int]] = [(data, "(top level)", 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > limit:
            return where, f"is nested more than {limit} levels deep"
        if isinstance(node, float) and not math.isfinite(node):
            return where, f"is {node}, not a finite number"
        if isinstance(node, dict):
            stack += [(v, f"{where}.{k}" if depth else str(k), depth + 1) for k, v in reversed(node.items())]
        elif isinstance(node, list):
            stack += [(v, f"{where}[{i}]", depth + 1) for i, v in reversed(list(enumerate(node)))]
    return None


def default_config_path() -> Path:
    import platformdirs

    return platformdirs.user_config_path("rebal-tui") / CONFIG_FILENAME


def sample_config_text() -> str:
    """The annotated sample portfolio shipped with the package (``init`` writes it; the demo runs it)."""
    return resources.files("console").joinpath("data/portfolio.sample.toml").read_text(encoding="utf-8")
