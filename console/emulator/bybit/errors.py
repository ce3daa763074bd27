"""Bybit's error reply: HTTP 200 with ``{"retCode": N, "retMsg": "..."}``; ccxt maps the code.

The engine speaks Binance's codes; ``from_binance`` turns each refusal into the code Bybit
gives for the same rule, so ccxt raises the same exception class on both venues.
"""

from __future__ import annotations

from console.emulator.errors import BinanceError


class BybitError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


# Binance code -> Bybit (contract code, spot code, message); None: keep the engine's message
_MAP: dict[int, tuple[int, int, str | None]] = {
    -1121: (10001, 170121, "params error: symbol invalid"),
    -1102: (10001, 170130, None),
    -1100: (10001, 170130, None),
    -1111: (10001, 170137, "Order quantity or price has too many decimals."),
    -1013: (110094, 170140, None),  # the filter named in the engine's message
    -4164: (110094, 170140, "Order does not meet minimum order value."),
    -4003: (10001, 170136, "Order quantity lower than the minimum."),
    -4005: (10001, 170137, "Order quantity exceeds the upper limit."),
    -4014: (10001, 170134, "Order price has too many decimals."),
    -2019: (110007, 170131, "ab not enough for new order"),
    -2010: (110007, 170131, "Insufficient balance."),
    -2011: (110001, 170213, "Order does not exist."),
    -2013: (110001, 170213, "Order does not exist."),
    -2022: (110017, 170213, "Reduce-only rule not satisfied"),
    -2027: (110090, 170131, "Position will exceed the risk limit at this leverage."),
    -4140: (110076, 170121, "Symbol is not trading (settling)."),
    -4015: (110072, 170141, "OrderLinkedID is duplicate"),
    -4028: (10001, 10001, "leverage invalid"),
    -4131: (110003, 170193, "Order price is out of permissible range"),
    -4016: (110003, 170193, "Order price is out of permissible range"),
    -4024: (110003, 170193, "Order price is out of permissible range"),
    -5022: (110003, 170210, "PostOnly order would take liquidity: rejected."),
}


def from_binance(exc: BinanceError, spot: bool) -> BybitError:
    found = _MAP.get(exc.code)
    if found is None:
        return BybitError(10001 if exc.status < 500 else 10016, exc.msg)
    contract_code, spot_code, msg = found
    return BybitError(spot_code if spot else contract_code, msg or exc.msg)
