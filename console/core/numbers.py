"""Numbers in and out: ``num`` reads a figure from a venue's answer, a state file or a config
(one rule for what counts as a number), and one formatter per kind of figure writes it, for the
CLI's tables and every widget alike, so a figure reads the same wherever it is shown."""

from __future__ import annotations

import math
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


def money(x: float) -> str:
    return f"{x:,.2f}"


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
    return f"{x * 100:+.2f}%" if signed else f"{x * 100:.2f}%"
