"""Bitget's simulated contracts: its demo trading lists the S*-FUTURES product types, whose
coins carry an ``S`` in front of the real one on base, quote and settle alike (``SBTCSUSDT``,
margin coin ``SUSDT``; ccxt 4.5 loads them as ``SBTC/SUSDT:SUSDT``). On a paper account they
stand for the real asset: an SBTC position hedges BTC and SUSDT margin is USDT.

Pure string rules, in one place: the venue layer uses them to present a paper account's
simulated markets and balance in real coins, the config to accept a simulated hedge in the
sleeve of its real asset, preflight to point from a live contract to its simulated twin.
"""

from __future__ import annotations

# The settle coins of Bitget's simulated product types (SUSDT-, SUSDC- and SCOIN-FUTURES; ccxt's
# bitget.handle_product_type_and_params names the same five).
SIMULATED_SETTLE = frozenset({"SUSDT", "SUSDC", "SBTC", "SETH", "SEOS"})


def _parts(symbol: str) -> tuple[str, str, str, str]:
    """(base, quote, settle, expiry suffix) of a ccxt unified contract symbol ('' where absent)."""
    base, _, rest = symbol.partition("/")
    quote, _, settle_part = rest.partition(":")
    settle, dash, expiry = settle_part.partition("-")
    return base, quote, settle, dash + expiry


def is_simulated(symbol: str) -> bool:
    """Whether a ccxt symbol is one of Bitget's simulated contracts (settles in a simulated coin)."""
    base, quote, settle, _ = _parts(symbol)
    return settle in SIMULATED_SETTLE and base.startswith("S") and quote.startswith("S")


def real_code(code: str) -> str:
    """The real coin of a simulated margin coin (SUSDT -> USDT); any other code unchanged."""
    return code[1:] if code in SIMULATED_SETTLE else code


def real_symbol(symbol: str) -> str:
    """The live contract a simulated one stands for (SBTC/SUSDT:SUSDT -> BTC/USDT:USDT)."""
    if not is_simulated(symbol):
        return symbol
    base, quote, settle, expiry = _parts(symbol)
    return f"{base[1:]}/{quote[1:]}:{settle[1:]}{expiry}"


def simulated_symbol(symbol: str) -> str | None:
    """The simulated twin of a live contract (BTC/USDT:USDT -> SBTC/SUSDT:SUSDT); None for spot."""
    base, quote, settle, expiry = _parts(symbol)
    if not settle or is_simulated(symbol):
        return None
    return f"S{base}/S{quote}:S{settle}{expiry}"
