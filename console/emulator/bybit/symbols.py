"""Bybit's names for the engine's instruments, by category:

    spot     BTCUSDT                          (the same id)
    linear   BTCUSDT (perpetual), BTCUSDT-25DEC26 (a dated USDT future)
    inverse  BTCUSD (perpetual), BTCUSDZ26 (a dated inverse future: month code + year)

Inverse quantities are in USD, as on Bybit (contract size 1 USD); the engine counts them in
its COIN-M contracts of ``contract_size`` USD, so an inverse qty must be a whole number of
those lots (``LOT_USD``), which the instrument's ``qtyStep`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from console.emulator.bybit.errors import BybitError
from console.emulator.instruments import Instrument

CATEGORIES = ("spot", "linear", "inverse")
VENUE = {"spot": "spot", "linear": "futures", "inverse": "coinm"}  # category -> engine venue
MONTH_CODES = "FGHJKMNQUVXZ"  # futures month letters, January to December


@dataclass(frozen=True)
class Listed:
    category: str
    symbol: str  # Bybit's
    inst: Instrument  # the engine's

    @property
    def lot_usd(self) -> float:
        """Inverse: USD per engine contract (the qty step); 0 elsewhere."""
        return self.inst.contract_size


def bybit_symbol(inst: Instrument) -> str:
    if inst.venue == "spot" or (inst.venue == "futures" and inst.kind == "perp"):
        return inst.id
    if inst.venue == "futures":
        d = datetime.fromtimestamp((inst.delivery_ms or 0) / 1000, UTC)
        return f"{inst.base}USDT-{d.strftime('%d%b%y').upper()}"
    if inst.kind == "perp":
        return f"{inst.base}USD"
    d = datetime.fromtimestamp((inst.delivery_ms or 0) / 1000, UTC)
    return f"{inst.base}USD{MONTH_CODES[d.month - 1]}{d.strftime('%y')}"


def listed(emu: object, category: str) -> list[Listed]:
    """Every instrument of a category, in the engine's order."""
    table = _table(emu, category)
    return [Listed(category, bybit_symbol(i), i) for i in table.values()]


def find(emu: object, category: str | None, symbol: str | None) -> Listed:
    """The instrument a (category, symbol) pair names, or Bybit's parameter errors."""
    if not category:
        raise BybitError(10001, "params error: category is required (spot, linear or inverse)")
    if not symbol:
        raise BybitError(10001, "params error: symbol is required")
    for item in listed(emu, category):
        if item.symbol == symbol.upper():
            return item
    raise BybitError(10001 if category != "spot" else 170121, f"params error: symbol invalid: {symbol}")


def by_engine_id(emu: object, venue: str, engine_id: str) -> Listed:
    category = {v: k for k, v in VENUE.items()}[venue]
    inst = _table(emu, category)[engine_id]
    return Listed(category, bybit_symbol(inst), inst)


def _table(emu: object, category: str) -> dict[str, Instrument]:
    if category not in CATEGORIES:
        raise BybitError(10001, f"params error: category must be one of spot, linear, inverse (got {category!r})")
    return {"spot": emu.spot_ids, "linear": emu.fut_ids, "inverse": emu.coinm_ids}[category]  # type: ignore[attr-defined]
