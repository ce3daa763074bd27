"""Portfolio configuration: pydantic v2 models for the one TOML file.

Weights and bands are fractions of NAV (0.40 is 40 %, a band of 0.05 is ±5 percentage
points); ``band_rel`` is a fraction of the target (0.25 is ±25 % of the target).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from console.errors import UserError

CONFIG_FILENAME = "portfolio.toml"
DEFAULT_STABLECOINS = ("USDT", "USDC", "USD", "FDUSD", "DAI", "BUSD", "TUSD")


class BandPolicy(StrEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    BOTH = "both"  # the 5/25 rule: whichever half-width is tighter


class Mode(StrEnum):
    DEMO = "demo"
    PAPER = "paper"
    LIVE = "live"


class Goal(StrEnum):
    TARGET = "target"
    BAND = "band"


_Model = ConfigDict(extra="forbid", frozen=True)
_SYMBOL_RE = re.compile(r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)(:(?P<settle>[A-Z0-9]+)(-(?P<expiry>\d{6}))?)?$")


def symbol_base(symbol: str) -> str:
    """Base asset of a ccxt unified symbol (``BTC/USDT:USDT-261225`` -> ``BTC``)."""
    return symbol.split("/", 1)[0]


class Portfolio(BaseModel):
    model_config = _Model
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


class HedgeInstrument(BaseModel):
    """A futures contract that moves a sleeve's exposure.

    ``ratio`` is the hedge ratio: notional of this contract per unit of sleeve exposure. A
    ``proxy`` may have a base asset outside the sleeve (an index future, a correlated coin);
    its positions then count toward this sleeve, divided by the ratio.
    """

    model_config = _Model
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


def _coerce_hedge(v: object) -> object:
    return {"symbol": v} if isinstance(v, str) else v


class Sleeve(BaseModel):
    model_config = _Model
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
        return self


MarketType = Literal["spot", "swap", "future"]


class Account(BaseModel):
    model_config = _Model
    name: str
    exchange: str
    mode: Mode = Mode.DEMO
    markets: tuple[MarketType, ...] = ("spot",)
    live: bool = False

    @field_validator("exchange")
    @classmethod
    def _exchange_id(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+", v):
            raise ValueError(f"{v!r} is not a ccxt exchange id; use a lowercase id such as binance or binanceusdm")
        return v

    @property
    def holds_contracts(self) -> bool:
        return any(m in ("swap", "future") for m in self.markets)


class ManualHolding(BaseModel):
    model_config = _Model
    asset: str
    quantity: Annotated[float, Field(ge=0)]
    label: str = "cold storage"

    @field_validator("asset")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class Limits(BaseModel):
    """Pre-trade limits. ``max_margin_ratio`` is Binance's margin ratio (maintenance margin /
    margin balance; 1.0 is liquidation), so lower is safer."""

    model_config = _Model
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


class Config(BaseModel):
    model_config = _Model
    portfolio: Portfolio = Portfolio()
    sleeves: tuple[Sleeve, ...]
    accounts: tuple[Account, ...] = ()
    manual: tuple[ManualHolding, ...] = ()
    limits: Limits = Limits()

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
        return self

    def is_cash(self, sleeve: Sleeve) -> bool:
        return all(a in self.portfolio.stablecoins for a in sleeve.assets)

    def sleeve(self, name: str) -> Sleeve:
        for s in self.sleeves:
            if s.name == name:
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


def format_validation_error(
    err: ValidationError,
    source: str,
    *,
    what: str = "the configuration",
    reference: str = "the README's config reference",
    where: Callable[[tuple[Any, ...]], str | None] | None = None,
) -> str:
    """One line per problem: the field's dotted path, then what is wrong and the fix.

    ``where`` may name a location better than its dotted path (a fund's name, say).
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
        lines.append(f"  {place}: {msg}")
    return "\n".join(lines)


def parse_config(text: str, source: str = "config") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not valid TOML ({exc}); fix the syntax at that line") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise UserError(format_validation_error(exc, source)) from None


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; run `rebal-tui init` to write a sample, or pass --config PATH") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_config(text, str(path))


def default_config_path() -> Path:
    import platformdirs

    return platformdirs.user_config_path("rebal-tui") / CONFIG_FILENAME
