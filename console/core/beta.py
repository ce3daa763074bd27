"""Hedge ratio from price history: beta of one series on another, with R².

Inputs are ccxt OHLCV rows (``[timestamp, open, high, low, close, volume]``). Returns are
simple close-to-close returns on the timestamps both series share; beta = cov(r_y, r_x) /
var(r_x) is the notional of x that moves like one unit of y, and R² = corr(r_y, r_x)² says how
much of y's moves the hedge explains (what is left is basis risk).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Ohlcv = Sequence[Sequence[float]]
MIN_POINTS = 10  # fewer aligned returns than this make a beta too noisy to size a hedge on


@dataclass(frozen=True)
class BetaFit:
    beta: float
    r2: float
    n: int  # aligned returns used
    reason: str

    @property
    def usable(self) -> bool:
        return self.n >= MIN_POINTS and self.beta == self.beta


def closes(rows: Ohlcv) -> dict[int, float]:
    return {int(r[0]): float(r[4]) for r in rows if r and r[4] is not None}


def aligned_returns(y: Mapping[int, float], x: Mapping[int, float], lookback: int | None = None) -> tuple[list[float], list[float]]:
    """Simple returns of y and x over the timestamps both have, the last ``lookback`` of them."""
    ts = sorted(set(y) & set(x))
    if lookback is not None:
        ts = ts[-(lookback + 1):]
    ry: list[float] = []
    rx: list[float] = []
    for a, b in zip(ts, ts[1:], strict=False):
        if y[a] and x[a]:
            ry.append(y[b] / y[a] - 1)
            rx.append(x[b] / x[a] - 1)
    return ry, rx


def beta_r2(ry: Sequence[float], rx: Sequence[float]) -> tuple[float, float]:
    """OLS slope of ry on rx (``statistics.linear_regression``) and the fit's R²
    (``statistics.correlation`` squared; 0 when y does not move). NaN beta when x does not move."""
    if len(ry) < 2:
        return float("nan"), 0.0
    try:
        beta = statistics.linear_regression(rx, ry).slope
    except statistics.StatisticsError:  # x constant: no slope
        return float("nan"), 0.0
    try:
        r2 = statistics.correlation(rx, ry) ** 2
    except statistics.StatisticsError:  # y constant
        r2 = 0.0
    return beta, min(max(r2, 0.0), 1.0)


def fit_beta(y: Ohlcv | Mapping[int, float], x: Ohlcv | Mapping[int, float], lookback: int | None = None,
             y_name: str = "y", x_name: str = "x") -> BetaFit:
    """Beta of ``y`` on ``x`` (both OHLCV rows or {timestamp: close}) over the last ``lookback`` returns."""
    cy = y if isinstance(y, Mapping) else closes(y)
    cx = x if isinstance(x, Mapping) else closes(x)
    ry, rx = aligned_returns(cy, cx, lookback)
    b, r2 = beta_r2(ry, rx)
    if b != b:
        return BetaFit(b, 0.0, len(ry), f"no beta: {len(ry)} aligned returns of {y_name} on {x_name}, or {x_name} flat")
    why = f"beta of {y_name} on {x_name} = {b:.3f} (R² {r2:.2f}) over {len(ry)} returns"
    if len(ry) < MIN_POINTS:
        why += f"; fewer than {MIN_POINTS} returns, too few to trust"
    elif r2 < 0.5:
        why += "; low R²: the hedge leaves much basis risk"
    return BetaFit(b, r2, len(ry), why)


def basket(series: Sequence[tuple[float, Mapping[int, float]]]) -> dict[int, float]:
    """A value-weighted index of several close series (weights need not sum to 1), rebased to
    1 at the first shared timestamp: the price of a multi-asset sleeve."""
    common = set.intersection(*(set(s) for _, s in series)) if series else set()
    ts = sorted(common)
    if not ts:
        return {}
    tot = sum(w for w, _ in series) or 1.0
    t0 = ts[0]
    return {t: sum(w / tot * s[t] / s[t0] for w, s in series if s[t0]) for t in ts}
