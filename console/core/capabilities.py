"""The paper capability matrix: which calls and contract kinds an account's paper venue
supports, so that a trader knows before the first ticket what will not work.

Pure: ``capability_matrix`` reads ccxt's ``has`` flags (passed in as data) and the paper table's
knowledge of the venue (console.venues.modes.PAPER) into ``Capability`` rows; preflight shows
them as a table per paper account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Contract kinds, as the matrix names them (ccxt: spot, swap + linear, future, inverse).
KINDS: tuple[str, ...] = ("spot", "linear perp", "dated", "inverse")
ALL_KINDS = frozenset(KINDS)

# The calls the capability matrix shows, in display order: (name, ccxt ``has`` keys, best first).
CALLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("balance", ("fetchBalance",)),
    ("positions", ("fetchPositions",)),
    ("tickers", ("fetchTickers",)),
    ("funding rates", ("fetchFundingRates", "fetchFundingRate")),
    ("leverage tiers", ("fetchLeverageTiers", "fetchMarketLeverageTiers")),
    ("trading fees", ("fetchTradingFees", "fetchTradingFee")),
    ("order create", ("createOrder",)),
    ("order cancel", ("cancelOrder",)),
)
# ccxt's market-type flags behind each contract kind (any one will do)
_KIND_FLAGS: dict[str, tuple[str, ...]] = {
    "spot": ("spot",), "linear perp": ("swap",), "dated": ("future",), "inverse": ("swap", "future"),
}
# what the console does without a call, said in the matrix
_WITHOUT: dict[str, str] = {
    "funding rates": "funding shows n/a",
    "leverage tiers": "margin and liquidation use Binance's default brackets, labelled as a fallback",
    "trading fees": "fees come from the market's published rate",
}


@dataclass(frozen=True)
class Capability:
    """One cell of the paper capability matrix: a call or a contract kind on a paper venue."""

    name: str
    ok: bool | None  # True works, None works in part (detail says how), False not there
    detail: str

    @property
    def mark(self) -> str:
        return "yes" if self.ok is True else "no" if self.ok is False else "partly"


def capability_matrix(has: Mapping[str, Any], kinds: Iterable[str],
                      lacks: Iterable[tuple[str, bool | None, str]] = (),
                      kind_notes: Iterable[tuple[str, str]] = ()) -> tuple[Capability, ...]:
    """The calls the console makes (CALLS, then websockets), then the contract kinds (KINDS).

    ``has``: ccxt's flags for the exchange; ``kinds``: the kinds its paper venue lists;
    ``lacks``: (call, ok, why) where the paper venue lacks (False) or limits (None) a call
    ccxt has; ``kind_notes``: (kind, what differs) for kinds listed with a catch."""
    listed = frozenset(kinds)
    lacks_by = {name: (ok, why) for name, ok, why in lacks}
    out: list[Capability] = []
    for name, keys in CALLS:
        found = [k for k in keys if has.get(k)]
        if not found:
            cap = Capability(name, False, f"ccxt has no {' or '.join(keys)} for this exchange"
                             + (f"; {_WITHOUT[name]}" if name in _WITHOUT else ""))
        elif found[0] == keys[0]:
            cap = Capability(name, True, f"{keys[0]}")
        else:  # only the per-symbol call: one request per symbol
            cap = Capability(name, None, f"one symbol at a time ({found[0]}; no {keys[0]})")
        if name in lacks_by and cap.ok is not False:
            ok, why = lacks_by[name]
            cap = Capability(name, ok, why + (f"; {_WITHOUT[name]}" if ok is False and name in _WITHOUT else ""))
        out.append(cap)
    ws_ok, ws_why = lacks_by.get("websockets", (False, "not used on paper: the console polls REST"))
    out.append(Capability("websockets", ws_ok, ws_why))
    notes = dict(kind_notes)
    for kind in KINDS:
        if kind not in listed:
            out.append(Capability(kind, False, "not listed on this paper venue"))
        elif not any(has.get(f) for f in _KIND_FLAGS[kind]):
            out.append(Capability(kind, False, "ccxt does not trade it on this exchange"))
        elif kind in notes:
            out.append(Capability(kind, None, notes[kind]))
        else:
            out.append(Capability(kind, True, "listed"))
    return tuple(out)
