"""Numbers in and out: ``num`` reads a figure from a venue's answer, a state file or a config
(one rule for what counts as a number), and one formatter per kind of figure writes it, for the
CLI's tables and every widget alike, so a figure reads the same wherever it is shown."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


def num(x: Any) -> float | None:
    """``x`` as a finite float, or None when it is missing, not a number, NaN or infinite: a
    figure that cannot be read is unknown, never a number that passes as one."""
    if isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _rounded(x: float, places: int) -> float:
    """``x`` rounded as it will be shown, with no negative zero: -0.001 shows 0.00, not -0.00."""
    r = round(x, places) if math.isfinite(x) else x
    return r + 0.0 if r == 0 else r


def money(x: float) -> str:
    return f"{_rounded(x, 2):,.2f}"


def signed_money(x: float) -> str:
    """Money with its sign (+12.50, -3.10, 0.00 when it rounds to nothing)."""
    r = _rounded(x, 2)
    return f"{r:+,.2f}" if r else "0.00"


def signed_whole(x: float) -> str:
    """Whole money with its sign (+1,836, -60,750); 0 when it rounds to nothing, never -0."""
    if not math.isfinite(x):
        return f"{x:+,.0f}"
    r = round(x)
    return f"{r:+,d}" if r else "0"


def plain(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits in plain decimals, for a file a person or a
    spreadsheet reads: 0.30000000000000004 reads 0.3 (12 digits), 1e-05 reads 0.00001; no
    exponent, no thousands separator, never -0."""
    d = Decimal(f"{x:.{digits}g}")
    return "0" if d == 0 else f"{d:f}"


def coin(x: float) -> str:
    """A coin amount (a COIN-M pool's figures): 2 decimals would round 0.004 BTC away."""
    return f"{x:,.8f}".rstrip("0").rstrip(".") if x else "0"


def whole(x: float) -> str:
    """Money to the unit, where cents mean nothing (a ±30 % scenario, a table read at a
    glance). Rounded to an int first, so a flattened leg's -0.3 reads ``0``, never ``-0``."""
    return f"{round(x):,d}" if math.isfinite(x) else f"{x:,.0f}"


def pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "—"
    v = _rounded(x * 100, 2)
    if signed:
        return f"{v:+.2f}%" if v else "0.00%"
    return f"{v:.2f}%"
